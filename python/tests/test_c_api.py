"""The C API of a compiled library, called directly: the cases the Python
loader never produces (null pointers, wrong counts, bad shapes)."""

import ctypes

import numpy as np
import pytest

from qopt import _Tensor, _TensorInfo


@pytest.fixture()
def lib(model_path):
    lib = ctypes.CDLL(model_path)
    lib.qopt_model_open.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    lib.qopt_model_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Tensor),
                                   ctypes.c_int32, ctypes.POINTER(_Tensor),
                                   ctypes.c_int32]
    lib.qopt_model_last_error.argtypes = [ctypes.c_void_p]
    lib.qopt_model_last_error.restype = ctypes.c_char_p
    lib.qopt_model_close.argtypes = [ctypes.c_void_p]
    lib.qopt_model_input.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.qopt_model_input.restype = ctypes.POINTER(_TensorInfo)
    lib.qopt_model_output.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.qopt_model_output.restype = ctypes.POINTER(_TensorInfo)
    lib.qopt_status_string.restype = ctypes.c_char_p
    lib.qopt_dtype_name.restype = ctypes.c_char_p
    lib.qopt_tensor_free.argtypes = [ctypes.POINTER(_Tensor)]
    return lib


@pytest.fixture()
def handle(lib):
    h = ctypes.c_void_p()
    assert lib.qopt_model_open(ctypes.byref(h)) == 0
    yield h
    lib.qopt_model_close(h)


OK, INVALID, DTYPE, SHAPE = 0, 1, 2, 3


def make_inputs(batch=2):
    arrays = [np.ones((batch, 4), np.float32), np.ones((batch, 4), np.float32),
              np.array([0, 1, 2], np.int64)]
    tensors = (_Tensor * 3)()
    for t, a, code in zip(tensors, arrays, (1, 1, 7)):
        t.dtype, t.rank = code, a.ndim
        for d, s in enumerate(a.shape):
            t.shape[d] = s
        t.data = a.ctypes.data
    return tensors, arrays


def test_open_with_null_pointer(lib):
    assert lib.qopt_model_open(None) == INVALID


def test_run_with_null_model(lib):
    tensors, _ = make_inputs()
    outs = (_Tensor * 2)()
    assert lib.qopt_model_run(None, tensors, 3, outs, 2) == INVALID


def test_wrong_input_count(lib, handle):
    tensors, _ = make_inputs()
    outs = (_Tensor * 2)()
    assert lib.qopt_model_run(handle, tensors, 2, outs, 2) == INVALID
    assert lib.qopt_model_last_error(handle) == b"the model takes 3 inputs, 2 given"


def test_wrong_output_count(lib, handle):
    tensors, _ = make_inputs()
    outs = (_Tensor * 2)()
    assert lib.qopt_model_run(handle, tensors, 3, outs, 1) == INVALID
    assert b"produces 2 outputs" in lib.qopt_model_last_error(handle)


def test_null_arrays(lib, handle):
    outs = (_Tensor * 2)()
    assert lib.qopt_model_run(handle, None, 3, outs, 2) == INVALID
    tensors, _ = make_inputs()
    assert lib.qopt_model_run(handle, tensors, 3, None, 2) == INVALID


def test_null_data(lib, handle):
    tensors, _ = make_inputs()
    tensors[0].data = None
    outs = (_Tensor * 2)()
    assert lib.qopt_model_run(handle, tensors, 3, outs, 2) == INVALID
    assert b"input 0 'a' has no data" in lib.qopt_model_last_error(handle)


def test_wrong_dtype(lib, handle):
    tensors, _ = make_inputs()
    tensors[2].dtype = 6  # int32 for an int64 input
    outs = (_Tensor * 2)()
    assert lib.qopt_model_run(handle, tensors, 3, outs, 2) == DTYPE
    assert lib.qopt_model_last_error(handle) == b"input 2 'idx' must be int64, got int32"


def test_negative_size(lib, handle):
    tensors, _ = make_inputs()
    tensors[0].shape[0] = -2
    outs = (_Tensor * 2)()
    assert lib.qopt_model_run(handle, tensors, 3, outs, 2) == SHAPE


def test_rank_too_large(lib, handle):
    tensors, _ = make_inputs()
    tensors[1].rank = 9
    outs = (_Tensor * 2)()
    assert lib.qopt_model_run(handle, tensors, 3, outs, 2) == SHAPE


def test_success_and_free(lib, handle):
    tensors, arrays = make_inputs(batch=3)
    outs = (_Tensor * 2)()
    assert lib.qopt_model_run(handle, tensors, 3, outs, 2) == OK
    assert lib.qopt_model_last_error(handle) == b""
    assert outs[0].rank == 2 and outs[0].shape[0] == 3 and outs[0].shape[1] == 4
    for t in outs:
        lib.qopt_tensor_free(ctypes.byref(t))
        assert t.data is None and t.owner is None
    lib.qopt_tensor_free(ctypes.byref(outs[0]))  # freeing twice is safe
    lib.qopt_tensor_free(None)


def test_info_out_of_range(lib, handle):
    assert not lib.qopt_model_input(handle, 3)
    assert not lib.qopt_model_input(handle, -1)
    assert not lib.qopt_model_output(handle, 2)


def test_names(lib):
    assert lib.qopt_status_string(3) == b"wrong shape"
    assert lib.qopt_dtype_name(22) == b"int4"
    assert lib.qopt_dtype_size(10) == 2
