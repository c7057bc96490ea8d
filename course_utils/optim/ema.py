"""Exponential moving averages and their bias correction (lecture 7).

Every adaptive optimizer of the course is built from these two lines.
"""

from __future__ import annotations

from .. import backend
from .core import power


def ema(average, x, beta):
    r"""One step of an exponential moving average: :math:`a_t = \beta a_{t-1} + (1-\beta) x_t`.

    With :math:`a_0 = 0` the weights of past values are :math:`(1-\beta)\beta^{k}`, an effective
    window of about :math:`1/(1-\beta)` steps.
    """
    beta = backend.like(beta, x)
    return beta * average + (1 - beta) * x


def bias_correction(beta, t, like):
    r"""The factor :math:`1 - \beta^t` by which a zero-initialized EMA underestimates its input.

    Kingma & Ba (2015), Section 3: :math:`E[v_t] = E[g^2](1-\beta_2^t)` for stationary gradients.
    """
    return backend.like(1 - power(beta, t), like)


def debias(average, beta, t):
    r""":math:`\hat a_t = a_t / (1 - \beta^t)`: the bias-corrected EMA after ``t`` steps."""
    return average / bias_correction(beta, t, average)
