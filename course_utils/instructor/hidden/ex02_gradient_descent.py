"""ex02, gradient descent: references, known mistakes, public and hidden cases (instructor only)."""

from __future__ import annotations

import math

import numpy as np

from .common import arr as _a
from .common import case as _case
from .common import public_rng
from .common import rotated as _rotated
from .common import scales as _scales
from .common import shape as _shape
from .common import values as _values
from .record import Grading

ASSIGNMENT = "ex02_gradient_descent"


# --- gd_step ---------------------------------------------------------------------------------------


def gd_step(x, grad, lr):
    return x - lr * grad


def _gd_mutates(x, grad, lr):
    x -= lr * grad
    return x


def _gd_public():
    rng = public_rng()
    return [
        _case("a vector", args={"x": _a(1.0, -2.0, 0.5), "grad": _a(0.5, 1.0, -3.0), "lr": 0.1}),
        _case(
            "a matrix of parameters",
            args={"x": rng.normal(size=(2, 3)), "grad": rng.normal(size=(2, 3)), "lr": 0.01},
        ),
        _case("zero gradient: nothing moves", args={"x": _a(3.0, 4.0), "grad": _a(0.0, 0.0), "lr": 0.5}),
        _case("huge gradient (1e8), tiny lr", args={"x": _a(1.0, 2.0), "grad": _a(1e8, -2e8), "lr": 1e-9}),
    ]


def _gd_hidden(rng):
    cases = []
    for s in _scales(rng, 6):
        shape = _shape(rng)
        cases.append(
            _case(
                f"random {shape} array, gradient scale {s:.0e}",
                args={
                    "x": _values(rng, shape, 1.0),
                    "grad": _values(rng, shape, s),
                    "lr": float(10 ** rng.uniform(-4, 0)) / max(s, 1.0),
                },
            )
        )
    return cases


# --- numerical_gradient ----------------------------------------------------------------------------


def numerical_gradient(f, x, h=1e-5):
    g = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        e = np.zeros_like(x, dtype=float)
        e.flat[i] = h
        g.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _ng_forward(f, x, h=1e-5):
    g = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        e = np.zeros_like(x, dtype=float)
        e.flat[i] = h
        g.flat[i] = (f(x + e) - f(x)) / h
    return g


def _ng_no_half(f, x, h=1e-5):
    return 2 * numerical_gradient(f, x, h)


def _ng_all_at_once(f, x, h=1e-5):
    return np.full_like(x, (f(x + h) - f(x - h)) / (2 * h), dtype=float)


def _ng_mutates(f, x, h=1e-5):
    g = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        x.flat[i] += h
        fp = f(x)
        x.flat[i] -= 2 * h
        g.flat[i] = (fp - f(x)) / (2 * h)
    return g


def _ng_public():
    rng = public_rng()
    A = _rotated(10.0, 30.0)
    W = rng.normal(size=(5, 4))
    return [
        _case(
            "quadratic bowl, h = 1e-3",
            args={
                "f": {"__fn__": "quadratic", "args": {"A": A, "b": _a(1.0, -1.0)}},
                "x": _a(0.3, -0.7),
                "h": 1e-3,
            },
        ),
        _case("Rosenbrock at (-1.2, 1), h = 1e-4", args={"f": {"__fn__": "rosenbrock"}, "x": _a(-1.2, 1.0), "h": 1e-4}),
        _case(
            "log-sum-exp in 4 dimensions, h = 1e-5",
            args={
                "f": {"__fn__": "logsumexp", "args": {"W": W, "c": rng.normal(size=5)}},
                "x": rng.normal(size=4),
                "h": 1e-5,
            },
        ),
    ]


def _ng_hidden(rng):
    cases = []
    for _ in range(2):
        M = rng.normal(size=(3, 3))
        cases.append(
            _case(
                "random quadratic in 3-D, h = 1e-3",
                args={
                    "f": {"__fn__": "quadratic", "args": {"A": M @ M.T + np.eye(3), "b": rng.normal(size=3)}},
                    "x": rng.normal(size=3),
                    "h": 1e-3,
                },
            )
        )
    cases.append(
        _case(
            "Rosenbrock at a random point, h = 1e-4",
            args={"f": {"__fn__": "rosenbrock"}, "x": rng.uniform(-1.5, 1.5, size=2), "h": 1e-4},
        )
    )
    n = int(rng.integers(2, 6))
    cases.append(
        _case(
            f"log-sum-exp in {n}-D, h = 1e-5",
            args={
                "f": {"__fn__": "logsumexp", "args": {"W": rng.normal(size=(4, n)), "c": rng.normal(size=4)}},
                "x": rng.normal(size=n),
                "h": 1e-5,
            },
        )
    )
    return cases


# --- largest_stable_lr -----------------------------------------------------------------------------


def largest_stable_lr(A):
    return 2.0 / float(np.linalg.eigvalsh(A).max())


def _lr_public():
    rng = public_rng()
    M = rng.normal(size=(4, 4))
    return [
        _case("axis-aligned bowl, curvatures 1 and 10", args={"A": np.diag([1.0, 10.0])}),
        _case("the same bowl rotated by 45 degrees", args={"A": _rotated(10.0, 45.0)}),
        _case("a 4 x 4 positive definite matrix", args={"A": M @ M.T + 0.5 * np.eye(4)}),
    ]


def _lr_hidden(rng):
    cases = []
    for _ in range(2):
        kappa, angle = float(10 ** rng.uniform(0.5, 3)), float(rng.uniform(5, 85))
        cases.append(_case("rotated 2-D bowl", args={"A": float(10 ** rng.uniform(-1, 1)) * _rotated(kappa, angle)}))
    n = int(rng.integers(3, 7))
    M = rng.normal(size=(n, n))
    cases.append(_case(f"random {n} x {n} positive definite matrix", args={"A": M @ M.T + 0.1 * np.eye(n)}))
    cases.append(_case("diagonal matrix", args={"A": np.diag(10 ** rng.uniform(-2, 2, size=4))}))
    return cases


# --- worst_case_steps (derive, stretch) --------------------------------------------------------------
# rho = max |1 - lr lambda_i|; the worst-case distance shrinks by rho per step: T = ceil(ln tol / ln rho).


def _steps(rho, tol, rounding=math.ceil):
    return int(rounding(math.log(tol) / math.log(rho)))


def _eigs(A):
    return np.linalg.eigvalsh(A)


def worst_case_steps(A, lr, tol):
    return _steps(float(np.max(np.abs(1 - lr * _eigs(A)))), tol)


def _steps_only_L(A, lr, tol):
    return _steps(abs(1 - lr * float(_eigs(A).max())), tol)


def _steps_only_mu(A, lr, tol):
    return _steps(abs(1 - lr * float(_eigs(A).min())), tol)


def _steps_loss(A, lr, tol):
    return _steps(float(np.max(np.abs(1 - lr * _eigs(A)))) ** 2, tol)


def _steps_floor(A, lr, tol):
    return _steps(float(np.max(np.abs(1 - lr * _eigs(A)))), tol, math.floor)


def _steps_clear(A, lr, tol):
    """Whether the ratio of logarithms is safely away from a whole number (no rounding ties)."""
    x = math.log(tol) / math.log(float(np.max(np.abs(1 - lr * _eigs(A)))))
    return abs(x - round(x)) > 1e-6


def _steps_public():
    return [
        _case(
            "curvatures 1 and 10, lr = 0.15 (the flat direction is slow)",
            args={"A": np.diag([1.0, 10.0]), "lr": 0.15, "tol": 1e-3},
        ),
        _case(
            "curvatures 1 and 10, lr = 0.19 (the steep direction is slow)",
            args={"A": np.diag([1.0, 10.0]), "lr": 0.19, "tol": 1e-3},
        ),
        _case(
            "the second bowl rotated by 30 degrees, tol = 1e-6",
            args={"A": _rotated(10.0, 30.0), "lr": 0.19, "tol": 1e-6},
        ),
    ]


def _steps_hidden(rng):
    """Three random quadratics: the flat direction slow (lr below 2/(L + mu)) twice, the steep one slow once."""
    cases = []
    for steep in (False, True, False):
        while True:
            n = int(rng.integers(2, 5))
            Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
            lams = np.sort(10 ** rng.uniform(-1, 1.5, size=n))
            L, mu = float(lams[-1]), float(lams[0])
            best = 2 / (L + mu)
            lr = best + float(rng.uniform(0.2, 0.9)) * (2 / L - best) if steep else float(rng.uniform(0.3, 0.95)) * best
            A, tol = Q @ np.diag(lams) @ Q.T, float(10 ** -rng.uniform(2, 8))
            if mu < 0.9 * L and _steps_clear(A, lr, tol):
                break
        which = "steep" if steep else "flat"
        cases.append(
            _case(f"random {n} x {n} quadratic, the {which} direction slow", args={"A": A, "lr": lr, "tol": tol})
        )
    return cases


GRADING = (
    Grading(
        "gd_step",
        reference=gd_step,
        mistakes={
            "ascent": lambda x, grad, lr: x + lr * grad,
            "no_lr": lambda x, grad, lr: x - grad,
            "mutates": _gd_mutates,
        },
        public_cases=_gd_public,
        hidden_cases=_gd_hidden,
    ),
    Grading(
        "numerical_gradient",
        reference=numerical_gradient,
        mistakes={
            "forward": _ng_forward,
            "no_half": _ng_no_half,
            "all_at_once": _ng_all_at_once,
            "mutates": _ng_mutates,
        },
        public_cases=_ng_public,
        hidden_cases=_ng_hidden,
    ),
    Grading(
        "largest_stable_lr",
        reference=largest_stable_lr,
        mistakes={
            "one_over_L": lambda A: 1.0 / float(np.linalg.eigvalsh(A).max()),
            "diag": lambda A: 2.0 / float(np.max(np.diag(A))),
            "mu": lambda A: 2.0 / float(np.linalg.eigvalsh(A).min()),
            "trace": lambda A: 2.0 / float(np.trace(A)),
        },
        public_cases=_lr_public,
        hidden_cases=_lr_hidden,
    ),
    Grading(
        "worst_case_steps",
        reference=worst_case_steps,
        mistakes={"only_L": _steps_only_L, "only_mu": _steps_only_mu, "loss_rate": _steps_loss, "floor": _steps_floor},
        public_cases=_steps_public,
        hidden_cases=_steps_hidden,
    ),
)
