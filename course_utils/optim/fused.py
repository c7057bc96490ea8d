"""Fast paths: the same update rules, computed in place and cache-blocked for big NumPy arrays.

The readable rules in :mod:`.adam` allocate a temporary array for every ``+``, ``*`` and
``sqrt``; on 10 million parameters that is ~12x the memory traffic an Adam step needs (it is
bandwidth bound: read p, g, m, v and write p, m, v = 28 bytes per float32 parameter). Here each
parameter array is cut into blocks that stay in the CPU cache, every operation writes into a
reusable buffer, and blocks are shared between threads (NumPy releases the GIL). The result
equals :func:`~course_utils.optim.adam` to float rounding (``tests/test_optim_fused.py``).

The price is that the state and parameters are **overwritten** (donated): use this through
:func:`step` only when you will not look at the old arrays again.
"""

from __future__ import annotations

import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import backend
from ..tree import check_like, tree_map
from .core import apply_updates

BLOCK = 1 << 16  # elements per block: five float32 blocks stay within a core's L2 cache
MIN_PARALLEL = 1 << 20  # below this, threads cost more than they save
_pool: ThreadPoolExecutor | None = None


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_threads(), thread_name_prefix="course-utils-fused")
    return _pool


def _adam_blocks(p, g, m, v, start, stop, beta1, beta2, eps, step_size, inv_sqrt_bc2):
    tmp = np.empty(min(BLOCK, stop - start), dtype=p.dtype)
    for s in range(start, stop, BLOCK):
        e = min(s + BLOCK, stop)
        pb, gb, mb, vb, t = p[s:e], g[s:e], m[s:e], v[s:e], tmp[: e - s]
        mb *= beta1  # m = beta1 m + (1 - beta1) g
        np.multiply(gb, 1 - beta1, out=t)
        mb += t
        vb *= beta2  # v = beta2 v + (1 - beta2) g^2
        np.multiply(gb, gb, out=t)
        t *= 1 - beta2
        vb += t
        np.sqrt(vb, out=t)  # sqrt(v_hat) + eps = sqrt(v) / sqrt(1 - beta2^t) + eps
        t *= inv_sqrt_bc2
        t += eps
        np.divide(mb, t, out=t)  # p -= lr / (1 - beta1^t) * m / (...)
        t *= -step_size
        pb += t


def adam_inplace(p, g, m, v, t, lr, beta1, beta2, eps):
    """One Adam step on flat, contiguous NumPy arrays of one float dtype, in place.

    ``t`` is the number of this step (1 for the first). Same formula as ``torch.optim.Adam``.
    """
    step_size = lr / (1 - beta1**t)
    inv_sqrt_bc2 = 1 / math.sqrt(1 - beta2**t)
    args = (beta1, beta2, eps, step_size, inv_sqrt_bc2)
    n = p.size
    workers = _threads() if n >= MIN_PARALLEL else 1
    if workers == 1:
        _adam_blocks(p, g, m, v, 0, n, *args)
        return
    chunk = -(-n // workers)
    chunk = -(-chunk // BLOCK) * BLOCK
    jobs = [_executor().submit(_adam_blocks, p, g, m, v, s, min(s + chunk, n), *args) for s in range(0, n, chunk)]
    for job in jobs:
        job.result()


def _flat_view(x):
    """A writable flat view of NumPy array ``x``, or None if it has none."""
    if not isinstance(x, np.ndarray) or not x.flags.c_contiguous or not x.flags.writeable:
        return None
    if x.dtype not in (np.float32, np.float64):
        return None
    return x.reshape(-1)


def step(transform, grads, state, params):
    """Update and apply in one go: ``params, state = step(transform, grads, state, params)``.

    Uses the transform's in-place fast path when it has one and the arrays allow it (NumPy or CPU
    torch, contiguous, float32/float64, scalar hyperparameters); otherwise it is exactly
    ``apply_updates(params, update(...))``. With the fast path ``params`` and ``state`` are
    overwritten and returned.
    """
    check_like(grads, params, "grads")
    fast = getattr(transform, "fused", None)
    if fast is not None:
        result = fast(grads, state, params)
        if result is not None:
            return result
    updates, state = transform.update(grads, state, params)
    return apply_updates(params, updates), state


def fused_adam(lr, betas, eps):
    """The in-place fast path for ``chain(scale_by_adam(betas, eps), scale_by_lr(lr))``."""
    beta1, beta2 = betas

    def fused(grads, state, params):
        if not all(isinstance(h, float) for h in (beta1, beta2, eps)) or not (callable(lr) or isinstance(lr, float)):
            return None
        adam_state, count = state
        quads = []  # (p, g, m, v) of each parameter, paired by the tree's structure (dict keys, positions)
        tree_map(lambda *quad: quads.append(quad), params, grads, adam_state.m, adam_state.v)
        leaves = [list(group) for group in zip(*quads, strict=True)]
        on_torch = _torch_eligible(leaves)
        views = None if on_torch else [[_flat_view(x) for x in group] for group in leaves]
        if not on_torch and (
            any(x is None for group in views for x in group)
            or any(
                len({a.dtype for a in quad}) != 1 or len({a.shape for a in quad}) != 1
                for quad in zip(*views, strict=True)
            )
        ):
            return None
        t = adam_state.t + 1
        lr_t = lr(count.t + 1) if callable(lr) else lr
        if not isinstance(lr_t, float):
            return None
        if on_torch:
            if not _torch_fused_adam(leaves, t, lr_t, beta1, beta2, eps):
                return None  # the op is missing or has changed: the readable path
        else:
            for p, g, m, v in zip(*views, strict=True):
                adam_inplace(p, g, m, v, t, lr_t, beta1, beta2, eps)
        return params, type(state)([adam_state._replace(t=t), count._replace(t=count.t + 1)])

    return fused


def _torch_fused_adam(leaves, t, lr, beta1, beta2, eps) -> bool:
    """Torch tensors: torch's own fused Adam kernel (CPU and CUDA), the same formula in one pass.

    ``torch._fused_adam_`` is private: it may be missing from a build or change its signature in
    a new release. Each (device, dtype) is first checked on two numbers against Algorithm 1;
    if that fails, nothing is touched and False is returned, and the caller takes the readable
    path (the same numbers, more memory traffic).
    """
    import torch

    params, grads, m, v = leaves
    groups: dict = {}  # the op wants one device and dtype per call
    for quad in zip(params, grads, m, v, strict=True):
        groups.setdefault((quad[0].device, quad[0].dtype), []).append(quad)
    if not all(_fused_adam_works(device, dtype) for device, dtype in groups):
        return False
    for done, ((device, _), quads) in enumerate(groups.items()):
        p, g, mm, vv = (list(x) for x in zip(*quads, strict=True))
        steps = [torch.tensor(float(t), device=device) for _ in p]
        try:
            _call_fused_adam(p, g, mm, vv, steps, lr, beta1, beta2, eps)
        except (TypeError, RuntimeError, NotImplementedError) as error:
            if done:  # some tensors were already updated: falling back would step them twice
                raise
            _warn_fallback(f"failed ({type(error).__name__}: {error})")
            return False
    return True


def _call_fused_adam(params, grads, m, v, steps, lr, beta1, beta2, eps):
    import torch

    torch._fused_adam_(params, grads, m, v, [], steps, lr=lr, beta1=beta1, beta2=beta2, weight_decay=0.0, eps=eps,
                       amsgrad=False, maximize=False)  # fmt: skip


_fused_adam_probes: dict = {}  # (device, dtype) -> whether torch._fused_adam_ computes Adam there
_warned: set = set()


def _warn_fallback(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        warnings.warn(
            f"torch._fused_adam_ {reason}; course_utils uses its readable Adam instead (same numbers, slower)",
            RuntimeWarning,
            stacklevel=4,
        )


def _fused_adam_works(device, dtype) -> bool:
    key = (str(device), str(dtype))
    if key not in _fused_adam_probes:
        _fused_adam_probes[key] = _probe_fused_adam(device, dtype)
    return _fused_adam_probes[key]


def _probe_fused_adam(device, dtype) -> bool:
    """One step of the op on two numbers, compared with Algorithm 1 computed here."""
    import torch

    if not callable(getattr(torch, "_fused_adam_", None)):
        _warn_fallback("is not in this build of torch")
        return False
    g = [0.5, -3.0]
    p = torch.tensor([1.0, 2.0], dtype=dtype, device=device)
    m, v = torch.zeros_like(p), torch.zeros_like(p)
    lr, beta1, beta2, eps = 0.1, 0.9, 0.99, 1e-3
    try:
        _call_fused_adam([p], [torch.tensor(g, dtype=dtype, device=device)], [m], [v],
                         [torch.tensor(1.0, device=device)], lr, beta1, beta2, eps)  # fmt: skip
    except (TypeError, RuntimeError, NotImplementedError) as error:
        _warn_fallback(f"cannot be called as course_utils expects ({type(error).__name__}: {error})")
        return False
    # t = 1: m = (1 - beta1) g, v = (1 - beta2) g^2, so the step is lr * g / (|g| + eps)
    expected = [1.0 - lr * g[0] / (abs(g[0]) + eps), 2.0 - lr * g[1] / (abs(g[1]) + eps)]
    close = all(
        torch.allclose(x.double().cpu(), torch.tensor(want, dtype=torch.float64), rtol=1e-5, atol=0)
        for x, want in ((p, expected), (m, [(1 - beta1) * x for x in g]), (v, [(1 - beta2) * x * x for x in g]))
    )
    if not close:
        _warn_fallback("does not compute Adam's step as course_utils expects")
    return close


def _torch_eligible(leaves) -> bool:
    """All torch tensors, float32/float64, no autograd, each parameter's four tensors alike."""
    if not all(backend.is_torch(x) for group in leaves for x in group):
        return False
    import torch

    for quad in zip(*leaves, strict=True):
        if any(x.requires_grad or x.is_sparse or x.dtype not in (torch.float32, torch.float64) for x in quad):
            return False
        if len({(x.dtype, x.device, tuple(x.shape)) for x in quad}) != 1 or quad[0].device.type not in ("cpu", "cuda"):
            return False
    return True
