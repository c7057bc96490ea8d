"""The last link of every chain: turn a direction into a step, ``updates = -lr * direction``."""

from __future__ import annotations

from typing import NamedTuple

from .. import backend
from ..tree import tree_map
from .core import Transform, hyperparameter


class CountState(NamedTuple):
    t: int  # number of updates made so far


def scale_by_lr(lr) -> Transform:
    r"""Multiply by :math:`-\eta_t`: gradient *descent* steps against the gradient.

    ``lr`` is a number, an array (one learning rate per configuration of a batched run) or a
    schedule, i.e. a function of the step number ``t = 1, 2, ...`` (see
    :mod:`course_utils.optim.schedules`).
    """
    lr = hyperparameter(lr, "lr", schedule=True)

    def init(params):
        return CountState(t=0)

    def update(grads, state, params=None):
        t = state.t + 1
        lr_t = lr(t) if callable(lr) else lr
        return tree_map(lambda g: -backend.like(lr_t, g) * g, grads), CountState(t)

    return Transform(init, update)


def negate() -> Transform:
    """``maximize=True`` in torch.optim: climb the objective by flipping the gradient's sign."""

    def init(params):
        return ()

    def update(grads, state, params=None):
        return tree_map(lambda g: -g, grads), state

    return Transform(init, update)
