"""The optimizer algebra: a transform is a pair of pure functions, and optimizers are chains.

A *transform* turns gradients into updates::

    state = t.init(params)
    updates, state = t.update(grads, state, params)
    params = apply_updates(params, updates)

Nothing is hidden or mutated: the state is an immutable ``NamedTuple`` you can print, plot or
save. Small transforms, one per idea of the course, are combined with :func:`chain`; the order
of the chain *is* the algorithm (see :mod:`course_utils.optim.aliases`). The design follows
optax (``optax/_src/base.py``); the keyword names follow ``torch.optim``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..tree import check_like, tree_map


class Transform(NamedTuple):
    """A gradient transformation: ``init(params) -> state`` and ``update(grads, state, params)``.

    ``fused`` is an optional in-place fast path of update + apply, used by
    :func:`course_utils.optim.step` (see :mod:`course_utils.optim.fused`). ``recipe`` records
    the factory and arguments that made the transform, when a factory such as
    :func:`~course_utils.optim.adam` made it (see :mod:`course_utils.optim.hyperparams`).
    """

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple]
    fused: Callable | None = None
    recipe: Any = None


class ChainState(tuple):
    """The states of a chain's transforms, in chain order."""


def chain(*transforms: Transform) -> Transform:
    """Run transforms one after another: the updates of one are the input of the next.

    ``chain(scale_by_adam(), scale_by_lr(1e-3))`` is Adam. Putting
    ``add_decayed_weights(wd)`` first gives Adam with L2; putting it between gives AdamW.
    """
    for i, t in enumerate(transforms):
        if not isinstance(t, Transform):
            raise TypeError(f"chain() argument {i} is {type(t).__name__}, not a Transform")

    def init(params):
        return ChainState(t.init(params) for t in transforms)

    def update(grads, state, params=None):
        if params is not None:
            check_like(grads, params, "grads")
        new_states = []
        for t, s in zip(transforms, state, strict=True):
            grads, s = t.update(grads, s, params)
            new_states.append(s)
        return grads, ChainState(new_states)

    return Transform(init, update)


def apply_updates(params, updates):
    """``params + updates``, leaf by leaf (a new tree; the inputs are not modified)."""
    check_like(updates, params, "updates")
    return tree_map(_add_keeping_dtype, params, updates)


def _add_keeping_dtype(p, u):
    new = p + u
    if new.dtype != p.dtype:  # e.g. float64 gradients for float32 parameters: parameters keep their dtype
        new = new.to(p.dtype) if backend.is_torch(new) else new.astype(p.dtype)
    return new


# --- hyperparameter validation ---------------------------------------------------------------


def hyperparameter(value, name: str, *, low: float = 0.0, high: float | None = None, high_open=True, schedule=False):
    """Validate a hyperparameter and put it in the form the update rules expect.

    A number becomes a Python float; an array (one value per configuration of a batched run)
    becomes a float64 NumPy array, cast to each parameter's dtype when used. ``lr`` may also be
    a schedule: a function of the step number ``t`` (1 for the first update).
    """
    if callable(value) and not backend.is_array(value):
        if not schedule:
            raise TypeError(f"{name} must be a number or an array, got a function")
        return value
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) or backend.is_array(value)):
        raise TypeError(f"{name} must be a number or an array, got {type(value).__name__} {value!r}")
    arr = backend.to_numpy(value).astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bad = arr < low
    bound = f">= {low:g}"
    if high is not None:
        bad |= (arr >= high) if high_open else (arr > high)
        bound = f"in [{low:g}, {high:g}{')' if high_open else ']'}"
    if np.any(bad):
        shown = arr[bad].flat[0]
        raise ValueError(f"{name} must be {bound}, got {shown:g}")
    return float(arr) if arr.ndim == 0 else arr


def betas_pair(betas, name="betas"):
    """Validate ``betas = (beta1, beta2)``, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{name} must be a pair (beta1, beta2), got {betas!r}")
    return (
        hyperparameter(betas[0], f"{name}[0] (beta1)", high=1.0),
        hyperparameter(betas[1], f"{name}[1] (beta2)", high=1.0),
    )


def is_zero(h) -> bool:
    """True when a (validated) hyperparameter is the plain number 0: the block can be left out."""
    return isinstance(h, float) and h == 0.0


def choice(value, name, options):
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def power(beta, t):
    """``beta ** t`` for a scalar or an array of betas (computed in float64)."""
    return beta**t if isinstance(beta, float) else np.power(beta, t)
