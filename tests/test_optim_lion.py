"""Lion (Chen et al. 2023) against its paper's pseudo-code, written out below in plain NumPy.

There is no torch.optim class to compare with; the reference is Algorithm 2 of the paper, run in
the same dtype as the run under test. Tolerances: the same operations in the same order, so
float64 differs by a few ulps of |p| (~1e-16) per step; float32 by ~6e-8 * |p| per step, over 50
open-loop steps at most ~3e-6 * |p|, inside rtol = 1e-4, atol = 1e-5. A sign can only differ where
c_t is within an ulp of 0, which these gradients never produce except at exact zeros (kept exact).
"""

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import TorchOptimizer, inject_hyperparams

BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]
TOLERANCES = {"float64": {"rtol": 1e-12, "atol": 1e-14}, "float32": {"rtol": 1e-4, "atol": 1e-5}}


def paper_lion(params, grads, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0, dtype="float64"):
    """Chen et al. (2023), Algorithm 2, line by line."""
    theta = np.asarray(params, dtype=dtype)
    m = np.zeros_like(theta)
    path = []
    for g in grads:
        g = np.asarray(g, dtype=dtype)
        c = beta1 * m + (1 - beta1) * g  # update model parameters
        theta = theta - lr * (np.sign(c) + weight_decay * theta)
        m = beta2 * m + (1 - beta2) * g  # update EMA of g_t
        path.append(theta.ravel().astype(np.float64))
    return np.stack(path)


CONFIGS = [
    {"lr": 0.01},
    {"lr": 0.01, "betas": (0.95, 0.98), "weight_decay": 0.5},
    {"lr": 0.01, "betas": (0.0, 0.5)},
]


@pytest.mark.parametrize("lib, dtype", BACKENDS, ids=[f"{lib}-{dtype}" for lib, dtype in BACKENDS])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_matches_the_papers_algorithm_2(kwargs, lib, dtype, problem, run_ours, convert, assert_like):
    params, grads = problem(steps=50)
    beta1, beta2 = kwargs.get("betas", (0.9, 0.99))
    expected = paper_lion(params, grads, kwargs["lr"], beta1, beta2, kwargs.get("weight_decay", 0.0), dtype)
    final, path = run_ours(optim.lion(**kwargs), convert(params, lib, dtype), [convert(g, lib, dtype) for g in grads])
    assert_like(final, lib, dtype)
    np.testing.assert_allclose(path, expected, **TOLERANCES[dtype])


def test_every_coordinate_moves_by_exactly_lr_or_not_at_all(problem, run_ours):
    params, grads = problem(steps=30)
    _, path = run_ours(optim.lion(lr=0.01), params, grads)
    steps = np.abs(np.diff(np.vstack([params.ravel(), path]), axis=0))
    assert np.all(np.isclose(steps, 0.01, rtol=1e-12, atol=0) | (steps == 0))
    assert np.mean(steps == 0) < 0.2  # zeros only where c_t = 0 (a zero gradient on a zero momentum)


def test_the_defaults_are_the_papers():
    kwargs = optim.lion().recipe.arguments
    assert kwargs["lr"] == 1e-4 and kwargs["betas"] == (0.9, 0.99) and kwargs["weight_decay"] == 0.0


def test_maximize_climbs(problem, run_ours):
    params, grads = problem(steps=20)
    _, down = run_ours(optim.lion(lr=0.01), params, grads)
    _, up = run_ours(optim.lion(lr=0.01, maximize=True), params, grads)
    np.testing.assert_allclose(up - params.ravel(), -(down - params.ravel()), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "kwargs, error, fragments",
    [
        ({"lr": -1e-4}, ValueError, ["lr", "-0.0001"]),
        ({"betas": (0.9, 1.0)}, ValueError, ["beta2", "1"]),
        ({"betas": (0.9,)}, ValueError, ["betas", "pair"]),
        ({"weight_decay": -1.0}, ValueError, ["weight_decay", "-1"]),
        ({"lr": None}, TypeError, ["lr", "None"]),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(kwargs, error, fragments):
    with pytest.raises(error) as info:
        optim.lion(**kwargs)
    assert all(fragment in str(info.value) for fragment in fragments), str(info.value)


def test_through_torch_optimizer_and_inject_hyperparams(problem, run_ours):
    params, grads = problem((4, 3), steps=20)
    _, expected = run_ours(optim.lion(lr=0.01, weight_decay=0.1), params, grads)
    w = torch.tensor(params, requires_grad=True)
    opt = TorchOptimizer([w], optim.lion(lr=0.01, weight_decay=0.1))
    assert {k: v for k, v in opt.param_groups[0].items() if k != "params"} == {
        "lr": 0.01, "betas": (0.9, 0.99), "weight_decay": 0.1, "maximize": False,
    }  # fmt: skip
    for t, g in enumerate(grads):
        w.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(w.detach().numpy().ravel(), expected[t], rtol=1e-12, atol=1e-14)
        if t == 9:  # a checkpoint round trip in the middle changes nothing
            state = opt.state_dict()
            opt = TorchOptimizer([w], optim.lion(lr=0.01, weight_decay=0.1))
            opt.load_state_dict(state)
    assert set(opt.state[w]) == {"step", "exp_avg"}
    _, injected = run_ours(inject_hyperparams(optim.lion)(lr=0.01, weight_decay=0.1), params, grads)
    np.testing.assert_array_equal(injected, expected)
