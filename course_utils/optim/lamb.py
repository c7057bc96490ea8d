r"""LAMB (after Adam): Adam's step rescaled per layer, to a fixed fraction of the layer's weights.

You et al. (ICLR 2020), "Large batch optimization for deep learning: Training BERT in 76 minutes",
Algorithm 2. With very large batches the learning rate must grow, and one global rate is then too
large for some layers and too small for others. LAMB takes Adam's step (with decoupled decay)
and, layer by layer (here: parameter tensor by parameter tensor), rescales it so that its norm is
``lr`` times the norm of the layer's weights: the *trust ratio* :math:`\|x\| / \|r\|`. LARS
(You et al. 2017) is the same idea applied to SGD with momentum. No torch.optim class; the tests
check it against Algorithm 2 written out in NumPy.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tree import tree_map
from .adam import scale_by_adam
from .aliases import Betas, Hyper, LearningRate, _build, _check_lr, _l2, _maybe
from .core import Transform, betas_pair, hyperparameter
from .hyperparams import remembers_arguments
from .step_size import negate, scale_by_lr


def _norm(x) -> float:
    return float(backend.to_numpy(backend.sqrt((x * x).sum())))


def scale_by_trust_ratio() -> Transform:
    r"""Rescale each parameter's update :math:`u` to the norm of the parameter (LAMB's layer-wise step):

    .. math:: u \leftarrow \frac{\phi(\|x\|)}{\|u\|}\, u, \qquad \phi(z) = z

    The ratio is 1 where either norm is 0 (a layer that starts at zero still moves, and a zero
    update stays zero). The paper allows a clipped :math:`\phi`; the identity is what it uses.
    """

    def init(params):
        return ()

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("scale_by_trust_ratio needs the current params: call update(grads, state, params)")

        def one(u, p):
            weight_norm, update_norm = _norm(p), _norm(u)
            ratio = weight_norm / update_norm if weight_norm > 0 and update_norm > 0 else 1.0
            return u * ratio

        return tree_map(one, grads, params), state

    return Transform(init, update)


@remembers_arguments
def lamb(
    lr: LearningRate = 1e-3,
    betas: Betas = (0.9, 0.999),
    eps: Hyper = 1e-6,
    weight_decay: Hyper = 0.0,
    *,
    maximize: bool = False,
) -> Transform:
    r"""LAMB (You et al. 2020, Algorithm 2): Adam's ratio plus decay, rescaled by the trust ratio.

    .. math::
        r_t = \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}, \qquad
        x_{t+1} = x_t - \eta\, \frac{\|x_t\|}{\|r_t + \lambda x_t\|}\,(r_t + \lambda x_t)

    per parameter tensor. Read as a chain: Adam's moments, add the decayed weights, rescale by
    the trust ratio, multiply by :math:`-\eta`. ``eps = 1e-6`` is the paper's. The trust ratio is
    a norm over each whole parameter, so hyperparameters must be numbers (no batched arrays).
    """
    lr = _check_lr(lr)
    beta1, beta2 = betas_pair(betas)
    numbers = {"lr": lr, "betas[0] (beta1)": beta1, "betas[1] (beta2)": beta2, "eps": hyperparameter(eps, "eps"),
               "weight_decay": hyperparameter(weight_decay, "weight_decay")}  # fmt: skip
    for name, value in numbers.items():
        if isinstance(value, np.ndarray):
            raise TypeError(f"lamb's {name} must be a number (a batched run's norms would mix its rows), got an array")
    return _build(
        _maybe(maximize, negate),
        scale_by_adam(betas, eps),
        _l2(weight_decay),
        scale_by_trust_ratio(),
        scale_by_lr(lr),
    )
