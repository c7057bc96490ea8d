"""Every factory of ``course_utils.optim`` follows ``torch.optim`` 2.13 step for step.

Open loop: one fixed sequence of 50 heavy-tailed gradients (with exact zeros) goes to both, so a
difference in any update rule shows up directly instead of being hidden by a closed loop.
"""

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.tree import tree_leaves

# (library, dtype name): every optimizer must run unchanged on each of them
BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]

# float64: rounding only; float32: observed worst case is about 1/8 of this bound
TOLERANCES = {"float64": {"rtol": 1e-9, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}

# parameter trees: leaves are shapes
STRUCTURES = {
    "array": (8, 5),
    "list": [(3, 4), (5,), (2, 3, 2)],
    "dict": {"w": (3, 4), "b": (5,)},
}

CONFIGS = [
    ("sgd", {"lr": 0.05}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.05, "maximize": True}),
    ("adagrad", {"lr": 0.1}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.1, "eps": 1e-6, "weight_decay": 0.1}),
    ("adagrad", {"lr": 0.1, "maximize": True}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9, "centered": True}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-4, "weight_decay": 0.1, "momentum": 0.8, "centered": True}),
    ("rmsprop", {"lr": 0.01, "maximize": True}),
    ("adam", {"lr": 0.05}),
    ("adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("adam", {"lr": 0.05, "amsgrad": True}),
    ("adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adamw", {"lr": 0.05}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("adamw", {"lr": 0.05, "betas": (0.5, 0.9), "maximize": True}),
    ("nadam", {"lr": 0.05}),
    ("nadam", {"lr": 0.05, "betas": (0.8, 0.99), "momentum_decay": 1e-2}),
    ("nadam", {"lr": 0.05, "weight_decay": 0.1}),
    ("nadam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("nadam", {"lr": 0.05, "maximize": True}),
    ("adamax", {"lr": 0.05}),
    ("adamax", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("adamax", {"lr": 0.05, "maximize": True}),
    ("radam", {"lr": 0.05}),
    ("radam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
]

# one configuration per factory that uses the parameters themselves (weight decay)
TREE_CONFIGS = [
    ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
    ("adagrad", {"lr": 0.1, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.1}),
    ("nadam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adamax", {"lr": 0.05, "weight_decay": 0.1}),
    ("radam", {"lr": 0.05, "weight_decay": 0.1}),
]

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)"
)


def config_id(config):
    name, kwargs = config
    return "-".join([name, *(f"{key}={value}" for key, value in kwargs.items())])


@pytest.fixture
def check_parity(problem, run_torch, run_ours, convert, assert_like):
    def check(name, kwargs, lib, dtype, spec=STRUCTURES["array"], device="cpu"):
        params, grads = problem(spec)
        expected = run_torch(name, kwargs, params, grads, dtype, device)
        final, path = run_ours(
            getattr(optim, name)(**kwargs),
            convert(params, lib, dtype, device),
            [convert(g, lib, dtype, device) for g in grads],
        )
        assert_like(final, lib, dtype, device)
        np.testing.assert_allclose(path, expected, **TOLERANCES[dtype])
        return final

    return check


@pytest.mark.parametrize("lib, dtype", BACKENDS, ids=[f"{lib}-{dtype}" for lib, dtype in BACKENDS])
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=map(config_id, CONFIGS))
def test_matches_torch_optim(name, kwargs, lib, dtype, check_parity):
    check_parity(name, kwargs, lib, dtype)


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("structure", ["list", "dict"])
@pytest.mark.parametrize("name, kwargs", TREE_CONFIGS, ids=map(config_id, TREE_CONFIGS))
def test_matches_torch_optim_on_trees(name, kwargs, structure, lib, check_parity):
    spec = STRUCTURES[structure]
    final = check_parity(name, kwargs, lib, "float64", spec)
    assert type(final) is type(spec)
    if structure == "dict":
        assert list(final) == list(spec)
    assert [tuple(leaf.shape) for leaf in tree_leaves(final)] == (spec if structure == "list" else list(spec.values()))


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=map(config_id, CONFIGS))
def test_matches_torch_optim_on_cuda(name, kwargs, dtype, check_parity):
    # torch.optim picks its foreach implementation on CUDA: the same rule, a different code path
    check_parity(name, kwargs, "torch", dtype, device="cuda")


def test_the_gradients_are_heavy_tailed_with_exact_zeros(problem):
    # guard the premise of the parity tests: outliers and exact zeros are really there
    _, grads = problem()
    g = np.stack(grads)
    assert np.mean(g == 0) > 0.15
    assert np.all(g[2] == 0)
    assert np.max(np.abs(g)) > 20 * np.median(np.abs(g[g != 0]))
