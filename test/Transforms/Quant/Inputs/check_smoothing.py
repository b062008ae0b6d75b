"""Checks qopt-smooth-quant's output (read from stdin) against SmoothQuant's
formula computed here: s_j = absmax(X_j)^alpha / max|W_j|^(1 - alpha), the
LayerNorm scale and shift divided by s, the weights' input channel j
multiplied by s_j. Prints `smoothing ok` or the first mismatch.

usage: check_smoothing.py STATS.npz LAYER ALPHA GAMMA BETA W1 W2
  GAMMA, BETA: comma-separated per-channel values of the producer;
  W1, W2: the (splat) values of the two layers' weights [K, N]."""

import re
import struct
import sys

import numpy as np


def blobs(text):
    """dense_resource blobs: name -> little-endian f32 values (after the
    4-byte alignment header)."""
    out = {}
    for name, hexdata in re.findall(r'^\s*(\w+): "0x([0-9A-F]+)"', text, re.M):
        raw = bytes.fromhex(hexdata)[4:]
        out[name] = np.array(struct.unpack("<%df" % (len(raw) // 4), raw),
                             np.float32)
    return out


def main():
    stats, layer, alpha, gamma, beta, w1, w2 = sys.argv[1:8]
    alpha = float(alpha)
    gamma = np.array([float(v) for v in gamma.split(",")])
    beta = np.array([float(v) for v in beta.split(",")])
    w1, w2 = float(w1), float(w2)
    absmax = np.load(stats)[layer + "::absmax"].astype(np.float64)
    wmax = max(abs(w1), abs(w2))
    s = absmax ** alpha / wmax ** (1 - alpha)
    k = len(s)
    got = blobs(sys.stdin.read())
    want = {"smoothed": gamma / s, "smoothed_1": beta / s,
            "smoothed_weights": np.repeat(w1 * s, 3),
            "smoothed_weights_1": np.repeat(w2 * s, 3)}
    for name, expected in want.items():
        if name not in got or got[name].shape != expected.shape:
            print("%s: missing or of the wrong size" % name)
            return 1
        if not np.allclose(got[name], expected, rtol=1e-5, atol=1e-7):
            print("%s: got %s, want %s" % (name, got[name], expected))
            return 1
    print("smoothing ok (%d channels, s from %.3g to %.3g)" % (k, s.min(),
                                                              s.max()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
