"""The Python loader: signatures, running, and every input error."""

import numpy as np
import pytest

import qopt
from conftest import BIAS


def feeds(batch=2, seed=0):
    rng = np.random.default_rng(seed)
    return {"a": rng.standard_normal((batch, 4)).astype(np.float32),
            "b": rng.standard_normal((batch, 4)).astype(np.float32),
            "idx": np.array([3, 0, -1], np.int64)}


def test_signature(model_path):
    model = qopt.load(model_path)
    assert [i.name for i in model.inputs] == ["a", "b", "idx"]
    assert [o.name for o in model.outputs] == ["y", "picked"]
    a = model.inputs[0]
    assert a.dtype == np.float32 and a.shape == (None, 4)
    assert a.dim_names == ("batch", "")
    assert model.inputs[2].dtype == np.int64 and model.inputs[2].shape == (3,)


@pytest.mark.parametrize("batch", [1, 2, 7])
def test_run_matches_numpy(model_path, batch):
    f = feeds(batch, seed=batch)
    out = qopt.load(model_path).run(f)
    np.testing.assert_allclose(out["y"], f["a"] * f["b"] + BIAS, rtol=1e-6)
    # Gather with a negative index counts from the end.
    np.testing.assert_array_equal(out["picked"], f["a"][:, [3, 0, 3]])


def test_batch_zero(model_path):
    out = qopt.load(model_path).run(feeds(batch=0))
    assert out["y"].shape == (0, 4) and out["picked"].shape == (0, 3)


def test_repeated_runs_do_not_leak_or_alias(model_path):
    model = qopt.load(model_path)
    first = model.run(feeds(seed=1))["y"]
    second = model.run(feeds(seed=2))["y"]
    assert not np.array_equal(first, second)


def test_large_buffers_reused_across_runs(model_path):
    # 8192 x 4 floats (128 KiB) per tensor: the runtime's buffer cache keeps
    # these between runs (docs/runtime.md#memory). Each run must compute its
    # own result into the reused blocks, and earlier outputs stay intact.
    model = qopt.load(model_path)
    runs = []
    for seed in range(5):
        f = feeds(batch=8192, seed=seed)
        runs.append((f, model.run(f)))
    for f, out in runs:
        np.testing.assert_allclose(out["y"], f["a"] * f["b"] + BIAS,
                                   rtol=1e-6)
        np.testing.assert_array_equal(out["picked"], f["a"][:, [3, 0, 3]])


def expect_error(model_path, f, message):
    with pytest.raises(qopt.QoptError, match=message):
        qopt.load(model_path).run(f)


def test_missing_input(model_path):
    f = feeds()
    del f["b"]
    expect_error(model_path, f, r"missing \['b'\]")


def test_unknown_input(model_path):
    f = feeds()
    f["c"] = f["a"]
    expect_error(model_path, f, r"unknown \['c'\]")


def test_wrong_dtype(model_path):
    f = feeds()
    f["a"] = f["a"].astype(np.float64)
    expect_error(model_path, f, "input 0 'a' must be float32, got float64")


def test_wrong_rank(model_path):
    f = feeds()
    f["b"] = f["b"].reshape(-1)
    expect_error(model_path, f, "input 1 'b' must have rank 2, got 1")


def test_wrong_static_size(model_path):
    f = feeds()
    f["a"] = np.zeros((2, 5), np.float32)
    expect_error(model_path, f,
                 "input 0 'a' must have size 4 in dimension 1, got 5")


def test_inconsistent_symbolic_dim(model_path):
    f = feeds()
    f["b"] = np.zeros((3, 4), np.float32)
    expect_error(model_path, f, "input 1 'b' has batch = 3 in dimension 0, "
                 "but another input has batch = 2")


def test_not_an_array(model_path):
    f = feeds()
    f["a"] = [[1.0, 2.0, 3.0, 4.0]]
    expect_error(model_path, f, "input 'a' must be a NumPy array")


def test_non_contiguous_input_is_accepted(model_path):
    f = feeds(batch=3)
    f["a"] = np.asfortranarray(f["a"])
    out = qopt.load(model_path).run(f)
    np.testing.assert_allclose(out["y"], f["a"] * f["b"] + BIAS, rtol=1e-6)


def test_load_missing_library(tmp_path):
    with pytest.raises(OSError):
        qopt.load(str(tmp_path / "nope.so"))


def test_profile_is_empty_on_the_cpu(model_path):
    # The kernel profile (QOPT_CUDA_PROFILE) is the GPU's; on the CPU there
    # is none, reset or not.
    m = qopt.load(model_path)
    m.run({"a": np.ones((2, 4), np.float32), "b": np.ones((2, 4), np.float32),
           "idx": np.array([0, 1, 2], np.int64)})
    assert m.profile() == ""
    assert m.profile(reset=True) == ""
