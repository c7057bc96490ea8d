"""ex04, momentum: references, known mistakes, public and hidden cases (instructor only).

Heavy ball and Nesterov take the same arguments, so they share their cases.
"""

from __future__ import annotations

import numpy as np

from .common import arr as _a
from .common import case as _case
from .common import public_rng
from .common import rotated as _rotated
from .common import scales as _scales
from .common import shape as _shape
from .common import values as _values
from .record import Grading

ASSIGNMENT = "ex04_momentum"


def _public():
    rng = public_rng()
    z3 = np.zeros(3)
    return [
        _case(
            "first step, empty buffer",
            args={"params": _a(1.0, -1.0, 0.5), "grad": _a(0.2, -0.4, 1.0), "buf": z3, "lr": 0.1, "momentum": 0.9},
        ),
        _case(
            "buffer from earlier steps",
            args={
                "params": _a(1.0, -1.0, 0.5),
                "grad": _a(0.2, -0.4, 1.0),
                "buf": _a(1.5, 0.5, -2.0),
                "lr": 0.05,
                "momentum": 0.8,
            },
        ),
        _case(
            "zero gradient: the buffer keeps moving",
            args={"params": _a(0.0, 1.0), "grad": _a(0.0, 0.0), "buf": _a(1.0, -1.0), "lr": 0.1, "momentum": 0.9},
        ),
        _case(
            "5 steps in a row, state carried over",
            mode="rollout",
            args={"params": _a(1.0, 2.0, -1.0, 0.5), "buf": np.zeros(4), "lr": 0.01, "momentum": 0.9},
            grads=rng.normal(size=(5, 4)),
        ),
    ]


def _hidden(rng):
    cases = []
    for i, s in enumerate(_scales(rng, 5)):
        shape = _shape(rng)
        buf = np.zeros(shape) if i == 2 else _values(rng, shape, s)
        cases.append(
            _case(
                f"random {shape} arrays, gradient scale {s:.0e}",
                args={
                    "params": _values(rng, shape, 1.0),
                    "grad": _values(rng, shape, s),
                    "buf": buf,
                    "lr": float(10 ** rng.uniform(-3, -1)),
                    "momentum": float(rng.uniform(0.5, 0.99)),
                },
            )
        )
    shape = _shape(rng)
    cases.append(
        _case(
            "6 steps in a row",
            mode="rollout",
            args={
                "params": _values(rng, shape, 1.0),
                "buf": np.zeros(shape),
                "lr": 0.01,
                "momentum": float(rng.uniform(0.5, 0.99)),
            },
            grads=rng.normal(size=(6, *shape)),
        )
    )
    return cases


# --- momentum_step (torch.optim.SGD) ---------------------------------------------------------------


def momentum_step(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + grad
    return params - lr * buf, buf


def _mom_sutskever(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + lr * grad
    return params - buf, buf


def _mom_dampened(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + (1 - momentum) * grad
    return params - lr * buf, buf


def _mom_not_carried(params, grad, buf, lr, momentum=0.9):
    buf = grad
    return params - lr * buf, buf


def _mom_plain(params, grad, buf, lr, momentum=0.9):
    return params - lr * grad, momentum * buf + grad


def _mom_mutates(params, grad, buf, lr, momentum=0.9):
    buf *= momentum
    buf += grad
    params -= lr * buf
    return params, buf


# --- nesterov_step (torch.optim.SGD, nesterov=True) ------------------------------------------------


def nesterov_step(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + grad
    return params - lr * (grad + momentum * buf), buf


def _nes_heavy_ball(params, grad, buf, lr, momentum=0.9):
    return momentum_step(params, grad, buf, lr, momentum)


def _nes_sutskever(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + lr * grad
    return params - (lr * grad + momentum * buf), buf


def _nes_dampened(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + (1 - momentum) * grad
    return params - lr * (grad + momentum * buf), buf


def _nes_not_carried(params, grad, buf, lr, momentum=0.9):
    buf = grad
    return params - lr * (grad + momentum * buf), buf


def _nes_mutates(params, grad, buf, lr, momentum=0.9):
    buf *= momentum
    buf += grad
    params -= lr * (grad + momentum * buf)
    return params, buf


# --- polyak_momentum (derive: Polyak's optimal heavy-ball tuning on a quadratic) --------------------


def _polyak(A, *, curvatures="eigen", lr_rule="polyak", beta_rule="polyak"):
    lam = np.linalg.eigvalsh(A) if curvatures == "eigen" else np.diag(A)
    L, mu = float(lam.max()), float(lam.min())
    lr = 4.0 / (L**0.5 + mu**0.5) ** 2 if lr_rule == "polyak" else 2.0 / (L + mu)
    kappa = L / mu
    if beta_rule == "polyak":
        beta = ((kappa**0.5 - 1) / (kappa**0.5 + 1)) ** 2
    elif beta_rule == "rate":
        beta = (kappa**0.5 - 1) / (kappa**0.5 + 1)
    else:
        beta = ((kappa - 1) / (kappa + 1)) ** 2
    return lr, beta


def polyak_momentum(A):
    return _polyak(A)


def _polyak_public():
    rng = public_rng()
    M = rng.normal(size=(3, 3))
    return [
        _case("axis-aligned bowl, curvatures 1 and 4", args={"A": np.diag([1.0, 4.0])}),
        _case("curvatures 1 and 100, rotated by 45 degrees", args={"A": _rotated(100.0, 45.0)}),
        _case("a 3 x 3 positive definite matrix", args={"A": M @ M.T + 0.2 * np.eye(3)}),
    ]


def _polyak_hidden(rng):
    cases = []
    for _ in range(2):
        kappa, angle = float(10 ** rng.uniform(0.3, 4)), float(rng.uniform(5, 85))
        cases.append(_case("rotated 2-D bowl", args={"A": float(10 ** rng.uniform(-1, 1)) * _rotated(kappa, angle)}))
    n = int(rng.integers(3, 7))
    M = rng.normal(size=(n, n))
    cases.append(_case(f"random {n} x {n} positive definite matrix", args={"A": M @ M.T + 0.1 * np.eye(n)}))
    return cases


GRADING = (
    Grading(
        "momentum_step",
        reference=momentum_step,
        mistakes={
            "sutskever": _mom_sutskever,
            "dampened": _mom_dampened,
            "not_carried": _mom_not_carried,
            "plain_gd": _mom_plain,
            "mutates": _mom_mutates,
        },
        public_cases=_public,
        hidden_cases=_hidden,
    ),
    Grading(
        "nesterov_step",
        reference=nesterov_step,
        mistakes={
            "sutskever": _nes_sutskever,
            "dampened": _nes_dampened,
            "not_carried": _nes_not_carried,
            "heavy_ball": _nes_heavy_ball,
            "mutates": _nes_mutates,
        },
        public_cases=_public,
        hidden_cases=_hidden,
    ),
    Grading(
        "polyak_momentum",
        reference=polyak_momentum,
        mistakes={
            "rate_not_beta": lambda A: _polyak(A, beta_rule="rate"),
            "gd_lr": lambda A: _polyak(A, lr_rule="gd"),
            "diag": lambda A: _polyak(A, curvatures="diag"),
            "kappa_not_root": lambda A: _polyak(A, beta_rule="kappa"),
        },
        public_cases=_polyak_public,
        hidden_cases=_polyak_hidden,
    ),
)
