r"""AdaBelief (after Adam): divide by how far the gradient strays from its prediction, not by its size.

Zhuang et al. (NeurIPS 2020), "AdaBelief optimizer: Adapting stepsizes by the belief in observed
gradients", Algorithm 2. Adam's :math:`v_t` averages :math:`g_t^2`; AdaBelief's :math:`s_t`
averages :math:`(g_t - m_t)^2`, the squared surprise of the gradient compared with the momentum
that predicted it. A large but steady gradient (a straight slope) gives a small :math:`s_t` and a
large step; a noisy gradient a small step. There is no torch.optim class; the tests check it
against the paper's pseudo-code.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import backend
from ..tree import tree_map, tree_unzip
from .aliases import Betas, Hyper, LearningRate, _adaptive
from .core import Transform, betas_pair, hyperparameter
from .ema import debias, ema
from .hyperparams import remembers_arguments


class AdaBeliefState(NamedTuple):
    t: int
    m: Any  # EMA of gradients: the prediction of the next gradient
    s: Any  # EMA of (g - m)^2, plus eps at every step: the "belief" (the smaller, the more trusted)


def scale_by_belief(betas=(0.9, 0.999), eps=1e-16) -> Transform:
    r"""AdaBelief's direction (Zhuang et al. 2020, Algorithm 2, without AMSGrad):

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \epsilon,

        \hat m_t = \frac{m_t}{1-\beta_1^t}, \quad \hat s_t = \frac{s_t}{1-\beta_2^t}, \quad
        d_t = \frac{\hat m_t}{\sqrt{\hat s_t} + \epsilon}

    ``eps`` appears twice: *inside* :math:`s_t` (kept in the state, so it accumulates to at most
    :math:`\epsilon/(1-\beta_2)`) and outside the square root. That is what the authors' package
    ``adabelief-pytorch`` 0.2 computes (``exp_avg_var.add_(eps)`` writes into the state). Some
    write-ups show a second :math:`\epsilon` in :math:`\hat s_t = (s_t + \epsilon)/(1-\beta_2^t)`;
    the authors' code adds it once per step, into the state, as here. The default ``eps = 1e-16``
    is theirs: :math:`(g-m)^2` can be far smaller than :math:`g^2`, so Adam's 1e-8 would swamp it.
    """
    beta1, beta2 = betas_pair(betas)
    eps = hyperparameter(eps, "eps")

    def init(params):
        zeros = lambda: tree_map(backend.zeros_like, params)  # noqa: E731
        return AdaBeliefState(t=0, m=zeros(), s=zeros())

    def update(grads, state, params=None):
        t = state.t + 1

        def one(g, m, s):
            m = ema(m, g, beta1)
            surprise = g - m
            s = ema(s, surprise * surprise, beta2) + backend.like(eps, g)
            s_hat = debias(s, beta2, t)
            return debias(m, beta1, t) / (backend.sqrt(s_hat) + backend.like(eps, g)), m, s

        d, m, s = tree_unzip(tree_map(one, grads, state.m, state.s), grads, 3)
        return d, AdaBeliefState(t, m, s)

    return Transform(init, update)


@remembers_arguments
def adabelief(
    lr: LearningRate = 1e-3,
    betas: Betas = (0.9, 0.999),
    eps: Hyper = 1e-16,
    weight_decay: Hyper = 0.0,
    *,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> Transform:
    """AdaBelief with ``torch.optim.Adam``'s conventions: L2 unless ``decoupled_weight_decay``.

    ``adabelief-pytorch`` 0.2 defaults to decoupled decay and to RAdam's rectification
    (``rectify=True``); here, as in the paper's Algorithm 2, neither is on by default, and the
    rectification is not offered (see :mod:`.radam` for the idea).
    """
    return _adaptive(scale_by_belief(betas, eps), lr, weight_decay, decoupled_weight_decay, maximize)
