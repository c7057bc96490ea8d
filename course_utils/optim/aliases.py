"""The optimizers of ``torch.optim``, each written as the chain of ideas it is made of.

Same keyword names, defaults and update rules as ``torch.optim`` 2.13 (tested for parity).
Read each factory as a sentence: "flip the sign if maximizing, add the L2 gradient, scale by
Adam's moments, multiply by -lr". Each transform remembers the arguments it was made with
(``transform.recipe``), so :class:`~course_utils.optim.TorchOptimizer` can show them as
``param_groups`` and :func:`~course_utils.optim.inject_hyperparams` can rebuild it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .adam import scale_by_adam, scale_by_adamax, scale_by_nadam
from .adaptive import scale_by_adagrad, scale_by_rms
from .core import Transform, betas_pair, chain, hyperparameter, is_zero
from .fused import fused_adam
from .hyperparams import remembers_arguments
from .momentum import trace
from .schedules import inverse_time
from .step_size import negate, scale_by_lr
from .weight_decay import add_decayed_weights

# A hyperparameter is a number, or an array of numbers that runs one configuration per entry (it
# broadcasts against the parameters); a learning rate may also be a schedule, step -> lr.
Hyper = float | np.ndarray
LearningRate = float | np.ndarray | Callable[[int], float]
Betas = tuple[Hyper, Hyper]


def _build(*blocks) -> Transform:
    return chain(*(b for b in blocks if b is not None))


def _maybe(flag, block_factory):
    return block_factory() if flag else None


def _l2(weight_decay):
    """The L2 block, left out when the coefficient is exactly zero."""
    weight_decay = hyperparameter(weight_decay, "weight_decay")
    return None if is_zero(weight_decay) else add_decayed_weights(weight_decay)


def _check_lr(lr):
    return hyperparameter(lr, "lr", schedule=True)


def _adaptive(direction, lr, weight_decay, decoupled_weight_decay, maximize):
    """torch.optim's assembly around an adaptive ``direction``: maximize, then weight decay either as an
    L2 gradient term before the direction or decoupled after it (AdamW-style), then the learning rate."""
    lr = _check_lr(lr)
    decay = _l2(weight_decay)
    return _build(
        _maybe(maximize, negate),
        None if decoupled_weight_decay else decay,
        direction,
        decay if decoupled_weight_decay else None,
        scale_by_lr(lr),
    )


@remembers_arguments
def sgd(
    lr: LearningRate = 1e-3,
    momentum: Hyper = 0.0,
    dampening: Hyper = 0.0,
    weight_decay: Hyper = 0.0,
    nesterov: bool = False,
    *,
    maximize: bool = False,
) -> Transform:
    """``torch.optim.SGD``: gradient descent, optionally with (Nesterov) momentum and L2."""
    lr = _check_lr(lr)
    momentum = hyperparameter(momentum, "momentum")
    dampening = hyperparameter(dampening, "dampening")
    if nesterov and (is_zero(momentum) or not is_zero(dampening)):
        raise ValueError(
            "nesterov=True requires a positive momentum and zero dampening, "
            f"got momentum={momentum!r}, dampening={dampening!r}"
        )
    return _build(
        _maybe(maximize, negate),
        _l2(weight_decay),
        None if is_zero(momentum) else trace(momentum, dampening, nesterov),
        scale_by_lr(lr),
    )


@remembers_arguments
def adagrad(
    lr: LearningRate = 1e-2,
    lr_decay: Hyper = 0.0,
    weight_decay: Hyper = 0.0,
    initial_accumulator_value: Hyper = 0.0,
    eps: Hyper = 1e-10,
    *,
    maximize: bool = False,
) -> Transform:
    """``torch.optim.Adagrad``; ``lr_decay`` divides the step size by ``1 + (t-1) * lr_decay``."""
    lr = _check_lr(lr)
    lr_decay = hyperparameter(lr_decay, "lr_decay")
    return _build(
        _maybe(maximize, negate),
        _l2(weight_decay),
        scale_by_adagrad(eps, initial_accumulator_value),
        scale_by_lr(lr if is_zero(lr_decay) else inverse_time(lr, lr_decay)),
    )


@remembers_arguments
def rmsprop(
    lr: LearningRate = 1e-2,
    alpha: Hyper = 0.99,
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    momentum: Hyper = 0.0,
    centered: bool = False,
    *,
    maximize: bool = False,
) -> Transform:
    """``torch.optim.RMSprop``: RMS scaling, then (optional) momentum on the scaled step."""
    lr = _check_lr(lr)
    momentum = hyperparameter(momentum, "momentum")
    return _build(
        _maybe(maximize, negate),
        _l2(weight_decay),
        scale_by_rms(alpha, eps, centered),
        None if is_zero(momentum) else trace(momentum),
        scale_by_lr(lr),
    )


@remembers_arguments
def adam(
    lr: LearningRate = 1e-3,
    betas: Betas = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    amsgrad: bool = False,
    *,
    maximize: bool = False,
    decoupled_weight_decay: bool = False,
) -> Transform:
    """``torch.optim.Adam``: ``weight_decay`` is L2 (added to the gradient) unless decoupled."""
    if decoupled_weight_decay:
        return adamw(lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
    lr = _check_lr(lr)
    transform = _build(
        _maybe(maximize, negate),
        _l2(weight_decay),
        scale_by_adam(betas, eps, amsgrad=amsgrad),
        scale_by_lr(lr),
    )
    if maximize or amsgrad or not is_zero(hyperparameter(weight_decay, "weight_decay")):
        return transform
    # plain Adam: big NumPy arrays can take the in-place, cache-blocked path (optim.step)
    return transform._replace(fused=fused_adam(lr, betas_pair(betas), hyperparameter(eps, "eps")))


@remembers_arguments
def adamw(
    lr: LearningRate = 1e-3,
    betas: Betas = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 1e-2,
    amsgrad: bool = False,
    *,
    maximize: bool = False,
) -> Transform:
    """``torch.optim.AdamW`` (Loshchilov & Hutter): the decay joins *after* Adam's scaling."""
    lr = _check_lr(lr)
    return _build(
        _maybe(maximize, negate),
        scale_by_adam(betas, eps, amsgrad=amsgrad),
        _l2(weight_decay),
        scale_by_lr(lr),
    )


@remembers_arguments
def nadam(
    lr: LearningRate = 2e-3,
    betas: Betas = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    momentum_decay: Hyper = 4e-3,
    *,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> Transform:
    """``torch.optim.NAdam`` (Dozat 2016)."""
    return _adaptive(scale_by_nadam(betas, eps, momentum_decay), lr, weight_decay, decoupled_weight_decay, maximize)


@remembers_arguments
def adamax(
    lr: LearningRate = 2e-3,
    betas: Betas = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    *,
    maximize: bool = False,
) -> Transform:
    """``torch.optim.Adamax`` (Kingma & Ba, Section 7.1)."""
    lr = _check_lr(lr)
    return _build(
        _maybe(maximize, negate),
        _l2(weight_decay),
        scale_by_adamax(betas, eps),
        scale_by_lr(lr),
    )
