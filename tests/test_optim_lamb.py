"""LAMB (You et al. 2020) against its paper's Algorithm 2, written out below in plain NumPy.

No torch.optim class exists; the reference is the algorithm run in float64. Tolerances: float64,
the same operations in a different order (norms as square roots of sums of squares on both
sides), a few ulps of |x| per step, far below rtol = 1e-10. float32 against the float64
reference: every step has norm exactly lr * ||x|| (the trust ratio), i.e. entries of size
~lr * |x| = 0.01 * 1; ~12 roundings of 6e-8 per step over 50 open-loop steps: 50 * 0.01 * 12 *
6e-8 = 4e-7, inside atol = 1e-5 (rtol = 1e-4 for the growth of |x|).
"""

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import TorchOptimizer, inject_hyperparams

BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]
TOLERANCES = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}
SPEC = [(6, 4), (5,), (2, 3, 2)]  # three "layers"


def algorithm_2(params, grads, lr, beta1=0.9, beta2=0.999, eps=1e-6, weight_decay=0.0):
    """You et al. (2020), Algorithm 2 (LAMB), layer i = parameter i, phi = identity."""
    x = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    path = []
    for t, g in enumerate(grads, start=1):
        for i in range(len(x)):
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            r = m_hat / (np.sqrt(v_hat) + eps)
            u = r + weight_decay * x[i]
            x_norm, u_norm = np.linalg.norm(x[i]), np.linalg.norm(u)
            trust = x_norm / u_norm if x_norm > 0 and u_norm > 0 else 1.0
            x[i] = x[i] - lr * trust * u
        path.append(np.concatenate([xi.ravel() for xi in x]))
    return np.stack(path)


CONFIGS = [
    {"lr": 0.01},
    {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99), "eps": 1e-8},
]


@pytest.mark.parametrize("lib, dtype", BACKENDS, ids=[f"{lib}-{dtype}" for lib, dtype in BACKENDS])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_matches_the_papers_algorithm_2(kwargs, lib, dtype, problem, run_ours, convert, assert_like):
    params, grads = problem(SPEC, steps=50)
    beta1, beta2 = kwargs.get("betas", (0.9, 0.999))
    expected = algorithm_2(
        params, grads, kwargs["lr"], beta1, beta2, kwargs.get("eps", 1e-6), kwargs.get("weight_decay", 0.0)
    )
    final, path = run_ours(optim.lamb(**kwargs), convert(params, lib, dtype), [convert(g, lib, dtype) for g in grads])
    assert_like(final, lib, dtype)
    np.testing.assert_allclose(path, expected, **TOLERANCES[dtype])


def test_each_layer_moves_by_lr_times_its_own_norm(problem):
    # the point of the trust ratio: ||step_i|| = lr ||x_i|| for every layer, whatever its gradient scale
    params, grads = problem(SPEC, steps=5)
    grads = [[g[0] * 1e3, g[1] * 1e-3, g[2]] for g in grads]  # layers with very different gradient scales
    opt = optim.lamb(lr=0.01)
    state = opt.init(params)
    for g in grads:  # the third gradient is all zeros: the momentum still moves every layer
        updates, state = opt.update(g, state, params)
        ratios = [np.linalg.norm(u) / np.linalg.norm(p) for u, p in zip(updates, params, strict=True)]
        np.testing.assert_allclose(ratios, 0.01, rtol=1e-12)
        params = optim.apply_updates(params, updates)


def test_a_layer_at_zero_still_moves():
    opt = optim.lamb(lr=0.1)
    updates, _ = opt.update(np.ones(3), opt.init(np.zeros(3)), np.zeros(3))
    np.testing.assert_allclose(updates, -0.1 * np.ones(3) / (1 + 1e-6), rtol=1e-12)  # ratio 1: Adam's step


@pytest.mark.parametrize(
    "kwargs, error, fragments",
    [
        ({"lr": -0.1}, ValueError, ["lr", "-0.1"]),
        ({"betas": (0.9, 1.0)}, ValueError, ["beta2", "1"]),
        ({"eps": -1e-6}, ValueError, ["eps", "-1e-06"]),
        ({"weight_decay": -0.1}, ValueError, ["weight_decay", "-0.1"]),
        ({"lr": np.array([0.1, 0.2])}, TypeError, ["lr", "number"]),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(kwargs, error, fragments):
    with pytest.raises(error) as info:
        optim.lamb(**kwargs)
    assert all(fragment in str(info.value) for fragment in fragments), str(info.value)


def test_through_torch_optimizer_and_inject_hyperparams(problem, run_ours):
    params, grads = problem(SPEC, steps=15)
    _, expected = run_ours(optim.lamb(lr=0.01, weight_decay=0.1), params, grads)
    ours = [torch.tensor(p, requires_grad=True) for p in params]
    opt = TorchOptimizer([{"params": ours[:2]}, {"params": ours[2:], "weight_decay": 0.1}], optim.lamb(lr=0.01))
    opt.param_groups[0]["weight_decay"] = 0.1
    for t, g in enumerate(grads):
        for p, gi in zip(ours, g, strict=True):
            p.grad = torch.tensor(gi)
        opt.step()
        got = np.concatenate([p.detach().numpy().ravel() for p in ours])
        np.testing.assert_allclose(got, expected[t], rtol=1e-10, atol=1e-12)
    assert set(opt.state[ours[0]]) == {"step", "exp_avg", "exp_avg_sq"}
    _, injected = run_ours(inject_hyperparams(optim.lamb)(lr=0.01, weight_decay=0.1), params, grads)
    np.testing.assert_array_equal(injected, expected)
