#!/usr/bin/python3
"""Runs a qcc-compiled model on inputs from an .npz file and writes the
outputs to another .npz (used by onnx_backend.py, in a separate process so a
crashing model cannot take the runner down).

usage: run_model.py model.so inputs.npz outputs.npz
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "python"))
import qopt  # noqa: E402


def save_tensors(path, tensors):
    """Saves named arrays by position: names may be anything (np.savez
    keyword names may not: 'like' is swallowed by NumPy's dispatcher)."""
    names = list(tensors)
    arrays = {"t%d" % i: tensors[n] for i, n in enumerate(names)}
    np.savez(path, names=np.array(names, dtype=np.str_), **arrays)


def load_tensors(path):
    with np.load(path, allow_pickle=False) as data:
        return {str(n): data["t%d" % i] for i, n in enumerate(data["names"])}


def main():
    so, inputs, outputs = sys.argv[1:4]
    feeds = load_tensors(inputs)
    try:
        results = qopt.load(so).run(feeds)
    except qopt.QoptError as e:
        print("run: %s" % e, file=sys.stderr)
        return 1
    save_tensors(outputs, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
