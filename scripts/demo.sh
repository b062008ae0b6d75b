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

echo "== qcc transformer.onnx --wbits 4 --abits 8 --calib calib/ -o transformer-w4a8.so"
/usr/bin/python3 - "$demo" <<'PY'
import os, sys
import numpy as np
from qopt_tools import models
os.makedirs(sys.argv[1] + "/calib", exist_ok=True)
for i in range(4):  # calibration data: named input arrays, one batch per file
    np.savez(sys.argv[1] + "/calib/batch%d.npz" % i,
             **models.sample_inputs("transformer", 4, seed=100 + i, seq=16))
PY
"$build/bin/qcc" "$demo/transformer.onnx" --wbits 4 --abits 8 \
  --weight-quantizer gptq --calib "$demo/calib" -o "$demo/transformer-w4a8.so"
/usr/bin/python3 - "$demo" <<'PY'
import sys
import numpy as np
import qopt
from qopt_tools import models
x = models.sample_inputs("transformer", 2, seed=7, seq=9)
ref = qopt.load(sys.argv[1] + "/transformer.so").run(x)["y"]
q = qopt.load(sys.argv[1] + "/transformer-w4a8.so").run(x)["y"]
print("  W4A8 (GPTQ, SmoothQuant) vs f32: relative error %.4f"
      % (np.linalg.norm(q - ref) / np.linalg.norm(ref)))
PY
