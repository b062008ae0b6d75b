#!/usr/bin/python3
"""Static instruction mix of the imma/hmma kernels, without a GPU: compiles
one LLaMA-7B linear layer (K x N, default 4096 x 4096) per config with
`qcc --emit=ptx --gpu-kernel=imma|hmma` and counts, in each kernel of the
PTX, its mma.sync instructions, its shared-memory loads (ld.shared and
ldmatrix) and its 32-bit
integer ALU instructions (shifts, logic, add/sub/mul.lo, prmt, bfe), in all of each
kernel and in the basic blocks that hold its MMAs (the k-loop's body:
"loop alu/mma", without prologue, epilogue and loop control). The
ratio ALU / MMA is a proxy for the weight unpacking's cost per MMA (the
kernels' address arithmetic is in it too); ptxas optimizes further, so it
is no measurement of speed, only a way to compare two compilers' kernels
(run it with each qcc).

usage: kernel_op_counts.py --qcc build/bin/qcc [--configs W4A8,W4A16]
                           [--shape 4096x4096] [--gpu-arch sm_90] [--json F]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gpu_bench import CONFIGS, linear_model, quant_flags  # noqa: E402

ALU = re.compile(r"^\s*(shr|shl|and|or|xor|not|add|sub|mul\.lo|mad\.lo|prmt|"
                 r"bfe|bfi|lop3|selp)\.[a-z0-9.]*32\b")
LDS = re.compile(r"^\s*ld\.shared")
LDSM = re.compile(r"^\s*ldmatrix")
MMA = re.compile(r"^\s*mma\.sync")
ENTRY = re.compile(r"^\.visible \.entry (\w+)\(")
LABEL = re.compile(r"^\$?\w+:")


def kernel_counts(ptx):
    """{kernel: {"mma": n, "lds": n, "ldsm": n, "alu": n, "loop_alu": n}}
    of the PTX text (lds: ld.shared, ldsm: ldmatrix; loop_alu: the ALU
    instructions of the basic blocks that hold an mma.sync, i.e. the
    k-loop's body without the prologue, epilogue and loop control)."""
    counts, current, block = {}, None, None

    def close_block():
        if current is not None and block and block["mma"]:
            current["loop_alu"] += block["alu"]

    for line in ptx.splitlines():
        m = ENTRY.match(line)
        if m:
            close_block()
            current = counts.setdefault(m.group(1),
                                        {"mma": 0, "lds": 0, "ldsm": 0,
                                         "alu": 0, "loop_alu": 0})
            block = {"mma": 0, "alu": 0}
            continue
        if current is None:
            continue
        if LABEL.match(line):
            close_block()
            block = {"mma": 0, "alu": 0}
        elif MMA.match(line):
            current["mma"] += 1
            block["mma"] += 1
        elif LDS.match(line):
            current["lds"] += 1
        elif LDSM.match(line):
            current["ldsm"] += 1
        elif ALU.match(line):
            current["alu"] += 1
            block["alu"] += 1
    close_block()
    return counts


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--configs", default="W2A8,W3A8,W4A8,W6A6,W8A8,W4A16")
    parser.add_argument("--shape", default="4096x4096")
    parser.add_argument("--gpu-arch", default="sm_90")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    k, n = (int(v) for v in args.shape.split("x"))
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for config in args.configs.split(","):
            weight_only = CONFIGS[config][1] > 8
            dtype = "float16" if weight_only else "float32"
            model = os.path.join(work, "linear_%s.onnx" % dtype)
            if not os.path.exists(model):
                linear_model(model, k, n, dtype)
            ptx = os.path.join(work, config + ".ptx")
            kernel = "hmma" if weight_only else "imma"
            cmd = [args.qcc, model, "--emit=ptx", "--gpu-arch", args.gpu_arch,
                   "--gpu-kernel=" + kernel, "-o", ptx] + quant_flags(config)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit("qcc failed for %s: %s" % (config, proc.stderr))
            with open(ptx) as f:
                counts = kernel_counts(f.read())
            results[config] = counts
            for name, c in sorted(counts.items()):
                if not c["mma"]:
                    continue
                print("%-6s %-30s mma %3d  ld.shared %3d  ldmatrix %3d  "
                      "alu %4d  alu/mma %5.2f  loop alu/mma %5.2f  "
                      "shared loads/mma %5.2f"
                      % (config, name, c["mma"], c["lds"], c["ldsm"],
                         c["alu"], c["alu"] / c["mma"],
                         c["loop_alu"] / c["mma"],
                         (c["lds"] + c["ldsm"]) / c["mma"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
