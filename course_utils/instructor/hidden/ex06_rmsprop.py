"""ex06, RMSprop: references, known mistakes, public and hidden cases (instructor only)."""

from __future__ import annotations

import math

import numpy as np

from .common import arr as _a
from .common import case as _case
from .common import public_rng
from .common import shape as _shape
from .record import Grading

ASSIGNMENT = "ex06_rmsprop"


# --- settle_steps (derive) --------------------------------------------------------------------------
# A constant gradient g gives v_t = (1 - beta2**t) g**2, so the step is eta / sqrt(1 - beta2**t) (eps
# ignored). It is at most (1 + tol) eta once 1 - beta2**t >= (1 + tol)**-2, i.e. beta2**t <= 1 - (1 + tol)**-2,
# i.e. t >= ln(1 - (1 + tol)**-2) / ln(beta2) (ln beta2 < 0 flips the inequality); the answer is the smallest
# integer t >= 1 that satisfies it.


def _smallest_t(bound):
    return float(max(1, math.ceil(bound)))


def settle_steps(beta2, tol):
    return _smallest_t(math.log(1 - (1 + tol) ** -2) / math.log(beta2))


def _settle_no_square(beta2, tol):
    return _smallest_t(math.log(1 - 1 / (1 + tol)) / math.log(beta2))


def _settle_window(beta2, tol):
    return 1 / (1 - beta2)


def _settle_floor(beta2, tol):
    return float(max(1, math.floor(math.log(1 - (1 + tol) ** -2) / math.log(beta2))))


def _settle_half_life(beta2, tol):
    return math.log(2) / math.log(1 / beta2)


def _settle_public():
    return [
        _case("beta2 = 0.9, tol = 0.1 (the hint's example)", args={"beta2": 0.9, "tol": 0.1}),
        _case("beta2 = 0.99 (torch's default), tol = 0.01", args={"beta2": 0.99, "tol": 0.01}),
        _case("beta2 = 0.999, tol = 0.05", args={"beta2": 0.999, "tol": 0.05}),
    ]


def _settle_hidden(rng):
    return [
        _case(
            "random beta2 and tol",
            args={"beta2": float(1 - 10 ** rng.uniform(-3.5, -0.5)), "tol": float(10 ** rng.uniform(-2.5, -0.5))},
        )  # fmt: skip
        for _ in range(4)
    ]


# --- fix_rmsprop_momentum (bug) -----------------------------------------------------------------------
# torch.optim.RMSprop (centered=False), torch 2.13: g <- g + weight_decay * params; v <- alpha v + (1 - alpha) g**2;
# b <- momentum b + g / (sqrt(v) + eps); params <- params - lr b.


def _rms_momentum(params, grad, v, b, lr, alpha, eps, momentum, weight_decay, *, eps_inside=False, decay_in_v=True,
                  decoupled=False):  # fmt: skip
    penalized = grad + weight_decay * params
    g_v = penalized if decay_in_v else grad
    g_step = grad if decoupled else penalized
    if decoupled:
        g_v = grad
    v = alpha * v + (1 - alpha) * g_v * g_v
    denom = (v + eps) ** 0.5 if eps_inside else v**0.5 + eps
    b = momentum * b + g_step / denom
    new = params - lr * b - (lr * weight_decay * params if decoupled else 0)
    return new, v, b


def rmsprop_momentum_step(params, grad, v, b, lr, alpha, eps, momentum, weight_decay):
    return _rms_momentum(params, grad, v, b, lr, alpha, eps, momentum, weight_decay)


def _bug_as_given(params, grad, v, b, lr, alpha, eps, momentum, weight_decay):
    return _rms_momentum(params, grad, v, b, lr, alpha, eps, momentum, weight_decay, eps_inside=True, decay_in_v=False)


def _bug_eps_inside(params, grad, v, b, lr, alpha, eps, momentum, weight_decay):
    return _rms_momentum(params, grad, v, b, lr, alpha, eps, momentum, weight_decay, eps_inside=True)


def _bug_decay_not_in_v(params, grad, v, b, lr, alpha, eps, momentum, weight_decay):
    return _rms_momentum(params, grad, v, b, lr, alpha, eps, momentum, weight_decay, decay_in_v=False)


def _bug_decoupled(params, grad, v, b, lr, alpha, eps, momentum, weight_decay):
    return _rms_momentum(params, grad, v, b, lr, alpha, eps, momentum, weight_decay, decoupled=True)


def _bug_not_carried(params, grad, v, b, lr, alpha, eps, momentum, weight_decay):
    return rmsprop_momentum_step(params, grad, v * 0, b * 0, lr, alpha, eps, momentum, weight_decay)


def _bug_mutates(params, grad, v, b, lr, alpha, eps, momentum, weight_decay):
    g = grad + weight_decay * params
    v *= alpha
    v += (1 - alpha) * g * g
    b *= momentum
    b += g / (v**0.5 + eps)
    return params - lr * b, v, b


def _bug_args(params, grad, v, b, lr=0.01, alpha=0.99, eps=1e-4, momentum=0.9, weight_decay=0.05):
    return {"params": params, "grad": grad, "v": v, "b": b, "lr": lr, "alpha": alpha, "eps": eps,
            "momentum": momentum, "weight_decay": weight_decay}  # fmt: skip


def _bug_public():
    rng = public_rng()
    p, z = rng.normal(size=4), np.zeros(4)
    state_v, state_b = _a(1e-6, 4e-6, 1e-8, 2e-6), 0.1 * rng.normal(size=4)
    return [
        _case("first step, tiny gradients (eps matters)", args=_bug_args(p, 1e-4 * rng.normal(size=4), z, z)),
        _case(
            "state from earlier steps, weight_decay = 0",
            args=_bug_args(p, 1e-3 * rng.normal(size=4), state_v, state_b, weight_decay=0.0),
        ),
        _case(
            "large gradients, weight_decay = 0.1", args=_bug_args(p, 3.0 * rng.normal(size=4), z, z, weight_decay=0.1)
        ),
        _case("8 steps in a row", mode="rollout", args=_bug_args(p, None, z, z), grads=1e-3 * rng.normal(size=(8, 4))),
    ]


def _bug_hidden(rng):
    cases = []
    for scale in (1e-4, 1e-2, 1.0):
        sh = _shape(rng)
        args = _bug_args(rng.normal(size=sh), scale * rng.normal(size=sh), scale**2 * rng.uniform(0, 2, size=sh),
                         rng.normal(size=sh), lr=float(10 ** rng.uniform(-3, -1)), alpha=float(rng.uniform(0.8, 0.999)),
                         eps=float(10 ** rng.uniform(-5, -3)), momentum=float(rng.uniform(0.5, 0.95)),
                         weight_decay=float(10 ** rng.uniform(-2, -0.5)))  # fmt: skip
        cases.append(_case(f"random arrays, gradient scale {scale:g}", args=args))
    sh = _shape(rng)
    args = _bug_args(rng.normal(size=sh), None, np.zeros(sh), np.zeros(sh), eps=float(10 ** rng.uniform(-5, -3)),
                     weight_decay=float(10 ** rng.uniform(-2, -0.5)))  # fmt: skip
    cases.append(_case("6 steps in a row", mode="rollout", args=args, grads=1e-3 * rng.normal(size=(6, *sh))))
    return cases


# --- saddle_escape_prediction (predict) -----------------------------------------------------------------
# The experiment (f = x**2 - y**2 from (1, 1e-3), torch.optim.RMSprop's rule, lr = 0.01, alpha = 0.99, eps = 1e-8)
# leaves |y| <= 1 after 17 steps (gradient descent: 349). Accepted: 10 to 30, within a factor of about 1.7.

TRUE_SADDLE_STEPS = 17


def _saddle_accept(p):
    return 10 <= p <= 30


# --- graves_step (paper) -----------------------------------------------------------------------------------
# Graves (2013), "Generating Sequences With Recurrent Neural Networks", Section 4, equations (38)-(41):
# n <- a n + (1 - a) e**2; g <- a g + (1 - a) e; delta <- b delta - lr e / sqrt(n - g**2 + eps); w <- w + delta.


def _graves(params, grad, n, gbar, delta, lr, decay, momentum, eps, *, eps_outside=False, centered=True, stale=False,
            torch_buffer=False):  # fmt: skip
    new_n = decay * n + (1 - decay) * grad * grad
    new_g = decay * gbar + (1 - decay) * grad
    use_n, use_g = (n, gbar) if stale else (new_n, new_g)
    var = use_n - use_g * use_g if centered else use_n
    denom = var**0.5 + eps if eps_outside else (var + eps) ** 0.5
    if torch_buffer:  # torch's buffer b = momentum b + g / denom, params - lr b, returned as "delta"
        buf = momentum * delta + grad / denom
        return params - lr * buf, new_n, new_g, buf
    new_delta = momentum * delta - lr * grad / denom
    return params + new_delta, new_n, new_g, new_delta


def graves_step(params, grad, n, gbar, delta, lr, decay, momentum, eps):
    return _graves(params, grad, n, gbar, delta, lr, decay, momentum, eps)


def _graves_mutates(params, grad, n, gbar, delta, lr, decay, momentum, eps):
    n *= decay
    n += (1 - decay) * grad * grad
    gbar *= decay
    gbar += (1 - decay) * grad
    delta *= momentum
    delta -= lr * grad / (n - gbar * gbar + eps) ** 0.5
    return params + delta, n, gbar, delta


def _graves_args(params, grad, n, gbar, delta, lr=1e-4, decay=0.95, momentum=0.9, eps=1e-4):
    return {"params": params, "grad": grad, "n": n, "gbar": gbar, "delta": delta, "lr": lr, "decay": decay,
            "momentum": momentum, "eps": eps}  # fmt: skip


def _graves_state(rng, sh, scale):
    gbar = scale * rng.normal(size=sh)
    return gbar * gbar + scale**2 * rng.uniform(0.01, 1, size=sh), gbar  # n >= gbar**2, as for real averages


def _graves_public():
    rng = public_rng()
    p, z = rng.normal(size=3), np.zeros(3)
    n, gbar = _graves_state(rng, 3, 0.1)
    return [
        _case(
            "first step, Graves's constants (the hint's example)",
            args=_graves_args(_a(0.5), _a(1.0), _a(0.0), _a(0.0), _a(0.0)),
        ),
        _case(
            "state from earlier steps",
            args=_graves_args(p, 0.1 * rng.normal(size=3), n, gbar, 1e-4 * rng.normal(size=3)),
        ),
        _case(
            "10 steps in a row, a nearly constant derivative",
            mode="rollout",
            args=_graves_args(p, None, z, z, z, lr=1e-3),
            grads=1.0 + 0.01 * rng.normal(size=(10, 3)),
        ),
    ]


def _graves_hidden(rng):
    cases = []
    for scale in (1e-2, 1.0):
        sh = _shape(rng)
        n, gbar = _graves_state(rng, sh, scale)
        args = _graves_args(rng.normal(size=sh), scale * rng.normal(size=sh), n, gbar, 1e-3 * rng.normal(size=sh),
                            lr=float(10 ** rng.uniform(-4, -2)), decay=float(rng.uniform(0.8, 0.99)),
                            momentum=float(rng.uniform(0.5, 0.95)), eps=float(10 ** rng.uniform(-4, -2)))  # fmt: skip
        cases.append(_case(f"random state, derivative scale {scale:g}", args=args))
    sh = _shape(rng)
    z = np.zeros(sh)
    args = _graves_args(rng.normal(size=sh), None, z, z, z, lr=1e-3, eps=float(10 ** rng.uniform(-4, -2)))
    cases.append(_case("8 steps in a row", mode="rollout", args=args, grads=rng.normal(1.0, 0.3, size=(8, *sh))))
    return cases


GRADING = (
    Grading(
        "settle_steps",
        reference=settle_steps,
        mistakes={
            "no_square": _settle_no_square,
            "window": _settle_window,
            "floor": _settle_floor,
            "half_life": _settle_half_life,
        },  # fmt: skip
        public_cases=_settle_public,
        hidden_cases=_settle_hidden,
    ),
    Grading(
        "fix_rmsprop_momentum",
        reference=rmsprop_momentum_step,
        mistakes={
            "as_given": _bug_as_given,
            "eps_inside": _bug_eps_inside,
            "decay_not_in_v": _bug_decay_not_in_v,
            "decoupled": _bug_decoupled,
            "not_carried": _bug_not_carried,
            "mutates": _bug_mutates,
        },  # fmt: skip
        public_cases=_bug_public,
        hidden_cases=_bug_hidden,
    ),
    Grading(
        "saddle_escape_prediction",
        accept=_saddle_accept,
        mistakes={
            "as_slow_as_gd": lambda p: p >= 200,
            "one_eta_per_step": lambda p: 70 <= p <= 130,
            "one_giant_leap": lambda p: p <= 5,
        },  # fmt: skip
    ),
    Grading(
        "graves_step",
        reference=graves_step,
        mistakes={
            "eps_outside": lambda *a: _graves(*a, eps_outside=True),
            "uncentered": lambda *a: _graves(*a, centered=False),
            "stale_gbar": lambda *a: _graves(*a, stale=True),
            "torch_buffer": lambda *a: _graves(*a, torch_buffer=True),
            "mutates": _graves_mutates,
        },
        public_cases=_graves_public,
        hidden_cases=_graves_hidden,
    ),
)
