"""RAdam (Liu et al. 2020) follows ``torch.optim.RAdam`` 2.13 step for step, and its rectification
is the paper's formula.

Open loop over 200 steps (the rectification switches on at t = 6 for beta2 = 0.999 and is still far
from 1 at t = 200, so every branch of the rule is exercised). Tolerances: float64 differs from torch
only by the order of roundings (~1e-16 per operation, reference/optimizer-semantics.md section 6:
<= 2e-14 observed), so 1e-9 is a wide bound; float32 rounds each step's ~10 operations to ~6e-8
relative, and open loop nothing amplifies it: after 200 steps of size <= lr = 0.05 the drift is at
most 200 * 0.05 * 10 * 6e-8 = 6e-6 < atol = 1e-5 (rtol 1e-4 covers the L2 and decay terms, which
scale with |p|).
"""

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import TorchOptimizer, inject_hyperparams
from course_utils.optim.radam import rectification, sma_length

BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]
TOLERANCES = {"float64": {"rtol": 1e-9, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}
STEPS = 200

CONFIGS = [
    {"lr": 0.05},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
    {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
    {"lr": 0.05, "betas": (0.9, 0.5)},  # rho_inf = 3 <= 5: never rectified, momentum SGD throughout
]


@pytest.mark.parametrize("lib, dtype", BACKENDS, ids=[f"{lib}-{dtype}" for lib, dtype in BACKENDS])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_matches_torch_radam(kwargs, lib, dtype, problem, run_torch, run_ours, convert, assert_like):
    params, grads = problem(steps=STEPS)
    expected = run_torch("radam", kwargs, params, grads, dtype)
    final, path = run_ours(optim.radam(**kwargs), convert(params, lib, dtype), [convert(g, lib, dtype) for g in grads])
    assert_like(final, lib, dtype)
    np.testing.assert_allclose(path, expected, **TOLERANCES[dtype])


def paper_radam(params, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Liu et al. Algorithm 2 written out (torch's threshold rho_t > 5, torch's eps placement)."""
    rho_inf = 2 / (1 - beta2) - 1
    p, m, v, path = params.copy(), 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho > 5:
            l_t = np.sqrt(1 - beta2**t) / (np.sqrt(v) + eps)
            r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            p = p - lr * r * m_hat * l_t
        else:
            p = p - lr * m_hat
        path.append(p.ravel())
    return np.stack(path)


def test_matches_the_papers_algorithm_written_out(problem, run_ours):
    params, grads = problem(steps=60)
    _, ours = run_ours(optim.radam(lr=0.05), params, grads)
    # the same float64 operations in nearly the same order: a few ulps of |p| ~ 1 per step
    np.testing.assert_allclose(ours, paper_radam(params, grads, lr=0.05), rtol=1e-12, atol=1e-13)


def test_rho_starts_at_one_and_grows_to_rho_infinity():
    rho_1, rho_inf = sma_length(0.999, 1)
    assert rho_1 == pytest.approx(1.0, abs=1e-12)  # one gradient in the average
    assert rho_inf == pytest.approx(1999.0)
    rhos = [sma_length(0.999, t)[0] for t in range(1, 10_000, 7)]
    assert np.all(np.diff(rhos) > 0) and rhos[-1] < rho_inf
    assert sma_length(0.999, 100_000)[0] == pytest.approx(rho_inf, rel=1e-9)


def test_the_rectification_is_off_for_five_steps_then_below_one_and_tends_to_one():
    # beta2 = 0.999: rho_5 = 4.99 and rho_6 = 5.99 (one more gradient per step, roughly)
    assert [rectification(0.999, t)[1] for t in range(1, 8)] == [False] * 5 + [True] * 2
    r = np.array([rectification(0.999, t)[0] for t in range(6, 5_000)])
    assert np.all((r > 0) & (r < 1)) and np.all(np.diff(r) > 0)
    assert r[0] < 0.1  # the first adaptive steps are cut by more than 10x: a built-in warmup
    assert rectification(0.999, 10**6)[0] == pytest.approx(1.0, abs=1e-6)


def test_the_first_steps_are_plain_momentum_steps(problem, run_ours):
    params, grads = problem(steps=5)
    _, path = run_ours(optim.radam(lr=0.1), params, grads)
    m, p = 0.0, params
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        p = p - 0.1 * m / (1 - 0.9**t)
        np.testing.assert_allclose(path[t - 1], p.ravel(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(
    "kwargs, error, fragments",
    [
        ({"lr": -0.1}, ValueError, ["lr", "-0.1"]),
        ({"betas": (1.0, 0.999)}, ValueError, ["beta1", "1"]),
        ({"betas": (0.9, -0.5)}, ValueError, ["beta2", "-0.5"]),
        ({"betas": 0.9}, ValueError, ["betas", "pair"]),
        ({"eps": -1e-8}, ValueError, ["eps", "-1e-08"]),
        ({"weight_decay": -0.1}, ValueError, ["weight_decay", "-0.1"]),
        ({"lr": "fast"}, TypeError, ["lr", "'fast'"]),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(kwargs, error, fragments):
    with pytest.raises(error) as info:
        optim.radam(**kwargs)
    assert all(fragment in str(info.value) for fragment in fragments), str(info.value)


def test_through_torch_optimizer_and_inject_hyperparams(problem, run_ours, convert):
    params, grads = problem((4, 3), steps=30)
    # TorchOptimizer: same defaults as torch.optim.RAdam, same state names, same path (float64)
    w = torch.tensor(params, requires_grad=True)
    opt = TorchOptimizer([w], optim.radam(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True))
    twin = torch.tensor(params, requires_grad=True)
    reference = torch.optim.RAdam([twin], lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)
    for g in grads:
        for p, o in ((w, opt), (twin, reference)):
            p.grad = torch.tensor(g)
            o.step()
    torch.testing.assert_close(w, twin, rtol=1e-10, atol=1e-12)
    assert set(opt.state[w]) == set(reference.state[twin]) == {"step", "exp_avg", "exp_avg_sq"}
    assert TorchOptimizer([w], optim.radam()).defaults == torch.optim.RAdam([twin]).defaults
    # inject_hyperparams: the very same arithmetic, and lr can change between steps
    _, plain = run_ours(optim.radam(lr=0.05), params, grads)
    _, injected = run_ours(inject_hyperparams(optim.radam)(lr=0.05), params, grads)
    np.testing.assert_array_equal(injected, plain)
