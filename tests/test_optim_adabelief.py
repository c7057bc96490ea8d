"""AdaBelief (Zhuang et al. 2020) against its paper's pseudo-code, written out below in plain NumPy.

There is no torch.optim class to compare with; the reference is Algorithm 2 (without AMSGrad),
with eps inside s_t as the authors' code keeps it. Tolerances: float64, the same operations in
nearly the same order, a few ulps per step (~1e-16 relative), over 50 open-loop steps far below
rtol = 1e-10; the float32 runs are compared with the float64 reference: ~10 roundings of 6e-8 per
step, steps of size <= lr * (1 - beta1) / sqrt(1 - beta2) ~ 3 lr = 0.03 (the bound of Kingma & Ba
section 2.1 holds for s_t <= v_t too), 50 * 0.03 * 10 * 6e-8 = 1e-6 inside atol = 1e-5.
"""

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import TorchOptimizer, inject_hyperparams

BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]
TOLERANCES = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}


def paper_adabelief(params, grads, lr, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0, decoupled=False):
    """Zhuang et al. (2020), Algorithm 2, line by line (L2 or decoupled decay as in Adam / AdamW)."""
    theta, m, s, path = params.copy(), 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        if weight_decay and not decoupled:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * (g - m) ** 2 + eps
        m_hat = m / (1 - beta1**t)
        s_hat = s / (1 - beta2**t)
        step = m_hat / (np.sqrt(s_hat) + eps)
        if weight_decay and decoupled:
            step = step + weight_decay * theta
        theta = theta - lr * step
        path.append(theta.ravel())
    return np.stack(path)


CONFIGS = [
    {"lr": 0.01},
    {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8},
    {"lr": 0.01, "weight_decay": 0.1},
    {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
]


@pytest.mark.parametrize("lib, dtype", BACKENDS, ids=[f"{lib}-{dtype}" for lib, dtype in BACKENDS])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_matches_the_papers_algorithm_2(kwargs, lib, dtype, problem, run_ours, convert, assert_like):
    params, grads = problem(steps=50)
    beta1, beta2 = kwargs.get("betas", (0.9, 0.999))
    expected = paper_adabelief(
        params, grads, kwargs["lr"], beta1, beta2, kwargs.get("eps", 1e-16),
        kwargs.get("weight_decay", 0.0), kwargs.get("decoupled_weight_decay", False),
    )  # fmt: skip
    final, path = run_ours(
        optim.adabelief(**kwargs), convert(params, lib, dtype), [convert(g, lib, dtype) for g in grads]
    )
    assert_like(final, lib, dtype)
    np.testing.assert_allclose(path, expected, **TOLERANCES[dtype])


def test_eps_accumulates_inside_s():
    # with zero gradients s_t = eps (1 + beta2 + ... + beta2^(t-1)) = eps (1 - beta2^t) / (1 - beta2)
    block = optim.scale_by_belief(betas=(0.9, 0.5), eps=1e-3)
    g = np.zeros(3)
    state = block.init(g)
    for _ in range(10):
        _, state = block.update(g, state)
    np.testing.assert_allclose(state.s, 1e-3 * (1 - 0.5**10) / 0.5, rtol=1e-14)


def test_a_steady_gradient_earns_a_bigger_step_than_adams():
    # constant gradient: m_t -> g and the surprise (g - m_t)^2 = beta1^(2t) g^2 -> 0, so s_t only
    # remembers the first steps' surprise, fading as beta2^t: AdaBelief's step grows beyond lr
    # (about 5 lr after 100 steps), while Adam's m_hat / sqrt(v_hat) is exactly 1 (a step of lr)
    g = np.full(2, 0.5)
    steps = {}
    for name, factory in (("adabelief", optim.adabelief), ("adam", optim.adam)):
        opt = factory(lr=1e-3)
        state, p = opt.init(np.zeros(2)), np.zeros(2)
        for _ in range(100):
            updates, state = opt.update(g, state, p)
            p = optim.apply_updates(p, updates)
        steps[name] = abs(updates[0])
    assert steps["adam"] == pytest.approx(1e-3, rel=1e-6)
    assert steps["adabelief"] > 3 * steps["adam"]


@pytest.mark.parametrize(
    "kwargs, error, fragments",
    [
        ({"lr": -0.1}, ValueError, ["lr", "-0.1"]),
        ({"betas": (1.5, 0.999)}, ValueError, ["beta1", "1.5"]),
        ({"eps": -1e-16}, ValueError, ["eps", "-1e-16"]),
        ({"weight_decay": -0.1}, ValueError, ["weight_decay", "-0.1"]),
        ({"eps": "tiny"}, TypeError, ["eps", "'tiny'"]),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(kwargs, error, fragments):
    with pytest.raises(error) as info:
        optim.adabelief(**kwargs)
    assert all(fragment in str(info.value) for fragment in fragments), str(info.value)


def test_through_torch_optimizer_and_inject_hyperparams(problem, run_ours):
    params, grads = problem((4, 3), steps=20)
    kwargs = {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}
    _, expected = run_ours(optim.adabelief(**kwargs), params, grads)
    w = torch.tensor(params, requires_grad=True)
    opt = TorchOptimizer([{"params": [w], "betas": (0.8, 0.99)}], optim.adabelief(**kwargs))
    assert opt.param_groups[0]["betas"] == (0.8, 0.99) and opt.defaults["eps"] == 1e-16
    opt.param_groups[0]["betas"] = (0.9, 0.999)  # a group's values are used at the next step
    for t, g in enumerate(grads):
        w.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(w.detach().numpy().ravel(), expected[t], rtol=1e-10, atol=1e-12)
    assert set(opt.state[w]) == {"step", "exp_avg", "exp_avg_var"}
    _, injected = run_ours(inject_hyperparams(optim.adabelief)(**kwargs), params, grads)
    np.testing.assert_array_equal(injected, expected)
