"""Schedule-Free AdamW (Defazio et al. 2024) against the paper's Algorithm 1, written out in NumPy.

The official reference is the authors' ``schedulefree`` package, which is not installed here, so
the reference is Algorithm 1 itself (y, z, x sequences, warmup, weights gamma_t^2, i.e. r = 0),
run in float64. Tolerances: float64, the same operations in a different order, a few ulps of |p|
per step (~1e-16), far below rtol = 1e-10. float32 against the float64 reference: ~10 roundings
(6e-8 relative) per step of z, whose size is gamma_t |g| / sqrt(v_t) <= lr sqrt(t) (worst case)
and ~lr when |g| ~ sqrt(v_t) (most steps): 60 * 0.05 * 10 * 6e-8 = 2e-6 typical, 9e-6 at worst,
inside atol = 1e-5 (rtol = 1e-4 for the decay term); x and y average the z's, and their errors.
"""

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import TorchOptimizer, inject_hyperparams
from course_utils.optim.schedule_free import eval_params

BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]
TOLERANCES = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}


def algorithm_1(x1, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, warmup_steps=0):
    """Defazio et al. (2024), Algorithm 1, line by line; returns the path of y and of x."""
    z, x, v = x1.copy(), x1.copy(), np.zeros_like(x1)
    y = x1.copy()
    gamma_sq_sum = 0.0
    ys, xs = [], []
    for t, g in enumerate(grads, start=1):  # g is the gradient taken at y_t
        v = beta2 * v + (1 - beta2) * g * g
        gamma = lr * np.sqrt(1 - beta2**t) * min(1.0, t / warmup_steps if warmup_steps else 1.0)
        z = z - gamma * g / (np.sqrt(v) + eps) - gamma * weight_decay * y
        gamma_sq_sum += gamma**2
        c = gamma**2 / gamma_sq_sum
        x = (1 - c) * x + c * z
        y = (1 - beta1) * z + beta1 * x
        ys.append(y.ravel())
        xs.append(x.ravel())
    return np.stack(ys), np.stack(xs)


CONFIGS = [
    {"lr": 0.05},
    {"lr": 0.05, "warmup_steps": 10, "weight_decay": 0.1},
    {"lr": 0.05, "betas": (0.5, 0.99), "eps": 1e-6},
]


@pytest.mark.parametrize("lib, dtype", BACKENDS, ids=[f"{lib}-{dtype}" for lib, dtype in BACKENDS])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_matches_the_papers_algorithm_1(kwargs, lib, dtype, problem, run_ours, convert, assert_like, flat):
    params, grads = problem(steps=60)
    beta1, beta2 = kwargs.get("betas", (0.9, 0.999))
    extra = {k: kwargs[k] for k in ("eps", "weight_decay", "warmup_steps") if k in kwargs}
    expected_y, expected_x = algorithm_1(params, grads, kwargs["lr"], beta1, beta2, **extra)
    opt = optim.schedule_free_adamw(**kwargs)
    params_lib, grads_lib = convert(params, lib, dtype), [convert(g, lib, dtype) for g in grads]
    final, path = run_ours(opt, params_lib, grads_lib)
    assert_like(final, lib, dtype)
    np.testing.assert_allclose(path, expected_y, **TOLERANCES[dtype])  # training sees y
    state = opt.init(params_lib)
    p = params_lib
    for g in grads_lib:
        updates, state = opt.update(g, state, p)
        p = optim.apply_updates(p, updates)
    x = eval_params(state)
    assert_like(x, lib, dtype)
    np.testing.assert_allclose(flat(x), expected_x[-1], **TOLERANCES[dtype])  # evaluation uses x
    assert np.abs(flat(x) - path[-1]).max() > 1e-3  # and x really is another point than y


def test_polynomial_weighting_r_changes_the_average(problem, run_ours):
    # r > 0 weights late iterates more: c_{t+1} = t^r gamma^2 / sum_i i^r gamma^2; with a constant
    # gamma (beta2 -> its bias correction is part of gamma) that is t^r / sum i^r
    params, grads = problem((5,), steps=30)
    opt = optim.schedule_free_adamw(lr=0.05, r=1.0, betas=(0.9, 0.0))  # beta2 = 0: gamma_t = lr exactly
    state, p = opt.init(params), params
    zs = []
    for g in grads:
        updates, state = opt.update(g, state, p)
        p = optim.apply_updates(p, updates)
        zs.append(state[0].z)
    weights = np.arange(1, 31, dtype=float)
    # x_{T+1} = sum_t w_t z_{t+1} / sum_t w_t: a weighted average of the z's (x_1 gets weight 0)
    expected = (weights[:, None] * np.stack(zs)).sum(axis=0) / weights.sum()
    np.testing.assert_allclose(eval_params(state), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, error, fragments",
    [
        ({"lr": -0.1}, ValueError, ["lr", "-0.1"]),
        ({"lr": lambda t: 0.1}, TypeError, ["lr", "function"]),
        ({"betas": (0.9, 1.0)}, ValueError, ["beta2", "1"]),
        ({"warmup_steps": -5}, ValueError, ["warmup_steps", "-5"]),
        ({"warmup_steps": 2.5}, ValueError, ["warmup_steps", "2.5"]),
        ({"weight_decay": -0.1}, ValueError, ["weight_decay", "-0.1"]),
        ({"r": -1.0}, ValueError, ["r", "-1"]),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(kwargs, error, fragments):
    with pytest.raises(error) as info:
        optim.schedule_free_adamw(**kwargs)
    assert all(fragment in str(info.value) for fragment in fragments), str(info.value)


def test_it_needs_params_and_eval_params_needs_its_state():
    opt = optim.schedule_free_adamw()
    with pytest.raises(ValueError, match="needs the current params"):
        opt.update(np.ones(2), opt.init(np.zeros(2)))
    with pytest.raises(TypeError, match="schedule-free"):
        eval_params(optim.adam().init(np.zeros(2)))


def test_through_torch_optimizer_and_inject_hyperparams(problem, run_ours):
    params, grads = problem((4, 3), steps=20)
    kwargs = {"lr": 0.05, "warmup_steps": 5, "weight_decay": 0.1}
    _, expected = run_ours(optim.schedule_free_adamw(**kwargs), params, grads)
    w = torch.tensor(params, requires_grad=True)
    opt = TorchOptimizer([w], optim.schedule_free_adamw(**kwargs))
    for t, g in enumerate(grads):
        w.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(w.detach().numpy().ravel(), expected[t], rtol=1e-10, atol=1e-12)
        if t == 9:  # a checkpoint round trip in the middle changes nothing
            saved = opt.state_dict()
            opt = TorchOptimizer([w], optim.schedule_free_adamw(**kwargs))
            opt.load_state_dict(saved)
    assert set(opt.state[w]) == {"step", "z", "x", "exp_avg_sq", "lr_max", "weight_sum"}
    injected = inject_hyperparams(optim.schedule_free_adamw)(**kwargs)
    _, path = run_ours(injected, params, grads)
    np.testing.assert_array_equal(path, expected)
