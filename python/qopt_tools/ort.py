"""Runs ONNX models with onnxruntime-node (npm), qopt's reference and speed
peer, from Python: tensors travel through a folder of raw files that
tools/ort-runner/ort_run.js reads and writes."""

import json
import os
import shutil
import subprocess
import tempfile
from typing import Dict, List, Optional, Tuple

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUNNER = os.path.join(ROOT, "tools", "ort-runner", "ort_run.js")

_NAMES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64",
          np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8",
          np.dtype(np.int16): "int16", np.dtype(np.uint16): "uint16",
          np.dtype(np.int32): "int32", np.dtype(np.uint32): "uint32",
          np.dtype(np.int64): "int64", np.dtype(np.uint64): "uint64",
          np.dtype(np.bool_): "bool", np.dtype(np.float16): "float16"}
_TYPES = {v: k for k, v in _NAMES.items()}


def available() -> Optional[str]:
    """None when the runner can be used, else why not."""
    if not shutil.which("node"):
        return "node is not installed"
    if not os.path.isdir(os.path.join(ROOT, "tools", "ort-runner",
                                      "node_modules", "onnxruntime-node")):
        return "onnxruntime-node is not installed (run scripts/setup.sh)"
    return None


def write_tensors(folder: str, tensors: Dict[str, np.ndarray]) -> None:
    os.makedirs(folder, exist_ok=True)
    meta = []
    for i, (name, array) in enumerate(tensors.items()):
        array = np.require(array, requirements="C")
        file = "t%d.bin" % i
        array.tofile(os.path.join(folder, file))
        meta.append({"name": name, "dtype": _NAMES[array.dtype],
                     "shape": list(array.shape), "file": file})
    with open(os.path.join(folder, "tensors.json"), "w") as f:
        json.dump(meta, f)


def read_tensors(folder: str) -> Dict[str, np.ndarray]:
    with open(os.path.join(folder, "tensors.json")) as f:
        meta = json.load(f)
    out = {}
    for t in meta:
        data = np.fromfile(os.path.join(folder, t["file"]),
                           dtype=_TYPES[t["dtype"]])
        out[t["name"]] = data.reshape(t["shape"])
    return out


def run(model: str, feeds: Dict[str, np.ndarray], repeat: int = 0,
        threads: int = 0) -> Tuple[Dict[str, np.ndarray], List[float]]:
    """Runs `model` on `feeds` with ONNX Runtime; with `repeat`, also returns
    the times in ms of that many runs after a warm-up."""
    reason = available()
    if reason:
        raise RuntimeError(reason)
    with tempfile.TemporaryDirectory() as tmp:
        ins, outs = os.path.join(tmp, "in"), os.path.join(tmp, "out")
        write_tensors(ins, feeds)
        cmd = ["node", RUNNER, model, ins, outs]
        if repeat:
            cmd += ["--repeat", str(repeat)]
        if threads:
            cmd += ["--threads", str(threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip() or "ort_run failed")
        times = []
        if repeat:
            with open(os.path.join(outs, "times.json")) as f:
                times = json.load(f)
        return read_tensors(outs), times
