#!/usr/bin/env python3
"""qcc's compile time on LLaMA-sized layers, per stage.

Compiles generated models (one 4096 x 4096 linear layer, a transformer block
with d = 1024 and ff = 4096) at the quantization configs whose compile-time
work grows with the weights: RTN's clipping search, SmoothQuant's alpha
search, GPTQ, and a precision budget's sensitivity proxy. Each config runs
with `--quant-threads 1` and with the default (one thread per core), and,
with `--baseline-qcc`, with another qcc (an older build) in the same run;
the reported ratios are against those. The model.so files of a config must
be byte-identical (the quantizers' threads do not change the output).

    /usr/bin/python3 bench/compile_time.py --qcc build/bin/qcc \\
        [--baseline-qcc OLD/bin/qcc] [--markdown compile.md]
"""

import argparse
import filecmp
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

STAGE = re.compile(r"^qcc: (\S+)\s+([0-9.]+) ms$")


def write_models(work):
    import numpy as np
    import onnx
    from qopt_tools import models
    paths = {}
    paths["linear"] = os.path.join(work, "linear4096.onnx")
    onnx.save(models.linear(k=4096, n=4096), paths["linear"])
    paths["block"] = os.path.join(work, "block1024.onnx")
    onnx.save(models.transformer(d=1024, heads=16, ff=4096), paths["block"])
    calib = os.path.join(work, "calib")
    os.makedirs(calib, exist_ok=True)
    rng = np.random.default_rng(0)
    for b in range(4):
        np.savez(os.path.join(calib, "b%d.npz" % b),
                 x=rng.standard_normal((2, 64, 1024)).astype(np.float32))
    return paths, calib


def configs(calib):
    c = ["--calib", calib]
    return [
        ("4096x4096 linear, W4A8 RTN", "linear", ["--wbits", "4", "--abits", "8"]),
        ("block, W4A8 + SmoothQuant search", "block",
         ["--wbits", "4", "--abits", "8"] + c),
        ("block, W4 GPTQ g128", "block",
         ["--wbits", "4", "--weight-quantizer", "gptq", "--group-size", "128"] + c),
        ("block, avg 3 bits of 2/4/8 (proxy)", "block",
         ["--avg-wbits", "3", "--wbits-candidates", "2,4,8"] + c),
    ]


def compile_once(qcc, model, flags, out):
    start = time.perf_counter()
    proc = subprocess.run([qcc, model, "-o", out, "-v"] + flags,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("qcc failed (%s): %s" % (" ".join(flags), proc.stderr.strip()))
    stages = {}
    for line in proc.stderr.splitlines():
        m = STAGE.match(line.strip())
        if m:
            stages[m.group(1)] = stages.get(m.group(1), 0.0) + float(m.group(2))
    return wall, stages


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qcc", required=True)
    ap.add_argument("--baseline-qcc", help="another qcc timed in the same run")
    ap.add_argument("--work", help="folder for models and libraries")
    ap.add_argument("--markdown", help="write the table here")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="qopt-compile-time-")
    os.makedirs(work, exist_ok=True)
    paths, calib = write_models(work)

    rows = []
    for i, (label, model, flags) in enumerate(configs(calib)):
        runs = [("default", args.qcc, []), ("1 thread", args.qcc,
                                              ["--quant-threads", "1"])]
        if args.baseline_qcc:
            runs.append(("baseline", args.baseline_qcc, []))
        result = {}
        for tag, qcc, extra in runs:
            out = os.path.join(work, "c%d-%s.so" % (i, tag.replace(" ", "")))
            result[tag] = compile_once(qcc, paths[model], flags + extra, out)
            result[tag] = result[tag] + (out,)
        if not filecmp.cmp(result["default"][2], result["1 thread"][2],
                           shallow=False):
            sys.exit("%s: model.so differs between 1 thread and the default"
                     % label)
        same_as_baseline = None
        if args.baseline_qcc:
            same_as_baseline = filecmp.cmp(result["default"][2],
                                           result["baseline"][2], shallow=False)
        wall, stages = result["default"][0], result["default"][1]
        quant = sum(stages.get(s, 0.0) for s in
                    ("precision", "smooth", "quantize")) / 1000
        row = [label, "%.1f" % wall, "%.1f" % quant,
               "%.1f" % result["1 thread"][0],
               "%.2fx" % (result["1 thread"][0] / wall)]
        if args.baseline_qcc:
            row += ["%.1f" % result["baseline"][0],
                    "%.2fx" % (result["baseline"][0] / wall),
                    "yes" if same_as_baseline else "no"]
        rows.append(row)
        print("  ".join(row), flush=True)

    header = ["config", "qcc s", "precision + smooth + quantize s",
              "1 thread s", "speed-up"]
    if args.baseline_qcc:
        header += ["baseline s", "vs baseline", "same model.so"]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    table = "\n".join(lines) + "\n"
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)


if __name__ == "__main__":
    main()
