#!/usr/bin/python3
"""Recurrent layers (ONNX RNN, GRU, LSTM) compiled by qcc against ONNX
Runtime (npm onnxruntime-node) on the same inputs.

Covers what the ONNX backend node tests do not: reverse and bidirectional
directions, sequence_lens shorter than the sequence (masked steps, reversed
prefixes), batch-major layout, clip, GRU's linear_before_reset both ways,
peepholes, initial states, input_forget, activations with alpha/beta,
weights as initializers, and a model with dynamic sequence and batch sizes
run at several sizes. Every output of every case must satisfy
|qopt - ort| <= 1e-4 |ort| + 2e-6 max(1, max |ort|).

usage: recurrent.py --qcc PATH --work DIR [--filter REGEX]
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import qopt  # noqa: E402
from qopt_tools import ort  # noqa: E402

RTOL, NORM_TOL = 1e-4, 2e-6
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def build(op, hidden=5, inp=3, seq=4, batch=3, direction="forward",
          layout=0, bias=True, lengths=None, initial=False, peepholes=False,
          outputs=("Y", "Y_h", "Y_c"), seed=0, dynamic=False, **attrs):
    """A one-node model; weights, bias and peepholes are initializers, the
    sequence, lengths and initial states graph inputs."""
    rng = np.random.default_rng(seed)
    dirs = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    inits = [numpy_helper.from_array(
        (rng.standard_normal((dirs, g * hidden, inp)) * 0.5).astype(np.float32),
        "W"), numpy_helper.from_array(
        (rng.standard_normal((dirs, g * hidden, hidden)) * 0.5).astype(
            np.float32), "R")]
    inputs = ["X", "W", "R"]
    seq_dim, batch_dim = ("seq", "batch") if dynamic else (seq, batch)
    x_shape = [batch_dim, seq_dim, inp] if layout else [seq_dim, batch_dim, inp]
    graph_inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT,
                                                  x_shape)]
    feeds_spec = {"X": ("x",)}
    if bias:
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((dirs, 2 * g * hidden)) * 0.3).astype(
                np.float32), "B"))
    inputs.append("B" if bias else "")
    if lengths is not None:
        graph_inputs.append(helper.make_tensor_value_info(
            "sequence_lens", TensorProto.INT32, [batch_dim]))
        feeds_spec["sequence_lens"] = ("lengths",)
    inputs.append("sequence_lens" if lengths is not None else "")
    state_shape = [batch_dim, dirs, hidden] if layout else [dirs, batch_dim,
                                                            hidden]
    states = ["initial_h"] + (["initial_c"] if op == "LSTM" else [])
    for s in states:
        if initial:
            graph_inputs.append(helper.make_tensor_value_info(
                s, TensorProto.FLOAT, state_shape))
            feeds_spec[s] = ("state",)
        inputs.append(s if initial else "")
    if peepholes:
        inits.append(numpy_helper.from_array(
            (rng.standard_normal((dirs, 3 * hidden)) * 0.5).astype(np.float32),
            "P"))
        inputs.append("P")
    while inputs and inputs[-1] == "":
        inputs.pop()
    names = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node_outputs = [n if n in outputs else "" for n in names]
    while node_outputs[-1] == "":
        node_outputs.pop()
    node = helper.make_node(op, inputs, node_outputs, hidden_size=hidden,
                            direction=direction, layout=layout, **attrs)
    out_shapes = {"Y": ([batch_dim, seq_dim, dirs, hidden] if layout else
                        [seq_dim, dirs, batch_dim, hidden]),
                  "Y_h": state_shape, "Y_c": state_shape}
    graph_outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT,
                                                   out_shapes[n])
                     for n in node_outputs if n]
    graph = helper.make_graph([node], op.lower(), graph_inputs, graph_outputs,
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("",
                                                                        14)])
    model.ir_version = 8
    return model, feeds_spec


def pytorch_style(seed=7, hidden=6, inp=4, seq=5):
    """The shapes of PyTorch's LSTM export, as in Silero VAD: the input is
    padded with F.pad's pads chain (Constant -> ConstantOfShape -> Concat ->
    Reshape [n, 2] -> Slice step -1 -> Transpose -> Reshape -> Cast), the
    gates of weight_ih / weight_hh / the biases are reordered from PyTorch's
    i f g o to ONNX's i o f c with Slice + Concat + Unsqueeze of
    initializers, and the state is guarded by an If on its rank
    (Not(Equal(Size(Shape(h)), 2))) that unsqueezes a 2-D state."""
    rng = np.random.default_rng(seed)
    i64 = lambda *v: numpy_helper.from_array(np.array(v, np.int64))
    nodes, inits = [], []

    def const(name, value):
        nodes.append(helper.make_node("Constant", [], [name], value=value))

    # F.pad(x, (1, 2)) on the last dim of x [1, inp, seq - 3].
    const("p_tail", i64(1, 2))
    const("p_n", i64(4))
    nodes.append(helper.make_node("ConstantOfShape", ["p_n"], ["p_zeros"],
                                  value=numpy_helper.from_array(
                                      np.array([0], np.int64))))
    nodes.append(helper.make_node("Concat", ["p_tail", "p_zeros"], ["p_all"],
                                  axis=0))
    const("p_shape", i64(-1, 2))
    nodes.append(helper.make_node("Reshape", ["p_all", "p_shape"], ["p_mat"]))
    const("p_start", i64(-1))
    const("p_end", i64(-(2 ** 63) + 1))
    const("p_axis", i64(0))
    const("p_step", i64(-1))
    nodes.append(helper.make_node("Slice", ["p_mat", "p_start", "p_end",
                                            "p_axis", "p_step"], ["p_flip"]))
    nodes.append(helper.make_node("Transpose", ["p_flip"], ["p_t"],
                                  perm=[1, 0]))
    const("p_flat", i64(-1))
    nodes.append(helper.make_node("Reshape", ["p_t", "p_flat"], ["p_pads"]))
    nodes.append(helper.make_node("Cast", ["p_pads"], ["pads"],
                                  to=TensorProto.INT64))
    nodes.append(helper.make_node("Pad", ["x", "pads"], ["xp"]))
    # [1, inp, seq] -> [seq, 1, inp]
    nodes.append(helper.make_node("Transpose", ["xp"], ["xs"],
                                  perm=[2, 0, 1]))

    def torch_weight(name, rows_per_gate, cols):
        shape = (4 * rows_per_gate,) + ((cols,) if cols else ())
        inits.append(numpy_helper.from_array(
            (rng.standard_normal(shape) * 0.4).astype(np.float32), name))
        parts = []
        for k, gate in enumerate((0, 3, 1, 2)):  # i o f c from i f g o
            const("%s_s%d" % (name, k), i64(gate * rows_per_gate))
            const("%s_e%d" % (name, k), i64((gate + 1) * rows_per_gate))
            const("%s_a%d" % (name, k), i64(0))
            nodes.append(helper.make_node(
                "Slice", [name, "%s_s%d" % (name, k), "%s_e%d" % (name, k),
                          "%s_a%d" % (name, k)], ["%s_g%d" % (name, k)]))
            parts.append("%s_g%d" % (name, k))
        nodes.append(helper.make_node("Concat", parts, [name + "_onnx"],
                                      axis=0))
        return name + "_onnx"

    w = torch_weight("weight_ih", hidden, inp)
    r = torch_weight("weight_hh", hidden, hidden)
    bi = torch_weight("bias_ih", hidden, 0)
    bh = torch_weight("bias_hh", hidden, 0)
    nodes.append(helper.make_node("Concat", [bi, bh], ["b_cat"], axis=0))
    const("ax0", i64(0))
    for src, dst in ((w, "W"), (r, "R"), ("b_cat", "B")):
        nodes.append(helper.make_node("Unsqueeze", [src, "ax0"], [dst]))
    # The state guard: h is [1, hidden] (2-D), so the If keeps it 2-D and
    # the node unsqueezes it to [1, 1, hidden] itself.
    nodes.append(helper.make_node("Shape", ["h"], ["h_shape"]))
    nodes.append(helper.make_node("Size", ["h_shape"], ["h_rank"]))
    const("two", numpy_helper.from_array(np.array(2, np.int64)))
    nodes.append(helper.make_node("Equal", ["h_rank", "two"], ["h_is2d"]))
    nodes.append(helper.make_node("Not", ["h_is2d"], ["h_not2d"]))
    nodes.append(helper.make_node("Cast", ["h_not2d"], ["h_cond"],
                                  to=TensorProto.BOOL))
    then_g = helper.make_graph(
        [helper.make_node("Unsqueeze", ["h", "ax0"], ["h3_then"])], "then",
        [], [helper.make_tensor_value_info("h3_then", TensorProto.FLOAT,
                                           [1, 1, hidden])])
    else_g = helper.make_graph(
        [helper.make_node("Identity", ["h"], ["h3_else"])], "else", [],
        [helper.make_tensor_value_info("h3_else", TensorProto.FLOAT,
                                       [1, hidden])])
    nodes.append(helper.make_node("If", ["h_cond"], ["h_guarded"],
                                  then_branch=then_g, else_branch=else_g))
    nodes.append(helper.make_node("Unsqueeze", ["h_guarded", "ax0"], ["h0"]))
    nodes.append(helper.make_node("LSTM", ["xs", "W", "R", "B", "", "h0"],
                                  ["Y", "Y_h"], hidden_size=hidden))
    graph = helper.make_graph(
        nodes, "pytorch_style",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       [1, inp, seq - 3]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, hidden])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT,
                                       [seq, 1, 1, hidden]),
         helper.make_tensor_value_info("Y_h", TensorProto.FLOAT,
                                       [1, 1, hidden])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("",
                                                                        16)])
    model.ir_version = 8
    feeds = {"x": rng.standard_normal((1, inp, seq - 3)).astype(np.float32),
             "h": (rng.standard_normal((1, hidden)) * 0.5).astype(np.float32)}
    return model, feeds


def make_feeds(spec, op, hidden, inp, seq, batch, layout, dirs, lengths,
               seed):
    rng = np.random.default_rng(1000 + seed)
    feeds = {}
    for name in spec:
        if name == "X":
            shape = (batch, seq, inp) if layout else (seq, batch, inp)
            feeds[name] = rng.standard_normal(shape).astype(np.float32)
        elif name == "sequence_lens":
            feeds[name] = np.array(lengths, dtype=np.int32)
        else:
            shape = (batch, dirs, hidden) if layout else (dirs, batch, hidden)
            feeds[name] = (rng.standard_normal(shape) * 0.5).astype(np.float32)
    return feeds


def compare(name, label, want, got):
    """Prints one line per output; returns (mismatches, outputs checked)."""
    bad = 0
    for out, ref in want.items():
        res = got[out]
        same_shape = res.shape == ref.shape
        ok = same_shape and np.all(
            np.abs(res - ref) <= RTOL * np.abs(ref) +
            NORM_TOL * max(1.0, float(np.abs(ref).max())))
        diff = np.abs(res - ref).max() if same_shape else np.inf
        rel = diff / max(np.abs(ref).max(), 1e-30)
        print("%-30s %-10s %-5s %12.3g %12.3g  %s" % (
            name, label, out, diff, rel,
            "ok" if ok else "MISMATCH %s vs %s" % (res.shape, ref.shape)))
        bad += not ok
    return bad, len(want)


def reference(path, model_layout0, feeds, work, name):
    """ORT's outputs for `feeds`; for a batch-major model, those of the
    sequence-major `model_layout0` on transposed tensors, transposed back."""
    if model_layout0 is None:
        return ort.run(path, feeds)[0]
    path0 = os.path.join(work, name + ".layout0.onnx")
    onnx.save(model_layout0, path0)
    feeds0 = {k: (v.transpose(1, 0, 2) if v.ndim == 3 else v)
              for k, v in feeds.items()}
    want0 = ort.run(path0, feeds0)[0]
    return {k: (v.transpose(2, 0, 1, 3) if v.ndim == 4 else
                v.transpose(1, 0, 2)) for k, v in want0.items()}


# name: (op, build arguments, [(seq, batch, lengths)] to run at)
CASES = {
    "lstm_forward": ("LSTM", {}, None),
    "lstm_reverse": ("LSTM", {"direction": "reverse"}, None),
    "lstm_bidirectional_all": ("LSTM", {"direction": "bidirectional",
                                        "initial": True, "peepholes": True},
                               None),
    "lstm_lengths": ("LSTM", {"lengths": [4, 2, 1]}, None),
    "lstm_bidirectional_lengths": ("LSTM", {"direction": "bidirectional",
                                            "lengths": [3, 4, 1],
                                            "initial": True,
                                            "peepholes": True}, None),
    "lstm_batch_major": ("LSTM", {"layout": 1, "direction": "bidirectional",
                                  "initial": True, "lengths": [2, 4, 3]},
                         None),
    "lstm_clip": ("LSTM", {"clip": 0.7, "direction": "bidirectional"}, None),
    "lstm_activations": ("LSTM", {"activations": ["HardSigmoid", "LeakyRelu",
                                                  "Softsign"],
                                  "activation_alpha": [0.3, 0.05],
                                  "activation_beta": [0.4]}, None),
    "lstm_input_forget": ("LSTM", {"input_forget": 1, "initial": True},
                          None),
    "lstm_state_only": ("LSTM", {"outputs": ("Y_h", "Y_c")}, None),
    "lstm_no_bias": ("LSTM", {"bias": False, "hidden": 8, "inp": 16}, None),
    "lstm_dynamic": ("LSTM", {"dynamic": True, "direction": "bidirectional",
                              "initial": True},
                     [(1, 1, None), (6, 2, None), (3, 4, None)]),
    "gru_forward": ("GRU", {}, None),
    "gru_linear_before_reset": ("GRU", {"linear_before_reset": 1,
                                        "direction": "bidirectional",
                                        "initial": True}, None),
    "gru_reverse_lengths": ("GRU", {"direction": "reverse",
                                    "lengths": [1, 4, 3]}, None),
    "gru_lbr_lengths_batch_major": ("GRU", {"linear_before_reset": 1,
                                            "layout": 1,
                                            "lengths": [4, 3, 2],
                                            "direction": "bidirectional"},
                                    None),
    "gru_clip_activations": ("GRU", {"clip": 0.5,
                                     "activations": ["Sigmoid", "ScaledTanh"],
                                     "activation_alpha": [1.5],
                                     "activation_beta": [0.8]}, None),
    "rnn_forward": ("RNN", {}, None),
    "rnn_bidirectional_relu": ("RNN", {"direction": "bidirectional",
                                       "activations": ["Relu", "Tanh"],
                                       "initial": True}, None),
    "rnn_reverse_lengths": ("RNN", {"direction": "reverse",
                                    "lengths": [2, 4, 1], "layout": 1},
                            None),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--filter", default="")
    args = parser.parse_args()
    reason = ort.available()
    if reason:
        print("recurrent: cannot run ONNX Runtime: %s" % reason)
        return 1
    os.makedirs(args.work, exist_ok=True)
    failures = checked = 0
    print("%-30s %-10s %-5s %12s %12s  %s" % ("case", "seq x batch", "out",
                                              "max |diff|", "max rel", "ok"))
    for name, (op, kwargs, runs) in CASES.items():
        if not re.search(args.filter, name):
            continue
        kwargs = dict(kwargs)
        model, spec = build(op, **kwargs)
        onnx.checker.check_model(model)
        path = os.path.join(args.work, name + ".onnx")
        so = os.path.join(args.work, name + ".so")
        onnx.save(model, path)
        proc = subprocess.run([args.qcc, path, "-o", so], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            print("%s: qcc failed: %s" % (name, proc.stderr.strip()))
            failures += 1
            continue
        compiled = qopt.load(so)
        # ONNX Runtime rejects layout = 1: its reference runs the layout-0
        # model on transposed tensors.
        layout = kwargs.get("layout", 0)
        model_layout0 = (build(op, **dict(kwargs, layout=0))[0] if layout
                         else None)
        dirs = 2 if kwargs.get("direction") == "bidirectional" else 1
        if runs is None:
            runs = [(kwargs.get("seq", 4), kwargs.get("batch", 3),
                     kwargs.get("lengths"))]
        for i, (seq, batch, lengths) in enumerate(runs):
            feeds = make_feeds(spec, op, kwargs.get("hidden", 5),
                               kwargs.get("inp", 3), seq, batch,
                               kwargs.get("layout", 0), dirs, lengths, i)
            want = reference(path, model_layout0 if layout else None, feeds,
                             args.work, name)
            bad, n = compare(name, "%dx%d" % (seq, batch), want,
                             compiled.run(feeds))
            failures += bad
            checked += n
    # PyTorch's export idioms around an LSTM: folded at import time (the
    # IR must hold no Slice/Concat of the weights and no scf.if), numerics
    # against ORT.
    if re.search(args.filter, "pytorch_style"):
        model, feeds = pytorch_style()
        onnx.checker.check_model(model)
        path = os.path.join(args.work, "pytorch_style.onnx")
        so = os.path.join(args.work, "pytorch_style.so")
        onnx.save(model, path)
        ir = subprocess.run([args.qcc, path, "--emit=mlir", "-o", "-"],
                            capture_output=True, text=True)
        # W^T and R^T transpose constants (the reordered gates folded), the
        # pad is static, the If is gone.
        folded = (ir.returncode == 0 and "scf.if" not in ir.stdout and
                  re.search(r"linalg\.transpose ins\(%cst\w* : "
                            r"tensor<24x4xf32>\)", ir.stdout) and
                  re.search(r"linalg\.transpose ins\(%cst\w* : "
                            r"tensor<24x6xf32>\)", ir.stdout) and
                  re.search(r"tensor\.pad %arg0 low\[0, 0, 1\] high\[0, 0, 2\]",
                            ir.stdout))
        if not folded:
            print("pytorch_style: not folded at import time: %s" % (
                ir.stderr.strip() or "scf.if / concat left in the IR"))
            failures += 1
        proc = subprocess.run([args.qcc, path, "-o", so], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            print("pytorch_style: qcc failed: %s" % proc.stderr.strip())
            failures += 1
        else:
            bad, n = compare("pytorch_style", "5x1", ort.run(path, feeds)[0],
                             qopt.load(so).run(feeds))
            failures += bad
            checked += n
    print("%d outputs checked, %d mismatches" % (checked, failures))
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
