"""Adafactor (Shazeer & Stern 2018) follows ``torch.optim.Adafactor`` 2.13 step for step; its factored
state is as small as the paper says, and each of its blocks does what its docstring claims.

Tolerances of the parity runs (open loop, 60 steps, heavy-tailed gradients with exact zeros):
float64 differs from torch only in the order of roundings (~1e-16 per operation; torch takes
norms where we take sums of squares), 1e-9 is a wide bound. float32: every step is at most
rho_t * max(eps2, RMS(p)) * d ~ 0.01 * 1 * 1 in size and carries ~10 roundings of 6e-8, open loop
nothing amplifies them: 60 * 0.01 * 10 * 6e-8 = 4e-7, well inside atol = 1e-5; rtol = 1e-4
covers the decay term, proportional to |p|.
"""

import copy

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import TorchOptimizer, inject_hyperparams
from course_utils.optim.adafactor import state_bytes_per_parameter, state_size

BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]
TOLERANCES = {"float64": {"rtol": 1e-9, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}
SPEC = [(6, 4), (4,), (3, 2, 5)]  # a matrix, a vector, a stack of matrices (factored over the last two)

CONFIGS = [
    {},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.3, "maximize": True, "d": 1.5},  # lr < 1/sqrt(t) until t = 11: both sides of the min
    {"beta2_decay": -0.5, "eps": (1e-20, 1e-2)},
    {"eps": (1e-3, 0.5)},  # eps1 large enough to clamp, eps2 larger than RMS(p): the other sides of the max
]


@pytest.mark.parametrize("lib, dtype", BACKENDS, ids=[f"{lib}-{dtype}" for lib, dtype in BACKENDS])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_matches_torch_adafactor(kwargs, lib, dtype, problem, run_torch, run_ours, convert, assert_like):
    params, grads = problem(SPEC, steps=60)
    expected = run_torch("adafactor", kwargs, params, grads, dtype)
    final, path = run_ours(
        optim.adafactor(**kwargs), convert(params, lib, dtype), [convert(g, lib, dtype) for g in grads]
    )
    assert_like(final, lib, dtype)
    np.testing.assert_allclose(path, expected, **TOLERANCES[dtype])
    assert np.abs(path[-1] - path[0]).max() > 1e-3  # it moved


def test_the_factored_estimate_is_exact_for_a_rank_one_square_gradient():
    # g_ij^2 = a_i b_j: row means a_i mean(b), column means b_j mean(a), and
    # R C / mean(R) = a_i mean(b) b_j mean(a) / (mean(a) mean(b)) = a_i b_j. At t = 1 (1 - beta2_1 = 1)
    # the estimate is g^2 itself, so u = g / |g| = sign(g) exactly, up to rounding.
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 2.0, size=(5, 1)), rng.uniform(0.5, 2.0, size=(1, 7))
    g = np.sqrt(a * b) * rng.choice([-1.0, 1.0], size=(5, 7))
    block = optim.scale_by_factored_rms()
    u, state = block.update(g, block.init(g))
    np.testing.assert_allclose(u, np.sign(g), rtol=1e-14)
    assert state.row_var.shape == (5, 1) and state.col_var.shape == (1, 7) and state.variance is None
    # and for a gradient that is not rank one it is only an estimate
    g2 = rng.normal(size=(5, 7))
    u2, _ = block.update(g2, block.init(g2))
    assert np.abs(np.abs(u2) - 1).max() > 0.1


def test_the_state_is_n_plus_m_numbers_per_matrix_and_matches_torchs():
    shapes = [(64, 32), (32,), (4, 8, 16)]
    assert [state_size(s) for s in shapes] == [96, 32, 4 * 24]
    params = [torch.zeros(s) for s in shapes]
    state = optim.adafactor().init(params)
    counted = sum(x.numel() for block in state for field in block[1:] for x in field if x is not None)
    assert counted == sum(state_size(s) for s in shapes)
    # torch keeps the same tensors (checked after one step, when torch creates them)
    theirs = [torch.zeros(s, requires_grad=True) for s in shapes]
    opt = torch.optim.Adafactor(theirs)
    for p in theirs:
        p.grad = torch.ones_like(p)
    opt.step()
    torch_count = sum(v.numel() for s in opt.state.values() for k, v in s.items() if k != "step")
    assert torch_count == counted
    # bytes per parameter in float32: (96 + 32 + 96) * 4 / (2048 + 32 + 512)
    assert state_bytes_per_parameter(params) == pytest.approx(4 * 224 / 2592)
    assert state_bytes_per_parameter([(1024, 1024)]) == pytest.approx(4 * 2048 / 1024**2)  # Adam: 8
    assert state_bytes_per_parameter([(10,)], itemsize=8) == 8.0
    with pytest.raises(ValueError, match="at least one parameter"):
        state_bytes_per_parameter([(0, 3)])


def test_updates_are_clipped_to_rms_d_times_the_relative_step(problem, run_ours):
    # |step| in RMS <= rho_t * max(eps2, RMS(p)) * d: update clipping and relative steps
    params, grads = problem((8, 6), steps=30, scale=1e3)  # the scale of g cancels in u
    for d in (1.0, 1.5):
        opt = optim.adafactor(lr=0.05, d=d)
        state, p = opt.init(params), params
        ratios = []
        for t, g in enumerate(grads, start=1):
            updates, state = opt.update(g, state, p)
            bound = min(0.05, t**-0.5) * max(1e-3, np.sqrt(np.mean(p**2))) * d
            ratios.append(np.sqrt(np.mean(updates**2)) / bound)
            p = optim.apply_updates(p, updates)
        assert max(ratios) <= 1 + 1e-12
        assert max(ratios) > 0.99  # the clip is reached: the bound is tight, not vacuous


@pytest.mark.parametrize(
    "kwargs, error, fragments",
    [
        ({"lr": -0.1}, ValueError, ["lr", "-0.1"]),
        ({"beta2_decay": 0.5}, ValueError, ["beta2_decay", "0.5"]),
        ({"eps": 1e-3}, ValueError, ["eps", "pair"]),
        ({"eps": (-1e-30, 1e-3)}, ValueError, ["eps1", "-1e-30"]),
        ({"eps": (None, -1.0)}, ValueError, ["eps2", "-1"]),
        ({"d": 0.5}, ValueError, ["d", "0.5"]),
        ({"weight_decay": -0.1}, ValueError, ["weight_decay", "-0.1"]),
        ({"d": np.array([1.0, 2.0])}, TypeError, ["d", "number"]),
        ({"lr": np.array([0.01, 0.02])}, TypeError, ["lr", "number"]),
        ({"lr": "big"}, TypeError, ["lr", "'big'"]),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(kwargs, error, fragments):
    with pytest.raises(error) as info:
        optim.adafactor(**kwargs)
    assert all(fragment in str(info.value) for fragment in fragments), str(info.value)


def test_blocks_that_use_the_parameters_need_them():
    with pytest.raises(ValueError, match="needs the current params"):
        optim.scale_by_param_scale().update(np.ones(3), ())


def test_through_torch_optimizer_matrices_and_vectors_in_one_group(run_ours, problem):
    # one group with a matrix, a vector and a stack: their states have different layouts
    params, grads = problem(SPEC, steps=20)
    ours = [torch.tensor(p, requires_grad=True) for p in params]
    theirs = [torch.tensor(p, requires_grad=True) for p in params]
    opt = TorchOptimizer(ours, optim.adafactor(lr=0.05, weight_decay=0.1))
    reference = torch.optim.Adafactor(theirs, lr=0.05, weight_decay=0.1)
    assert TorchOptimizer(ours, optim.adafactor()).defaults == torch.optim.Adafactor(theirs).defaults
    for t, g in enumerate(grads):
        for p, q, gi in zip(ours, theirs, g, strict=True):
            p.grad, q.grad = torch.tensor(gi), torch.tensor(gi)
        opt.step()
        reference.step()
        if t == 9:  # a checkpoint of torch's Adafactor continues in ours
            opt.load_state_dict(copy.deepcopy(reference.state_dict()))  # a copy, as torch.save makes
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
        assert set(opt.state[p]) == set(reference.state[q])
        for key, value in reference.state[q].items():
            assert opt.state[p][key].shape == value.shape
    # a checkpoint whose factors have the wrong shape is refused with the shape it needs
    broken = opt.state_dict()
    broken["state"][0]["row_var"] = torch.zeros(4, 1)
    with pytest.raises(ValueError, match=r"'row_var' of parameter 0 has shape \(4, 1\).*\(6, 1\)"):
        opt.load_state_dict(broken)
    # inject_hyperparams: the very same arithmetic
    _, plain = run_ours(optim.adafactor(lr=0.05), params, grads)
    _, injected = run_ours(inject_hyperparams(optim.adafactor)(lr=0.05), params, grads)
    np.testing.assert_array_equal(injected, plain)
