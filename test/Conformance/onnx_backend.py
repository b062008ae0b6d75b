#!/usr/bin/python3
"""Conformance runner over the ONNX backend node tests (Debian libonnx-testdata).

Imports every test case with `qopt-translate --import-onnx` and checks the
element types and shapes of the imported function's results against the
expected outputs (output_*.pb of test_data_set_0). Prints a per-op table of
passed / failed / unsupported cases and the totals.

Runtime shape parameters: some node tests feed what is a shape in practice
(Reshape's shape, Slice's starts, Pad's pads, Resize's sizes, reduction axes,
...) as graph inputs. qopt needs those at compile time, as real exported
models provide them (constants, or computed from input shapes, which the
importer tracks). For such inputs the runner binds the test's input_*.pb as
an initializer before importing, as onnx-mlir's backend runner does; the
bound inputs are listed with --verbose.

With --qcc, each case is also compiled into a shared library with qcc, run
through the Python loader on the test's inputs, and its outputs compared with
the expected ones (floating point: |got - want| <= atol + rtol * |want| with
the ONNX backend's rtol = 1e-3, atol = 1e-7; integers and bools exactly).

Cases are classified as:
  pass         imported, and every result matches the expected dtype and shape
  unsupported  the importer names an operator (or opset) outside qopt's scope
  xfail        failed, and listed in the expected-failures file with a reason
  FAIL         failed and not listed: the runner exits non-zero
  XPASS        passed although listed: the runner exits non-zero (update the list)
"""

import argparse
import collections
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"

# Inputs (by position) that act as shape parameters, per op type.
SHAPE_PARAMS = {
    "Reshape": [1], "Expand": [1], "Tile": [1], "Pad": [1, 2, 3],
    "Slice": [1, 2, 3, 4], "Squeeze": [1], "Unsqueeze": [1], "Split": [1],
    "ReduceSum": [1], "ReduceMean": [1], "ReduceMax": [1], "ReduceMin": [1],
    "ReduceProd": [1], "ReduceL1": [1], "ReduceL2": [1], "ReduceLogSum": [1],
    "ReduceLogSumExp": [1], "ReduceSumSquare": [1], "Resize": [1, 2, 3],
    "Upsample": [1], "ConstantOfShape": [0], "Range": [0, 1, 2],
    "Dropout": [1, 2], "Trilu": [1], "TopK": [1], "OneHot": [1],
}

# ONNX element type -> MLIR element type of the imported tensor.
MLIR_TYPES = {
    onnx.TensorProto.FLOAT: "f32", onnx.TensorProto.FLOAT16: "f16",
    onnx.TensorProto.BFLOAT16: "bf16", onnx.TensorProto.DOUBLE: "f64",
    onnx.TensorProto.BOOL: "i1", onnx.TensorProto.INT8: "i8",
    onnx.TensorProto.UINT8: "i8", onnx.TensorProto.INT16: "i16",
    onnx.TensorProto.UINT16: "i16", onnx.TensorProto.INT32: "i32",
    onnx.TensorProto.UINT32: "i32", onnx.TensorProto.INT64: "i64",
    onnx.TensorProto.UINT64: "i64",
}

UNSUPPORTED_PATTERNS = [
    re.compile(r"unsupported ONNX operator '([^']+)'"),
    re.compile(r"unsupported ONNX opset (\d+)"),
]


def load_pb(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return tensor


def case_op_names(cases):
    """Maps each case to the op it tests: the node's op type for single-node
    graphs; for multi-node graphs (function expansions) the op of the
    single-node case whose name is the longest prefix, marked (expanded)."""
    single = {}
    models = {}
    for name, path in cases:
        try:
            model = onnx.load(os.path.join(path, "model.onnx"))
        except Exception:
            models[name] = None
            continue
        models[name] = model
        if len(model.graph.node) == 1:
            single[name] = model.graph.node[0].op_type
    ops = {}
    for name, _ in cases:
        model = models[name]
        if model is None:
            ops[name] = "(unreadable)"
        elif name in single:
            ops[name] = single[name]
        else:
            best = max((s for s in single if name.startswith(s)), key=len,
                       default=None)
            if best:
                ops[name] = single[best] + " (expanded)"
            else:
                ops[name] = (model.graph.node[0].op_type + " (graph)"
                             if model.graph.node else "(empty)")
    return ops


def bind_shape_inputs(model, case_dir):
    """Turns graph inputs that feed shape parameters into initializers."""
    graph = model.graph
    init_names = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    positions = {}
    for idx, vi in enumerate(inputs):
        positions[vi.name] = idx
    to_bind = set()
    for node in graph.node:
        for pos in SHAPE_PARAMS.get(node.op_type, []):
            if pos < len(node.input) and node.input[pos] in positions:
                to_bind.add(node.input[pos])
    bound = []
    data_dir = os.path.join(case_dir, "test_data_set_0")
    for name in sorted(to_bind, key=lambda n: positions[n]):
        pb = os.path.join(data_dir, "input_%d.pb" % positions[name])
        if not os.path.exists(pb):
            continue
        tensor = load_pb(pb)
        tensor.name = name
        graph.initializer.append(tensor)
        keep = [vi for vi in graph.input if vi.name != name]
        del graph.input[:]
        graph.input.extend(keep)
        bound.append(name)
    return bound


def parse_results(mlir_text):
    """(element type, shape list with None for ?) of @main's results."""
    for line in mlir_text.splitlines():
        line = line.strip()
        if not line.startswith("func.func @main("):
            continue
        arrow = line.rfind(") -> ")
        if arrow < 0:
            return []
        results = line[arrow + 5:]
        types = []
        for m in re.finditer(r"tensor<([^>]*)>", results):
            parts = m.group(1).split("x")
            elem = parts[-1]
            dims = [None if d == "?" else int(d) for d in parts[:-1]]
            types.append((elem, dims))
        return types
    return None


RTOL, ATOL = 1e-3, 1e-7

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_model import load_tensors, save_tensors  # noqa: E402


def compare(got, want):
    """None if `got` matches `want` (the ONNX backend's tolerance), else why."""
    if got.shape != want.shape:
        return "shape %s, expected %s" % (list(got.shape), list(want.shape))
    if want.dtype.kind in "fc":
        got = got.astype(np.float64)
        want = want.astype(np.float64)
        nan_got, nan_want = np.isnan(got), np.isnan(want)
        if (nan_got != nan_want).any():
            return "NaN where none expected (or the reverse)"
        ok = np.isclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True)
        if not ok.all():
            idx = np.unravel_index(np.argmax(~ok), ok.shape)
            return "value %g at %s, expected %g (%d of %d differ)" % (
                got[idx], list(idx), want[idx], (~ok).sum(), ok.size)
        return None
    if not np.array_equal(got.astype(want.dtype), want):
        diff = got.astype(np.int64) - want.astype(np.int64)
        return "%d of %d values differ (max |diff| %d)" % (
            (diff != 0).sum(), diff.size, np.abs(diff).max())
    return None


def run_compiled(case_dir, model, qcc, tmp):
    """Compiles `model` with qcc and runs it on the test's inputs; returns
    None on success, else the reason."""
    path = os.path.join(tmp, "model.onnx")
    so = os.path.join(tmp, "model.so")
    proc = subprocess.run([qcc, path, "-o", so], capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        return "qcc: " + (err[0] if err else "exit %d" % proc.returncode)
    data_dir = os.path.join(case_dir, "test_data_set_0")
    init_names = {i.name for i in model.graph.initializer}
    # Input i of the test data is the i-th non-initializer input of the
    # original model.
    original = onnx.load(os.path.join(case_dir, "model.onnx"))
    original_inits = {i.name for i in original.graph.initializer}
    graph_inputs = [vi for vi in original.graph.input
                    if vi.name not in original_inits]
    feeds = {}
    for idx, vi in enumerate(graph_inputs):
        if vi.name in init_names:
            continue  # bound as a constant
        feeds[vi.name] = numpy_helper.to_array(
            load_pb(os.path.join(data_dir, "input_%d.pb" % idx)))
    # The model runs in its own process: a crash cannot stop the runner.
    inputs_npz = os.path.join(tmp, "inputs.npz")
    outputs_npz = os.path.join(tmp, "outputs.npz")
    save_tensors(inputs_npz, feeds)
    runner = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "run_model.py")
    try:
        proc = subprocess.run([sys.executable, runner, so, inputs_npz,
                               outputs_npz], capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        return "run: timed out"
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        why = err[-1] if err else ""
        if proc.returncode < 0:
            return "run: crashed (signal %d) %s" % (-proc.returncode, why)
        return why or "run: exit %d" % proc.returncode
    outputs = load_tensors(outputs_npz)
    for idx, vi in enumerate(model.graph.output):
        want = numpy_helper.to_array(
            load_pb(os.path.join(data_dir, "output_%d.pb" % idx)))
        got = outputs[vi.name]
        if vi.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16:
            # Both sides are uint16 bit patterns: compare them as floats.
            def bf16(a):
                return (a.astype(np.uint32) << 16).view(np.float32)
            got, want = bf16(got), bf16(want.astype(np.uint16))
        why = compare(got, want)
        if why:
            return "output %d: %s" % (idx, why)
    return None


def run_case(args):
    name, case_dir, translate, qcc = args
    result = {"name": name, "status": "FAIL", "reason": "", "bound": []}
    try:
        model = onnx.load(os.path.join(case_dir, "model.onnx"))
    except Exception as e:  # noqa: BLE001 - report any load problem
        result["reason"] = "cannot load model: %s" % e
        return result
    result["bound"] = bind_shape_inputs(model, case_dir)
    data_dir = os.path.join(case_dir, "test_data_set_0")
    expected = []
    for i, vi in enumerate(model.graph.output):
        pb = os.path.join(data_dir, "output_%d.pb" % i)
        try:
            tensor = load_pb(pb)
        except Exception:  # noqa: BLE001 - sequences, optionals, ...
            expected.append(None)
            continue
        # The declared type wins: test data stores bfloat16 as uint16.
        dtype = vi.type.tensor_type.elem_type or tensor.data_type
        expected.append((dtype, list(tensor.dims)))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        onnx.save(model, path)
        proc = subprocess.run([translate, "--import-onnx", path],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode == 0 and qcc:
            result["run"] = run_compiled(case_dir, model, qcc, tmp)
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        first = err[0] if err else "exit code %d" % proc.returncode
        first = first.replace(path, "model.onnx")
        for pattern in UNSUPPORTED_PATTERNS:
            if pattern.search(first):
                result["status"] = "unsupported"
        result["reason"] = re.sub(r"^.*?error: ", "", first)
        if proc.returncode < 0:
            result["reason"] = "crashed (signal %d)" % -proc.returncode
            result["status"] = "FAIL"
        return result
    got = parse_results(proc.stdout)
    if got is None:
        result["reason"] = "no @main function in the output"
        return result
    if len(got) != len(expected):
        result["reason"] = "%d results, expected %d" % (len(got), len(expected))
        return result
    for i, (g, e) in enumerate(zip(got, expected)):
        if e is None:
            result["reason"] = "output %d is not a tensor" % i
            return result
        dtype, dims = e
        want = MLIR_TYPES.get(dtype)
        if g[0] != want:
            result["reason"] = "output %d: element type %s, expected %s" % (
                i, g[0], want)
            return result
        if g[1] != dims:
            shown = ["?" if d is None else str(d) for d in g[1]]
            result["reason"] = "output %d: shape [%s], expected %s" % (
                i, ", ".join(shown), dims)
            return result
    if qcc and result.get("run"):
        result["reason"] = result["run"]
        return result
    result["status"] = "pass"
    return result


def load_expected_failures(paths):
    xfail = {}
    for path in paths or []:
        xfail.update(load_expected_failures_file(path))
    return xfail


def load_expected_failures_file(path):
    xfail = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition(" ")
            reason = reason.strip().lstrip("#").strip()
            if not reason:
                sys.exit("expected-failures: %s has no reason" % name)
            xfail[name] = reason
    return xfail


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--qopt-translate", required=True)
    parser.add_argument("--qcc", help="also compile and run each case")
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--expected-failures", action="append",
                        help="a file of expected failures (repeatable)")
    parser.add_argument("--filter", default="", help="regex on case names")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    if not os.path.isdir(args.data):
        sys.exit("ONNX backend test data not found at %s (install "
                 "libonnx-testdata)" % args.data)
    pattern = re.compile(args.filter)
    cases = sorted((n, os.path.join(args.data, n)) for n in os.listdir(args.data)
                   if pattern.search(n)
                   and os.path.exists(os.path.join(args.data, n, "model.onnx")))
    ops = case_op_names(cases)
    xfail = load_expected_failures(args.expected_failures)
    with multiprocessing.Pool(args.jobs) as pool:
        results = pool.map(run_case,
                           [(n, p, args.qopt_translate, args.qcc)
                            for n, p in cases])

    table = collections.defaultdict(collections.Counter)
    unexpected, xpass = [], []
    for r in results:
        name, status = r["name"], r["status"]
        if status == "FAIL" and name in xfail:
            status = "xfail"
        elif status == "pass" and name in xfail:
            status = "XPASS"
            xpass.append(r)
        elif status == "FAIL":
            unexpected.append(r)
        r["status"] = status
        table[ops[name]][status] += 1
        if args.verbose or status in ("FAIL", "XPASS"):
            extra = " [bound: %s]" % ", ".join(r["bound"]) if r["bound"] else ""
            print("%-8s %s%s%s" % (status, name,
                                   ": " + r["reason"] if r["reason"] else "",
                                   extra if args.verbose else ""))

    columns = ["pass", "xfail", "unsupported", "FAIL", "XPASS"]
    print("\n%-40s %s" % ("op", " ".join("%11s" % c for c in columns)))
    totals = collections.Counter()
    for op in sorted(table):
        print("%-40s %s" % (op[:40], " ".join("%11d" % table[op][c]
                                               for c in columns)))
        totals.update(table[op])
    print("%-40s %s" % ("TOTAL (%d cases)" % len(results),
                        " ".join("%11d" % totals[c] for c in columns)))
    stale = sorted(set(xfail) - {r["name"] for r in results})
    if stale and not args.filter:
        print("\nexpected-failures names unknown cases: %s" % ", ".join(stale))
        return 1
    if unexpected or xpass:
        print("\n%d unexpected failures, %d unexpected passes" %
              (len(unexpected), len(xpass)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
