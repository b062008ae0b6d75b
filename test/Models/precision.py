#!/usr/bin/python3
"""Mixed precision end to end (qcc --avg-wbits) on a generated model whose
four layers differ deliberately in sensitivity (python/qopt_tools/models.py,
mixed_sensitivity).

For both sensitivity estimators (the Hessian-weighted proxy and the measured
one), the allocation at an average of 4 (and 3) weight bits must have a lower
output error on held-out inputs than uniform W4 (W3), at no more weight
bytes. Also: the allocation meets the budget, and --precision-report writes
a JSON and an HTML page with the Pareto front and the per-layer bits.

usage: precision.py --qcc PATH --work DIR
"""

import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
from qopt_tools import quant_eval  # noqa: E402

failures = []


def softmax_model(path):
    """x -> MatMul -> Relu -> MatMul -> Softmax: the output is a
    distribution."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(
        (rng.standard_normal((32, 64)) / 6).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(
        (rng.standard_normal((64, 10)) / 8).astype(np.float32), "w2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["l"], name="fc2"),
             helper.make_node("Softmax", ["l"], ["p"], name="sm", axis=-1)]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 32])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["b", 10])],
        [w1, w2])
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message)
    if not condition:
        failures.append(message)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    work = args.work
    os.makedirs(work, exist_ok=True)
    name = "mixed_sensitivity"
    model = quant_eval.write_model(name, work)
    calib = quant_eval.write_batches(name, os.path.join(work, "calib"), 4, 64,
                                     seed=100)
    test = quant_eval.load_batches(quant_eval.write_batches(
        name, os.path.join(work, "test"), 4, 64, seed=9000))
    f32 = os.path.join(work, "f32.so")
    quant_eval.qcc(args.qcc, model, f32)
    cands = ["--wbits-candidates", "2,3,4,6,8"]
    results = {}

    def run(label, flags):
        so = os.path.join(work, label.replace(" ", "-") + ".so")
        rep = quant_eval.qcc(args.qcc, model, so, flags,
                             report=os.path.join(work, "report.json"))
        err = quant_eval.output_error(f32, so, test)
        bits = {l["name"]: l["wbits"] for l in rep["layers"]}
        results[label] = (err, rep["weight_bytes"], rep["average_weight_bits"],
                          bits)
        print("      %-24s rel. output error %.5f  weight bytes %6d  "
              "avg bits %.3f  %s" % (label, err, rep["weight_bytes"],
                                     rep["average_weight_bits"],
                                     " ".join("%s=W%d" % kv
                                              for kv in bits.items())))
        return results[label]

    for bits in (3, 4):
        uniform = run("uniform W%d" % bits, ["--wbits", str(bits)])
        for estimator in ("proxy", "measured"):
            mixed = run("mixed %d %s" % (bits, estimator),
                        ["--avg-wbits", str(bits), "--calib", calib,
                         "--precision-estimator", estimator] + cands)
            check(mixed[2] <= bits + 1e-9,
                  "%s at avg %d bits meets the budget: %.3f bits"
                  % (estimator, bits, mixed[2]))
            check(mixed[1] <= uniform[1],
                  "%s at avg %d bits takes no more bytes than uniform W%d: "
                  "%d vs %d" % (estimator, bits, bits, mixed[1], uniform[1]))
            check(mixed[0] < uniform[0],
                  "%s at avg %d bits beats uniform W%d: error %.5f vs %.5f"
                  % (estimator, bits, bits, mixed[0], uniform[0]))

    # The report.
    html = os.path.join(work, "precision.html")
    quant_eval.qcc(args.qcc, model, os.path.join(work, "report.so"),
                   ["--avg-wbits", "3.5", "--calib", calib,
                    "--precision-report", html] + cands)
    with open(os.path.join(work, "precision.json")) as f:
        report = json.load(f)
    layers = report["layers"]
    check(len(layers) == 4 and all(len(l["candidates"]) == 5 for l in layers),
          "report: 4 layers with 5 candidates each")
    check(report["totals"]["avg_wbits"] <= 3.5,
          "report: the allocation meets the budget (%.3f bits)"
          % report["totals"]["avg_wbits"])
    check(len(report["pareto"]) > 3 and
          any(p.get("chosen") for p in report["pareto"]),
          "report: a Pareto front of %d points with the chosen one"
          % len(report["pareto"]))
    measured = [p for p in report.get("measured", []) if "measured" in p]
    check(len(measured) >= 3 and
          all("measured" in u for u in report["uniform"]),
          "report: measured errors for %d front points and %d uniform"
          % (len(measured), len(report["uniform"])))
    with open(html) as f:
        page = f.read()
    check(page.startswith("<!DOCTYPE html>") and page.count("<svg") == 2 and
          "fc_heavy" in page, "report: HTML page with two plots and the "
          "layer table")

    # A model whose output is a distribution (softmax): the measured
    # estimator compares distributions by KL divergence.
    sm = os.path.join(work, "softmax.onnx")
    softmax_model(sm)
    sm_calib = os.path.join(work, "softmax-calib")
    os.makedirs(sm_calib, exist_ok=True)
    rng = np.random.default_rng(3)
    np.savez(os.path.join(sm_calib, "b0.npz"),
             x=rng.standard_normal((64, 32)).astype(np.float32))
    quant_eval.qcc(args.qcc, sm, os.path.join(work, "softmax.so"),
                   ["--avg-wbits", "3", "--calib", sm_calib,
                    "--precision-estimator", "measured", "--precision-report",
                    os.path.join(work, "softmax.html")])
    with open(os.path.join(work, "softmax.json")) as f:
        sm_report = json.load(f)
    check(sm_report.get("measured_metric") ==
          "KL divergence of the output distribution" and
          sm_report["budget"]["estimator"] == "measured",
          "softmax output: measured sensitivities are KL divergences")

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
