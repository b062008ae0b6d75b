"""Writes a qopt calibration statistics file (the format of
`qcc --save-calibration`) for the lit tests, from rows generated here.

usage: make_stats.py OUT.npz LAYER:K[:outlier_channel:outlier_scale] ...

Each layer's input rows are N(0, 1) (seeded by its name) with an optional
outlier channel multiplied by a scale."""

import sys
import zlib

import numpy as np


def stats(name, k, outlier=None, scale=1.0, rows=256):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = rng.standard_normal((rows, k)).astype(np.float32)
    if outlier is not None:
        x[:, outlier] *= scale
    limit = float(np.abs(x).max())
    hist, _ = np.histogram(x, bins=4096, range=(-limit, limit))
    p = name + "::"
    return {p + "rows": np.int64(rows),
            p + "min": x.min(axis=0), p + "max": x.max(axis=0),
            p + "absmax": np.abs(x).max(axis=0),
            p + "hist": hist.astype(np.float64),
            p + "hist_limit": np.float64(limit),
            p + "xtx": (x.T.astype(np.float64) @ x.astype(np.float64)),
            p + "samples": x}


def main():
    arrays = {"__qopt_calibration_format__": np.int64(1)}
    for spec in sys.argv[2:]:
        parts = spec.split(":")
        name, k = parts[0], int(parts[1])
        outlier = int(parts[2]) if len(parts) > 2 else None
        scale = float(parts[3]) if len(parts) > 3 else 1.0
        arrays.update(stats(name, k, outlier, scale))
    # The format marker must come first.
    np.savez(sys.argv[1], **arrays)


if __name__ == "__main__":
    main()
