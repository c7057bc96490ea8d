"""ex01, start here: references, known mistakes, public and hidden cases (instructor only)."""

from __future__ import annotations

import math

import numpy as np

from .common import arr as _a
from .common import case as _case
from .common import public_rng
from .record import Grading

ASSIGNMENT = "ex01_start_here"


# --- ridge_line_grad (derive) -----------------------------------------------------------------------------
# f(w, b) = 1/(2n) sum (w x_i + b - y_i)**2 + (lam/2) w**2: grad = (mean(r x) + lam w, mean(r)), r = w x + b - y.


def _ridge(theta, x, y, lam, *, factor=1.0, mean=True, decay_b=False, with_x=True):
    w, b = theta[0], theta[1]
    r = w * x + b - y
    reduce = np.mean if mean else np.sum
    gw = factor * reduce(r * x if with_x else r) + lam * w
    gb = factor * reduce(r) + (lam * b if decay_b else 0.0)
    return np.array([gw, gb])


def ridge_line_grad(theta, x, y, lam):
    return _ridge(theta, x, y, lam)


def _ridge_public():
    rng = public_rng()
    x = rng.uniform(0, 2, 30)
    return [
        _case(
            "the hint's example",
            args={"theta": _a(1.0, 0.0), "x": _a(0.0, 1.0, 2.0), "y": _a(1.0, 2.0, 2.0), "lam": 0.5},
        ),  # fmt: skip
        _case("30 points, no penalty", args={"theta": _a(-0.5, 2.5), "x": x, "y": 1.5 * x + 0.5, "lam": 0.0}),
        _case("30 points, lam = 2", args={"theta": _a(0.3, -1.0), "x": x, "y": 1.5 * x + 0.5, "lam": 2.0}),
    ]


def _ridge_hidden(rng):
    cases = []
    for _ in range(3):
        n = int(rng.integers(5, 200))
        x = rng.normal(0, 2, n)
        cases.append(_case(f"random data, n = {n}", args={"theta": rng.normal(size=2), "x": x,
                                                          "y": rng.normal() * x + rng.normal(size=n),
                                                          "lam": float(rng.uniform(0.1, 3))}))  # fmt: skip
    return cases


# --- steps_to_tolerance (derive) --------------------------------------------------------------------------
# x_t = (1 - lr a)**t x0; the gradient-norm test a |x_t| <= tol holds from t = ceil(ln(tol / (a |x0|)) / ln|1 - lr a|).


def _steps(a, lr, x0, grad_tol, *, scale=True, rounding=math.ceil, shift=0):
    factor = abs(1 - lr * a)
    if factor == 0:
        return 1.0 + shift
    size = a * abs(x0) if scale else abs(x0)
    return float(max(0, rounding(math.log(grad_tol / size) / math.log(factor))) + shift)


def steps_to_tolerance(a, lr, x0, grad_tol):
    return _steps(a, lr, x0, grad_tol)


def _steps_no_abs(a, lr, x0, grad_tol):
    factor = 1 - lr * a
    if factor <= 0:
        return math.nan  # what math.log of a negative number would make of it, as a value
    return _steps(a, lr, x0, grad_tol)


def _steps_public():
    return [
        _case("the hint's example: a = 2, lr = 0.75", args={"a": 2.0, "lr": 0.75, "x0": 3.0, "grad_tol": 0.01}),
        _case("a small learning rate", args={"a": 1.0, "lr": 0.1, "x0": -2.0, "grad_tol": 1e-6}),
        _case("lr a = 1.9: oscillating", args={"a": 4.0, "lr": 0.475, "x0": 1.0, "grad_tol": 1e-3}),
    ]


def _steps_hidden(rng):
    cases = []
    for lo, hi in ((0.05, 0.9), (1.1, 1.95), (0.05, 1.95)):
        a = float(10 ** rng.uniform(-1, 1))
        x0 = float(rng.choice([-1, 1]) * rng.uniform(0.5, 5))
        tol = float(a * abs(x0) * 10 ** rng.uniform(-8, -1))
        lr = float(rng.uniform(lo, hi)) / a
        cases.append(_case("random parabola and learning rate", args={"a": a, "lr": lr, "x0": x0, "grad_tol": tol}))
    return cases


# --- large_lr_prediction (predict) ----------------------------------------------------------------------------
# lr a = 1.9: x_t = (-0.9)**t x0, converging while changing sign at every step.


def _behaviour_accept(choice):
    return choice == "converges, overshooting back and forth"


# --- early_stopping (paper: a precise description in words) ------------------------------------------------------
# An improvement is a loss below the best so far by more than min_delta (Keras's EarlyStopping calls it min_delta);
# anything else adds 1 to a counter; stop when the counter reaches patience, else at the last check.


def _early(val_losses, patience, min_delta, *, use_delta=True, overall=False, extra=0, report_best=False):
    losses = [float(v) for v in val_losses]
    delta = float(min_delta) if use_delta else 0.0
    best, at, counter, stop = losses[0], 0, 0, len(losses) - 1
    for i in range(1, len(losses)):
        if losses[i] < best - delta:
            best, at, counter = losses[i], i, 0
        else:
            counter += 1
        if counter == patience + extra:
            stop = i
            break
    if overall:
        at = int(np.argmin(losses))
    return (float(at), float(at)) if report_best else (float(stop), float(at))


def early_stopping(val_losses, patience, min_delta):
    return _early(val_losses, patience, min_delta)


def _early_public():
    return [
        _case("the hint's example", args={"val_losses": _a(5, 3, 2.95, 4, 2, 6, 6), "patience": 2, "min_delta": 0.1}),
        _case("patience never runs out",
              args={"val_losses": _a(4, 3, 3.5, 2, 2.5, 1), "patience": 3, "min_delta": 0.0}),
        _case("small decreases that do not count",
              args={"val_losses": _a(3, 2, 1.99, 1.98, 1.97, 1.5, 1, 0.99, 0.98, 0.5), "patience": 3,
                    "min_delta": 0.05}),
        _case("an improvement just after patience runs out",
              args={"val_losses": _a(5, 4, 6, 7, 8, 3, 9, 9), "patience": 3, "min_delta": 0.01}),
    ]  # fmt: skip


def _early_hidden(rng):
    cases = []
    for _ in range(3):
        n = int(rng.integers(15, 40))
        walk = 3 + np.cumsum(rng.normal(-0.05, 0.3, n))
        args = {"val_losses": walk, "patience": int(rng.integers(2, 6)), "min_delta": float(rng.uniform(0.02, 0.2))}
        cases.append(_case(f"a random validation curve of {n} checks", args=args))
    return cases


GRADING = (
    Grading(
        "ridge_line_grad",
        reference=ridge_line_grad,
        mistakes={
            "no_half": lambda *a: _ridge(*a, factor=2.0),
            "sum_not_mean": lambda *a: _ridge(*a, mean=False),
            "decays_bias": lambda *a: _ridge(*a, decay_b=True),
            "no_x": lambda *a: _ridge(*a, with_x=False),
        },
        public_cases=_ridge_public,
        hidden_cases=_ridge_hidden,
    ),
    Grading(
        "steps_to_tolerance",
        reference=steps_to_tolerance,
        mistakes={
            "iterate_not_gradient": lambda *a: _steps(*a, scale=False),
            "floor": lambda *a: _steps(*a, rounding=math.floor),
            "no_abs": _steps_no_abs,
            "one_step_late": lambda *a: _steps(*a, shift=1),
        },
        public_cases=_steps_public,
        hidden_cases=_steps_hidden,
    ),
    Grading(
        "large_lr_prediction",
        accept=_behaviour_accept,
        mistakes={
            "diverges": lambda c: c == "diverges",
            "monotone": lambda c: c == "converges without overshooting",
            "oscillates_forever": lambda c: c == "oscillates forever with the same size",
        },
    ),
    Grading(
        "early_stopping",
        reference=early_stopping,
        mistakes={
            "no_min_delta": lambda v, p, d: _early(v, p, d, use_delta=False),
            "best_overall": lambda v, p, d: _early(v, p, d, overall=True),
            "patience_plus_one": lambda v, p, d: _early(v, p, d, extra=1),
            "stop_at_best": lambda v, p, d: _early(v, p, d, report_best=True),
        },
        public_cases=_early_public,
        hidden_cases=_early_hidden,
    ),
)
