r"""RAdam (after Adam): rectify the variance of Adam's step while v_t is still a poor estimate.

Liu et al. (ICLR 2020), "On the variance of the adaptive learning rate and beyond", Algorithm 2.
In the first steps :math:`\hat v_t` averages only a handful of squared gradients, so
:math:`1/\sqrt{\hat v_t}` has a large (at t = 1, unbounded) variance: that is why Adam needs a
warmup. RAdam measures how many gradients the EMA effectively holds (:math:`\rho_t`) and,
while they are too few, takes plain momentum steps; afterwards it multiplies Adam's step by a
factor :math:`r_t < 1` that shrinks the variance to what it will be at :math:`t \to \infty`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..tree import tree_map, tree_unzip
from .aliases import Betas, Hyper, LearningRate, _adaptive
from .core import Transform, betas_pair, hyperparameter, power
from .ema import debias, ema
from .hyperparams import remembers_arguments

# Liu et al.'s Algorithm 2 switches the adaptive step on once rho_t > 4 (r_t is real from there);
# their code waits until rho_t >= 5 ("more conservative", as rho_t is an approximation) and
# torch.optim.RAdam until rho_t > 5. We follow torch.
RHO_THRESHOLD = 5.0


class RAdamState(NamedTuple):
    t: int
    m: Any  # EMA of gradients
    v: Any  # EMA of squared gradients


def sma_length(beta2, t):
    r""":math:`\rho_t`, the length of the simple moving average that the EMA :math:`v_t` resembles.

    .. math:: \rho_\infty = \frac{2}{1-\beta_2} - 1, \qquad
              \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}

    (Liu et al., Section 4.2.) :math:`\rho_1 = 1`, and :math:`\rho_t` grows to :math:`\rho_\infty`
    (1999 for :math:`\beta_2 = 0.999`).
    """
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    beta2_t = power(beta2, t)
    return rho_inf - 2.0 * t * beta2_t / (1.0 - beta2_t), rho_inf


def rectification(beta2, t):
    r"""The variance rectification :math:`r_t`, and whether it applies (:math:`\rho_t > 5`).

    .. math:: r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\,\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\,\rho_t}}

    For an array of ``beta2`` (a batched run) both come back as arrays; where the rectification
    does not apply, ``r_t`` is set to 0 (it is not used there).
    """
    rho_t, rho_inf = sma_length(beta2, t)
    on = rho_t > RHO_THRESHOLD
    safe_t = np.where(on, rho_t, RHO_THRESHOLD + 1.0)  # keeps the square root real where it is unused
    safe_inf = np.where(on, rho_inf, RHO_THRESHOLD + 1.0)
    r = np.sqrt((safe_t - 4) * (safe_t - 2) * safe_inf / ((safe_inf - 4) * (safe_inf - 2) * safe_t))
    r = np.where(on, r, 0.0)
    if isinstance(beta2, float):
        return float(r), bool(on)
    return r, on


def scale_by_radam(betas=(0.9, 0.999), eps=1e-8) -> Transform:
    r"""RAdam's direction (Liu et al. 2020, Algorithm 2, as ``torch.optim.RAdam`` 2.13 computes it).

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,
        \quad \hat m_t = \frac{m_t}{1-\beta_1^t}

        d_t = \begin{cases}
            r_t\, \hat m_t \, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon} & \rho_t > 5 \\
            \hat m_t & \text{otherwise (momentum SGD: no adaptive scaling yet)}
        \end{cases}

    with :math:`\rho_t, r_t` from :func:`sma_length` and :func:`rectification`. Note where
    ``eps`` goes: torch (like the paper's :math:`\sqrt{1-\beta_2^t}/\sqrt{v_t}`) adds it to
    :math:`\sqrt{v_t}` *before* the bias correction, unlike Adam's :math:`\sqrt{\hat v_t} + \epsilon`.
    """
    beta1, beta2 = betas_pair(betas)
    eps = hyperparameter(eps, "eps")

    def init(params):
        zeros = lambda: tree_map(backend.zeros_like, params)  # noqa: E731
        return RAdamState(t=0, m=zeros(), v=zeros())

    def update(grads, state, params=None):
        t = state.t + 1
        r, on = rectification(beta2, t)
        sqrt_bc2 = np.sqrt(1.0 - power(beta2, t))

        def one(g, m, v):
            m = ema(m, g, beta1)
            v = ema(v, g * g, beta2)
            m_hat = debias(m, beta1, t)
            if on is False:
                return m_hat, m, v
            adaptive = m_hat * backend.like(r * sqrt_bc2, g) / (backend.sqrt(v) + backend.like(eps, g))
            if on is True:
                return adaptive, m, v
            return backend.where(on, adaptive, m_hat), m, v  # a batched run: per configuration

        d, m, v = tree_unzip(tree_map(one, grads, state.m, state.v), grads, 3)
        return d, RAdamState(t, m, v)

    return Transform(init, update)


@remembers_arguments
def radam(
    lr: LearningRate = 1e-3,
    betas: Betas = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    decoupled_weight_decay: bool = False,
    *,
    maximize: bool = False,
) -> Transform:
    """``torch.optim.RAdam``: RAdam's direction times -lr; ``weight_decay`` is L2 unless decoupled.

    Decoupled decay (``decoupled_weight_decay=True``) joins after the scaling, as in AdamW.
    """
    return _adaptive(scale_by_radam(betas, eps), lr, weight_decay, decoupled_weight_decay, maximize)
