"""The in-place fast path must give the readable rule's numbers."""

import numpy as np
import pytest

from course_utils import backend, optim
from course_utils.optim import fused


def heavy_tailed(rng, shape, dtype):
    g = rng.standard_t(2, size=shape)
    g[rng.random(shape) < 0.2] = 0.0
    return g.astype(dtype)


def run(transform, params, grads_seq, use_step):
    params = [backend.copy(p) for p in params]
    state = transform.init(params)
    for grads in grads_seq:
        if use_step:
            params, state = optim.step(transform, grads, state, params)
        else:
            updates, state = transform.update(grads, state, params)
            params = optim.apply_updates(params, updates)
    return params, state


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("lr", [1e-2, optim.schedules.cosine_decay(1e-2, 30)])
def test_fast_path_equals_readable_rule(monkeypatch, dtype, rtol, lr):
    monkeypatch.setattr(fused, "BLOCK", 64)  # several blocks ...
    monkeypatch.setattr(fused, "MIN_PARALLEL", 100)  # ... shared between threads
    rng = np.random.default_rng(0)
    shapes = [(1000,), (7, 31)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads_seq = [[heavy_tailed(rng, s, dtype) for s in shapes] for _ in range(30)]
    transform = optim.adam(lr=lr, betas=(0.8, 0.99), eps=1e-6)
    assert transform.fused is not None
    slow, slow_state = run(transform, params, grads_seq, use_step=False)
    fast, fast_state = run(transform, params, grads_seq, use_step=True)
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(fast_state[0].v[1], slow_state[0].v[1], rtol=rtol)
    assert fast_state[0].t == slow_state[0].t == 30 and fast_state[1].t == 30


def test_fast_path_writes_in_place_and_falls_back_when_it_cannot():
    rng = np.random.default_rng(1)
    p = rng.standard_normal(100)
    transform = optim.adam(lr=0.1)
    state = transform.init(p)
    new, _ = optim.step(transform, rng.standard_normal(100), state, p)
    assert new is p  # donated and overwritten
    batched = optim.adam(lr=np.array([[0.1], [0.01]]))  # array hyperparameters: readable path
    q = rng.standard_normal((2, 5))
    new, _ = optim.step(batched, np.ones((2, 5)), batched.init(q), q)
    assert new is not q
    np.testing.assert_allclose(new, q - np.array([[0.1], [0.01]]), rtol=1e-6)


def test_only_plain_adam_has_a_fast_path():
    assert optim.adam(weight_decay=0.1).fused is None
    assert optim.adam(amsgrad=True).fused is None
    assert optim.adam(maximize=True).fused is None
    assert optim.sgd(lr=0.1).fused is None


def test_torch_cpu_tensors_use_the_fast_path_with_torch_numbers():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    w = torch.randn(5000)
    grads = [torch.randn(5000) for _ in range(20)]
    ours = torch.nn.Parameter(w.clone())
    theirs = torch.nn.Parameter(w.clone())
    opt_ours = optim.TorchOptimizer([ours], optim.adam(lr=1e-2))
    opt_theirs = torch.optim.Adam([theirs], lr=1e-2)
    for g in grads:
        ours.grad, theirs.grad = g.clone(), g.clone()
        opt_ours.step()
        opt_theirs.step()
    torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_fast_path_equals_readable_rule_on_torch(dtype):
    torch = pytest.importorskip("torch")
    dt = getattr(torch, dtype)
    gen = torch.Generator().manual_seed(3)
    params = [torch.randn(300, generator=gen, dtype=dt), torch.randn(4, 5, generator=gen, dtype=dt)]
    grads_seq = [[torch.randn(p.shape, generator=gen, dtype=dt) for p in params] for _ in range(25)]
    transform = optim.adam(lr=optim.schedules.linear_warmup(1e-2, 10), betas=(0.9, 0.99))

    tol = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-14)}[dtype]
    fast, _ = run(transform, params, grads_seq, use_step=True)
    slow, _ = run(transform, params, grads_seq, use_step=False)
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == dt
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.cuda
def test_cuda_fast_path_matches_cpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    gen = torch.Generator().manual_seed(4)
    p = torch.randn(10_000, generator=gen)
    grads = [torch.randn(10_000, generator=gen) for _ in range(10)]
    transform = optim.adam(lr=1e-2)
    results = []
    for device in ("cpu", "cuda"):
        x = p.to(device)
        state = transform.init(x)
        for g in grads:
            x, state = optim.step(transform, g.to(device), state, x)
        results.append(x.cpu())
    torch.testing.assert_close(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_fast_path_pairs_dict_leaves_by_key_and_checks_shapes():
    rng = np.random.default_rng(2)
    params = {"a": rng.standard_normal(4), "b": rng.standard_normal(6)}
    grads = {"b": rng.standard_normal(6), "a": rng.standard_normal(4)}  # other key order
    transform = optim.adam(lr=0.1)
    fast, _ = optim.step(transform, grads, transform.init({k: v.copy() for k, v in params.items()}),
                         {k: v.copy() for k, v in params.items()})  # fmt: skip
    updates, _ = transform.update(grads, transform.init(params), params)
    slow = optim.apply_updates(params, updates)
    for key in params:
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        optim.step(transform, np.ones((3, 2)), transform.init(np.ones((2, 3))), np.ones((2, 3)))
    with pytest.raises(TypeError):
        optim.step(transform, [np.ones(2)], transform.init([np.ones(2), np.ones(2)]), [np.ones(2), np.ones(2)])


# --- torch._fused_adam_ is private: the fast path must survive its absence or a new signature ---


def _adam_run_with(monkeypatch, replacement):
    """TorchOptimizer(optim.adam) vs torch.optim.Adam (for-loop), with torch._fused_adam_ replaced."""
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(fused, "_fused_adam_probes", {})  # probe again under the replacement
    monkeypatch.setattr(fused, "_warned", set())
    if replacement is None:
        monkeypatch.delattr(torch, "_fused_adam_")
    else:
        monkeypatch.setattr(torch, "_fused_adam_", replacement)
    gen = torch.Generator().manual_seed(7)
    w = torch.randn(300, generator=gen, dtype=torch.float64)
    ours, theirs = torch.nn.Parameter(w.clone()), torch.nn.Parameter(w.clone())
    opt_ours = optim.TorchOptimizer([ours], optim.adam(lr=1e-2))
    opt_theirs = torch.optim.Adam([theirs], lr=1e-2, foreach=False)
    for _ in range(10):
        g = torch.randn(300, generator=gen, dtype=torch.float64)
        ours.grad, theirs.grad = g.clone(), g.clone()
        opt_ours.step()
        opt_theirs.step()
    torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=1e-10, atol=1e-12)
    assert float(opt_ours.state[ours]["step"]) == 10


def test_the_fast_path_is_used_when_torch_has_the_op(monkeypatch):
    torch = pytest.importorskip("torch")
    calls = []
    real = torch._fused_adam_

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    _adam_run_with(monkeypatch, counting)
    assert len(calls) == 1 + 10  # the probe, then every step


def test_a_missing_fused_op_falls_back_to_the_readable_rule(monkeypatch):
    with pytest.warns(RuntimeWarning, match="is not in this build of torch"):
        _adam_run_with(monkeypatch, None)


def test_a_fused_op_with_another_signature_falls_back(monkeypatch):
    def new_signature(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, lr, betas, eps, weight_decay):
        raise AssertionError("never reached: the arguments do not bind")

    with pytest.warns(RuntimeWarning, match="cannot be called as course_utils expects.*TypeError"):
        _adam_run_with(monkeypatch, new_signature)


def test_a_fused_op_that_computes_something_else_falls_back(monkeypatch):
    def plain_sgd(params, grads, *args, lr, **kwargs):  # same signature, other meaning
        for p, g in zip(params, grads, strict=True):
            p.sub_(lr * g)

    with pytest.warns(RuntimeWarning, match="does not compute Adam's step"):
        _adam_run_with(monkeypatch, plain_sgd)
