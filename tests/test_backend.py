"""One update rule, two array libraries: the few operations spelled differently agree."""

import numpy as np
import pytest
import torch

from course_utils import backend

X = np.array([[4.0, -1.0], [0.0, 2.25]])
Y = np.array([[1.0, 3.0], [-2.0, 2.25]])

OPERATIONS = {
    "sqrt": lambda x, y: backend.sqrt(backend.abs(x)),
    "abs": lambda x, y: backend.abs(x),
    "maximum": backend.maximum,
    "where": lambda x, y: backend.where(x > y, x, y),
    "zeros_like": lambda x, y: backend.zeros_like(x),
    "copy": lambda x, y: backend.copy(x),
    "mean of rows": lambda x, y: backend.mean(x, axis=-1, keepdims=True),
    "mean of columns": lambda x, y: backend.mean(x, axis=-2, keepdims=True),
    "clamp_min": lambda x, y: backend.clamp_min(x, 0.5),
    "sign": lambda x, y: backend.sign(x),  # X has a 0: sign(0) = 0 in both
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_numpy_and_torch_agree_and_keep_their_dtype(name, dtype):
    op = OPERATIONS[name]
    on_numpy = op(X.astype(dtype), Y.astype(dtype))
    on_torch = op(torch.tensor(X, dtype=getattr(torch, dtype)), torch.tensor(Y, dtype=getattr(torch, dtype)))
    assert isinstance(on_numpy, np.ndarray) and on_numpy.dtype == np.dtype(dtype)
    assert isinstance(on_torch, torch.Tensor) and on_torch.dtype == getattr(torch, dtype)
    np.testing.assert_array_equal(on_torch.numpy(), on_numpy)


def test_where_takes_a_numpy_mask_for_torch_arrays():
    mask = np.array([True, False])
    out = backend.where(mask, torch.ones(2), torch.zeros(2))
    np.testing.assert_array_equal(out.numpy(), [1.0, 0.0])


def test_copy_is_a_copy():
    for x in (np.ones(3), torch.ones(3)):
        y = backend.copy(x)
        y[0] = 5.0
        assert x[0] == 1.0


def test_is_torch_and_is_array():
    assert backend.is_torch(torch.ones(1)) and backend.is_torch(torch.nn.Parameter(torch.ones(1)))
    assert not backend.is_torch(np.ones(1))
    assert backend.is_array(np.ones(1)) and backend.is_array(torch.ones(1))
    assert not backend.is_array([1.0]) and not backend.is_array(1.0)


def test_to_numpy_detaches():
    x = torch.ones(2, requires_grad=True)
    np.testing.assert_array_equal(backend.to_numpy(2 * x), [2.0, 2.0])
    np.testing.assert_array_equal(backend.to_numpy([1.0]), [1.0])


def test_like_leaves_python_numbers_alone():
    assert backend.like(0.5, np.ones(1, np.float32)) == 0.5
    assert type(backend.like(0.5, torch.ones(1))) is float


@pytest.mark.parametrize("scalar", [np.float64(0.1), np.float32(0.1), np.int64(2)])
def test_like_turns_numpy_scalars_into_python_numbers(scalar):
    # np.float64 is not a "weak" scalar: it would upcast float32 arrays to float64
    h = backend.like(scalar, np.ones(2, np.float32))
    assert type(h) in (float, int)
    assert (h * np.ones(2, np.float32)).dtype == np.float32


def test_like_casts_arrays_to_the_dtype_and_device_of_the_leaf():
    h = np.array([[0.1], [0.2]])
    on_numpy = backend.like(h, np.ones((2, 3), np.float32))
    assert on_numpy.dtype == np.float32
    on_torch = backend.like(h, torch.ones(2, 3, dtype=torch.float32))
    assert isinstance(on_torch, torch.Tensor) and on_torch.dtype == torch.float32
    from_tensor = backend.like(torch.tensor([0.5], dtype=torch.float64), torch.ones(1, dtype=torch.float32))
    assert from_tensor.dtype == torch.float32
    np.testing.assert_allclose(on_torch.numpy(), h.astype(np.float32))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
def test_like_moves_arrays_to_the_device_of_the_leaf():
    leaf = torch.ones(2, 1, device="cuda")
    assert backend.like(np.array([[0.1], [0.2]]), leaf).device == leaf.device
    assert backend.like(torch.tensor([[0.1], [0.2]]), leaf).device == leaf.device


def test_rms_and_machine_eps_are_python_floats_that_agree():
    for dtype, eps in (("float64", 2.0**-52), ("float32", 2.0**-23)):
        for x in (X.astype(dtype), torch.tensor(X, dtype=getattr(torch, dtype))):
            assert backend.machine_eps(x) == eps
            rms = backend.rms(x)
            assert isinstance(rms, float)
            assert rms == pytest.approx(np.sqrt(np.mean(X**2)), rel=1e-7)
    assert backend.rms(np.zeros(0)) == 0.0
    assert backend.mean(np.array([1.0, 3.0])) == 2.0
