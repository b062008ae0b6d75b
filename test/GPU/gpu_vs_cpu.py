#!/usr/bin/python3
"""On a machine with a CUDA GPU (compute capability 8.0+): model.so's GPU
path (bit-plane binary tensor-core kernels) against its own CPU path, on
the same inputs. Without a usable GPU it prints why and exits 77, which
ctest reports as skipped (ctest -L gpu).

Cases: a linear layer (K = 512, N = 192) quantized W2A8, W3A8, W4A8, W8A8
(dynamic per-token activations: the fused quantize + pack kernel, or at
M <= 4 imma's decode kernel quantizing its own rows), W4A8 with asymmetric
activations (zero points) and W4A4 asymmetric with weight groups of 256, at M = 1, 7, 64 and 300 (the MMA
shapes, partial and full tiles); the generated MLP at W4A8. Outputs must
agree within 1e-5 of max |CPU output| (both compute the same integer
products; the float epilogues may round differently), and each case
reports its max difference.

With --cuda-library PATH the GPU runs load that library in place of
libcuda.so.1 (QOPT_CUDA_LIBRARY), e.g. the PTX emulator
libqopt_cuda_emu.so; a case it cannot run then fails instead of skipping.
--m-list picks the M values (default 1,7,64,300); --gpu-kernels compiles
every integer-activation case once per kernel choice (qcc --gpu-kernel,
default auto), e.g. auto,bmma,imma to cover each kernel. Two more cases
always run: weight-only W4 (hmma) and W4A8 with M fixed to 4 at compile
time (the small-M kernels), W4A8 and weight-only W4 in groups of 128, and
W4A8 and weight-only W4 at K = 960 (the decode tile's last k-tile partly
padding), and W4A8 asymmetric on both sides at K = 960 (weight zero points
in imma's operands, the decode tile's own quantized padding), and the layer
rewritten to ORT's 4-bit MatMulNBits (a pre-quantized model, no --wbits). The weight-only kernel (hmma) rounds the
activations to f16 before its f16 MMA, so its reference is the CPU variant
run on the f16-rounded inputs (against the unrounded ones it differs by
about 2e-4 of max |y|, the f16 rounding). And a bfloat16 model, weight-only
W4 on bf16 MMA and W4A8 (the fused quantize kernel reading bf16), fed
inputs of magnitude about 1e5 (beyond f16's range, so an f16 kernel would
return inf): its outputs are bf16, and the two devices' f32 sums, rounded
to bf16, may differ by one bf16 step, 2^-7 of max |y|.

On a GPU machine without qcc (no LLVM/MLIR there): --build-only compiles
every case's library into --work here (with work/manifest.json), then
--prebuilt runs them there from that manifest, without qcc or onnx.

usage: gpu_vs_cpu.py --qcc PATH --work DIR [--cuda-library PATH]
                     [--m-list 1,7,64,300] [--gpu-kernels auto,bmma,imma]
                     [--build-only | --prebuilt]
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

SKIP = 77
TOL = 1e-5

CHILD = r"""
import json, sys
import numpy as np
sys.path.insert(0, %r)
import qopt
m = qopt.load(sys.argv[1])
feeds = dict(np.load(sys.argv[2]))
out = {"device": m.device, "info": m.device_info, "error": None}
try:
    np.savez(sys.argv[3], **m.run(feeds))
except qopt.QoptError as e:
    out["error"] = str(e)
print(json.dumps(out))
""" % os.path.join(ROOT, "python")


def run(so, feeds_path, out_path, device, cuda_library=None):
    env = dict(os.environ, QOPT_DEVICE=device)
    if cuda_library:
        env["QOPT_CUDA_LIBRARY"] = cuda_library
    proc = subprocess.run([sys.executable, "-c", CHILD, so, feeds_path,
                           out_path], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", help="qcc (not needed with --prebuilt)")
    parser.add_argument("--work", required=True)
    parser.add_argument("--gpu-arch", default="sm_80",
                        help="cubin target (PTX in the fatbin covers newer)")
    parser.add_argument("--cuda-library",
                        help="driver library for the GPU runs (an emulator); "
                             "not being able to run is then a failure")
    parser.add_argument("--m-list", default="1,7,64,300",
                        help="comma-separated M values")
    parser.add_argument("--gpu-kernels", default="auto",
                        help="comma-separated qcc --gpu-kernel values for "
                             "the quantized-activation cases")
    parser.add_argument("--build-only", action="store_true",
                        help="compile the cases into --work and stop")
    parser.add_argument("--prebuilt", action="store_true",
                        help="run the cases --build-only compiled into --work")
    args = parser.parse_args()
    m_list = [int(m) for m in args.m_list.split(",")]
    os.makedirs(args.work, exist_ok=True)
    manifest_path = os.path.join(args.work, "manifest.json")
    if args.prebuilt:
        manifest = json.load(open(manifest_path))
    else:
        if not args.qcc:
            parser.error("--qcc is needed unless --prebuilt")
        manifest = build(args)
        with open(manifest_path, "w") as f:
            json.dump(manifest, f, indent=1)
        if args.build_only:
            print("built %d cases into %s" % (len(manifest), args.work))
            return 1 if any(c["error"] for c in manifest) else 0
    return check(args, manifest, m_list)


def build(args):
    """Compiles every case; returns the manifest: per case its name,
    library, inputs (name and shape, 0 for the run-time M) and error."""
    import onnx
    from qopt_tools import models
    kernels = args.gpu_kernels.split(",")

    linear = os.path.join(args.work, "linear.onnx")
    onnx.save(models.linear(k=512, n=192, bias=True), linear)
    mlp = os.path.join(args.work, "mlp.onnx")
    onnx.save(models.mlp(), mlp)
    quantized = [("linear W2A8", linear, ["--wbits=2", "--abits=8"]),
                 ("linear W3A8", linear, ["--wbits=3", "--abits=8"]),
                 ("linear W4A8", linear, ["--wbits=4", "--abits=8"]),
                 ("linear W8A8", linear, ["--wbits=8", "--abits=8"]),
                 ("linear W4A8 asym act", linear,
                  ["--wbits=4", "--abits=8", "--act-scheme=asym"]),
                 ("linear W4A4 asym g256", linear,
                  ["--wbits=4", "--abits=4", "--scheme=asym",
                   "--act-scheme=asym", "--group-size=256"]),
                 ("mlp W4A8", mlp, ["--wbits=4", "--abits=8"]),
                 ("linear W4A8 M=4 static", linear,
                  ["--wbits=4", "--abits=8", "--input-shape=x=4x512"])]
    cases = []
    for kernel in kernels:
        for name, model, flags in quantized:
            if kernel != "auto":
                name += " " + kernel
                flags = flags + ["--gpu-kernel=" + kernel]
            cases.append((name, model, flags))
    cases.append(("linear W4 weight-only", linear, ["--wbits=4"]))
    # Groups of 128 (imma, hmma): each group's scales are loaded before its
    # k-tiles; the decode tile's stage holds four groups.
    cases.append(("linear W4A8 g128", linear,
                  ["--wbits=4", "--abits=8", "--group-size=128"]))
    cases.append(("linear W4 weight-only g128", linear,
                  ["--wbits=4", "--group-size=128"]))
    # K = 960, padded to 1024 by imma's tiles: the decode tile's two 512-K
    # stages (quantizing its own rows) end in 64 K of padding; hmma's
    # tiles take 64-K stages (15 of them, 6 in flight at M <= 4). Every
    # tile of a layer reads the same packed weights.
    linear960 = os.path.join(args.work, "linear960.onnx")
    onnx.save(models.linear(k=960, n=192, bias=True), linear960)
    cases.append(("linear K960 W4A8", linear960, ["--wbits=4", "--abits=8"]))
    cases.append(("linear K960 W4 weight-only", linear960, ["--wbits=4"]))
    # Asymmetric weights and activations at K = 960: imma subtracts the
    # weight zero points in its operands (the weight padding is then -zw),
    # and at M <= 4 the decode tile quantizes its own rows, its padding to 0.
    cases.append(("linear K960 W4A8 asym", linear960,
                  ["--wbits=4", "--abits=8", "--scheme=asym",
                   "--act-scheme=asym"]))
    # The 128 x 128 tile (from M = 256 here rather than 512): M = 300 takes
    # it, 64 the 64-row tile; N = 192 and M = 300 leave partial blocks.
    cases.append(("linear W4A8 asym 128-row tile", linear,
                  ["--wbits=4", "--abits=8", "--scheme=asym",
                   "--act-scheme=asym", "--gpu-large-tile-min-m=256"]))
    cases.append(("linear W4 weight-only g128 128-row tile", linear,
                  ["--wbits=4", "--group-size=128",
                   "--gpu-large-tile-min-m=256"]))
    # A pre-quantized model (ORT's 4-bit MatMulNBits, blocks of 32), compiled
    # without --wbits: its weights reach the kernels as bit planes, as a
    # layer qcc quantizes itself does.
    nbits = os.path.join(args.work, "linear_nbits.onnx")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "lm",
                                                 "to_matmulnbits.py"),
                    linear, nbits], check=True, capture_output=True)
    cases.append(("linear MatMulNBits 4-bit weight-only", nbits, []))
    linear_bf16 = os.path.join(args.work, "linear_bf16.onnx")
    onnx.save(models.linear(k=512, n=192, bias=True,
                            elem_type=onnx.TensorProto.BFLOAT16), linear_bf16)
    cases.append(("linear bf16 W4 weight-only", linear_bf16, ["--wbits=4"]))
    cases.append(("linear bf16 W4A8", linear_bf16, ["--wbits=4", "--abits=8"]))
    manifest = []
    for name, model, flags in cases:
        so = name.replace(" ", "_").replace("=", "") + ".so"
        proc = subprocess.run([args.qcc, model, "-o",
                               os.path.join(args.work, so),
                               "--gpu-arch=" + args.gpu_arch] + flags,
                              capture_output=True, text=True)
        error = None
        if proc.returncode != 0:
            error = proc.stderr.strip()
            print("%s: qcc failed: %s" % (name, error))
        inputs = [[i.name, [d.dim_value for d in
                            i.type.tensor_type.shape.dim]]
                  for i in onnx.load(model).graph.input]
        manifest.append({"name": name, "so": so, "inputs": inputs,
                         "error": error})
    return manifest


def bf16_bits(x):
    """float32 -> bfloat16 bits (uint16, the runtime's form), to nearest."""
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def from_bf16(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def check(args, manifest, m_list):
    failures = 0
    probed = False
    for case in manifest:
        name, so = case["name"], os.path.join(args.work, case["so"])
        if case["error"]:
            print("%s: qcc failed: %s" % (name, case["error"]))
            failures += 1
            continue
        static = "static" in name
        for m in ([4] if static else m_list):
            rng = np.random.default_rng(m)
            feeds = {}
            bf16 = "bf16" in name
            for input_name, dims in case["inputs"]:
                shape = [d if d else m for d in dims]
                feeds[input_name] = rng.standard_normal(shape).astype(
                    np.float32)
                if bf16:
                    feeds[input_name] = bf16_bits(feeds[input_name] * 1e5)
            feeds_path = os.path.join(args.work, "feeds.npz")
            np.savez(feeds_path, **feeds)
            cpu_feeds_path = feeds_path
            if "weight-only" in name and not bf16:
                cpu_feeds_path = os.path.join(args.work, "feeds_f16.npz")
                np.savez(cpu_feeds_path, **{
                    k: v.astype(np.float16).astype(np.float32)
                    for k, v in feeds.items()})
            gpu_out = os.path.join(args.work, "gpu.npz")
            cpu_out = os.path.join(args.work, "cpu.npz")
            g = run(so, feeds_path, gpu_out, "cuda", args.cuda_library)
            if not probed:
                probed = True
                if g["device"] != "cuda" or (
                        g["error"] and g["error"].startswith("QOPT_DEVICE")):
                    if args.cuda_library:
                        print("gpu-vs-cpu: FAILED, %s is not usable: %s"
                              % (args.cuda_library, g["error"] or g["info"]))
                        return 1
                    print("gpu-vs-cpu: SKIPPED, no usable GPU: %s"
                          % (g["error"] or g["info"]))
                    return SKIP
                print("device: %s" % g["info"])
            c = run(so, cpu_feeds_path, cpu_out, "cpu")
            if g["error"] or c["error"]:
                print("%s M=%d: run failed: %s" % (name, m,
                                                   g["error"] or c["error"]))
                failures += 1
                continue
            got, ref = np.load(gpu_out), np.load(cpu_out)
            for out in ref.files:
                g_out, r_out = got[out], ref[out]
                if bf16:
                    g_out, r_out = from_bf16(g_out), from_bf16(r_out)
                scale = float(np.abs(r_out).max())
                diff = float(np.abs(g_out - r_out).max())
                tol = 2.0 ** -7 if bf16 else TOL
                ok = (g_out.shape == r_out.shape and np.isfinite(g_out).all()
                      and diff <= tol * scale)
                failures += not ok
                print("%-30s M=%-4d %-6s max |gpu - cpu| %.3g (%.3g of max) %s"
                      % (name, m, out, diff, diff / max(scale, 1e-30),
                         "ok" if ok else "MISMATCH"))
    if failures:
        print("%d failures" % failures)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
