"""ex10, AMSGrad, AdamW and Reddi et al.'s counterexample: references, mistakes and cases (instructor only)."""

from __future__ import annotations

import functools
import math

import numpy as np

from .common import adam_args as _adam_args
from .common import arr as _a
from .common import case as _case
from .common import maximum as _maximum
from .common import public_rng
from .ex08_adam import adam_mutates, adam_step, hidden_cases
from .record import Grading

ASSIGNMENT = "ex10_amsgrad_adamw"


# --- amsgrad_step (torch.optim.Adam, amsgrad=True) -------------------------------------------------


def amsgrad_step(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    v_max = _maximum(v_max, v)
    denom = (v_max / (1 - b2**t)) ** 0.5 + eps
    return params - lr * (m / (1 - b1**t)) / denom, m, v, v_max


def _ams_max_of_vhat(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    v_max = _maximum(v_max, v / (1 - b2**t))
    return params - lr * (m / (1 - b1**t)) / (v_max**0.5 + eps), m, v, v_max


def _ams_paper(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    v_max = _maximum(v_max, v)
    return params - lr * m / (v_max**0.5 + eps), m, v, v_max


def _ams_uses_v(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    v_max = _maximum(v_max, v)
    return params - lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)) ** 0.5 + eps), m, v, v_max


def _ams_not_carried(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return amsgrad_step(params, grads, 0 * m, 0 * v, 0 * v_max, t, lr, betas, eps)


def _ams_mutates(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    new_params, m2, v2, vmax2 = amsgrad_step(params, grads, m, v, v_max, t, lr, betas, eps)
    m[...] = m2
    v[...] = v2
    v_max[...] = vmax2
    return new_params, m, v, v_max


def _ams_public():
    z3 = np.zeros(3)
    p3 = _a(0.5, -1.0, 2.0)
    g3 = _a(0.1, -0.2, 0.3)
    return [
        _case("first step (t = 1)", args={**_adam_args(p3, g3, z3, z3, 1), "v_max": z3}),
        _case(
            "t = 4, the maximum is larger than v",
            args={**_adam_args(p3, g3, _a(0.05, -0.1, 0.1), _a(0.01, 0.04, 0.05), 4), "v_max": _a(0.02, 0.05, 0.02)},
        ),
        _case(
            "6 steps in a row, state carried over",
            mode="rollout",
            args={**_adam_args(_a(1.0, 2.0, -1.0), None, z3, z3, 1, 0.1), "v_max": z3},
            grads=np.array([[3.0, -1.0, 0.5]] * 2 + [[0.1, -0.1, 0.05]] * 4),
        ),
    ]


# --- adamw_step (torch.optim.AdamW) ----------------------------------------------------------------


def adamw_step(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    params = params * (1 - lr * weight_decay)
    return adam_step(params, grads, m, v, t, lr, betas, eps)


def _adamw_l2(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return adam_step(params, grads + weight_decay * params, m, v, t, lr, betas, eps)


def _adamw_no_lr(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return adam_step(params * (1 - weight_decay), grads, m, v, t, lr, betas, eps)


def _adamw_after(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    p, m, v = adam_step(params, grads, m, v, t, lr, betas, eps)
    return p * (1 - lr * weight_decay), m, v


def _adamw_scaled_decay(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    """The bug of the notebook's given code: the decay term shares Adam's adaptive denominator."""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return params - lr * (m_hat + weight_decay * params) / (v_hat**0.5 + eps), m, v


def _adamw_not_carried(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return adamw_step(params, grads, 0 * m, 0 * v, t, lr, betas, eps, weight_decay)


def _adamw_mutates(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    params *= 1 - lr * weight_decay
    return adam_mutates(params, grads, m, v, t, lr, betas, eps)


def _adamw_public():
    rng = public_rng()
    z3 = np.zeros(3)
    p3 = _a(0.5, -1.0, 2.0)
    g3 = _a(0.1, -0.2, 0.3)
    return [
        _case("first step, weight_decay = 0.01", args={**_adam_args(p3, g3, z3, z3, 1), "weight_decay": 0.01}),
        _case(
            "zero gradients: only the decay acts (lr = 0.1, weight_decay = 0.1)",
            args={**_adam_args(p3, z3, z3, z3, 1, 0.1), "weight_decay": 0.1},
        ),
        _case(
            "t = 3, lr = 0.1, weight_decay = 0.1",
            args={**_adam_args(p3, g3, _a(0.05, -0.1, 0.1), _a(0.01, 0.04, 0.05), 3, 0.1), "weight_decay": 0.1},
        ),
        _case(
            "4 steps in a row, state carried over",
            mode="rollout",
            args={**_adam_args(_a(1.0, 2.0, -1.0), None, z3, z3, 1, 0.05), "weight_decay": 0.2},
            grads=rng.normal(size=(4, 3)),
        ),
    ]


# --- reddi_trajectory (Reddi, Kale & Kumar 2018, Section 3) ----------------------------------------


def _reddi(C, steps, lr, amsgrad, *, clip=True, decay=True, phase=1, max_of_vhat=False, eps=1e-8):
    beta2 = 1.0 / (1.0 + C * C)
    x, v, v_max = 0.0, 0.0, 0.0
    xs = [x]
    for t in range(1, int(steps) + 1):
        g = C if t % 3 == phase % 3 else -1.0
        v = beta2 * v + (1 - beta2) * g * g
        if max_of_vhat:
            v_max = max(v_max, v / (1 - beta2**t))
            v_hat = v_max if amsgrad else v / (1 - beta2**t)
        else:
            v_max = max(v_max, v)
            v_hat = (v_max if amsgrad else v) / (1 - beta2**t)
        step = lr / math.sqrt(t) if decay else lr
        x = x - step * g / (math.sqrt(v_hat) + eps)
        if clip:
            x = min(1.0, max(-1.0, x))
        xs.append(x)
    return np.array(xs)


def reddi_trajectory(C, steps, lr, amsgrad):
    return _reddi(C, steps, lr, amsgrad)


def _reddi_public():
    return [
        _case("Adam, C = 3, 1500 steps, lr = 0.5", args={"C": 3.0, "steps": 1500, "lr": 0.5, "amsgrad": False}),
        _case("AMSGrad, C = 3, 1500 steps, lr = 0.5", args={"C": 3.0, "steps": 1500, "lr": 0.5, "amsgrad": True}),
    ]


def _reddi_hidden(rng):
    C = float(rng.uniform(3, 10))
    lr = float(rng.uniform(0.2, 1.0))
    steps = int(rng.integers(600, 1200))
    return [
        _case(
            f"{'AMSGrad' if ams else 'Adam'}, random C, lr and length",
            args={"C": C, "steps": steps, "lr": lr, "amsgrad": ams},
        )
        for ams in (False, True)
    ]


GRADING = (
    Grading(
        "amsgrad_step",
        reference=amsgrad_step,
        mistakes={
            "max_of_vhat": _ams_max_of_vhat,
            "paper": _ams_paper,
            "uses_v": _ams_uses_v,
            "not_carried": _ams_not_carried,
            "mutates": _ams_mutates,
        },
        public_cases=_ams_public,
        hidden_cases=functools.partial(hidden_cases, name="amsgrad_step"),
    ),
    Grading(
        "adamw_step",
        reference=adamw_step,
        mistakes={
            "l2": _adamw_l2,
            "no_lr": _adamw_no_lr,
            "decay_after": _adamw_after,
            "scaled_decay": _adamw_scaled_decay,
            "not_carried": _adamw_not_carried,
            "mutates": _adamw_mutates,
        },
        public_cases=_adamw_public,
        hidden_cases=functools.partial(hidden_cases, name="adamw_step"),
    ),
    Grading(
        "reddi_trajectory",
        reference=reddi_trajectory,
        mistakes={
            "no_clip": lambda C, steps, lr, amsgrad: _reddi(C, steps, lr, amsgrad, clip=False),
            "const_lr": lambda C, steps, lr, amsgrad: _reddi(C, steps, lr, amsgrad, decay=False),
            "gradient_phase": lambda C, steps, lr, amsgrad: _reddi(C, steps, lr, amsgrad, phase=0),
            "max_of_vhat": lambda C, steps, lr, amsgrad: _reddi(C, steps, lr, amsgrad, max_of_vhat=True),
        },
        public_cases=_reddi_public,
        hidden_cases=_reddi_hidden,
    ),
)
