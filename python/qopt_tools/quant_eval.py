"""Quantization experiments on generated models: compile with qcc under a set
of flags, run on held-out inputs, and measure the output error against the
floating-point model. Shared by test/Models/quantization.py and
bench/quant_results.py."""

import json
import os
import subprocess

import numpy as np
import onnx

from . import models


class QccError(RuntimeError):
    pass


def qcc(qcc_path, model, out, flags=(), report=None):
    """Compiles `model` to `out` with `flags`; returns the --quant-report
    (a dict) when `report` names a path for it."""
    cmd = [qcc_path, model, "-o", out] + list(flags)
    if report:
        cmd += ["--quant-report", report]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise QccError("qcc %s failed:\n%s" % (" ".join(cmd), proc.stderr))
    if report:
        with open(report) as f:
            return json.load(f)
    return None


def write_model(name, work, **kwargs):
    path = os.path.join(work, name + ".onnx")
    onnx.save(models.MODELS[name](**kwargs), path)
    return path


def write_batches(name, folder, batches, batch, seed, seq=16):
    """Calibration (or test) data: one .npz of named inputs per batch."""
    os.makedirs(folder, exist_ok=True)
    for i in range(batches):
        feeds = models.sample_inputs(name, batch, seed=seed + i, seq=seq)
        np.savez(os.path.join(folder, "batch%03d.npz" % i), **feeds)
    return folder


def load_batches(folder):
    return [dict(np.load(os.path.join(folder, f)))
            for f in sorted(os.listdir(folder)) if f.endswith(".npz")]


def output_error(reference_so, candidate_so, batches):
    """Relative L2 error of every output over all batches:
    ||y_q - y|| / ||y||."""
    import qopt
    ref, cand = qopt.load(reference_so), qopt.load(candidate_so)
    num = den = 0.0
    for feeds in batches:
        a, b = ref.run(feeds), cand.run(feeds)
        for k in a:
            num += float(np.sum((a[k].astype(np.float64) - b[k]) ** 2))
            den += float(np.sum(a[k].astype(np.float64) ** 2))
    return (num / den) ** 0.5
