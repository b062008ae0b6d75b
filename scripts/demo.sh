#!/usr/bin/env bash
# The demo: generate a small transformer block (ONNX, fixed random weights,
# dynamic batch and sequence), compile it with qcc into a shared library,
# and run it from Python on two different input shapes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${QOPT_BUILD_DIR:-$root/build}
demo=$build/demo
mkdir -p "$demo"
export PYTHONPATH=$root/python

echo "== generating $demo/transformer.onnx"
/usr/bin/python3 - "$demo" <<'PY'
import sys, onnx
from qopt_tools import models
onnx.save(models.transformer(), sys.argv[1] + "/transformer.onnx")
PY

echo "== qcc transformer.onnx -o transformer.so"
"$build/bin/qcc" "$demo/transformer.onnx" -o "$demo/transformer.so"

echo "== running it through the Python loader"
/usr/bin/python3 - "$demo/transformer.so" <<'PY'
import sys
import numpy as np
import qopt
from qopt_tools import models
model = qopt.load(sys.argv[1])
for info in model.inputs + model.outputs:
    print("  %-6s %-8s %s" % (info.name, info.dtype,
          tuple(d if d is not None else n or "?" for d, n in zip(info.shape, info.dim_names))))
for batch, seq in [(1, 4), (2, 9)]:
    y = model.run(models.sample_inputs("transformer", batch, seq=seq))["y"]
    print("  batch %d, seq %d -> y %s, y[0, 0, :4] = %s" % (
        batch, seq, y.shape, np.array2string(y[0, 0, :4], precision=4)))
PY
