"""ex08, Adam: references, known mistakes, public and hidden cases (instructor only).

Every reference is written with ``+ - * / **`` so it runs on NumPy arrays and torch tensors (on any
device, including torch's data-less "meta" device). ex10's AMSGrad and AdamW reuse the Adam step
and the hidden cases here.
"""

from __future__ import annotations

import functools

import numpy as np

from .common import adam_args as _adam_args
from .common import arr as _a
from .common import case as _case
from .common import public_rng
from .common import scales as _scales
from .common import shape as _shape
from .common import step_number as _t
from .common import values as _values
from .record import Grading

ASSIGNMENT = "ex08_adam"


def _adam(
    params,
    grads,
    m,
    v,
    t,
    lr,
    betas,
    eps,
    *,
    shift=0,
    eps_inside=False,
    one_minus=True,
    correct_m=True,
    correct_v=True,
    square=True,
    use_eps=True,
):
    """Kingma & Ba, Algorithm 1, with switches that turn it into each known mistake."""
    b1, b2 = betas
    m = b1 * m + ((1 - b1) if one_minus else 1) * grads
    v = b2 * v + ((1 - b2) if one_minus else 1) * (grads * grads if square else grads)
    m_hat = m / (1 - b1 ** (t + shift)) if correct_m else m
    v_hat = v / (1 - b2 ** (t + shift)) if correct_v else v
    if not use_eps:
        denom = v_hat**0.5
    elif eps_inside:
        denom = (v_hat + eps) ** 0.5
    else:
        denom = v_hat**0.5 + eps
    return params - lr * m_hat / denom, m, v


def adam_step(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return _adam(params, grads, m, v, t, lr, betas, eps)


def _adam_variant(**options):
    def fn(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        return _adam(params, grads, m, v, t, lr, betas, eps, **options)

    return fn


def _adam_not_carried(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return _adam(params, grads, 0 * m, 0 * v, t, lr, betas, eps)


def adam_mutates(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m *= b1
    m += (1 - b1) * grads
    v *= b2
    v += (1 - b2) * grads * grads
    params -= lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)) ** 0.5 + eps)
    return params, m, v


MISTAKES = {
    "off_by_one_plus": _adam_variant(shift=1),
    "off_by_one_minus": _adam_variant(shift=-1),
    "eps_inside": _adam_variant(eps_inside=True),
    "no_one_minus": _adam_variant(one_minus=False),
    "only_m_corrected": _adam_variant(correct_v=False),
    "no_correction": _adam_variant(correct_m=False, correct_v=False),
    "grad_not_squared": _adam_variant(square=False),
    "no_eps": _adam_variant(use_eps=False),
    "not_carried": _adam_not_carried,
    "mutates": adam_mutates,
}


def hidden_cases(rng, name):
    """Hidden cases of Adam and of ex10's AMSGrad (adds ``v_max``) and AdamW (adds ``weight_decay``)."""
    cases = []
    for i, s in enumerate(_scales(rng, 7)):
        shape = _shape(rng)
        t = _t(rng, i)
        b1, b2 = float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.9999))
        zero_state = t == 1
        m = np.zeros(shape) if zero_state else _values(rng, shape, s)
        v = np.zeros(shape) if zero_state else np.abs(_values(rng, shape, s * s))
        grads = np.zeros(shape) if i == 3 else _values(rng, shape, s)
        args = _adam_args(
            _values(rng, shape, 1.0),
            grads,
            m,
            v,
            t,
            float(10 ** rng.uniform(-4, -1)),
            (b1, b2),
            float(10 ** rng.uniform(-10, -6)),
        )
        if name == "amsgrad_step":
            args["v_max"] = v if zero_state else v * rng.uniform(0.5, 2.0, size=shape)
        if name == "adamw_step":
            args["weight_decay"] = float(10 ** rng.uniform(-3, -0.5))
        label = f"random {shape} arrays, t = {t}" + (", zero gradients" if i == 3 else f", gradient scale {s:.0e}")
        cases.append(_case(label, args=args))
    shape = _shape(rng)
    args = _adam_args(_values(rng, shape, 1.0), None, np.zeros(shape), np.zeros(shape), 1, 0.05)
    if name == "amsgrad_step":
        args["v_max"] = np.zeros(shape)
    if name == "adamw_step":
        args["weight_decay"] = 0.1
    scale = np.where(np.arange(8) < 2, 5.0, 0.2).reshape(8, *([1] * len(shape)))  # big, then small gradients
    cases.append(
        _case(
            "8 steps in a row, state carried over",
            mode="rollout",
            args=args,
            grads=scale * rng.normal(size=(8, *shape)),
        )
    )
    return cases


# --- adam_step (NumPy) -----------------------------------------------------------------------------


def _numpy_public():
    rng = public_rng()
    z3 = np.zeros(3)
    p3 = _a(0.5, -1.0, 2.0)
    g3 = _a(0.1, -0.2, 0.3)
    return [
        _case("first step (t = 1)", args=_adam_args(p3, g3, z3, z3, 1)),
        _case("zero gradients at t = 1", args=_adam_args(p3, z3, z3, z3, 1)),
        _case(
            "zero gradients with earlier state (t = 5)",
            args=_adam_args(p3, z3, _a(0.05, -0.02, 0.01), _a(1e-3, 2e-3, 1e-4), 5),
        ),
        _case("tiny gradients (1e-8) at t = 1", args=_adam_args(p3, _a(1e-8, -2e-8, 5e-9), z3, z3, 1)),
        _case("huge gradients (1e8) at t = 1", args=_adam_args(p3, _a(1e8, -3e8, 2e8), z3, z3, 1)),
        _case(
            "t = 10, matrix parameters, betas = (0.8, 0.99), lr = 0.01",
            args=_adam_args(
                rng.normal(size=(2, 3)),
                rng.normal(size=(2, 3)),
                0.1 * rng.normal(size=(2, 3)),
                0.1 * rng.random((2, 3)),
                10,
                0.01,
                (0.8, 0.99),
            ),
        ),
        _case(
            "5 steps in a row, state carried over",
            mode="rollout",
            args=_adam_args(_a(1.0, 2.0, -1.0, 0.5), None, np.zeros(4), np.zeros(4), 1, 0.1),
            grads=rng.normal(size=(5, 4)),
        ),
    ]


# --- adam_step_torch (the same function on tensors) ------------------------------------------------


def _torch_public():
    rng = public_rng()
    z3 = np.zeros(3)
    p3 = _a(0.5, -1.0, 2.0)
    g3 = _a(0.1, -0.2, 0.3)
    return [
        _case("torch float64 on the CPU, t = 1", args=_adam_args(p3, g3, z3, z3, 1), backend="torch", dtype="float64"),
        _case(
            "torch float32 on the CPU, t = 3",
            args=_adam_args(p3, g3, _a(0.01, -0.02, 0.03), _a(1e-3, 2e-3, 3e-3), 3),
            backend="torch",
            dtype="float32",
        ),
        _case(
            "torch float64, zero gradients at t = 1",
            args=_adam_args(p3, z3, z3, z3, 1),
            backend="torch",
            dtype="float64",
        ),  # fmt: skip
        _case(
            "torch float32 on the 'meta' device (no data: no NumPy allowed)",
            args=_adam_args(p3, g3, z3, z3, 2),
            backend="torch",
            dtype="float32",
            device="meta",
        ),
        _case(
            "torch float32, 3 steps in a row",
            mode="rollout",
            args=_adam_args(_a(1.0, 2.0, -1.0, 0.5), None, np.zeros(4), np.zeros(4), 1, 0.1),
            grads=rng.normal(size=(3, 4)),
            backend="torch",
            dtype="float32",
        ),
    ]


def _torch_hidden(rng):
    cases = []
    for dtype, device in (("float64", "cpu"), ("float32", "cpu"), ("float32", "meta"), ("float64", "meta")):
        shape = _shape(rng)
        t = int(rng.integers(1, 50))
        args = _adam_args(
            _values(rng, shape, 1.0),
            _values(rng, shape, 1.0),
            _values(rng, shape, 0.1),
            np.abs(_values(rng, shape, 0.01)),
            t,
            1e-2,
        )
        cases.append(
            _case(f"torch {dtype} on {device}, t = {t}", args=args, backend="torch", dtype=dtype, device=device)
        )
    shape = _shape(rng)
    cases.append(
        _case(
            "torch float32, 4 steps in a row",
            mode="rollout",
            args=_adam_args(_values(rng, shape, 1.0), None, np.zeros(shape), np.zeros(shape), 1, 0.05),
            grads=rng.normal(size=(4, *shape)),
            backend="torch",
            dtype="float32",
        )
    )
    return cases


# --- fixed_adam_step (a colleague's Adam in Kingma & Ba's efficient form, Section 2) ----------------


def _efficient(params, grads, m, v, t, lr, betas, eps, *, shift=0, eps_mode="algorithm1"):
    """Adam in the efficient form: one step size absorbs both corrections.

    ``eps_mode`` "algorithm1" adds eps * sqrt(1 - beta2^t) after the root of the raw v (identical to Algorithm
    1 and torch); "inside" adds eps under the root (the given code's bug); "hat" adds a constant eps after the
    root (Kingma & Ba's epsilon-hat, Keras's convention). ``shift=1`` is the given code's t = t + 1.
    """
    b1, b2 = betas
    t = t + shift
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    bc2_root = (1 - b2**t) ** 0.5
    step_size = lr * bc2_root / (1 - b1**t)
    if eps_mode == "inside":
        denom = (v + eps) ** 0.5
    elif eps_mode == "hat":
        denom = v**0.5 + eps
    else:
        denom = v**0.5 + eps * bc2_root
    return params - step_size * m / denom, m, v


def _efficient_variant(**options):
    def fn(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        return _efficient(params, grads, m, v, t, lr, betas, eps, **options)

    return fn


FIXED_MISTAKES = {
    "as_given": _efficient_variant(shift=1, eps_mode="inside"),
    "t_still_shifted": _efficient_variant(shift=1),
    "eps_still_inside": _efficient_variant(eps_mode="inside"),
    "eps_hat": _efficient_variant(eps_mode="hat"),
    "not_carried": _adam_not_carried,
    "mutates": adam_mutates,
}


# --- adam_state_bytes (derive: the memory of Adam's state) -----------------------------------------


def _parameter_count(layer_sizes, biases=True):
    sizes = [int(s) for s in layer_sizes]
    return sum(a * b + (b if biases else 0) for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def adam_state_bytes(layer_sizes, bytes_per_value, amsgrad):
    return (3 if amsgrad else 2) * _parameter_count(layer_sizes) * bytes_per_value


STATE_MISTAKES = {
    "no_bias": lambda layer_sizes, bytes_per_value, amsgrad: (
        (3 if amsgrad else 2) * _parameter_count(layer_sizes, biases=False) * bytes_per_value
    ),
    "one_moment": lambda layer_sizes, bytes_per_value, amsgrad: _parameter_count(layer_sizes) * bytes_per_value,
    "with_params": lambda layer_sizes, bytes_per_value, amsgrad: (
        (5 if amsgrad else 4) * _parameter_count(layer_sizes) * bytes_per_value
    ),
    "amsgrad_ignored": lambda layer_sizes, bytes_per_value, amsgrad: (
        2 * _parameter_count(layer_sizes) * bytes_per_value
    ),
}


def _state_public():
    return [
        _case("layers (3, 4, 2), float32", args={"layer_sizes": [3, 4, 2], "bytes_per_value": 4, "amsgrad": False}),
        _case(
            "layers (3, 4, 2), float32, AMSGrad", args={"layer_sizes": [3, 4, 2], "bytes_per_value": 4, "amsgrad": True}
        ),
        _case(
            "a digits classifier (64, 32, 10), float64",
            args={"layer_sizes": [64, 32, 10], "bytes_per_value": 8, "amsgrad": False},
        ),
        _case(
            "an MNIST MLP (784, 1000, 1000, 10), bfloat16 state, AMSGrad",
            args={"layer_sizes": [784, 1000, 1000, 10], "bytes_per_value": 2, "amsgrad": True},
        ),
    ]


def _state_hidden(rng):
    cases = []
    for i in range(4):
        depth = int(rng.integers(2, 6))
        sizes = [int(s) for s in rng.integers(1, 3000, size=depth)]
        nbytes = int(rng.choice([2, 4, 8]))
        cases.append(
            _case(
                f"random layers {tuple(sizes)}, {nbytes} bytes per value" + (", AMSGrad" if i % 2 else ""),
                args={"layer_sizes": sizes, "bytes_per_value": nbytes, "amsgrad": bool(i % 2)},
            )
        )
    return cases


GRADING = (
    Grading(
        "adam_step",
        reference=adam_step,
        mistakes=MISTAKES,
        public_cases=_numpy_public,
        hidden_cases=functools.partial(hidden_cases, name="adam_step"),
    ),
    Grading(
        "adam_step_torch",
        reference=adam_step,
        mistakes=MISTAKES,
        public_cases=_torch_public,
        hidden_cases=_torch_hidden,
    ),
    Grading(
        "fixed_adam_step",
        reference=adam_step,
        mistakes=FIXED_MISTAKES,
        public_cases=_numpy_public,
        hidden_cases=functools.partial(hidden_cases, name="adam_step"),
    ),
    Grading(
        "adam_state_bytes",
        reference=adam_state_bytes,
        mistakes=STATE_MISTAKES,
        public_cases=_state_public,
        hidden_cases=_state_hidden,
    ),
)
