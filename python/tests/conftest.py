"""Shared fixtures: a small model compiled with qcc once per session."""

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

QCC = os.environ.get("QOPT_QCC", os.path.join(ROOT, "build", "bin", "qcc"))

# y = a * b + bias; picked = Gather(a, idx, axis=1); a and b share "batch".
BIAS = np.array([0.5, -1.0, 2.0, 0.25], np.float32)


def build_model():
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 4])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 4])
    idx = helper.make_tensor_value_info("idx", TensorProto.INT64, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    picked = helper.make_tensor_value_info("picked", TensorProto.FLOAT,
                                           ["batch", 3])
    nodes = [helper.make_node("Mul", ["a", "b"], ["ab"]),
             helper.make_node("Add", ["ab", "bias"], ["y"]),
             helper.make_node("Gather", ["a", "idx"], ["picked"], axis=1)]
    graph = helper.make_graph(nodes, "g", [a, b, idx], [y, picked],
                              [numpy_helper.from_array(BIAS, "bias")])
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    onnx_path = folder / "model.onnx"
    onnx.save(build_model(), str(onnx_path))
    so = folder / "model.so"
    proc = subprocess.run([QCC, str(onnx_path), "-o", str(so)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return str(so)
