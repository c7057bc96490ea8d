"""Hyperparameters as state: read them, change them between steps, schedule them, save them.

A factory such as :func:`~course_utils.optim.adam` fixes its hyperparameters when it builds the
transform: ``lr`` is baked into closures and nowhere to be seen in the state. The wrapper here,
in the spirit of optax's ``inject_hyperparams``, keeps every *numeric* argument of a factory in
the state instead, and rebuilds the transform from those values at every update::

    opt = inject_hyperparams(optim.adam)(lr=1e-3, betas=(0.9, 0.999))
    state = opt.init(params)
    state.hyperparams["lr"]                        # read: 0.001
    state = set_hyperparams(state, lr=3e-4)        # change between two steps
    updates, state = opt.update(grads, state, params)

An argument given as a function of the step number ``t = 1, 2, ...`` (a schedule from
:mod:`.schedules`) is evaluated at every update; ``state.hyperparams`` then shows the value used
at the last update. Flags (``amsgrad``, ``nesterov``, ``maximize``, ...) choose the algorithm and
stay fixed. The state holds only numbers, arrays and NamedTuples, so it can be pickled.

Every factory of :mod:`.aliases` also *remembers* its arguments (``transform.recipe``): that is
how :class:`~course_utils.optim.TorchOptimizer` finds ``lr``, ``betas`` ... for its
``param_groups``.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from .core import ChainState, Transform


class Recipe(NamedTuple):
    """How a transform was made: ``factory(**arguments)`` builds it again."""

    factory: Callable[..., Transform]
    arguments: dict  # every argument of the call, defaults included


def remembers_arguments(factory):
    """Decorator: the transform ``factory`` returns carries ``recipe = Recipe(factory, arguments)``."""
    signature = inspect.signature(factory)

    @functools.wraps(factory)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return factory(*args, **kwargs)._replace(recipe=Recipe(wrapper, dict(bound.arguments)))

    return wrapper


class HyperparamsState(NamedTuple):
    t: int  # updates made so far
    hyperparams: dict  # the numeric arguments: those of the last update (before any, of the first)
    inner_state: Any  # the state of the transform the factory builds from them


def is_numeric(value) -> bool:
    """A value that can live in the state: a number, an array, a schedule or a tuple of those."""
    if isinstance(value, (bool, str, type(None))):
        return False
    if isinstance(value, numbers.Real) or backend.is_array(value) or callable(value):
        return True
    return isinstance(value, (tuple, list)) and len(value) > 0 and all(is_numeric(v) for v in value)


def _is_schedule(value) -> bool:
    return callable(value) and not backend.is_array(value)


def _has_schedule(value) -> bool:
    if isinstance(value, (tuple, list)):
        return any(_has_schedule(v) for v in value)
    return _is_schedule(value)


def _evaluate(value, t):
    """The value of a (possibly scheduled) hyperparameter at step ``t``."""
    if isinstance(value, (tuple, list)):
        return type(value)(_evaluate(v, t) for v in value)
    return value(t) if _is_schedule(value) else value


def _zero_pattern(value):
    """Which parts of a value are exactly zero: a factory may leave a block out for those."""
    if isinstance(value, (tuple, list)):
        return tuple(_zero_pattern(v) for v in value)
    if backend.is_array(value):
        return value.ndim == 0 and float(value) == 0.0
    return isinstance(value, numbers.Real) and value == 0


def _skeleton(state):
    """The shape of a transform's state: the types of its blocks (arrays are not looked at)."""
    if isinstance(state, ChainState):
        return tuple(_skeleton(s) for s in state)
    return type(state)


def _transfer(old, template):
    """Keep the old state of every block that is still there; new blocks start from ``template``."""
    if isinstance(old, ChainState) and isinstance(template, ChainState):
        unused = list(old)
        new = []
        for fresh in template:
            match = next((i for i, s in enumerate(unused) if _skeleton(s) == _skeleton(fresh)), None)
            new.append(fresh if match is None else unused.pop(match))
        return ChainState(new)
    return old if _skeleton(old) == _skeleton(template) else template


def inject_hyperparams(factory: Callable[..., Transform], *, static_args=()) -> Callable[..., Transform]:
    """Turn ``factory`` into one whose transforms keep their numeric arguments in the state.

    ``inject_hyperparams(optim.sgd)(lr=0.1, momentum=0.9)`` updates exactly like
    ``optim.sgd(lr=0.1, momentum=0.9)``; the difference is that its state is a
    :class:`HyperparamsState` whose ``hyperparams`` dict you may read and replace between steps
    (:func:`set_hyperparams`). Arguments named in ``static_args``, and all flags and strings,
    stay fixed. Works with every factory of :mod:`course_utils.optim` and any function with
    keyword arguments that returns a :class:`Transform`.

    When a new value makes the factory add or drop a block (``optim.sgd`` leaves momentum out
    when ``momentum == 0``), the blocks that remain keep their state and a new block starts
    fresh, as a torch optimizer whose ``momentum`` becomes nonzero starts its buffer.
    """
    if isinstance(factory, Transform):
        raise TypeError(
            "inject_hyperparams takes a factory such as optim.adam, not a transform such as optim.adam(): "
            "write inject_hyperparams(optim.adam)(lr=1e-3)"
        )
    if not callable(factory):
        raise TypeError(f"inject_hyperparams takes a factory function, got {type(factory).__name__}")
    signature = inspect.signature(factory)
    static_args = tuple(static_args)
    unknown = [name for name in static_args if name not in signature.parameters]
    if unknown:
        raise ValueError(f"static_args {unknown} are not arguments of {factory.__name__}")

    @functools.wraps(factory)
    def injected(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        numeric = [k for k, v in arguments.items() if k not in static_args and is_numeric(v)]
        fixed = {k: v for k, v in arguments.items() if k not in numeric}
        scheduled = {k: arguments[k] for k in numeric if _has_schedule(arguments[k])}
        first = {k: _evaluate(arguments[k], 1) for k in numeric}
        skeletons = {}  # zero pattern -> skeleton of the state the factory builds for it

        def build(hyperparams):
            if set(hyperparams) != set(numeric):
                extra = sorted(set(hyperparams) - set(numeric))
                missing = sorted(set(numeric) - set(hyperparams))
                raise ValueError(
                    f"the hyperparameters of this {factory.__name__} are {numeric}; "
                    f"got unknown {extra} and missing {missing}"
                )
            return factory(**fixed, **hyperparams)

        build(first)  # bad values fail now, not at the first update

        def init(params):
            return HyperparamsState(0, dict(first), build(first).init(params))

        def prepare(state, params):
            t = state.t + 1
            hyperparams = {**state.hyperparams, **{k: _evaluate(s, t) for k, s in scheduled.items()}}
            inner = build(hyperparams)
            key = repr(tuple(_zero_pattern(hyperparams[k]) for k in numeric))
            if key not in skeletons:
                skeletons[key] = _skeleton(inner.init(np.zeros(0)))
            inner_state = state.inner_state
            if _skeleton(inner_state) != skeletons[key]:  # a block appeared or disappeared
                if params is None:
                    raise ValueError(f"{factory.__name__}: a changed hyperparameter adds a block; pass params")
                inner_state = _transfer(inner_state, inner.init(params))
            return t, hyperparams, inner, inner_state

        def update(grads, state, params=None):
            t, hyperparams, inner, inner_state = prepare(state, params)
            updates, inner_state = inner.update(grads, inner_state, params)
            return updates, HyperparamsState(t, hyperparams, inner_state)

        def fused(grads, state, params):
            t, hyperparams, inner, inner_state = prepare(state, params)
            result = None if inner.fused is None else inner.fused(grads, inner_state, params)
            if result is None:
                return None
            params, inner_state = result
            return params, HyperparamsState(t, hyperparams, inner_state)

        return Transform(init, update, fused, recipe=Recipe(injected, arguments))

    return injected


def set_hyperparams(state: HyperparamsState, **values) -> HyperparamsState:
    """A copy of ``state`` whose next update uses ``values`` (e.g. ``set_hyperparams(state, lr=0.01)``)."""
    if not isinstance(state, HyperparamsState):
        raise TypeError(
            f"set_hyperparams needs the state of an inject_hyperparams transform, got {type(state).__name__}"
        )
    unknown = sorted(set(values) - set(state.hyperparams))
    if unknown:
        raise ValueError(f"unknown hyperparameters {unknown}; this state has {sorted(state.hyperparams)}")
    return state._replace(hyperparams={**state.hyperparams, **values})
