r"""Lion (after Adam): the *sign* of an interpolated momentum, a step of the same size everywhere.

Chen et al. (NeurIPS 2023), "Symbolic discovery of optimization algorithms", Algorithm 2 (found
by a program search). Lion keeps one buffer, the momentum :math:`m` (Adam keeps two), and every
coordinate moves by exactly :math:`\pm\eta` (or 0): the update has the largest possible norm for
its size, so the paper suggests a learning rate 3-10x smaller than AdamW's and a weight decay
3-10x larger. There is no torch.optim class; the test checks it against the paper's pseudo-code.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import backend
from ..tree import tree_map, tree_unzip
from .aliases import Betas, Hyper, LearningRate, _build, _check_lr, _l2, _maybe
from .core import Transform, betas_pair
from .hyperparams import remembers_arguments
from .step_size import negate, scale_by_lr


class LionState(NamedTuple):
    t: int
    m: Any  # the momentum: an EMA of gradients with the slower rate beta2


def scale_by_lion(betas=(0.9, 0.99)) -> Transform:
    r"""Lion's direction (Chen et al. 2023, Algorithm 2):

    .. math::
        c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad d_t = \operatorname{sign}(c_t), \qquad
        m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t

    The step mixes the momentum with the new gradient at rate :math:`\beta_1`; the momentum that
    is *kept* forgets at the slower rate :math:`\beta_2`. :math:`\operatorname{sign}(0) = 0`.
    """
    beta1, beta2 = betas_pair(betas)

    def init(params):
        return LionState(t=0, m=tree_map(backend.zeros_like, params))

    def update(grads, state, params=None):
        def one(g, m):
            b1, b2 = backend.like(beta1, g), backend.like(beta2, g)
            c = b1 * m + (1 - b1) * g
            return backend.sign(c), b2 * m + (1 - b2) * g

        d, m = tree_unzip(tree_map(one, grads, state.m), grads)
        return d, LionState(state.t + 1, m)

    return Transform(init, update)


@remembers_arguments
def lion(
    lr: LearningRate = 1e-4,
    betas: Betas = (0.9, 0.99),
    weight_decay: Hyper = 0.0,
    *,
    maximize: bool = False,
) -> Transform:
    r"""Lion with decoupled weight decay (Algorithm 2).

    .. math:: \theta_t = \theta_{t-1} - \eta\,(\operatorname{sign}(c_t) + \lambda\theta_{t-1})

    Defaults: the paper's ``lr = 1e-4`` and ``betas = (0.9, 0.99)``; ``weight_decay = 0`` (the
    paper tunes it per task; it is always decoupled, as in Algorithm 2).
    """
    lr = _check_lr(lr)
    return _build(
        _maybe(maximize, negate),
        scale_by_lion(betas),
        _l2(weight_decay),  # after the sign, before -lr: decoupled decay (as AdamW)
        scale_by_lr(lr),
    )
