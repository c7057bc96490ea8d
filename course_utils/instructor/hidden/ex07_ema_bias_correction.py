"""ex07, EMA and bias correction: references, known mistakes, public and hidden cases (instructor only)."""

from __future__ import annotations

import math

import numpy as np

from .common import arr as _a
from .common import case as _case
from .common import public_rng
from .common import shape as _shape
from .common import values as _values
from .record import Grading

ASSIGNMENT = "ex07_ema_bias_correction"


# --- ema_update ------------------------------------------------------------------------------------


def ema_update(avg, x, beta):
    return beta * avg + (1 - beta) * x


def _ema_swapped(avg, x, beta):
    return (1 - beta) * avg + beta * x


def _ema_no_one_minus(avg, x, beta):
    return beta * avg + x


def _ema_mutates(avg, x, beta):
    avg *= beta
    avg += (1 - beta) * x
    return avg


def _ema_public():
    return [
        _case("scalar-like array, beta = 0.9", args={"avg": _a(0.0), "x": _a(1.0), "beta": 0.9}),
        _case("a vector, beta = 0.5", args={"avg": _a(1.0, 2.0, 3.0), "x": _a(3.0, 2.0, 1.0), "beta": 0.5}),
        _case("beta = 0.999", args={"avg": _a(0.2, -0.2), "x": _a(10.0, -10.0), "beta": 0.999}),
    ]


def _ema_hidden(rng):
    return [
        _case(
            "random arrays",
            args={"avg": _values(rng, sh, 1.0), "x": _values(rng, sh, 1.0), "beta": float(rng.uniform(0.05, 0.999))},
        )
        for sh in (_shape(rng), _shape(rng), _shape(rng))
    ]


# --- debiased_ema ----------------------------------------------------------------------------------


def _debiased(xs, beta, power_shift=0, correct=True, feed_back=False, swapped=False):
    xs = np.asarray(xs, dtype=float)
    avg = np.zeros_like(xs[0])
    out = []
    for t, x in enumerate(xs, start=1):
        avg = (1 - beta) * avg + beta * x if swapped else beta * avg + (1 - beta) * x
        corrected = avg / (1 - beta ** (t + power_shift)) if correct else avg
        if feed_back:
            avg = corrected
        out.append(corrected)
    return np.stack(out)


def debiased_ema(xs, beta):
    return _debiased(xs, beta)


def _debiased_public():
    rng = public_rng()
    return [
        _case("constant input 1: the corrected average is exactly 1", args={"xs": np.ones(5), "beta": 0.9}),
        _case(
            "a noisy sequence of vectors, beta = 0.99", args={"xs": rng.normal(1.0, 1.0, size=(10, 3)), "beta": 0.99}
        ),
        _case("three values, beta = 0.999", args={"xs": _a(2.0, 4.0, 6.0), "beta": 0.999}),
    ]


def _debiased_hidden(rng):
    cases = []
    for _ in range(3):
        T, n = int(rng.integers(2, 30)), int(rng.integers(1, 4))
        cases.append(
            _case(
                f"random sequence of {T} vectors",
                args={"xs": rng.normal(1.0, 2.0, size=(T, n)), "beta": float(rng.uniform(0.5, 0.999))},
            )
        )
    return cases


# --- ema_half_life (derive: beta^h = 1/2) -----------------------------------------------------------


def ema_half_life(beta):
    return math.log(2.0) / -math.log(beta)


def _half_life_public():
    return [
        _case("beta = 0.5", args={"beta": 0.5}),
        _case("beta = 0.9", args={"beta": 0.9}),
        _case("beta = 0.999 (Adam's beta2)", args={"beta": 0.999}),
        _case("beta = 0.2", args={"beta": 0.2}),
    ]


def _half_life_hidden(rng):
    return [_case("random beta", args={"beta": float(1 - 10 ** rng.uniform(-4, -0.1))}) for _ in range(4)]


# --- debiased_ema_variance (derive, stretch) ----------------------------------------------------------
# a_t = (1 - beta) sum beta^(t-i) x_i; Var a_t = sigma2 (1 - beta)^2 (1 - beta^(2t)) / (1 - beta^2)
#   = sigma2 (1 - beta)(1 - beta^(2t)) / (1 + beta); the corrected average divides by (1 - beta^t)^2:
#   Var = sigma2 (1 - beta)(1 + beta^t) / ((1 + beta)(1 - beta^t)), equal to sigma2 at t = 1.


def debiased_ema_variance(sigma2, beta, t):
    return sigma2 * (1 - beta) * (1 + beta**t) / ((1 + beta) * (1 - beta**t))


def _var_uncorrected(sigma2, beta, t):
    return sigma2 * (1 - beta) * (1 - beta ** (2 * t)) / (1 + beta)


def _var_corrected_once(sigma2, beta, t):
    return _var_uncorrected(sigma2, beta, t) / (1 - beta**t)


def _var_steady(sigma2, beta, t):
    return sigma2 * (1 - beta) / (1 + beta)


def _var_public():
    return [
        _case("t = 1, beta = 0.9 (the corrected average is x_1)", args={"sigma2": 1.0, "beta": 0.9, "t": 1}),
        _case("t = 10, beta = 0.9 (the hint's example)", args={"sigma2": 1.0, "beta": 0.9, "t": 10}),
        _case("t = 100, beta = 0.999, sigma2 = 4", args={"sigma2": 4.0, "beta": 0.999, "t": 100}),
    ]


def _var_hidden(rng):
    cases = []
    for _ in range(3):
        beta = float(1 - 10 ** rng.uniform(-3, -0.5))
        t = int(rng.integers(2, 3 * int(1 / (1 - beta)) + 3))  # from the first steps to a few memory lengths
        cases.append(
            _case(
                "random variance, decay rate and step",
                args={"sigma2": float(10 ** rng.uniform(-2, 2)), "beta": beta, "t": t},
            )
        )
    return cases


GRADING = (
    Grading(
        "ema_update",
        reference=ema_update,
        mistakes={"swapped": _ema_swapped, "no_one_minus": _ema_no_one_minus, "mutates": _ema_mutates},
        public_cases=_ema_public,
        hidden_cases=_ema_hidden,
    ),
    Grading(
        "debiased_ema",
        reference=debiased_ema,
        mistakes={
            "no_correction": lambda xs, beta: _debiased(xs, beta, correct=False),
            "off_by_one_plus": lambda xs, beta: _debiased(xs, beta, power_shift=1),
            "off_by_one_minus": lambda xs, beta: _debiased(xs, beta, power_shift=-1),
            "fed_back": lambda xs, beta: _debiased(xs, beta, feed_back=True),
            "swapped": lambda xs, beta: _debiased(xs, beta, swapped=True),
        },
        public_cases=_debiased_public,
        hidden_cases=_debiased_hidden,
    ),
    Grading(
        "ema_half_life",
        reference=ema_half_life,
        mistakes={
            "window": lambda beta: 1.0 / (1.0 - beta),
            "approximation": lambda beta: math.log(2.0) / (1.0 - beta),
            "new_weight": lambda beta: math.log(2.0) / -math.log(1.0 - beta),
            "inverted": lambda beta: -math.log(beta) / math.log(2.0),
        },
        public_cases=_half_life_public,
        hidden_cases=_half_life_hidden,
    ),
    Grading(
        "debiased_ema_variance",
        reference=debiased_ema_variance,
        mistakes={"uncorrected": _var_uncorrected, "corrected_once": _var_corrected_once, "steady_state": _var_steady},
        public_cases=_var_public,
        hidden_cases=_var_hidden,
    ),
)
