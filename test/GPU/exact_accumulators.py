#!/usr/bin/python3
"""The GPU kernels' integer sums, exactly: every kernel kind on layers
whose dequantization is the identity (activation and weight scales 1.0, no
bias, f32 output), so model.so's output is the kernel's accumulator itself
and must equal NumPy's int64 matmul bit for bit, on the GPU and on the CPU.

Cases (K = 512, N = 200: a partial last tile): W2A8, W4A8 (signed), W3A8
with weight zero points, W8A8 u8/u8 with zero points on both operands, W4A4
with groups of 256 and zero points on both (bmma and imma each), W4A8 in
groups of 128 with weight zero points (imma: each group's scales loaded
before its k-tiles; the decode tile's stage holds four groups), imma's
W6A6, W7A8 in groups of 64 and W5A8 in groups of 32 with zero points and
hmma's W3 in groups of 32 with zero points and W5 (weights of several bit
slices, fewer 32-K chunks interleaved), and the
weight-only hmma at W4 (groups of 64, zero points) and W6, whose f16
operands hold the integers exactly and whose f32 sums stay below 2^24; and
hmma on bf16 operands: W8 with zero points from f32 activations
(--gpu-hmma-type=bf16: w - zw up to 255, the eighth plane's own step), W4
in groups from bf16 activations and W6 from f16 ones (both read as they
are, no conversion kernel; the sums are f32 outputs); and the decode
tile (M <= 4) with other K per stage than its default 512 bytes (one
512-K stage of s8, two 256-K stages of f16 at this K): four 128-K stages
(W2A8), and 256-K stages of four groups of 64 with zero points on both
operands (W4A4); and the 64-row tiles with more than 48 KiB of shared
memory in stages, taken as dynamic shared memory (imma W8A8, hmma W4);
and the 128 x 128 tile (from M = 128 here) of imma W4A8 in groups with
zero points in the operands, W8A8 with zero points on both, W3A8, and of
hmma W4 in groups and W6 on bf16. M =
1, 3, 7, 64, 130 through one dynamic-M library (every tile of the
planner's ranges: M <= 4 the 16-row tile with its warps splitting K, then
the 16-row and 64-row tiles; bmma's 8-row and 64-row tiles). Activations are integers in range; the in-model quantize (scale
1.0, a zero point for asymmetric activations) passes them through.

On a machine without a usable GPU it exits 77 (skipped) unless
--cuda-library names a driver to use (the PTX emulator), when not running
fails.

--build-only compiles the libraries into --work and stops; --prebuilt runs
them there without qcc (the weights and inputs come from fixed seeds), for a
GPU machine that has no LLVM (bench/gpu/device_run.sh).

usage: exact_accumulators.py --qcc PATH --work DIR [--cuda-library PATH]
                             [--gpu-arch sm_80] [--build-only | --prebuilt]
"""

import argparse
import os
import subprocess
import sys
import zlib

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# One run of a library on a device in a child process, as gpu_vs_cpu.py
# does it.
from gpu_vs_cpu import run  # noqa: E402
SKIP = 77
K, N = 512, 200
M_LIST = (1, 3, 7, 64, 130)

# (name, kernel, weight storage, act storage (None: weight-only float),
#  weight zero points ("channel", "group" or None), act zero point, group
#  [, weight-only activation type (default f32), qcc flags])
CASES = [
    ("W2A8", "bmma", "s2", "s8", None, None, 0),
    ("W2A8", "imma", "s2", "s8", None, None, 0),
    ("W4A8", "bmma", "s4", "s8", None, None, 0),
    ("W4A8", "imma", "s4", "s8", None, None, 0),
    ("W3A8 zw", "bmma", "u3", "s8", "channel", None, 0),
    ("W3A8 zw", "imma", "u3", "s8", "channel", None, 0),
    ("W8A8 u8 zw za", "bmma", "u8", "u8", "channel", 131, 0),
    ("W8A8 u8 zw za", "imma", "u8", "u8", "channel", 131, 0),
    ("W4A4 g256 zw za", "bmma", "u4", "u4", "group", 7, 256),
    ("W4A4 g256 zw za", "imma", "u4", "u4", "group", 7, 256),
    ("W4A8 g128 zw", "imma", "u4", "s8", "group", None, 128),
    # imma/hmma's weight slices (4 + 2, 4 + 2 + 1, 4 + 1, 2 + 1 bits, the
    # top one's sign extended) in groups of 32 and 64 (one or two 32-K
    # chunks interleaved rather than four).
    ("W6A6", "imma", "s6", "s6", None, None, 0),
    ("W7A8 g64", "imma", "s7", "s8", None, None, 64),
    ("W5A8 g32 zw", "imma", "u5", "s8", "group", None, 32),
    ("W3A16 g32 zw", "hmma", "u3", None, "group", None, 32),
    ("W5A16", "hmma", "s5", None, None, None, 0),
    ("W4A16 g64 zw", "hmma", "s4", None, "group", None, 64),
    ("W6A16", "hmma", "s6", None, None, None, 0),
    ("W8A16 zw bf16", "hmma", "u8", None, "channel", None, 0, "f32",
     ["--gpu-hmma-type=bf16"]),
    ("W4A16 g64 zw bf16 in", "hmma", "s4", None, "group", None, 64, "bf16"),
    ("W6A16 f16 in", "hmma", "s6", None, None, None, 0, "f16"),
    # hmma's decode tile with each warp on whole 32-K chunks: two groups of
    # 128 per 256-K stage; 2-bit weights (two lanes per slice word).
    ("W4A16 g128 zw", "hmma", "u4", None, "group", None, 128),
    ("W2A16", "hmma", "s2", None, None, None, 0),
    # The decode tile's other k-tiles: four 128-K stages in flight, and
    # 256-K stages of four groups with zero points on both operands.
    ("W2A8 decode k128", "imma", "s2", "s8", None, None, 0, "f32",
     ["--gpu-decode-k-tile=128"]),
    ("W4A4 g64 zw za decode k256", "imma", "u4", "u4", "group", 7, 64,
     "f32", ["--gpu-decode-k-tile=256"]),
    # The 128 x 128 tile (eight warps of 64 x 32) from M = 128 rather than
    # 512: M = 130 takes it (two row blocks, the second of 2 rows), N = 200
    # two column blocks, the second partial.
    ("W4A8 g128 zw 128-row tile", "imma", "u4", "s8", "group", None, 128,
     "f32", ["--gpu-large-tile-min-m=128"]),
    ("W8A8 u8 zw za 128-row tile", "imma", "u8", "u8", "channel", 131, 0,
     "f32", ["--gpu-large-tile-min-m=128"]),
    ("W3A8 128-row tile", "imma", "s3", "s8", None, None, 0, "f32",
     ["--gpu-large-tile-min-m=128"]),
    ("W4A16 g64 zw 128-row tile", "hmma", "s4", None, "group", None, 64,
     "f32", ["--gpu-large-tile-min-m=128"]),
    ("W6A16 bf16 128-row tile", "hmma", "s6", None, None, None, 0, "f32",
     ["--gpu-hmma-type=bf16", "--gpu-large-tile-min-m=128"]),
    # More than 48 KiB of shared memory, taken dynamically (the runtime
    # opts in with cuFuncSetAttribute): imma's 64-row tile with four 16 KiB
    # stages of W8A8, hmma's with six 10 KiB stages of W4.
    ("W8A8 u8 zw za 64 KiB smem", "imma", "u8", "u8", "channel", 131, 0,
     "f32", ["--gpu-max-stages=4", "--gpu-shared-memory-kib=64"]),
    ("W4A16 g64 zw 60 KiB smem", "hmma", "s4", None, "group", None, 64,
     "f32", ["--gpu-max-stages=6", "--gpu-shared-memory-kib=96"]),
]


def act_type(case):
    return case[7] if len(case) > 7 else "f32"


def extra_flags(case):
    return case[8] if len(case) > 8 else []


def to_bf16_bits(x):
    """float32 values exact in bf16 -> their uint16 bits (the runtime's
    bfloat16 form)."""
    return (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)



def storage_range(t):
    bits = int(t[1:])
    if t[0] == "s":
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def hexbytes(a):
    return "0x" + np.ascontiguousarray(a).tobytes().hex().upper()


def model_text(case, w, zw):
    """The layer in qopt IR: x [M, K] (f32, or the weight-only case's
    activation type) -> y [M, N] f32."""
    _, _, wt, at, wzp, za, group = case[:7]
    xt = act_type(case)
    groups = K // group if group else 1
    wscheme = ("per_group(axis = 1, group_size = %d)" % group if group
               else "per_channel(axis = 0)")
    wscheme += ", asymmetric" if wzp else ", symmetric"
    lines = ["func.func @main(%%x: tensor<?x%dx%s>) -> tensor<?x%dxf32> {"
             % (K, xt, N),
             "  %%w8 = arith.constant dense<\"%s\"> : tensor<%dx%dxi8>"
             % (hexbytes(w.astype(np.int8)), N, K),
             "  %%w = qopt.storage_cast %%w8 : tensor<%dx%dxi8> to "
             "tensor<%dx%dx!qopt.int<%s>>" % (N, K, N, K, wt)]
    sw_type = ("tensor<%dx%dxf32>" % (N, groups) if group
               else "tensor<%dxf32>" % N)
    lines.append("  %%sw = arith.constant dense<1.0> : %s" % sw_type)
    wz = ""
    wz_type = ""
    if wzp:
        wz_type = (", tensor<%dx%dxi32>" % (N, groups) if group
                   else ", tensor<%dxi32>" % N)
        lines.append("  %%zw = arith.constant dense<\"%s\"> : %s"
                     % (hexbytes(zw.astype(np.int32)), wz_type[2:]))
        wz = " zero_point(%zw)"
    if at is None:
        lines.append(
            "  %%y = qopt.qmatmul %%x, %%w scale(%%sw)%s {weight_scheme = "
            "#qopt.scheme<%s>} : (tensor<?x%dx%s>, tensor<%dx%dx!qopt.int<%s>>"
            ", %s%s) -> tensor<?x%dxf32>"
            % (wz, wscheme, K, xt, N, K, wt, sw_type, wz_type, N))
    else:
        ascheme = "per_tensor, " + ("asymmetric" if za is not None
                                    else "symmetric")
        lines.append("  %sa = arith.constant dense<1.0> : tensor<f32>")
        qz_type, az = "", ""
        if za is not None:
            lines.append("  %%za = arith.constant dense<%d> : tensor<i32>" % za)
            qz_type, az = ", tensor<i32>", " zero_point(%za)"
        lines.append(
            "  %%a = qopt.quantize %%x, %%sa%s {scheme = #qopt.scheme<%s>} : "
            "(tensor<?x%dxf32>, tensor<f32>%s) -> tensor<?x%dx!qopt.int<%s>>"
            % (", %za" if za is not None else "", ascheme, K, qz_type, K, at))
        lines.append(
            "  %%y = qopt.qmatmul %%a scale(%%sa)%s, %%w scale(%%sw)%s "
            "{act_scheme = #qopt.scheme<%s>, weight_scheme = "
            "#qopt.scheme<%s>} : (tensor<?x%dx!qopt.int<%s>>, tensor<f32>%s, "
            "tensor<%dx%dx!qopt.int<%s>>, %s%s) -> tensor<?x%dxf32>"
            % (az, wz, ascheme, wscheme, K, at, qz_type, N, K, wt, sw_type,
               wz_type, N))
    lines += ["  return %%y : tensor<?x%dxf32>" % N, "}"]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", help="qcc (not needed with --prebuilt)")
    parser.add_argument("--work", required=True)
    parser.add_argument("--cuda-library")
    parser.add_argument("--gpu-arch", default="sm_80")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--prebuilt", action="store_true")
    args = parser.parse_args()
    if not args.prebuilt and not args.qcc:
        parser.error("--qcc is needed unless --prebuilt")
    os.makedirs(args.work, exist_ok=True)
    failures, probed = 0, False
    for case in CASES:
        name, kernel, wt, at, wzp, za, group = case[:7]
        rng = np.random.default_rng(zlib.crc32((name + kernel).encode()))
        wlo, whi = storage_range(wt)
        w = rng.integers(wlo, whi + 1, size=(N, K))
        groups = K // group if group else 1
        zw = None
        if wzp == "channel":
            zw = rng.integers(wlo, whi + 1, size=N)
        elif wzp == "group":
            zw = rng.integers(wlo, whi + 1, size=(N, groups))
        label = "%s %s" % (name, kernel)
        path = os.path.join(args.work, label.replace(" ", "_") + ".mlir")
        with open(path, "w") as f:
            f.write(model_text(case, w, zw))
        so = path[:-5] + ".so"
        if not args.prebuilt:
            proc = subprocess.run([args.qcc, path, "-o", so, "--gpu-arch=" +
                                   args.gpu_arch, "--gpu-kernel=" + kernel] +
                                  extra_flags(case),
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print("%s: qcc failed: %s" % (label, proc.stderr.strip()))
                failures += 1
                continue
        if args.build_only:
            continue
        # The weights as the sums see them: w - zw, per channel or group.
        wd = w.astype(np.int64)
        if zw is not None:
            wd = wd - (np.repeat(zw, group, axis=1) if group
                       else zw[:, None])
        for m in M_LIST:
            if at is None:
                x = rng.integers(-100, 101, size=(m, K))
            else:
                alo, ahi = storage_range(at)
                shift = za or 0
                x = rng.integers(alo - shift, ahi - shift + 1, size=(m, K))
            ref = x.astype(np.int64) @ wd.T
            feeds = os.path.join(args.work, "feeds.npz")
            xt = act_type(case)
            np.savez(feeds, input_0=to_bf16_bits(x) if xt == "bf16" else
                     x.astype(np.float16 if xt == "f16" else np.float32))
            results = {}
            for device in ("cuda", "cpu"):
                out = os.path.join(args.work, device + ".npz")
                r = run(so, feeds, out, device, args.cuda_library)
                if device == "cuda" and not probed:
                    probed = True
                    if r["device"] != "cuda":
                        if args.cuda_library:
                            print("FAILED: %s is not usable: %s"
                                  % (args.cuda_library, r["error"] or
                                     r["info"]))
                            return 1
                        print("exact-accumulators: SKIPPED, no usable GPU: "
                              "%s" % (r["error"] or r["info"]))
                        return SKIP
                    print("device: %s" % r["info"])
                if r["error"]:
                    results[device] = r["error"]
                    continue
                outs = np.load(out)
                results[device] = outs[outs.files[0]]
            for device, y in results.items():
                ok = isinstance(y, np.ndarray) and y.shape == ref.shape and \
                    np.array_equal(y.astype(np.float64),
                                   ref.astype(np.float64))
                failures += not ok
                detail = ("exact" if ok else (y if isinstance(y, str) else
                          "%d of %d differ, max |diff| %g" % (
                              int((y != ref).sum()), ref.size,
                              float(np.abs(y - ref).max()))))
                print("%-22s M=%-4d %-4s %s (max |sum| %d)" % (
                    label, m, device, "ok   " + detail if ok else
                    "WRONG " + detail, int(np.abs(ref).max())))
    if failures:
        print("%d failures" % failures)
        return 1
    if args.build_only:
        print("built %d cases into %s" % (len(CASES), args.work))
        return 0
    print("all sums exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
