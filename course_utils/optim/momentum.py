"""Momentum (lecture 4): a leaky sum of past gradients, torch.optim's convention."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..tree import tree_map, tree_unzip
from .core import Transform, hyperparameter


class TraceState(NamedTuple):
    t: int
    b: Any  # the momentum buffer b_t, one array per parameter


def trace(momentum=0.9, dampening=0.0, nesterov=False) -> Transform:
    r"""Heavy-ball momentum as ``torch.optim.SGD`` computes it.

    .. math::
        b_1 = g_1, \qquad b_t = \beta\, b_{t-1} + (1-\tau)\, g_t, \qquad
        d_t = \begin{cases} g_t + \beta b_t & \text{nesterov} \\ b_t & \text{otherwise} \end{cases}

    with :math:`\beta` = ``momentum`` and :math:`\tau` = ``dampening`` (the course's notation,
    ``docs/notation.md``). The learning rate is applied *after* this block
    (``chain(trace(momentum), scale_by_lr(lr))``). Sutskever et al. (2013) put it *inside* the buffer,
    :math:`v \leftarrow \beta v + \eta g` (they write :math:`\mu` for :math:`\beta`): that is
    ``chain(scale_by_lr(lr), trace(momentum))``: the same iterates for a constant ``lr``,
    different ones under a schedule. Torch's Nesterov iterates are Sutskever's look-ahead points.
    """
    momentum = hyperparameter(momentum, "momentum")
    dampening = hyperparameter(dampening, "dampening")
    if not isinstance(momentum, float):
        # in a batched run, a configuration with momentum 0 is plain SGD, as in torch: no dampening
        dampening = np.where(momentum == 0, 0.0, dampening)

    def init(params):
        return TraceState(t=0, b=tree_map(backend.zeros_like, params))

    def update(grads, state, params=None):
        t = state.t + 1

        def one(g, b):
            mu = backend.like(momentum, g)
            if t == 1:
                b = backend.copy(g)  # torch starts the buffer at g_1, undampened
            else:
                b = mu * b + (1 - backend.like(dampening, g)) * g
            return (g + mu * b if nesterov else b), b

        directions, buffers = tree_unzip(tree_map(one, grads, state.b), grads)
        return directions, TraceState(t, buffers)

    return Transform(init, update)
