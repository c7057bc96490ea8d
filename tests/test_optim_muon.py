"""Muon (Jordan et al. 2024) follows ``torch.optim.Muon`` 2.13, and its Newton-Schulz iteration does
what the blog post says: it keeps the singular vectors and moves the singular values into a band
around 1.

torch runs the iteration in bfloat16 (8 significant bits), so the exact comparison replaces torch's
iteration by the blog's, written out below in the parameters' dtype (monkeypatched into
``torch.optim._muon``): then only rounding order differs (float64: ~1e-16 per operation, rtol 1e-10;
float32: ~10 roundings of 6e-8 per step of size lr * sqrt(max(1, A/B)) <= 0.025, 30 steps:
5e-7 << atol 1e-5). Torch's own bfloat16 run is compared too, to a tolerance that bfloat16 explains:
2^-8 relative per rounding, ~3% of each step after five iterations, summed over the steps.
"""

import copy

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import TorchOptimizer, inject_hyperparams

A, B, C = 3.4445, -4.7750, 2.0315
TOLERANCES = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}
BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]
SPEC = [(6, 4), (3, 8)]  # a tall and a wide matrix


def blog_newton_schulz(G, ns_coefficients=(A, B, C), ns_steps=5, eps=1e-7):
    """The blog's zeropower_via_newtonschulz5, without the cast to bfloat16 (same arguments as torch's)."""
    a, b, c = ns_coefficients
    X = G.T if G.shape[0] > G.shape[1] else G
    X = X / max(float((X * X).sum()) ** 0.5, eps)
    for _ in range(ns_steps):
        gram = X @ X.T
        X = a * X + (b * gram + c * gram @ gram) @ X
    return X.T if G.shape[0] > G.shape[1] else X


@pytest.fixture
def torch_muon_without_bfloat16(monkeypatch):
    monkeypatch.setattr(torch.optim._muon, "_zeropower_via_newtonschulz", blog_newton_schulz)


CONFIGS = [
    {"lr": 0.02},
    {"lr": 0.02, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0},
    {"lr": 0.02, "adjust_lr_fn": "match_rms_adamw", "ns_steps": 3, "eps": 1e-5},
]


@pytest.mark.parametrize("lib, dtype", BACKENDS, ids=[f"{lib}-{dtype}" for lib, dtype in BACKENDS])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_matches_torch_muon_with_the_blogs_iteration(
    kwargs, lib, dtype, torch_muon_without_bfloat16, problem, run_torch, run_ours, convert, assert_like
):
    params, grads = problem(SPEC, steps=30)
    expected = run_torch("muon", kwargs, params, grads, dtype)
    final, path = run_ours(optim.muon(**kwargs), convert(params, lib, dtype), [convert(g, lib, dtype) for g in grads])
    assert_like(final, lib, dtype)
    np.testing.assert_allclose(path, expected, **TOLERANCES[dtype])


def test_is_close_to_torch_muon_in_bfloat16(problem, run_torch, run_ours):
    params, grads = problem(SPEC, steps=30)
    expected = run_torch("muon", {"lr": 0.02}, params, grads, "float32")
    _, path = run_ours(optim.muon(lr=0.02), params, grads)
    largest_step = 0.02 * np.sqrt(6 / 4)  # lr times the tall matrix's shape factor; NS entries are <= ~1
    # bfloat16: ~3% of each step, accumulated over the 30 steps (the errors do not all add up in practice)
    np.testing.assert_allclose(path, expected, rtol=0, atol=30 * 0.03 * largest_step)
    assert np.abs(path - expected).max() > 1e-6  # and bfloat16 really rounds differently


@pytest.mark.parametrize("shape", [(32, 64), (64, 32), (16, 48)])
def test_newton_schulz_keeps_the_singular_vectors_and_puts_the_values_in_the_blogs_band(shape):
    G = np.random.default_rng(1).normal(size=shape)
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    X = optim.newton_schulz(G)
    inner = U.T @ X @ Vt.T  # diagonal exactly when X = U S' V^T
    assert np.abs(inner - np.diag(np.diag(inner))).max() < 1e-10
    s_new = np.linalg.svd(X, compute_uv=False)
    assert np.all((s_new > 0.5) & (s_new < 1.5))  # the blog: S'_ii ~ Uniform(0.5, 1.5)
    assert s_new.max() - s_new.min() > 0.1  # not an exact orthogonalization, by design
    # each singular value (after the Frobenius normalization) went through p(x) = a x + b x^3 + c x^5
    # five times
    x = s / np.sqrt((G * G).sum())
    for _ in range(5):
        x = A * x + B * x**3 + C * x**5
    np.testing.assert_allclose(np.sort(x), np.sort(s_new), rtol=1e-10)


def test_vectors_and_other_shapes_are_refused_with_what_to_do():
    opt = optim.muon()
    with pytest.raises(ValueError, match=r"2-D parameters .* shape \(5,\).*another optimizer"):
        opt.init({"w": np.zeros((3, 5)), "b": np.zeros(5)})
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\)"):
        optim.newton_schulz(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"2-D parameters .* shape \(4,\)"):  # when the group is made, as torch
        TorchOptimizer([torch.zeros(4, requires_grad=True)], optim.muon())


@pytest.mark.parametrize(
    "kwargs, error, fragments",
    [
        ({"lr": -1e-3}, ValueError, ["lr", "-0.001"]),
        ({"momentum": 1.0}, ValueError, ["momentum", "1"]),
        ({"weight_decay": -0.1}, ValueError, ["weight_decay", "-0.1"]),
        ({"ns_steps": 100}, ValueError, ["ns_steps", "100"]),
        ({"ns_steps": 2.0}, ValueError, ["ns_steps", "2.0"]),
        ({"ns_coefficients": (1.0, 2.0)}, ValueError, ["ns_coefficients", "three"]),
        ({"adjust_lr_fn": "sqrt"}, ValueError, ["adjust_lr_fn", "'sqrt'"]),
        ({"eps": -1.0}, ValueError, ["eps", "-1"]),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(kwargs, error, fragments):
    with pytest.raises(error) as info:
        optim.muon(**kwargs)
    assert all(fragment in str(info.value) for fragment in fragments), str(info.value)


def test_through_torch_optimizer_and_inject_hyperparams(torch_muon_without_bfloat16, problem, run_ours):
    params, grads = problem(SPEC, steps=20)
    ours = [torch.tensor(p, requires_grad=True) for p in params]
    theirs = [torch.tensor(p, requires_grad=True) for p in params]
    opt = TorchOptimizer(ours, optim.muon(lr=0.02))
    reference = torch.optim.Muon(theirs, lr=0.02)
    assert opt.defaults == reference.defaults
    for t, g in enumerate(grads):
        for p, q, gi in zip(ours, theirs, g, strict=True):
            p.grad, q.grad = torch.tensor(gi), torch.tensor(gi)
        opt.step()
        reference.step()
        if t == 9:  # checkpoints move between torch's Muon and ours
            opt.load_state_dict(copy.deepcopy(reference.state_dict()))
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
        assert set(opt.state[p]) == set(reference.state[q]) == {"momentum_buffer"}
    _, plain = run_ours(optim.muon(lr=0.02), params, grads)
    _, injected = run_ours(inject_hyperparams(optim.muon)(lr=0.02), params, grads)
    np.testing.assert_array_equal(injected, plain)
