#!/usr/bin/python3
"""Third-party ONNX models that npm packages ship (PaddleOCR det / rec / cls,
openWakeWord, Silero VAD; python/qopt_tools/thirdparty.py pins them),
compiled by qcc and checked against ONNX Runtime (onnxruntime-node) on the
same inputs:

  f32:  max |qopt - ort| <= 1e-4 * max |ort| + 1e-6 per output, on each
        f32 input of the model (fails the test otherwise);
  W8A8: --wbits 8 --abits 8 --calib (a folder of calibration batches), the
        agreement with the f32 ORT output on held-out inputs is reported
        (relative L2 error, plus argmax / threshold / score agreement).

Models qcc cannot import are reported with qcc's reason; those listed in
EXPECTED_UNSUPPORTED (none at present) are expected to fail, any other
failure fails the test. Models with variants (Silero's sr = 8000, the
other If branch) are checked in f32 on each. Without network access (the packages cannot be
fetched) the test prints why and succeeds.

usage: thirdparty.py --qcc PATH --work DIR [--cache DIR] [--models a,b]
                     [--no-quant] [--markdown FILE]
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import qopt  # noqa: E402
from qopt_tools import ort, thirdparty  # noqa: E402

RTOL, ATOL = 1e-4, 1e-6
CALIB_BATCHES = 4
# Models whose import fails for a known reason (the reason must appear in
# qcc's message).
EXPECTED_UNSUPPORTED = {}


def qcc(args, model, so, shapes, extra=()):
    cmd = [args.qcc, model, "-o", so] + list(extra)
    cmd += ["--input-shape=%s=%s" % kv for kv in shapes.items()]
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc, time.time() - t0


def eval_f64(model, feeds):
    """The openWakeWord heads (Flatten, Gemm, layer norms, Relu, Sigmoid) in
    float64 with numpy, to tell which of qopt and ORT is off when they
    differ; None for models with other ops."""
    from onnx import helper, numpy_helper
    env = {t.name: numpy_helper.to_array(t).astype(np.float64)
           for t in model.graph.initializer}
    env.update({k: v.astype(np.float64) for k, v in feeds.items()})
    binary = {"Sub": np.subtract, "Add": np.add, "Mul": np.multiply,
              "Div": np.divide, "Pow": np.power}
    for n in model.graph.node:
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        x = [env[i] for i in n.input]
        op = n.op_type
        if op == "Constant":
            r = numpy_helper.to_array(a["value"]).astype(np.float64)
        elif op == "Flatten":
            axis = a.get("axis", 1)
            r = x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)
        elif op == "Gemm":
            l = x[0].T if a.get("transA", 0) else x[0]
            rt = x[1].T if a.get("transB", 0) else x[1]
            r = a.get("alpha", 1.0) * (l @ rt)
            if len(x) > 2:
                r = r + a.get("beta", 1.0) * x[2]
        elif op == "Relu":
            r = np.maximum(x[0], 0)
        elif op == "Sigmoid":
            r = 1 / (1 + np.exp(-x[0]))
        elif op == "ReduceMean":
            r = x[0].mean(axis=tuple(a["axes"]),
                          keepdims=bool(a.get("keepdims", 1)))
        elif op in binary:
            r = binary[op](x[0], x[1])
        elif op == "Sqrt":
            r = np.sqrt(x[0])
        else:
            return None
        env[n.output[0]] = r
    return {o.name: env[o.name] for o in model.graph.output}


def control_flow_ops(model):
    """Control-flow and recurrent ops anywhere in the model, subgraphs
    included (qcc reports the first unsupported ones it meets; LSTMs inside
    If branches are never reached)."""
    import onnx
    found = set()

    def walk(graph):
        for n in graph.node:
            if n.op_type in ("If", "Loop", "Scan", "LSTM", "GRU", "RNN"):
                found.add(n.op_type)
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
    walk(model.graph)
    return sorted(found)


def only_inputs(compiled, feeds):
    names = {i.name for i in compiled.inputs}
    return {k: v for k, v in feeds.items() if k in names}


def agreement(metric, got, ref):
    """A one-line agreement summary of quantized outputs against f32 ORT
    outputs (lists of arrays, one per sample; the first output)."""
    g, r = np.concatenate([x.ravel() for x in got]), np.concatenate(
        [x.ravel() for x in ref])
    rel = np.linalg.norm(g - r) / max(np.linalg.norm(r), 1e-30)
    text = "rel L2 %.3g" % rel
    if metric == "argmax":
        same = np.mean([np.argmax(a, -1) == np.argmax(b, -1)
                        for a, b in zip(got, ref)])
        text += ", argmax %d/%d" % (round(same * len(got)), len(got))
    elif metric == "ctc":
        # CTC: per time step argmax, over all steps and over the steps where
        # ORT's argmax is not the blank (class 0).
        qa = np.concatenate([np.argmax(a, -1).ravel() for a in got])
        ra = np.concatenate([np.argmax(b, -1).ravel() for b in ref])
        text += ", per-step argmax %.1f%% (non-blank %d/%d)" % (
            100 * np.mean(qa == ra), np.sum((qa == ra) & (ra != 0)),
            np.sum(ra != 0))
    elif metric == "det":
        # PaddleOCR's DB post-processing thresholds the map at 0.3.
        qm, rm = g > 0.3, r > 0.3
        text += ", text mask (>0.3) IoU %.3f (%.1f%% of pixels)" % (
            np.sum(qm & rm) / max(np.sum(qm | rm), 1), 100 * np.mean(rm))
    elif metric == "score":
        text += ", max |d score| %.3g (ORT scores %.3g..%.3g)" % (
            np.abs(g - r).max(), r.min(), r.max())
        # Detection decisions at the usual 0.5 threshold, per input.
        qd = [bool(a.max() > 0.5) for a in got]
        rd = [bool(b.max() > 0.5) for b in ref]
        text += ", decisions (>0.5) %d/%d agree (%d detections)" % (
            sum(a == b for a, b in zip(qd, rd)), len(rd), sum(rd))
    return text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--cache", default=thirdparty.DEFAULT_CACHE)
    parser.add_argument("--models", default="")
    parser.add_argument("--no-quant", action="store_true")
    parser.add_argument("--markdown", default="")
    args = parser.parse_args()
    reason = ort.available()
    if reason:
        print("thirdparty: SKIPPED, cannot run ONNX Runtime: %s" % reason)
        return 0
    try:
        thirdparty.fetch(args.cache)
    except thirdparty.FetchError as e:
        print("thirdparty: SKIPPED, the models cannot be fetched: %s" % e)
        return 0
    os.makedirs(args.work, exist_ok=True)
    import onnx

    failures = 0
    rows = []
    header = "%-18s %-16s %-22s %10s %10s  %-8s %s" % (
        "model", "inputs", "output", "max |diff|", "max rel", "f32", "W8A8")
    print(header)
    wanted = set(filter(None, args.models.split(",")))
    for spec in thirdparty.specs(args.cache):
        if wanted and spec.name not in wanted:
            continue
        src = spec.file(args.cache)
        path = src
        if spec.specialize:
            path = os.path.join(args.work, spec.name + ".onnx")
            onnx.save(spec.specialize(onnx.load(src)), path)
        so = os.path.join(args.work, spec.name + ".so")
        fixed = ["--input-value=%s=%s" % kv for kv in spec.values.items()]
        proc, secs = qcc(args, path, so, spec.shapes, fixed)
        shapes = ",".join("%s=%s" % kv for kv in list(spec.shapes.items()) +
                          list(spec.values.items())) or "static"
        row = {"name": spec.name, "package": "%s@%s" % (
            spec.package, thirdparty.PACKAGES[spec.package]),
            "file": os.path.basename(spec.path), "inputs": shapes,
            "note": spec.note}
        if proc.returncode != 0:
            msg = proc.stderr.strip().splitlines()
            msg = msg[0] if msg else "qcc failed"
            expected = EXPECTED_UNSUPPORTED.get(spec.name)
            ok = expected is not None and expected in msg
            failures += not ok
            status = "unsupported" if ok else "FAILED"
            flow = control_flow_ops(onnx.load(path))
            if flow:
                msg += " [model has %s]" % ", ".join(flow)
            print("%-18s %-16s %s: %s" % (spec.name, shapes, status, msg))
            row.update(status="%s: %s" % (status, msg.split(": ", 1)[-1]))
            rows.append(row)
            continue
        if spec.name in EXPECTED_UNSUPPORTED:
            print("%s: compiles now; drop it from EXPECTED_UNSUPPORTED"
                  % spec.name)
        compiled = qopt.load(so)
        # f32: inputs of seeds 0..f32_n-1, and each variant of seed 0.
        feeds = spec.inputs(np.random.default_rng(0))
        want, _ = ort.run(src, feeds)
        got = compiled.run(only_inputs(compiled, feeds))
        checks = [(shapes, feeds, want, got)]
        for seed in range(1, spec.f32_n):
            f = spec.inputs(np.random.default_rng(seed))
            checks.append(("seed %d" % seed, f, ort.run(src, f)[0],
                           compiled.run(only_inputs(compiled, f))))
        for label, override in spec.variants:
            f = dict(feeds, **override)
            checks.append((label, f, ort.run(src, f)[0],
                           compiled.run(only_inputs(compiled, f))))
        worst = 0.0
        # Scores (sigmoid outputs) near 0 carry ORT's own float32 error;
        # the worst relative difference where ORT's score is >= 0.01 too.
        worst_scored = None
        ok_all = True
        f64_notes = []
        for label, f, want_v, got_v in checks:
            for out, ref in want_v.items():
                res = got_v.get(out)
                ok = res is not None and res.shape == ref.shape
                diff = float(np.abs(res - ref).max()) if ok else float("inf")
                scale = float(np.abs(ref).max())
                ok = ok and diff <= RTOL * scale + ATOL
                rel = diff / max(scale, 1e-30)
                worst = max(worst, rel)
                if spec.metric == "score" and scale >= 0.01:
                    worst_scored = max(worst_scored or 0.0, rel)
                ok_all &= ok
                print("%-18s %-16s %-22s %10.3g %10.3g  %-8s%s" % (
                    spec.name, label, out[:22], diff, rel,
                    "ok" if ok else "MISMATCH",
                    " (ORT max %.3g)" % scale if spec.metric == "score"
                    else ""))
            ref64 = eval_f64(onnx.load(path), f)
            if ref64:
                for out, r64 in ref64.items():
                    scale = max(float(np.abs(r64).max()), 1e-30)
                    q, o = (np.abs(got_v[out] - r64).max() / scale,
                            np.abs(want_v[out] - r64).max() / scale)
                    f64_notes.append((q, o))
                    print("%-18s %-16s float64 reference: qopt max rel %.3g,"
                          " ORT max rel %.3g" % (spec.name, label, q, o))
        failures += not ok_all
        row.update(f32_rel=worst, f32_ok=ok_all, compile_s=secs,
                   f32_n=len(checks), f32_scored=worst_scored,
                   f32_f64=(max(q for q, _ in f64_notes),
                            max(o for _, o in f64_notes))
                   if f64_notes else None,
                   status="ok" if ok_all else "f32 MISMATCH")
        if not args.no_quant:
            calib = os.path.join(args.work, spec.name + "-calib")
            os.makedirs(calib, exist_ok=True)
            for i in range(CALIB_BATCHES):
                f = spec.inputs(np.random.default_rng(1000 + i))
                np.savez(os.path.join(calib, "b%d.npz" % i),
                         **only_inputs(compiled, f))
            qso = os.path.join(args.work, spec.name + "-w8a8.so")
            proc, _ = qcc(args, path, qso, spec.shapes,
                          ["--wbits=8", "--abits=8", "--calib=" + calib] +
                          fixed)
            if proc.returncode != 0:
                msg = (proc.stderr.strip().splitlines() or ["qcc failed"])[0]
                print("%-18s W8A8 qcc failed: %s" % (spec.name, msg))
                row.update(w8a8="qcc failed: %s" % msg)
                failures += 1
            else:
                quant = qopt.load(qso)
                first = next(iter(want))
                got_q, ref_q = [], []
                for i in range(spec.eval_n):
                    f = spec.inputs(np.random.default_rng(2000 + i))
                    ref_q.append(ort.run(src, f)[0][first])
                    got_q.append(quant.run(only_inputs(quant, f))[first])
                text = agreement(spec.metric, got_q, ref_q)
                print("%-18s W8A8 (%d inputs, %s): %s" % (
                    spec.name, spec.eval_n, first, text))
                row.update(w8a8=text + " (%d inputs)" % spec.eval_n)
        rows.append(row)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| model | package | file | inputs | f32 max rel diff vs "
                    "ORT | W8A8 agreement vs f32 ORT | status |\n")
            f.write("|---|---|---|---|---|---|---|\n")
            for r in rows:
                f32 = "%.2g" % r["f32_rel"] if "f32_rel" in r else "-"
                if r.get("f32_n", 1) > 1:
                    f32 += " (%d inputs)" % r["f32_n"]
                if r.get("f32_scored") is not None:
                    f32 += "; %.2g where max |ORT| >= 0.01" % (
                        r["f32_scored"])
                if r.get("f32_f64"):
                    f32 += "; vs float64: qopt %.2g, ORT %.2g" % r["f32_f64"]
                status = r["status"] + (" (%s)" % r["note"] if r["note"] else "")
                f.write("| %s | %s | %s | %s | %s | %s | %s |\n" % (
                    r["name"], r["package"], r["file"], r["inputs"], f32,
                    r.get("w8a8", "-").replace("|", "\\|"), status))
    if failures:
        print("%d failures" % failures)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
