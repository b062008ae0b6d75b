#!/usr/bin/python3
"""End-to-end checks of qcc's quantization on generated models.

1. The integer path is exact: for a single linear layer, the int32
   accumulators recovered from model.so's outputs equal an independent NumPy
   integer matmul of the exported integer weights and of the activations
   quantized in NumPy (static and dynamic, symmetric and asymmetric).
2. On a block whose activations carry outlier channels (30-100x, as in
   LLMs): W8A8 with SmoothQuant has clearly lower output error than without;
   GPTQ has lower error than RTN at W3 and W4; the error decreases with the
   weight bits from W2 to W8 at A8.
3. Smoothing alone keeps the float function (the smoothed float model,
   compiled from qcc's --stop-after-stage=smooth output, matches).
4. Weight bytes shrink with the bits (W8 > W4 > W3 > W2, about bits/32 of
   the float weights).
5. Weights decoded inside the matmul loops (qopt-cpu-tile-and-vectorize
   fuses a constant weight decode into the register blocks: in the K loop
   when the rows fit one block, else a panel per N block and K chunk):
   layers whose K spans several chunks with a remainder, with N not a
   multiple of the block, at M = 1, 2 and 23: the integer path stays exact
   and weight-only layers equal NumPy on the exported weights within the
   f32 sum's error, with groups that align with the chunks and groups that
   do not (one panel per whole K).
6. bfloat16 models: a bf16 linear layer unquantized, and at W4
   (weight-only) with the exported dequantized weights, equals NumPy's
   matmul to the output's bf16 rounding (f32 sums); at W8A8 it stays within
   2% of the float layer.

usage: quantization.py --qcc PATH --work DIR
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import qopt  # noqa: E402
from qopt_tools import quant_eval  # noqa: E402

failures = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message)
    if not condition:
        failures.append(message)


def quantize_np(x, scale, zp, qmin, qmax):
    """qopt.quantize in NumPy: f32 division, round half to even, clamp."""
    q = np.rint(x.astype(np.float32) / np.float32(scale)) + zp
    return np.clip(q, qmin, qmax).astype(np.int64)


def exact_integer_path(qcc, work):
    model = quant_eval.write_model("linear", work)
    calib = quant_eval.write_batches("linear", os.path.join(work, "lin-calib"),
                                     4, 32, seed=10)
    x = quant_eval.load_batches(
        quant_eval.write_batches("linear", os.path.join(work, "lin-test"), 1,
                                 23, seed=99))[0]["x"]
    for label, flags in [
            ("W4A8 static sym", ["--wbits", "4", "--abits", "8",
                                 "--act-quant", "static", "--calib", calib,
                                 "--smooth", "off"]),
            ("W3A6 static asym/asym", ["--wbits", "3", "--abits", "6",
                                       "--act-quant", "static", "--scheme",
                                       "asym", "--act-scheme", "asym",
                                       "--calib", calib, "--smooth", "off"]),
            ("W2A8 dynamic sym", ["--wbits", "2", "--abits", "8"]),
            # Full i8 range on both sides: the AVX-512 pair dot products
            # (qopt.x86.pmaddwd) where the CPU has them.
            ("W8A8 dynamic sym", ["--wbits", "8", "--abits", "8",
                                  "--smooth", "off"]),
            ("W5A7 dynamic asym/asym", ["--wbits", "5", "--abits", "7",
                                        "--scheme", "asym", "--act-scheme",
                                        "asym"]),
            # The CPU stores weights as bit fields, 32 / B per word: W1 one
            # per bit, W6 five per word (an odd count: K pairs straddle
            # words), W7 four.
            ("W1A8 dynamic sym", ["--wbits", "1", "--abits", "8"]),
            ("W6A6 dynamic sym", ["--wbits", "6", "--abits", "6"]),
            ("W7A8 dynamic asym/sym", ["--wbits", "7", "--abits", "8",
                                       "--scheme", "asym"])]:
        # A new path per library: dlopen hands back a loaded one by name.
        tag = label.replace(" ", "-").replace("/", "-")
        so = os.path.join(work, "linear-%s.so" % tag)
        export = os.path.join(work, "linear-%s.npz" % tag)
        quant_eval.qcc(qcc, model, so, flags + ["--export-quantization",
                                                export])
        z = np.load(export)
        prefix = [k for k in z.keys() if k.endswith("::weights")][0][:-9]
        w = z[prefix + "::weights"].astype(np.int64)           # [N, K]
        sw = z[prefix + "::weight_scales"].astype(np.float32)  # [N]
        zw = (z[prefix + "::weight_zero_points"].astype(np.int64)
              if prefix + "::weight_zero_points" in z else np.zeros_like(w[:, 0]))
        abits = int(flags[flags.index("--abits") + 1])
        asym = "asym" in flags[flags.index("--act-scheme") + 1] \
            if "--act-scheme" in flags else False
        qmin, qmax = (0, 2 ** abits - 1) if asym else \
            (-2 ** (abits - 1), 2 ** (abits - 1) - 1)
        if prefix + "::act_scale" in z:  # static, per tensor
            sa = np.full(x.shape[0], z[prefix + "::act_scale"], np.float32)
            za = np.full(x.shape[0], z[prefix + "::act_zero_point"]
                         if prefix + "::act_zero_point" in z else 0, np.int64)
        else:  # dynamic per token, as the generated code computes it
            if asym:
                lo = np.minimum(x.min(axis=1), 0).astype(np.float32)
                hi = np.maximum(x.max(axis=1), 0).astype(np.float32)
                sa = (hi - lo) / np.float32(qmax - qmin)
                sa = np.where(sa > 0, sa, np.float32(1)).astype(np.float32)
                za = np.clip(np.rint(np.float32(qmin) - lo / sa), qmin, qmax)
                za = za.astype(np.int64)
            else:
                amax = np.abs(x).max(axis=1).astype(np.float32)
                sa = amax / np.float32(max(qmax, 1))
                sa = np.where(sa > 0, sa, np.float32(1)).astype(np.float32)
                za = np.zeros(x.shape[0], np.int64)
        xq = np.stack([quantize_np(x[m], sa[m], za[m], qmin, qmax)
                       for m in range(x.shape[0])])
        acc = (xq - za[:, None]) @ (w - zw[:, None]).T        # exact int64
        y = qopt.load(so).run({"x": x})["y"].astype(np.float64)
        scale = sa[:, None].astype(np.float32) * sw[None, :]  # f32, as the epilogue
        recovered = np.rint(y / scale.astype(np.float64)).astype(np.int64)
        check(np.array_equal(recovered, acc) and np.abs(acc).max() < 2 ** 23,
              "integer path exact (%s): %d accumulators, max |acc| %d"
              % (label, acc.size, np.abs(acc).max()))


def integer_accumulators_exact(so, export, x, label, abits=8):
    """Symmetric dynamic per-token activations of `abits` bits, symmetric
    weights: the accumulators recovered from the output equal NumPy's
    integer matmul."""
    z = np.load(export)
    prefix = [k for k in z.keys() if k.endswith("::weights")][0][:-9]
    w = z[prefix + "::weights"].astype(np.int64)           # [N, K]
    sw = z[prefix + "::weight_scales"].astype(np.float32)  # [N]
    qmax = 2 ** (abits - 1) - 1
    amax = np.abs(x).max(axis=1).astype(np.float32)
    sa = amax / np.float32(qmax)
    sa = np.where(sa > 0, sa, np.float32(1)).astype(np.float32)
    xq = np.stack([quantize_np(x[m], sa[m], 0, -qmax - 1, qmax)
                   for m in range(x.shape[0])])
    acc = xq @ w.T
    y = qopt.load(so).run({"x": x})["y"].astype(np.float64)
    scale = (sa[:, None].astype(np.float32) * sw[None, :]).astype(np.float64)
    recovered = np.rint(y / scale).astype(np.int64)
    check(np.array_equal(recovered, acc) and np.abs(acc).max() < 2 ** 23,
          "integer path exact, %s: %d accumulators, max |acc| %d"
          % (label, acc.size, np.abs(acc).max()))


def fused_decodes(qcc, work):
    import onnx
    for k, configs in [
            (1100, [("W4A8", ["--wbits", "4", "--abits", "8"]),
                    ("W2A8", ["--wbits", "2", "--abits", "8"]),
                    ("W3A8", ["--wbits", "3", "--abits", "8"])]),
            # With VNNI, W6 and W7 are byte-quad slices of 4 + 2 and
            # 4 + 2 + 1 bits; K = 1088 a multiple of every slice's word.
            (1088, [("W4A16 g64", ["--wbits", "4", "--group-size", "64"]),
                    ("W6A8", ["--wbits", "6", "--abits", "8"]),
                    ("W7A8", ["--wbits", "7", "--abits", "8"])]),
            (1152, [("W3A16 g96", ["--wbits", "3", "--group-size", "96"])])]:
        model = quant_eval.write_model("linear", work, k=k, n=72)
        for label, flags, m, static in [(label, flags, m, static)
                                        for label, flags in configs
                                        for m in (1, 2, 23)
                                        for static in (False, True)]:
            # A static M of one block decodes in the K loop; a dynamic M
            # (or more rows) a panel at a time.
            tag = "fused-%d-%s-%s" % (k, label.replace(" ", "-"),
                                      "m%d" % m if static else "dyn")
            so = os.path.join(work, tag + ".so")
            export = os.path.join(work, tag + ".npz")
            if static:
                proto = onnx.load(model)
                for value in (proto.graph.input[0], proto.graph.output[0]):
                    value.type.tensor_type.shape.dim[0].dim_value = m
                source = os.path.join(work, tag + ".onnx")
                onnx.save(proto, source)
            else:
                source = model
            if static or not os.path.exists(so):
                quant_eval.qcc(qcc, source, so,
                               flags + ["--export-quantization", export])
            x = np.random.default_rng(m).standard_normal(
                (m, k)).astype(np.float32)
            name = "%s, K = %d, N = 72, M = %d%s" % (
                label, k, m, " static" if static else "")
            if "--abits" in flags:
                integer_accumulators_exact(so, export, x, name)
                continue
            z = np.load(export)
            prefix = [n for n in z.keys() if n.endswith("::weights")][0][:-9]
            w = z[prefix + "::weights"].astype(np.float64)         # [N, K]
            sw = z[prefix + "::weight_scales"].astype(np.float64)  # [N, K/G]
            wd = w * np.repeat(sw, k // sw.shape[1], axis=1)
            ref = x.astype(np.float64) @ wd.T
            # f32 products and a sequential f32 sum over K.
            bound = 2.0 ** -24 * (k + 2) * (np.abs(x) @ np.abs(wd).T)
            got = qopt.load(so).run({"x": x})["y"].astype(np.float64)
            check(bool(np.all(np.abs(got - ref) <= bound)),
                  "%s = NumPy on the exported weights: max |diff| %.3g, "
                  "at most %.3g of the f32 bound (max |y| %.3g)"
                  % (name, np.abs(got - ref).max(),
                     (np.abs(got - ref) / bound).max(), np.abs(ref).max()))


def quad_dot_without_vnni(qcc, work):
    """The byte-quad blocks of CPUs without VNNI (vpmaddubsw, vpmaddwd) and
    their pair dot products: compiled for haswell (AVX2) and skylake-avx512
    (AVX-512 BW), run here where the CPU has those instructions; the
    accumulators equal NumPy's integer matmul."""
    flags = open("/proc/cpuinfo").read().split()
    for cpu, needed in (("haswell", ["avx2", "fma", "bmi2"]),
                        ("skylake-avx512", ["avx512f", "avx512bw",
                                            "avx512vl", "avx512dq"])):
        if not all(f in flags for f in needed):
            print("skip  %s quad dot products: this CPU lacks %s"
                  % (cpu, ", ".join(f for f in needed if f not in flags)))
            continue
        for k, label, wflags in [
                (1100, "W4A8", ["--wbits", "4", "--abits", "8"]),
                (1088, "W3A8", ["--wbits", "3", "--abits", "8"]),
                (1088, "W6A6", ["--wbits", "6", "--abits", "6"]),
                # 8-bit weights: pair dot products (256-bit on haswell).
                (1088, "W8A8", ["--wbits", "8", "--abits", "8"])]:
            model = quant_eval.write_model("linear", work, k=k, n=72)
            tag = "nonvnni-%s-%d-%s" % (cpu, k, label)
            so = os.path.join(work, tag + ".so")
            export = os.path.join(work, tag + ".npz")
            quant_eval.qcc(qcc, model, so, wflags + [
                "--cpu=" + cpu, "--export-quantization", export])
            for m in (1, 23):
                x = np.random.default_rng(m).standard_normal(
                    (m, k)).astype(np.float32)
                name = "%s for %s, K = %d, N = 72, M = %d" % (label, cpu, k, m)
                integer_accumulators_exact(so, export, x, name,
                                           abits=int(wflags[3]))


def from_bf16(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def bf16_model(qcc, work):
    from onnx import TensorProto
    import onnx
    from qopt_tools import models
    model = os.path.join(work, "linear_bf16.onnx")
    onnx.save(models.linear(k=256, n=96, bias=False,
                            elem_type=TensorProto.BFLOAT16), model)
    x = np.random.default_rng(3).standard_normal((9, 256)).astype(np.float32)
    xb = models.bf16_bits(x)
    xf = from_bf16(xb).astype(np.float64)
    so = os.path.join(work, "linear-bf16-w4.so")
    export = os.path.join(work, "linear-bf16-w4.npz")
    quant_eval.qcc(qcc, model, so, ["--wbits", "4", "--export-quantization",
                                    export])
    z = np.load(export)
    prefix = [k for k in z.keys() if k.endswith("::weights")][0][:-9]
    w = z[prefix + "::weights"].astype(np.float64)           # [N, K]
    sw = z[prefix + "::weight_scales"].astype(np.float64)    # [N]
    ref = xf @ (w * sw[:, None]).T
    y = qopt.load(so).run({"x": xb})["y"]
    got = from_bf16(y).astype(np.float64)
    # One rounding of an f32 sum to bf16: within half a bf16 step (at most
    # 2^-8 of the value: 8 significant bits), plus the f32 sum's own error.
    bound = 2.0 ** -8 * np.abs(ref) + 1e-5 * np.abs(ref).max()
    check(y.dtype == np.uint16 and bool(np.all(np.abs(got - ref) <= bound)),
          "bf16 W4 weight-only = NumPy on the exported weights to bf16 "
          "rounding: max |diff| %.3g (max |y| %.3g)"
          % (np.abs(got - ref).max(), np.abs(ref).max()))
    # Unquantized, the bf16 product accumulates in f32 and rounds once.
    sof = os.path.join(work, "linear-bf16-float.so")
    quant_eval.qcc(qcc, model, sof)
    gotf = from_bf16(qopt.load(sof).run({"x": xb})["y"]).astype(np.float64)
    f32 = onnx.load(quant_eval.write_model("linear", work, k=256, n=96))
    wf = from_bf16(models.bf16_bits(
        onnx.numpy_helper.to_array(f32.graph.initializer[0])))
    ref_float = xf @ wf.astype(np.float64)
    bound = 2.0 ** -8 * np.abs(ref_float) + 1e-5 * np.abs(ref_float).max()
    check(bool(np.all(np.abs(gotf - ref_float) <= bound)),
          "bf16 float layer = NumPy to bf16 rounding (f32 accumulation): "
          "max |diff| %.3g (max |y| %.3g)"
          % (np.abs(gotf - ref_float).max(), np.abs(ref_float).max()))
    so8 = os.path.join(work, "linear-bf16-w8a8.so")
    quant_eval.qcc(qcc, model, so8, ["--wbits", "8", "--abits", "8"])
    got8 = from_bf16(qopt.load(so8).run({"x": xb})["y"]).astype(np.float64)
    err = np.linalg.norm(got8 - ref_float) / np.linalg.norm(ref_float)
    check(err < 0.02, "bf16 W8A8 within 2%% of the bf16 float layer: "
          "relative L2 error %.4f" % err)


def outlier_block(qcc, work):
    model = quant_eval.write_model("outlier_block", work)
    calib = quant_eval.write_batches("outlier_block",
                                     os.path.join(work, "ob-calib"), 8, 8,
                                     seed=1000)
    test = quant_eval.load_batches(quant_eval.write_batches(
        "outlier_block", os.path.join(work, "ob-test"), 4, 4, seed=5000))
    f32 = os.path.join(work, "ob-f32.so")
    report = quant_eval.qcc(qcc, model, f32)
    errors = {}

    def run(label, flags):
        so = os.path.join(work, "ob-%s.so" % label.replace(" ", "-"))
        rep = quant_eval.qcc(qcc, model, so, flags,
                             report=os.path.join(work, "ob-report.json"))
        errors[label] = quant_eval.output_error(f32, so, test)
        print("      %-28s rel. output error %.5f   weight bytes %d"
              % (label, errors[label], rep["weight_bytes"]))
        return rep

    c = ["--calib", calib]
    run("W8A8 smooth off", ["--wbits", "8", "--abits", "8", "--smooth", "off"])
    run("W8A8 smooth auto", ["--wbits", "8", "--abits", "8"] + c)
    run("W8A8 static smooth off", ["--wbits", "8", "--abits", "8",
                                   "--act-quant", "static", "--smooth", "off"]
        + c)
    run("W8A8 static smooth auto", ["--wbits", "8", "--abits", "8",
                                    "--act-quant", "static"] + c)
    check(errors["W8A8 smooth auto"] < 0.7 * errors["W8A8 smooth off"],
          "SmoothQuant lowers W8A8 (dynamic) error: %.5f vs %.5f"
          % (errors["W8A8 smooth auto"], errors["W8A8 smooth off"]))
    check(errors["W8A8 static smooth auto"] <
          0.7 * errors["W8A8 static smooth off"],
          "SmoothQuant lowers W8A8 (static) error: %.5f vs %.5f"
          % (errors["W8A8 static smooth auto"],
             errors["W8A8 static smooth off"]))

    for bits in ("3", "4"):
        run("W%sA16 rtn" % bits, ["--wbits", bits, "--weight-quantizer",
                                  "rtn"] + c)
        run("W%sA16 gptq" % bits, ["--wbits", bits, "--weight-quantizer",
                                   "gptq"] + c)
        check(errors["W%sA16 gptq" % bits] < errors["W%sA16 rtn" % bits],
              "GPTQ beats RTN at W%s: %.5f vs %.5f"
              % (bits, errors["W%sA16 gptq" % bits],
                 errors["W%sA16 rtn" % bits]))

    sizes = {}
    for bits in range(2, 9):
        rep = run("W%dA8" % bits, ["--wbits", str(bits), "--abits", "8"] + c)
        sizes[bits] = rep["weight_bytes"]
    seq = [errors["W%dA8" % b] for b in range(2, 9)]
    check(all(a > b for a, b in zip(seq, seq[1:])),
          "error decreases with weight bits W2..W8 at A8: " +
          " > ".join("%.4f" % e for e in seq))
    float_bytes = 4 * (128 * 512 + 512 * 128 + 128 * 64)
    check(sizes[8] > sizes[4] > sizes[3] > sizes[2],
          "weight bytes shrink with bits: W8 %d, W4 %d, W3 %d, W2 %d "
          "(float %d)" % (sizes[8], sizes[4], sizes[3], sizes[2],
                          float_bytes))
    # Packed at the chosen bits: the W2 layers' weights take 1/16 of f32,
    # plus scales and the float biases and norms.
    check(sizes[2] < float_bytes / 16 * 1.3,
          "W2 stores about 2 bits per weight: %d bytes for %d float bytes"
          % (sizes[2], float_bytes))

    # Smoothing alone keeps the function.
    smoothed = os.path.join(work, "ob-smoothed.mlir")
    quant_eval.qcc(qcc, model, smoothed,
                   ["--wbits", "8", "--abits", "8", "--emit=mlir",
                    "--stop-after-stage=smooth"] + c)
    smoothed_so = os.path.join(work, "ob-smoothed.so")
    quant_eval.qcc(qcc, smoothed, smoothed_so)
    err = quant_eval.output_error(f32, smoothed_so, test)
    check(err < 1e-5, "smoothing keeps the float function: rel. error %.2g"
          % err)


def cnn(qcc, work):
    """Convolutions quantize through im2col: the W8A8 CNN stays close to the
    float one and stores fewer weight bytes than the float initializers."""
    import onnx
    import onnx.numpy_helper
    model = quant_eval.write_model("cnn", work)
    calib = quant_eval.write_batches("cnn", os.path.join(work, "cnn-calib"),
                                     4, 8, seed=1000)
    test = quant_eval.load_batches(quant_eval.write_batches(
        "cnn", os.path.join(work, "cnn-test"), 2, 8, seed=5000))
    f32 = os.path.join(work, "cnn-f32.so")
    quant_eval.qcc(qcc, model, f32)
    so = os.path.join(work, "cnn-w8a8.so")
    rep = quant_eval.qcc(qcc, model, so, ["--wbits", "8", "--abits", "8",
                                          "--calib", calib],
                         report=os.path.join(work, "cnn-report.json"))
    err = quant_eval.output_error(f32, so, test)
    float_bytes = sum(onnx.numpy_helper.to_array(t).nbytes
                      for t in onnx.load(model).graph.initializer)
    check(err < 0.03 and rep["quantized_layers"] == 3,
          "CNN W8A8 (convolutions through im2col): rel. output error %.5f, "
          "%d layers quantized" % (err, rep["quantized_layers"]))
    check(rep["weight_bytes"] < 0.6 * float_bytes,
          "CNN W8A8 stores %d weight bytes for %d float bytes"
          % (rep["weight_bytes"], float_bytes))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    exact_integer_path(args.qcc, args.work)
    fused_decodes(args.qcc, args.work)
    quad_dot_without_vnni(args.qcc, args.work)
    bf16_model(args.qcc, args.work)
    outlier_block(args.qcc, args.work)
    cnn(args.qcc, args.work)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
