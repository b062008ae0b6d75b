"""Load and run models compiled by qcc.

    import numpy as np, qopt
    model = qopt.load("model.so")
    print(model.inputs)            # [TensorInfo(name='x', dtype=float32, shape=(None, 128))]
    outputs = model.run({"x": np.zeros((4, 128), np.float32)})

Only ctypes and NumPy are needed. Runs on Debian's /usr/bin/python3.
"""

import ctypes
import os
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

__all__ = ["load", "Model", "TensorInfo", "QoptError"]

_MAX_RANK = 8

# qopt_dtype (ONNX numbering) <-> NumPy.
_DTYPES = {
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16,
    6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64,
    12: np.uint32, 13: np.uint64, 21: np.uint8, 22: np.int8,
}
_DTYPE_NAMES = {16: "bfloat16", 21: "uint4", 22: "int4"}


class QoptError(RuntimeError):
    """A failed call into a compiled model (the message is the library's)."""


class _Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int64 * _MAX_RANK),
                ("data", ctypes.c_void_p), ("owner", ctypes.c_void_p)]


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("dim_names", ctypes.POINTER(ctypes.c_char_p))]


class TensorInfo(NamedTuple):
    name: str
    dtype: object  # a NumPy dtype, or a name for types NumPy lacks
    shape: Tuple[Optional[int], ...]  # None for dimensions fixed at run time
    dim_names: Tuple[str, ...]


def _info(ptr) -> TensorInfo:
    info = ptr.contents
    shape = tuple(None if info.shape[i] < 0 else int(info.shape[i])
                  for i in range(info.rank))
    names = tuple(info.dim_names[i].decode() for i in range(info.rank))
    dtype = _DTYPE_NAMES.get(info.dtype) or np.dtype(_DTYPES[info.dtype])
    return TensorInfo(info.name.decode(), dtype, shape, names)


class Model:
    """A compiled model: `inputs`, `outputs` and `run(feeds) -> dict`."""

    def __init__(self, path: str):
        self._lib = ctypes.CDLL(os.path.abspath(path))
        lib = self._lib
        lib.qopt_model_open.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        lib.qopt_model_open.restype = ctypes.c_int
        lib.qopt_model_close.argtypes = [ctypes.c_void_p]
        lib.qopt_model_num_inputs.argtypes = [ctypes.c_void_p]
        lib.qopt_model_num_outputs.argtypes = [ctypes.c_void_p]
        lib.qopt_model_input.argtypes = [ctypes.c_void_p, ctypes.c_int32]
        lib.qopt_model_input.restype = ctypes.POINTER(_TensorInfo)
        lib.qopt_model_output.argtypes = [ctypes.c_void_p, ctypes.c_int32]
        lib.qopt_model_output.restype = ctypes.POINTER(_TensorInfo)
        lib.qopt_model_run.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(_Tensor), ctypes.c_int32,
            ctypes.POINTER(_Tensor), ctypes.c_int32]
        lib.qopt_model_run.restype = ctypes.c_int
        lib.qopt_model_last_error.argtypes = [ctypes.c_void_p]
        lib.qopt_model_last_error.restype = ctypes.c_char_p
        lib.qopt_tensor_free.argtypes = [ctypes.POINTER(_Tensor)]
        lib.qopt_status_string.argtypes = [ctypes.c_int]
        lib.qopt_status_string.restype = ctypes.c_char_p
        # Libraries built before the GPU runtime have no device functions.
        self._has_device_api = hasattr(lib, "qopt_model_device")
        if self._has_device_api:
            lib.qopt_model_device.argtypes = [ctypes.c_void_p]
            lib.qopt_model_device.restype = ctypes.c_char_p
            lib.qopt_model_device_info.argtypes = [ctypes.c_void_p]
            lib.qopt_model_device_info.restype = ctypes.c_char_p
        self._has_profile_api = hasattr(lib, "qopt_model_profile")
        if self._has_profile_api:
            lib.qopt_model_profile.argtypes = [ctypes.c_void_p,
                                               ctypes.c_int32]
            lib.qopt_model_profile.restype = ctypes.c_char_p
        handle = ctypes.c_void_p()
        status = lib.qopt_model_open(ctypes.byref(handle))
        if status != 0:
            raise QoptError("cannot open %s: %s" % (
                path, lib.qopt_status_string(status).decode()))
        self._handle = handle
        self.inputs: List[TensorInfo] = [
            _info(lib.qopt_model_input(handle, i))
            for i in range(lib.qopt_model_num_inputs(handle))]
        self.outputs: List[TensorInfo] = [
            _info(lib.qopt_model_output(handle, i))
            for i in range(lib.qopt_model_num_outputs(handle))]

    @property
    def device(self) -> str:
        """Where the model runs: "cuda" or "cpu" (see QOPT_DEVICE)."""
        if not self._has_device_api:
            return "cpu"
        return self._lib.qopt_model_device(self._handle).decode()

    @property
    def device_info(self) -> str:
        """The GPU's name, or why the model runs on the CPU."""
        if not self._has_device_api:
            return "the library predates the GPU runtime"
        return self._lib.qopt_model_device_info(self._handle).decode()

    def profile(self, reset: bool = False) -> str:
        """With QOPT_CUDA_PROFILE=1 on the GPU, the kernel profile lines so
        far (calls, total and median ms per kernel); `reset` starts anew."""
        if not self._has_profile_api:
            return ""
        return self._lib.qopt_model_profile(self._handle, int(reset)).decode()

    def run(self, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Runs the model on named inputs; returns the outputs by name.

        bfloat16 tensors are passed and returned as uint16 arrays of their
        bits (NumPy has no bfloat16)."""
        names = [i.name for i in self.inputs]
        missing = [n for n in names if n not in feeds]
        unknown = [n for n in feeds if n not in names]
        if missing or unknown:
            raise QoptError("inputs: missing %s, unknown %s (the model takes %s)"
                            % (missing, unknown, names))
        arrays = []
        tensors = (_Tensor * max(1, len(names)))()
        for i, info in enumerate(self.inputs):
            array = feeds[info.name]
            if not isinstance(array, np.ndarray):
                raise QoptError("input '%s' must be a NumPy array" % info.name)
            if array.ndim > _MAX_RANK:
                raise QoptError("input '%s' has rank %d, more than %d"
                                % (info.name, array.ndim, _MAX_RANK))
            # (np.ascontiguousarray would turn a 0-d array into 1-d.)
            array = np.require(array, requirements="C")
            arrays.append(array)
            tensors[i].dtype = self._dtype_code(array.dtype, info)
            tensors[i].rank = array.ndim
            for d, size in enumerate(array.shape):
                tensors[i].shape[d] = size
            tensors[i].data = array.ctypes.data
        outs = (_Tensor * len(self.outputs))()
        status = self._lib.qopt_model_run(self._handle, tensors, len(names),
                                          outs, len(self.outputs))
        if status != 0:
            raise QoptError(self._lib.qopt_model_last_error(self._handle).decode())
        result = {}
        for i, info in enumerate(self.outputs):
            t = outs[i]
            shape = tuple(t.shape[d] for d in range(t.rank))
            dtype = np.dtype(_DTYPES.get(t.dtype, np.uint16))
            count = int(np.prod(shape)) if shape else 1
            if count:
                buffer = (ctypes.c_char * (count * dtype.itemsize)).from_address(t.data)
                array = np.frombuffer(buffer, dtype=dtype).reshape(shape).copy()
            else:
                array = np.zeros(shape, dtype)
            self._lib.qopt_tensor_free(ctypes.byref(t))
            result[info.name] = array
        return result

    @staticmethod
    def _dtype_code(dtype: np.dtype, info: TensorInfo) -> int:
        expected = info.dtype
        # NumPy has no bfloat16: such tensors travel as their uint16 bits.
        if expected == "bfloat16" and dtype == np.uint16:
            return 16
        if isinstance(expected, np.dtype) and dtype == expected:
            return {v: k for k, v in _DTYPES.items() if k not in (21, 22)}[dtype.type]
        for code, np_type in _DTYPES.items():
            if np.dtype(np_type) == dtype and code not in (21, 22):
                return code
        return -1  # the library reports the mismatch

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._lib.qopt_model_close(handle)
            self._handle = None


def load(path: str) -> Model:
    """Loads a model compiled by qcc."""
    return Model(path)
