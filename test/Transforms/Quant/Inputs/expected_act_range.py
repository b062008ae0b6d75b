"""Prints the static activation range that qopt-quantize-activations must
choose with range=absmax, computed independently from the statistics file:
symmetric: scale = max|x| / (2^(bits-1) - 1); asymmetric: the range
[min(x, 0), max(x, 0)] over 2^bits - 1 steps, zero point -lo/scale rounded
half to even. Output: `EXPECT scale = S zero_point = Z` (S as MLIR prints an
f32: 9 significant digits).

usage: expected_act_range.py STATS.npz LAYER BITS sym|asym"""

import sys

import numpy as np


def main():
    stats, layer, bits, scheme = sys.argv[1:5]
    z = np.load(stats)
    bits = int(bits)
    if scheme == "sym":
        amax = np.float32(z[layer + "::absmax"].max())
        scale, zp = amax / np.float32(2 ** (bits - 1) - 1), 0
    else:
        lo = np.float32(min(z[layer + "::min"].min(), 0))
        hi = np.float32(max(z[layer + "::max"].max(), 0))
        scale = (hi - lo) / np.float32(2 ** bits - 1)
        zp = int(np.clip(np.rint(-lo / scale), 0, 2 ** bits - 1))
    print("EXPECT scale = %.9g zero_point = %d" % (np.float32(scale), zp))


if __name__ == "__main__":
    main()
