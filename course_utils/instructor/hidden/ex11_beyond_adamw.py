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


# --- lp_norm_scale (paper) ----------------------------------------------------------------------------------
# Kingma & Ba (2015), Section 7.1, equations (6)-(7): v_t = beta2**p v_{t-1} + (1 - beta2**p) |g_t|**p, v_0 = 0;
# the step is inversely proportional to v_t**(1/p), which tends to u_t = max(beta2 u_{t-1}, |g_t|) (eq. 12).


def _lp(grads, beta2, p, *, decay_pow=True, new_pow=True, root=True, absolute=True, limit=False):
    grads = np.asarray(grads, dtype=float)
    if limit:
        u = np.zeros_like(grads[0])
        for g in grads:
            u = _max(beta2 * u, abs(g))
        return u
    v = np.zeros_like(grads[0])
    decay = beta2**p if decay_pow else beta2
    weight = 1 - beta2**p if new_pow else 1 - beta2
    with np.errstate(invalid="ignore"):
        for g in grads:
            v = decay * v + weight * (abs(g) if absolute else g) ** p
        return v ** (1 / p) if root else v


def lp_norm_scale(grads, beta2, p):
    return _lp(grads, beta2, p)


def _lp_public():
    rng = public_rng()
    return [
        _case("the hint's example: p = 2", args={"grads": np.array([[3.0], [-1.0]]), "beta2": 0.9, "p": 2.0}),
        _case("p = 3, mixed signs, 6 steps", args={"grads": rng.normal(size=(6, 3)), "beta2": 0.99, "p": 3.0}),
        _case("p = 8, close to the running maximum", args={"grads": rng.normal(size=(5, 2)), "beta2": 0.9, "p": 8.0}),
    ]


def _lp_hidden(rng):
    cases = []
    for p in (1.0, 3.0, 2.5, 6.0):  # a fixed p per slot: odd, fractional and even powers
        t, sh = int(rng.integers(1, 30)), _shape(rng)
        grads = float(10 ** rng.uniform(-1, 1)) * rng.normal(size=(t, *sh))
        beta2 = float(rng.uniform(0.5, 0.999))
        cases.append(_case(f"random gradients, p = {p:g}", args={"grads": grads, "beta2": beta2, "p": p}))
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
        "lp_norm_scale",
        reference=lp_norm_scale,
        mistakes={
            "decay_not_powered": lambda g, b, p: _lp(g, b, p, decay_pow=False),
            "new_weight_not_powered": lambda g, b, p: _lp(g, b, p, new_pow=False),
            "no_root": lambda g, b, p: _lp(g, b, p, root=False),
            "no_abs": lambda g, b, p: _lp(g, b, p, absolute=False),
            "running_max": lambda g, b, p: _lp(g, b, p, limit=True),
        },
        public_cases=_lp_public,
        hidden_cases=_lp_hidden,
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
