"""ex12, Adam in PyTorch: references, known mistakes, public and hidden cases (instructor only)."""

from __future__ import annotations

import math

import numpy as np

from course_utils.grading.questions.ex12_adam_pytorch import BUFFERS

from .common import arr as _a
from .common import case as _case
from .common import public_rng
from .common import shape as _shape
from .record import Grading

ASSIGNMENT = "ex12_adam_pytorch"


# --- state_bytes (derive) -------------------------------------------------------------------------------------
# parameters of an MLP: sum over layers of n_in * n_out + n_out; state = parameters * buffers * bytes per number.


def _n_params(widths, biases=True):
    widths = [int(w) for w in widths]
    return sum(a * b + (b if biases else 0) for a, b in zip(widths[:-1], widths[1:], strict=True))


def state_bytes(widths, optimizer, bytes_per_number):
    return float(_n_params(widths) * BUFFERS[optimizer] * int(bytes_per_number))


def _bytes_no_biases(widths, optimizer, bytes_per_number):
    return float(_n_params(widths, biases=False) * BUFFERS[optimizer] * int(bytes_per_number))


def _bytes_whole_run(widths, optimizer, bytes_per_number):
    return float(_n_params(widths) * (BUFFERS[optimizer] + 2) * int(bytes_per_number))


def _bytes_bits(widths, optimizer, bytes_per_number):
    return 8 * state_bytes(widths, optimizer, bytes_per_number)


def _bytes_amsgrad_as_adam(widths, optimizer, bytes_per_number):
    return state_bytes(widths, "adam" if optimizer == "amsgrad" else optimizer, bytes_per_number)


def _bytes_public():
    return [
        _case("lecture 12's MLP, Adam in float32 (the hint's example)",
              args={"widths": [64, 64, 64, 10], "optimizer": "adam", "bytes_per_number": 4}),
        _case("a wider MLP, AMSGrad in float32", args={"widths": [784, 256, 10], "optimizer": "amsgrad",
                                                       "bytes_per_number": 4}),
        _case("momentum SGD, float16 state", args={"widths": [10, 5, 5, 1], "optimizer": "momentum",
                                                   "bytes_per_number": 2}),
    ]  # fmt: skip


def _bytes_hidden(rng):
    cases = []
    for optimizer in ("adam", "amsgrad", "rmsprop", "adamax"):  # a fixed optimizer per slot: fixed profiles
        widths = [int(w) for w in rng.integers(1, 2000, size=int(rng.integers(2, 6)))]
        nbytes = int(rng.choice([2, 4, 8]))
        cases.append(_case(f"random widths, {optimizer}", args={"widths": widths, "optimizer": optimizer,
                                                                "bytes_per_number": nbytes}))  # fmt: skip
    return cases


# --- fix_adamw_torch (bug) -----------------------------------------------------------------------------------
# torch.optim.AdamW (torch 2.13): params <- params (1 - lr wd); m, v as Adam on the raw gradient;
# params <- params - lr m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t).


def _adamw(params, grads, m, v, t, lr, beta1, beta2, eps, weight_decay, *, l2=False, shift=0, decay_lr=True):
    if l2:
        grads = grads + weight_decay * params
    else:
        params = params * (1 - (lr if decay_lr else 1) * weight_decay)
    m = beta1 * m + (1 - beta1) * grads
    v = beta2 * v + (1 - beta2) * grads * grads
    s = t + shift
    m_hat, v_hat = m / (1 - beta1**s), v / (1 - beta2**s)
    return params - lr * m_hat / (v_hat**0.5 + eps), m, v


def adamw_step(params, grads, m, v, t, lr, beta1, beta2, eps, weight_decay):
    return _adamw(params, grads, m, v, t, lr, beta1, beta2, eps, weight_decay)


def _adamw_mutates(params, grads, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m *= beta1
    m += (1 - beta1) * grads
    v *= beta2
    v += (1 - beta2) * grads * grads
    params = params * (1 - lr * weight_decay)
    return params - lr * (m / (1 - beta1**t)) / ((v / (1 - beta2**t)) ** 0.5 + eps), m, v


def _adamw_not_carried(params, grads, m, v, t, lr, beta1, beta2, eps, weight_decay):
    return adamw_step(params, grads, m * 0, v * 0, t, lr, beta1, beta2, eps, weight_decay)


def _adamw_args(params, grads, m, v, t, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1):
    return {"params": params, "grads": grads, "m": m, "v": v, "t": t, "lr": lr, "beta1": beta1, "beta2": beta2,
            "eps": eps, "weight_decay": weight_decay}  # fmt: skip


def _adamw_public():
    rng = public_rng()
    p, z = rng.normal(size=3), np.zeros(3)
    m, v = 0.1 * rng.normal(size=3), 0.01 * rng.uniform(0.1, 1, size=3)
    return [
        _case("the hint's example, t = 1", args=_adamw_args(_a(1.0), _a(0.1), _a(0.0), _a(0.0), 1, lr=0.1,
                                                           weight_decay=0.5), backend="torch", dtype="float64"),
        _case("t = 5, state from earlier steps, float32", args=_adamw_args(p, 0.1 * rng.normal(size=3), m, v, 5),
              backend="torch", dtype="float32"),
        _case("5 steps in a row", mode="rollout", args=_adamw_args(p, None, z, z, 1), grads=rng.normal(size=(5, 3)),
              backend="torch", dtype="float64"),
    ]  # fmt: skip


def _adamw_hidden(rng):
    cases = []
    for i in range(3):
        sh = _shape(rng)
        scale = 10.0 ** rng.uniform(-3, 1)
        t = 1 if i == 0 else int(rng.integers(2, 50))
        m = scale * rng.normal(size=sh) * (i > 0)
        v = scale**2 * rng.uniform(0.1, 1.0, size=sh) * (i > 0)
        lr, wd = float(10 ** rng.uniform(-3, -1)), float(10 ** rng.uniform(-2, 0))
        args = _adamw_args(rng.normal(size=sh), scale * rng.normal(size=sh), m, v, t, lr=lr,
                           beta1=float(rng.uniform(0.8, 0.95)), beta2=float(rng.uniform(0.95, 0.9999)),
                           weight_decay=wd)  # fmt: skip
        cases.append(_case(f"random tensors, t = {'1' if i == 0 else 'random'}", args=args, backend="torch",
                           dtype="float64"))  # fmt: skip
    sh = _shape(rng)
    z = np.zeros(sh)
    args = _adamw_args(rng.normal(size=sh), None, z, z, 1, weight_decay=float(10 ** rng.uniform(-2, 0)))
    cases.append(_case("6 steps in a row", mode="rollout", args=args, grads=rng.normal(size=(6, *sh)),
                       backend="torch", dtype="float64"))  # fmt: skip
    return cases


# --- bf16_prediction (predict) ---------------------------------------------------------------------------------
# 1 - 0.001 rounds to 1 in bfloat16 (the lower neighbour is 1 - 2**-8 = 0.99609; half the gap is 0.00195), so
# the weight stays exactly 1.0 after 100 updates. Accepted: 0.995 to 1.0.


def _bf16_accept(p):
    return 0.995 <= p <= 1.0


# --- fp16_underflow_threshold (derive) ----------------------------------------------------------------------------
# (1 - beta2) g**2, rounded once to float16, is 0 iff it is at most 2**-25 (half the smallest subnormal 2**-24;
# the tie rounds to the even neighbour, 0): |g| <= sqrt(2**-25 / (1 - beta2)).


def fp16_underflow_threshold(beta2):
    return math.sqrt(2.0**-25 / (1 - beta2))


def _fp16_public():
    return [
        _case("beta2 = 0.999 (the hint's example)", args={"beta2": 0.999}),
        _case("beta2 = 0.99", args={"beta2": 0.99}),
        _case("beta2 = 0.95", args={"beta2": 0.95}),
    ]


def _fp16_hidden(rng):
    return [_case("random beta2", args={"beta2": float(1 - 10 ** rng.uniform(-4, -0.5))}) for _ in range(3)]


GRADING = (
    Grading(
        "state_bytes",
        reference=state_bytes,
        mistakes={
            "no_biases": _bytes_no_biases,
            "whole_run": _bytes_whole_run,
            "bits": _bytes_bits,
            "amsgrad_as_adam": _bytes_amsgrad_as_adam,
        },  # fmt: skip
        public_cases=_bytes_public,
        hidden_cases=_bytes_hidden,
    ),
    Grading(
        "fix_adamw_torch",
        reference=adamw_step,
        mistakes={
            "as_given": lambda *a: _adamw(*a, l2=True, shift=1),
            "l2": lambda *a: _adamw(*a, l2=True),
            "t_plus_one": lambda *a: _adamw(*a, shift=1),
            "wd_no_lr": lambda *a: _adamw(*a, decay_lr=False),
            "not_carried": _adamw_not_carried,
            "mutates": _adamw_mutates,
        },
        public_cases=_adamw_public,
        hidden_cases=_adamw_hidden,
    ),
    Grading(
        "bf16_prediction",
        accept=_bf16_accept,
        mistakes={
            "exact_arithmetic": lambda p: 0.895 <= p <= 0.905,
            "partial_loss": lambda p: 0.905 < p < 0.995,
            "overshoot": lambda p: p < 0.895,
        },
    ),
    Grading(
        "fp16_underflow_threshold",
        reference=fp16_underflow_threshold,
        mistakes={
            "no_half": lambda beta2: math.sqrt(2.0**-24 / (1 - beta2)),
            "smallest_normal": lambda beta2: math.sqrt(2.0**-14 / (1 - beta2)),
            "no_beta": lambda beta2: math.sqrt(2.0**-25),
            "float32": lambda beta2: math.sqrt(2.0**-150 / (1 - beta2)),
        },
        public_cases=_fp16_public,
        hidden_cases=_fp16_hidden,
    ),
)
