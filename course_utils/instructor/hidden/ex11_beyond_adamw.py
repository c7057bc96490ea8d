"""ex11, beyond AdamW: references, known mistakes, public and hidden cases (instructor only)."""

from __future__ import annotations

import numpy as np

from .common import arr as _a
from .common import case as _case
from .common import maximum as _max
from .common import public_rng
from .common import shape as _shape
from .record import Grading

ASSIGNMENT = "ex11_beyond_adamw"


# --- adamax_step (paper) ---------------------------------------------------------------------------------
# Kingma & Ba (2015), Section 7.1, Algorithm 2: m_t = beta1 m + (1 - beta1) g; u_t = max(beta2 u, |g|);
# theta_t = theta - (lr / (1 - beta1**t)) m_t / u_t. No eps (torch.optim.Adamax adds one inside the max).


def _adamax(params, grad, m, u, t, lr, beta1, beta2, *, correct=True, decay_u=True, ema=False, absolute=True):
    m = beta1 * m + (1 - beta1) * grad
    size = abs(grad) if absolute else grad
    if ema:
        u = beta2 * u + (1 - beta2) * size
    else:
        u = _max(beta2 * u if decay_u else u, size)
    step = (lr / (1 - beta1**t) if correct else lr) * m / u
    return params - step, m, u


def adamax_step(params, grad, m, u, t, lr, beta1, beta2):
    return _adamax(params, grad, m, u, t, lr, beta1, beta2)


def _adamax_mutates(params, grad, m, u, t, lr, beta1, beta2):
    m *= beta1
    m += (1 - beta1) * grad
    u *= beta2
    u[...] = _max(u, abs(grad))
    return params - lr / (1 - beta1**t) * m / u, m, u


def _adamax_not_carried(params, grad, m, u, t, lr, beta1, beta2):
    return adamax_step(params, grad, m * 0, u * 0, t, lr, beta1, beta2)


def _adamax_args(params, grad, m, u, t, lr=0.002, beta1=0.9, beta2=0.999):
    return {"params": params, "grad": grad, "m": m, "u": u, "t": t, "lr": lr, "beta1": beta1, "beta2": beta2}


def _adamax_public():
    rng = public_rng()
    p, z = rng.normal(size=3), np.zeros(3)
    return [
        _case("first step (t = 1), the hint's example", args=_adamax_args(_a(1.0), _a(-0.5), _a(0.0), _a(0.0), 1)),
        _case(
            "t = 7, a large old maximum and smaller new gradients",
            args=_adamax_args(p, _a(0.1, -0.2, 0.05), _a(0.3, -0.1, 0.2), _a(2.0, 0.1, 1.0), 7),
        ),
        _case(
            "6 steps in a row, mixed signs",
            mode="rollout",
            args=_adamax_args(p, None, z, z, 1, lr=0.01, beta1=0.8, beta2=0.9),
            grads=rng.normal(size=(6, 3)),
        ),
    ]


def _adamax_hidden(rng):
    cases = []
    for scale in (1e-6, 1.0, 1e6):
        sh = _shape(rng)
        u = scale * rng.uniform(0.1, 3.0, size=sh)
        args = _adamax_args(rng.normal(size=sh), scale * rng.normal(size=sh), scale * rng.normal(size=sh), u,
                            int(rng.integers(2, 500)), lr=float(10 ** rng.uniform(-4, -1)),
                            beta1=float(rng.uniform(0.5, 0.95)), beta2=float(rng.uniform(0.9, 0.9999)))  # fmt: skip
        cases.append(_case(f"random state, gradient scale {scale:g}", args=args))
    sh, z = _shape(rng), None
    z = np.zeros(sh)
    args = _adamax_args(rng.normal(size=sh), None, z, z, 1, lr=float(10 ** rng.uniform(-3, -1)),
                        beta1=float(rng.uniform(0.5, 0.95)), beta2=float(rng.uniform(0.8, 0.99)))  # fmt: skip
    cases.append(_case("6 steps in a row", mode="rollout", args=args, grads=rng.normal(size=(6, *sh))))
    return cases


# --- adamax_step_bound (derive) ------------------------------------------------------------------------
# |m_hat_t| / u_t <= (1 - beta1) / (1 - beta1**t) * sum_{k<t} (beta1/beta2)**k
#                 = (1 - beta1) / (1 - beta1**t) * (1 - r**t) / (1 - r), r = beta1 / beta2 < 1,
# reached by gradients that shrink by beta2 per step (then u_t = |g_t| and every term is at its bound).


def adamax_step_bound(beta1, beta2, t):
    r = beta1 / beta2
    return (1 - beta1) / (1 - beta1**t) * (1 - r**t) / (1 - r)


def _bound_limit(beta1, beta2, t):
    return (1 - beta1) / (1 - beta1 / beta2)


def _bound_no_correction(beta1, beta2, t):
    r = beta1 / beta2
    return (1 - beta1) * (1 - r**t) / (1 - r)


def _bound_adam(beta1, beta2, t):
    return (1 - beta1) / (1 - beta2) ** 0.5


def _bound_paper(beta1, beta2, t):
    return 1.0


def _bound_public():
    return [
        _case("beta1 = 0.9, beta2 = 0.999, t = 3 (the hint's example)", args={"beta1": 0.9, "beta2": 0.999, "t": 3}),
        _case("beta1 = 0.9, beta2 = 0.99, t = 20", args={"beta1": 0.9, "beta2": 0.99, "t": 20}),
        _case("beta1 = 0.5, beta2 = 0.9, t = 5", args={"beta1": 0.5, "beta2": 0.9, "t": 5}),
    ]


def _bound_hidden(rng):
    cases = []
    for _ in range(4):
        beta1 = float(rng.uniform(0.5, 0.95))
        beta2 = float(rng.uniform(max(beta1 + 0.03, 0.9), 0.9999))
        cases.append(_case("random betas and t", args={"beta1": beta1, "beta2": beta2, "t": int(rng.integers(2, 61))}))
    return cases


# --- saddle_prediction (predict) ------------------------------------------------------------------------------
# torch.optim on f = x**2 - y**2 from (1, 1e-12), lr = 0.01: SGD needs 1396 steps to reach |y| > 1, SGD with
# momentum 0.9 needs 276 and Adam (default betas, eps = 1e-8) 78. Within 400 steps: momentum and Adam.


def _saddle_accept(choice):
    return choice == "momentum and Adam"


# --- lbfgs_two_loop (paper) -------------------------------------------------------------------------------------
# Nocedal & Wright (2006), Algorithm 7.4, with H_k^0 = gamma_k I, gamma_k = s_{k-1}^T y_{k-1} / y_{k-1}^T y_{k-1}
# (equation 7.20). S and Y hold the pairs as rows, oldest first. Returns H_k grad.


def _two_loop(grad, S, Y, *, scaling="newest", same_order=False, negate=False):
    S, Y = np.asarray(S, dtype=float), np.asarray(Y, dtype=float)
    m = len(S)
    q = grad - 0
    a = [0.0] * m
    first = range(m) if same_order else reversed(range(m))
    for i in first:
        a[i] = (S[i] @ q) / (Y[i] @ S[i])
        q = q - a[i] * Y[i]
    if scaling == "none":
        h0 = 1.0
    else:
        j = -1 if scaling == "newest" else 0
        h0 = (S[j] @ Y[j]) / (Y[j] @ Y[j])
    r = h0 * q
    for i in range(m):
        b = (Y[i] @ r) / (Y[i] @ S[i])
        r = r + S[i] * (a[i] - b)
    return -r if negate else r


def lbfgs_direction(grad, S, Y):
    return _two_loop(grad, S, Y)


def _two_loop_mutates(grad, S, Y):
    r = _two_loop(grad, S, Y)
    grad -= grad  # the classic `q = grad; q -= a * y` leaves the caller's gradient changed
    return r


def _pairs(rng, d, m, scale=1.0):
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    A = Q @ np.diag(10 ** rng.uniform(-1, 2, size=d)) @ Q.T  # curvatures from 0.1 to 100
    S = scale * rng.normal(size=(m, d))
    return S, S @ A  # y = A s: the pairs of a convex quadratic, so y^T s > 0


def _two_loop_public():
    rng = public_rng()
    S, Y = _pairs(rng, 4, 3)
    S2, Y2 = _pairs(rng, 3, 2)
    return [
        _case(
            "one pair in 2-D (the hint's example)",
            args={"grad": _a(4.0, 6.0), "S": np.array([[1.0, 0.0]]), "Y": np.array([[2.0, 0.0]])},
        ),  # fmt: skip
        _case("three pairs of a 4-D quadratic", args={"grad": rng.normal(size=4), "S": S, "Y": Y}),
        _case(
            "the secant equation: grad = the newest y gives the newest s",
            args={"grad": Y2[-1].copy(), "S": S2, "Y": Y2},
        ),  # fmt: skip
    ]


def _two_loop_hidden(rng):
    cases = []
    for scale in (1e-3, 1.0, 1e3):
        d = int(rng.integers(3, 9))
        m = int(rng.integers(2, min(d, 6) + 1))
        S, Y = _pairs(rng, d, m, scale)
        cases.append(_case(f"{m} pairs in {d}-D, steps of size {scale:g}", args={"grad": rng.normal(size=d), "S": S,
                                                                                    "Y": Y}))  # fmt: skip
    return cases


GRADING = (
    Grading(
        "adamax_step",
        reference=adamax_step,
        mistakes={
            "no_bias_correction": lambda *a: _adamax(*a, correct=False),
            "u_not_decayed": lambda *a: _adamax(*a, decay_u=False),
            "ema_of_abs": lambda *a: _adamax(*a, ema=True),
            "no_abs": lambda *a: _adamax(*a, absolute=False),
            "not_carried": _adamax_not_carried,
            "mutates": _adamax_mutates,
        },
        public_cases=_adamax_public,
        hidden_cases=_adamax_hidden,
    ),
    Grading(
        "adamax_step_bound",
        reference=adamax_step_bound,
        mistakes={
            "limit": _bound_limit,
            "no_bias_correction": _bound_no_correction,
            "adam_heuristic": _bound_adam,
            "paper_statement": _bound_paper,
        },  # fmt: skip
        public_cases=_bound_public,
        hidden_cases=_bound_hidden,
    ),
    Grading(
        "saddle_prediction",
        accept=_saddle_accept,
        mistakes={
            "gd_escapes": lambda c: c == "GD, momentum and Adam",
            "momentum_stuck": lambda c: c == "Adam only",
            "none_escape": lambda c: c == "none of them",
        },
    ),
    Grading(
        "lbfgs_two_loop",
        reference=lbfgs_direction,
        mistakes={
            "no_scaling": lambda g, S, Y: _two_loop(g, S, Y, scaling="none"),
            "same_order": lambda g, S, Y: _two_loop(g, S, Y, same_order=True),
            "oldest_scaling": lambda g, S, Y: _two_loop(g, S, Y, scaling="oldest"),
            "negated": lambda g, S, Y: _two_loop(g, S, Y, negate=True),
            "mutates": _two_loop_mutates,
        },
        public_cases=_two_loop_public,
        hidden_cases=_two_loop_hidden,
    ),
)
