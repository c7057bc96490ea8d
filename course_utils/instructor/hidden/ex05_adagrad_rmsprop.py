"""ex05, AdaGrad and RMSprop: references, known mistakes, public and hidden cases (instructor only)."""

from __future__ import annotations

import functools

import numpy as np

from .common import arr as _a
from .common import case as _case
from .common import public_rng
from .common import scales as _scales
from .common import shape as _shape
from .common import values as _values
from .record import Grading

ASSIGNMENT = "ex05_adagrad_rmsprop"


def _hidden(rng, name):
    """The hidden cases of both questions: they differ in the state's name and RMSprop's alpha."""
    cases = []
    state = "sum_sq" if name == "adagrad_step" else "v"
    for i, s in enumerate(_scales(rng, 5)):
        shape = _shape(rng)
        args = {
            "params": _values(rng, shape, 1.0),
            "grad": _values(rng, shape, s),
            state: np.zeros(shape) if i % 2 == 0 else np.abs(_values(rng, shape, s * s)),
            "lr": float(10 ** rng.uniform(-3, -1)),
        }
        if name == "rmsprop_step":
            args["alpha"] = float(rng.uniform(0.8, 0.999))
        args["eps"] = float(10 ** rng.uniform(-10, -6))
        cases.append(_case(f"random {shape} arrays, gradient scale {s:.0e}", args=args))
    shape = _shape(rng)
    args = {"params": _values(rng, shape, 1.0), state: np.zeros(shape), "lr": 0.05}
    if name == "rmsprop_step":
        args["alpha"] = 0.9
    args["eps"] = 1e-8
    cases.append(_case("6 steps in a row", mode="rollout", args=args, grads=rng.normal(size=(6, *shape))))
    return cases


# --- adagrad_step (torch.optim.Adagrad) ------------------------------------------------------------


def adagrad_step(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq = sum_sq + grad * grad
    return params - lr * grad / (sum_sq**0.5 + eps), sum_sq


def _ada_eps_inside(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq = sum_sq + grad * grad
    return params - lr * grad / (sum_sq + eps) ** 0.5, sum_sq


def _ada_old_sum(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    new = sum_sq + grad * grad
    return params - lr * grad / (sum_sq**0.5 + eps), new


def _ada_abs_sum(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq = sum_sq + abs(grad)
    return params - lr * grad / (sum_sq**0.5 + eps), sum_sq


def _ada_not_carried(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq = grad * grad
    return params - lr * grad / (sum_sq**0.5 + eps), sum_sq


def _ada_mutates(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq += grad * grad
    params -= lr * grad / (sum_sq**0.5 + eps)
    return params, sum_sq


def _ada_public():
    rng = public_rng()
    z3 = np.zeros(3)
    return [
        _case(
            "first step",
            args={"params": _a(1.0, -1.0, 0.5), "grad": _a(0.2, -0.4, 1.0), "sum_sq": z3, "lr": 0.1, "eps": 1e-10},
        ),
        _case(
            "accumulator from earlier steps",
            args={
                "params": _a(1.0, -1.0, 0.5),
                "grad": _a(0.2, -0.4, 1.0),
                "sum_sq": _a(0.5, 2.0, 0.01),
                "lr": 0.1,
                "eps": 1e-10,
            },
        ),
        _case(
            "tiny gradients (1e-8), eps = 1e-8",
            args={"params": _a(1.0, 2.0), "grad": _a(1e-8, -3e-8), "sum_sq": _a(0.0, 0.0), "lr": 0.1, "eps": 1e-8},
        ),
        _case(
            "5 steps in a row, state carried over",
            mode="rollout",
            args={"params": _a(1.0, 2.0, -1.0), "sum_sq": z3, "lr": 0.5, "eps": 1e-10},
            grads=rng.normal(size=(5, 3)),
        ),
    ]


# --- rmsprop_step (torch.optim.RMSprop) ------------------------------------------------------------


def rmsprop_step(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * grad * grad
    return params - lr * grad / (v**0.5 + eps), v


def _rms_no_one_minus(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * v + grad * grad
    return params - lr * grad / (v**0.5 + eps), v


def _rms_eps_inside(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * grad * grad
    return params - lr * grad / (v + eps) ** 0.5, v


def _rms_adagrad(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = v + grad * grad
    return params - lr * grad / (v**0.5 + eps), v


def _rms_not_carried(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = (1 - alpha) * grad * grad
    return params - lr * grad / (v**0.5 + eps), v


def _rms_mutates(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v *= alpha
    v += (1 - alpha) * grad * grad
    params -= lr * grad / (v**0.5 + eps)
    return params, v


def _rms_public():
    rng = public_rng()
    z3 = np.zeros(3)
    return [
        _case(
            "first step",
            args={
                "params": _a(1.0, -1.0, 0.5),
                "grad": _a(0.2, -0.4, 1.0),
                "v": z3,
                "lr": 0.01,
                "alpha": 0.99,
                "eps": 1e-8,
            },
        ),  # fmt: skip
        _case(
            "average from earlier steps, alpha = 0.9",
            args={
                "params": _a(1.0, -1.0, 0.5),
                "grad": _a(0.2, -0.4, 1.0),
                "v": _a(0.5, 2.0, 0.01),
                "lr": 0.01,
                "alpha": 0.9,
                "eps": 1e-8,
            },
        ),
        _case(
            "tiny gradients (1e-8)",
            args={
                "params": _a(1.0, 2.0),
                "grad": _a(1e-8, -3e-8),
                "v": _a(0.0, 0.0),
                "lr": 0.01,
                "alpha": 0.99,
                "eps": 1e-8,
            },
        ),  # fmt: skip
        _case(
            "5 steps in a row, state carried over",
            mode="rollout",
            args={"params": _a(1.0, 2.0, -1.0), "v": z3, "lr": 0.01, "alpha": 0.9, "eps": 1e-8},
            grads=rng.normal(size=(5, 3)),
        ),
    ]


# --- rmsprop_alternating_step (derive, stretch) -----------------------------------------------------
# gradients a, b, a, b, ...: the two-cycle of v = beta2 v + (1 - beta2) g^2 is v_a = (a^2 + beta2 b^2) / (1 + beta2)
# (just after an a-step), so the steady a-step is lr a / sqrt(v_a) (eps negligible; v updated before dividing).


def rmsprop_alternating_step(a, b, beta2, lr):
    return lr * a * ((1 + beta2) / (a * a + beta2 * b * b)) ** 0.5


def _alt_mean(a, b, beta2, lr):
    return lr * a / ((a * a + b * b) / 2) ** 0.5


def _alt_old(a, b, beta2, lr):
    return lr * a * ((1 + beta2) / (b * b + beta2 * a * a)) ** 0.5


def _alt_no_memory(a, b, beta2, lr):
    return lr * a / abs(a)


def _alt_unnormalized(a, b, beta2, lr):
    return lr * a / (a * a + beta2 * b * b) ** 0.5


def _alt_args(a, b, beta2, lr):
    return {"a": a, "b": b, "beta2": beta2, "lr": lr}


def _alt_public():
    return [
        _case("a = 3, b = 1, beta2 = 0.9 (the hint's example)", args=_alt_args(3.0, 1.0, 0.9, 0.01)),
        _case("a = 0.1, b = 10, beta2 = 0.99", args=_alt_args(0.1, 10.0, 0.99, 0.001)),
        _case("a = 2, b = 0.5, beta2 = 0.5", args=_alt_args(2.0, 0.5, 0.5, 0.1)),
    ]


def _alt_hidden(rng):
    cases = []
    for _ in range(3):
        a = float(10 ** rng.uniform(-2, 1))
        b = a * float(10.0 ** (rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 1)))  # b differs from a by 1.6 to 10 times
        args = _alt_args(a, b, float(rng.uniform(0.5, 0.99)), float(10 ** rng.uniform(-3, -1)))
        cases.append(_case("random gradient sizes, decay rate and learning rate", args=args))
    return cases


GRADING = (
    Grading(
        "adagrad_step",
        reference=adagrad_step,
        mistakes={
            "eps_inside": _ada_eps_inside,
            "old_sum": _ada_old_sum,
            "abs_sum": _ada_abs_sum,
            "not_carried": _ada_not_carried,
            "mutates": _ada_mutates,
        },
        public_cases=_ada_public,
        hidden_cases=functools.partial(_hidden, name="adagrad_step"),
    ),
    Grading(
        "rmsprop_step",
        reference=rmsprop_step,
        mistakes={
            "no_one_minus": _rms_no_one_minus,
            "eps_inside": _rms_eps_inside,
            "adagrad_sum": _rms_adagrad,
            "not_carried": _rms_not_carried,
            "mutates": _rms_mutates,
        },
        public_cases=_rms_public,
        hidden_cases=functools.partial(_hidden, name="rmsprop_step"),
    ),
    Grading(
        "rmsprop_alternating_step",
        reference=rmsprop_alternating_step,
        mistakes={
            "mean_square": _alt_mean,
            "old_average": _alt_old,
            "no_memory": _alt_no_memory,
            "unnormalized": _alt_unnormalized,
        },
        public_cases=_alt_public,
        hidden_cases=_alt_hidden,
    ),
)
