# -*- Python -*-
# lit configuration for qopt's IR tests.

import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "QOPT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qopt_obj_root, "test")
config.excludes = ["Inputs", "Conformance", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%qopt_src_root", config.qopt_src_root))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
# RUN lines may start with `not`, `count`, ...: the LLVM tools must be on PATH.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.qopt_tools_dir, config.llvm_tools_dir]
tools = ["qopt-opt", "qopt-translate", "qcc", "llvm-nm", "llvm-readelf"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# GPU code is checked by assembling the generated PTX when ptxas exists.
ptxas = shutil.which("ptxas", path="/usr/local/cuda/bin:" + os.environ.get("PATH", ""))
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
# qcc combines the cubins and the PTX of a model.so's kernels with fatbinary.
fatbinary = shutil.which("fatbinary", path="/usr/local/cuda/bin:" + os.environ.get("PATH", ""))
if fatbinary:
    config.available_features.add("fatbinary")

# The CUDA benchmarks (bench/gpu) are compiled where nvcc exists.
nvcc = shutil.which("nvcc", path="/usr/local/cuda/bin:" + os.environ.get("PATH", ""))
if nvcc:
    config.available_features.add("nvcc")
    config.substitutions.append(("%nvcc", nvcc))

# Debian's interpreter with NumPy writes the calibration statistics some
# quantization tests read.
python = "/usr/bin/python3"
if os.path.exists(python):
    config.substitutions.append(("%python", python))
    config.available_features.add("python3")
