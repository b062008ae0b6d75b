#!/usr/bin/python3
"""Validation perplexity of the LM of bench/lm/train_lm.py compiled by qcc
at f32 and under quantization configurations, measured through model.so
(python/qopt), with ONNX Runtime's f32 perplexity as the reference.

Perplexity = exp(mean next-token negative log-likelihood) over --windows
non-overlapping windows of --context tokens of the validation book
(each window scored on its tokens 2..context given the previous ones).
Calibration: 4 batches of 4 windows from the training text.

usage: bench/lm/eval_lm.py [--lm build/lm] [--qcc build/bin/qcc]
                           [--markdown docs/accuracy.md] [--configs a,b]
"""

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import qopt  # noqa: E402

G = "--group-size 64"
# name -> qcc flags ("C": the calibration folder).
CONFIGS = [
    ("f32", ""),
    ("W8A8 RTN, SmoothQuant", "--wbits 8 --abits 8 C"),
    ("W8A8 RTN, no smoothing", "--wbits 8 --abits 8 --smooth off"),
    ("W6A6 RTN, SmoothQuant", "--wbits 6 --abits 6 C"),
    ("W6A6 RTN, no smoothing", "--wbits 6 --abits 6 --smooth off"),
    ("W4A8 GPTQ g64, SmoothQuant", "--wbits 4 --abits 8 --weight-quantizer gptq %s C" % G),
    ("W4A16 RTN g64", "--wbits 4 %s" % G),
    ("W4A16 GPTQ g64", "--wbits 4 --weight-quantizer gptq %s C" % G),
    ("W3A16 RTN g64", "--wbits 3 %s" % G),
    ("W3A16 GPTQ g64", "--wbits 3 --weight-quantizer gptq %s C" % G),
    ("W2A8 GPTQ g64, SmoothQuant", "--wbits 2 --abits 8 --weight-quantizer gptq %s C" % G),
    ("mixed, avg 4 bits, GPTQ g64", "--avg-wbits 4 --wbits-candidates 2,3,4,6,8 "
     "--weight-quantizer gptq %s C" % G),
    ("mixed, avg 3 bits, GPTQ g64", "--avg-wbits 3 --wbits-candidates 2,3,4,6,8 "
     "--weight-quantizer gptq %s C" % G),
]


def windows(tokens, count, context, offset=0):
    n = min(count, (len(tokens) - offset) // context)
    return np.stack([tokens[offset + i * context: offset + (i + 1) * context]
                     for i in range(n)]).astype(np.int64)


def nll(logits, tokens):
    """Sum and count of -log p(token t+1 | tokens <= t)."""
    z = logits[:, :-1, :].astype(np.float64)
    z -= z.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    target = tokens[:, 1:]
    picked = np.take_along_axis(logp, target[..., None], axis=-1)[..., 0]
    return -picked.sum(), picked.size


def perplexity(run, val, batch=8):
    total, count = 0.0, 0
    for i in range(0, len(val), batch):
        x = val[i:i + batch]
        s, c = nll(run(x), x)
        total, count = total + s, count + c
    return math.exp(total / count)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lm", default=os.path.join(ROOT, "build", "lm"))
    p.add_argument("--qcc", default=os.path.join(ROOT, "build", "bin", "qcc"))
    p.add_argument("--windows", type=int, default=64)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--configs", default=None,
                   help="comma-separated config names (default: all)")
    p.add_argument("--extra", action="append", default=[],
                   help="NAME=FLAGS: another configuration")
    p.add_argument("--markdown", default=None)
    p.add_argument("--matmulnbits", action="store_true",
                   help="also: the LM rewritten to ORT's MatMulNBits (4 bits, "
                   "blocks of 32, bench/lm/to_matmulnbits.py), run by ORT "
                   "and compiled by qcc")
    args = p.parse_args()
    model = os.path.join(args.lm, "lm.onnx")
    val = windows(np.load(os.path.join(args.lm, "val_tokens.npy")),
                  args.windows, args.context)
    train = np.load(os.path.join(args.lm, "train_tokens.npy"))
    work = tempfile.mkdtemp(prefix="qopt-lm-")
    calib = os.path.join(work, "calib")
    os.makedirs(calib)
    rng = np.random.default_rng(7)
    for b in range(4):
        starts = rng.integers(0, len(train) - args.context, size=4)
        np.savez(os.path.join(calib, "batch%d.npz" % b),
                 tokens=np.stack([train[s:s + args.context] for s in starts])
                 .astype(np.int64))

    from qopt_tools import ort
    ref = perplexity(lambda x: ort.run(model, {"tokens": x})[0]["logits"], val)
    print("%-34s %10.3f" % ("ONNX Runtime f32", ref), flush=True)
    configs = CONFIGS + [tuple(e.split("=", 1)) for e in args.extra]
    if args.configs:
        keep = set(args.configs.split(","))
        configs = [c for c in configs if c[0] in keep]
    rows = []
    for i, (name, flags) in enumerate(configs):
        so = os.path.join(work, "lm%d.so" % i)
        cmd = [args.qcc, model, "-o", so]
        for f in flags.split():
            cmd += ["--calib", calib] if f == "C" else [f]
        report = os.path.join(work, "report%d.json" % i)
        if "--wbits" in cmd or "--avg-wbits" in cmd:
            cmd += ["--quant-report", report]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print("%-34s failed: %s" % (name, proc.stderr.strip()), flush=True)
            rows.append((name, flags, None, None, proc.stderr.strip()))
            continue
        m = qopt.load(so)
        ppl = perplexity(lambda x: m.run({"tokens": x})["logits"], val)
        bits = None
        if os.path.exists(report):
            with open(report) as f:
                bits = json.load(f).get("average_weight_bits")
        rows.append((name, flags, ppl, bits, ""))
        print("%-34s %10.3f  %+7.2f%%" % (name, ppl, 100 * (ppl / rows[0][2] - 1)
                                          if rows[0][2] else 0), flush=True)
    if args.matmulnbits:
        q4 = os.path.join(work, "lm-q4.onnx")
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "lm",
                                                     "to_matmulnbits.py"),
                        model, q4], check=True, capture_output=True)
        ppl = perplexity(lambda x: ort.run(q4, {"tokens": x})[0]["logits"], val)
        rows.append(("ORT MatMulNBits 4-bit g32 (RTN)", "", ppl, 4.0,
                     "onnxruntime-node on the to_matmulnbits.py model"))
        print("%-34s %10.3f" % (rows[-1][0], ppl), flush=True)
        so = os.path.join(work, "lm-q4.so")
        subprocess.run([args.qcc, q4, "-o", so], check=True,
                       capture_output=True)
        m = qopt.load(so)
        ppl = perplexity(lambda x: m.run({"tokens": x})["logits"], val)
        rows.append(("qcc of the same MatMulNBits model", "", ppl, 4.0, ""))
        print("%-34s %10.3f" % (rows[-1][0], ppl), flush=True)
    if args.markdown:
        f32 = rows[0][2]
        lines = ["# Accuracy: perplexity of a trained LLaMA-style LM", "",
                 "The model, its data and its training are in "
                 "`bench/lm/train_lm.py` (RMSNorm, rotary embeddings, SwiGLU, "
                 "untied head; trained here on Jane Austen's novels and the "
                 "King James Bible, validated on *Persuasion*, a book it never "
                 "saw). Perplexity over %d windows of %d tokens, through "
                 "model.so; ONNX Runtime f32 on the same windows: %.3f."
                 % (len(val), args.context, ref), "",
                 "Generated on %s (%s) by:" % (datetime.date.today().isoformat(),
                                               platform.machine()), "",
                 "```sh", "/usr/bin/python3 bench/lm/train_lm.py",
                 "/usr/bin/python3 bench/lm/eval_lm.py --matmulnbits "
                 "--markdown docs/accuracy.md",
                 "```", "",
                 "| config | qcc flags | perplexity | vs f32 | avg weight bits |",
                 "| --- | --- | ---: | ---: | ---: |"]
        for name, flags, ppl, bits, err in rows:
            shown = " ".join("--calib DIR" if f == "C" else f
                             for f in flags.split())
            if ppl is None:
                lines.append("| %s | `%s` | failed: %s | | |" % (name, shown, err))
            else:
                lines.append("| %s | `%s` | %.3f | %+.2f%% | %s |" % (
                    name, shown, ppl, 100 * (ppl / f32 - 1),
                    "%.2f" % bits if bits else "32"))
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")
        print("wrote", args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
