"""Adam and its family (lectures 8 and 10): momentum + RMS scaling + bias correction.

``scale_by_adam`` is literally the sum of the earlier lectures: an EMA of gradients (momentum,
lecture 4), an EMA of squared gradients (RMSprop, lecture 6), both bias-corrected (lecture 7).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import backend
from ..tree import tree_map, tree_unzip
from .adaptive import rms_denominator
from .core import Transform, betas_pair, choice, hyperparameter, power
from .ema import debias, ema

AMSGRAD_VARIANTS = (False, True, "pytorch", "corrected", "paper")


class AdamState(NamedTuple):
    t: int
    m: Any  # first moment: EMA of gradients
    v: Any  # second moment: EMA of squared gradients
    v_max: Any  # AMSGrad's running maximum (None without AMSGrad)


def scale_by_adam(
    betas=(0.9, 0.999), eps=1e-8, *, amsgrad=False, bias_correction=True, eps_placement="outside"
) -> Transform:
    r"""Adam's direction, Kingma & Ba (2015) Algorithm 1 (``torch.optim.Adam`` without ``lr``).

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        \hat m_t = \frac{m_t}{1-\beta_1^t}, \quad \hat v_t = \frac{v_t}{1-\beta_2^t}, \quad
        d_t = \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    Options that the lectures compare:

    * ``eps_placement``: ``"outside"`` as above (paper, torch, optax); ``"inside"``,
      :math:`\sqrt{\hat v_t + \epsilon}`; ``"hat"``, the paper's Section 2 "efficient form" that
      Keras uses, :math:`\sqrt{1-\beta_2^t}\,\hat m_t / (\sqrt{v_t} + \hat\epsilon)` (pass Keras'
      ``eps=1e-7``).
    * ``amsgrad`` (Reddi, Kale & Kumar 2018): ``True``/``"pytorch"`` keeps the maximum of the raw
      :math:`v_t` and then bias-corrects it (torch, Keras); ``"corrected"`` keeps the maximum of
      :math:`\hat v_t` (optax's default); ``"paper"`` is Reddi et al.'s Algorithm 2, the maximum of
      raw :math:`v_t` and no bias correction at all.
    * ``bias_correction=False``: use :math:`m_t, v_t` directly (RMSprop with momentum, roughly).
    """
    beta1, beta2 = betas_pair(betas)
    eps = hyperparameter(eps, "eps")
    choice(amsgrad, "amsgrad", AMSGRAD_VARIANTS)
    choice(eps_placement, "eps_placement", ("outside", "inside", "hat"))
    correct = bias_correction and amsgrad != "paper"

    def init(params):
        zeros = lambda: tree_map(backend.zeros_like, params)  # noqa: E731
        return AdamState(t=0, m=zeros(), v=zeros(), v_max=zeros() if amsgrad else None)

    def update(grads, state, params=None):
        t = state.t + 1

        def one(g, m, v, v_max):
            m = ema(m, g, beta1)
            v = ema(v, g * g, beta2)
            second = v
            if amsgrad:
                v_max = backend.maximum(v_max, debias(v, beta2, t) if amsgrad == "corrected" else v)
                second = v_max
            m_hat = debias(m, beta1, t) if correct else m
            if amsgrad == "corrected" or not correct:
                v_hat = second
            else:
                v_hat = debias(second, beta2, t)
            if eps_placement == "hat" and correct:
                # Keras adds eps to sqrt(v_t) *before* the bias correction: that is Algorithm 1
                # with eps / sqrt(1 - beta2^t) (Section 2), whichever v the maximum was taken of
                denom = rms_denominator(v_hat, eps / (1 - power(beta2, t)) ** 0.5)
            else:
                denom = rms_denominator(v_hat, eps, eps_placement)
            return m_hat / denom, m, v, v_max

        v_maxes = state.v_max if amsgrad else tree_map(lambda g: None, grads)
        d, m, v, v_max = tree_unzip(tree_map(one, grads, state.m, state.v, v_maxes), grads, 4)
        return d, AdamState(t, m, v, v_max if amsgrad else None)

    return Transform(init, update)


class NadamState(NamedTuple):
    t: int
    m: Any
    v: Any
    mu_product: Any  # product of the momentum schedule, prod_{i<=t} beta_{1,i} (torch's name)


def scale_by_nadam(betas=(0.9, 0.999), eps=1e-8, momentum_decay=4e-3) -> Transform:
    r"""NAdam's direction (Dozat 2016, as ``torch.optim.NAdam`` computes it).

    Nesterov's look-ahead applied to Adam's first moment, with the warming momentum schedule
    :math:`\beta_{1,t} = \beta_1 (1 - \tfrac12 0.96^{t\psi})`, :math:`\psi` = ``momentum_decay``
    (Dozat writes :math:`\mu_t`; the course keeps :math:`\mu` for strong convexity, see
    ``docs/notation.md``; the code's ``mu`` and ``mu_product`` follow torch's names):

    .. math::
        d_t = \Big[\frac{1-\beta_{1,t}}{1-\prod_{i\le t}\beta_{1,i}} g_t
              + \frac{\beta_{1,t+1}}{1-\prod_{i\le t+1}\beta_{1,i}} m_t\Big] \Big/ \big(\sqrt{\hat v_t}+\epsilon\big)
    """
    beta1, beta2 = betas_pair(betas)
    eps = hyperparameter(eps, "eps")
    momentum_decay = hyperparameter(momentum_decay, "momentum_decay")

    def mu(t):
        return beta1 * (1.0 - 0.5 * power(0.96, t * momentum_decay))

    def init(params):
        zeros = lambda: tree_map(backend.zeros_like, params)  # noqa: E731
        return NadamState(t=0, m=zeros(), v=zeros(), mu_product=1.0)

    def update(grads, state, params=None):
        t = state.t + 1
        mu_t, mu_next = mu(t), mu(t + 1)
        mu_product = state.mu_product * mu_t
        g_coef = (1.0 - mu_t) / (1.0 - mu_product)
        m_coef = mu_next / (1.0 - mu_product * mu_next)

        def one(g, m, v):
            m = ema(m, g, beta1)
            v = ema(v, g * g, beta2)
            denom = rms_denominator(debias(v, beta2, t), eps)
            return (backend.like(g_coef, g) * g + backend.like(m_coef, g) * m) / denom, m, v

        d, m, v = tree_unzip(tree_map(one, grads, state.m, state.v), grads, 3)
        return d, NadamState(t, m, v, mu_product)

    return Transform(init, update)


class AdamaxState(NamedTuple):
    t: int
    m: Any
    u: Any  # exponentially weighted infinity norm


def scale_by_adamax(betas=(0.9, 0.999), eps=1e-8) -> Transform:
    r"""AdaMax's direction (Kingma & Ba 2015, Section 7.1; ``torch.optim.Adamax``).

    .. math:: u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon), \qquad d_t = \hat m_t / u_t

    The paper has no :math:`\epsilon`; torch adds it inside the max, so a zero gradient never
    divides by zero.
    """
    beta1, beta2 = betas_pair(betas)
    eps = hyperparameter(eps, "eps")

    def init(params):
        zeros = lambda: tree_map(backend.zeros_like, params)  # noqa: E731
        return AdamaxState(t=0, m=zeros(), u=zeros())

    def update(grads, state, params=None):
        t = state.t + 1

        def one(g, m, u):
            m = ema(m, g, beta1)
            u = backend.maximum(backend.like(beta2, g) * u, backend.abs(g) + backend.like(eps, g))
            return debias(m, beta1, t) / u, m, u

        d, m, u = tree_unzip(tree_map(one, grads, state.m, state.u), grads, 3)
        return d, AdamaxState(t, m, u)

    return Transform(init, update)
