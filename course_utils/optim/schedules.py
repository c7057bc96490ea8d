"""Learning-rate schedules (lecture 3): functions of the step number ``t = 1, 2, 3, ...``.

Pass one as ``lr`` to any optimizer. Every schedule accepts arrays of base learning rates,
so a batched sweep can use one schedule shape with many peak values.
"""

from __future__ import annotations

import math

import numpy as np

from .core import hyperparameter


def _lr(lr):
    return lr if callable(lr) else hyperparameter(lr, "lr")


def _call(lr, t):
    return lr(t) if callable(lr) else lr


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def constant(lr):
    """:math:`\\eta_t = \\eta`."""
    lr = hyperparameter(lr, "lr")
    return lambda t: lr


def step_decay(lr, step_size, gamma=0.1):
    r"""Multiply by ``gamma`` every ``step_size`` steps (``torch.optim.lr_scheduler.StepLR``):
    :math:`\eta_t = \eta\,\gamma^{\lfloor (t-1)/s \rfloor}`."""
    lr = _lr(lr)
    step_size = _positive_int(step_size, "step_size")
    gamma = hyperparameter(gamma, "gamma", high=1.0, high_open=False)
    return lambda t: _call(lr, t) * gamma ** ((t - 1) // step_size)


def exponential_decay(lr, gamma):
    r""":math:`\eta_t = \eta\,\gamma^{t-1}` (``ExponentialLR``)."""
    lr = _lr(lr)
    gamma = hyperparameter(gamma, "gamma", high=1.0, high_open=False)
    return lambda t: _call(lr, t) * gamma ** (t - 1)


def cosine_decay(lr, total_steps, min_lr=0.0):
    r"""Half a cosine from ``lr`` down to ``min_lr`` over ``total_steps`` (Loshchilov & Hutter's
    SGDR without restarts): :math:`\eta_t = \eta_{min} + \tfrac12(\eta-\eta_{min})(1+\cos(\pi\,\min(t-1, T)/T))`."""
    lr = _lr(lr)
    total_steps = _positive_int(total_steps, "total_steps")
    min_lr = hyperparameter(min_lr, "min_lr")

    def schedule(t):
        progress = min(t - 1, total_steps) / total_steps
        return min_lr + 0.5 * (_call(lr, t) - min_lr) * (1 + math.cos(math.pi * progress))

    return schedule


def inverse_sqrt(lr):
    r""":math:`\eta_t = \eta/\sqrt t`, the decay of the convergence theorems (Reddi et al. 2018)."""
    lr = _lr(lr)
    return lambda t: _call(lr, t) / math.sqrt(t)


def inverse_time(lr, decay):
    r""":math:`\eta_t = \eta / (1 + (t-1)\,d)`: ``torch.optim.Adagrad``'s ``lr_decay``."""
    lr = _lr(lr)
    decay = hyperparameter(decay, "lr_decay")
    return lambda t: _call(lr, t) / (1 + (t - 1) * decay)


def linear_warmup(lr, warmup_steps):
    r"""Ramp linearly from ``lr/warmup_steps`` up to the base schedule over ``warmup_steps`` steps:
    :math:`\eta_t = \eta_t^{base}\min(1, t/w)`. ``lr`` may itself be a schedule (warmup + cosine)."""
    lr = _lr(lr)
    warmup_steps = _positive_int(warmup_steps, "warmup_steps")
    return lambda t: _call(lr, t) * min(1.0, t / warmup_steps)
