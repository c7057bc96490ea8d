"""Small helpers the assignments' case generators share (instructor only)."""

from __future__ import annotations

import numpy as np

PUBLIC_SEED = 20240  # the public cases are fixed: every question draws them from a fresh generator with this seed


def public_rng() -> np.random.Generator:
    return np.random.default_rng(PUBLIC_SEED)


def maximum(a, b):
    """Elementwise maximum of two NumPy arrays or two torch tensors."""
    if type(a).__module__.startswith("torch"):
        import torch

        return torch.maximum(a, b)
    return np.maximum(a, b)


def arr(*values):
    return np.array(values, dtype=float)


def case(label, mode="call", **kw):
    return {"label": label, "mode": mode, **kw}


def rotated(kappa, degrees):
    """A 2-D quadratic with curvatures 1 and kappa, rotated by ``degrees``."""
    th = np.deg2rad(degrees)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return R @ np.diag([1.0, kappa]) @ R.T


def adam_args(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return {"params": params, "grads": grads, "m": m, "v": v, "t": t, "lr": lr, "betas": tuple(betas), "eps": eps}


# --- hidden randomized cases ---------------------------------------------------------------------


def shape(rng):
    return tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))


def values(rng, shape, scale=None):
    scale = 10.0 ** rng.uniform(-3, 3) if scale is None else scale
    return scale * rng.normal(size=shape)


def scales(rng, k):
    """Gradient scales for k hidden cases: ordinary ones plus the extremes 1e-8 and 1e8."""
    extremes = [1e-8, 1e8]
    return [extremes[i] if i < 2 else 10.0 ** rng.uniform(-3, 3) for i in range(k)]


def step_number(rng, i):
    return 1 if i % 3 == 0 else int(rng.integers(2, 2000))
