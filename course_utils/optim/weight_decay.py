"""Weight decay, and why its *position in the chain* matters (lecture 10)."""

from __future__ import annotations

from .. import backend
from ..tree import tree_map
from .core import Transform, hyperparameter


def add_decayed_weights(weight_decay) -> Transform:
    r"""Add :math:`\lambda\,\theta` to the incoming updates.

    The same line is two different regularizers depending on where it stands
    (Loshchilov & Hutter 2019):

    * **first** in the chain, it is the gradient of the L2 penalty :math:`\tfrac\lambda2\|\theta\|^2`,
      which Adam then rescales coordinate by coordinate (``torch.optim.Adam(weight_decay=...)``);
    * **after** Adam's scaling and before ``scale_by_lr``, it is decoupled weight decay,
      :math:`\theta \leftarrow \theta - \eta(\text{adam}_t + \lambda\theta)`, applied at the same
      rate to every coordinate (``torch.optim.AdamW``).
    """
    weight_decay = hyperparameter(weight_decay, "weight_decay")

    def init(params):
        return ()

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("add_decayed_weights needs the current params: call update(grads, state, params)")
        return tree_map(lambda g, p: g + backend.like(weight_decay, p) * p, grads, params), state

    return Transform(init, update)
