r"""Schedule-Free AdamW (after Adam): no learning-rate schedule, an average of the iterates instead.

Defazio et al. (NeurIPS 2024), "The road less scheduled", Algorithm 1. Three sequences share the
work: :math:`z` takes plain AdamW steps, :math:`x` is a running (weighted) average of the
:math:`z`'s, and the gradient is taken at :math:`y`, an interpolation of the two (the momentum).
Averaging plays the part of the decaying schedule, so training needs no stopping time fixed in
advance. **Evaluate at x** (:func:`eval_params`), not at the parameters that training sees (y).
In :class:`~course_utils.optim.TorchOptimizer` the average is ``optimizer.state[p]["x"]``: copy
it into the model (keeping y, ``p``, to copy back) before evaluating, as the official
optimizer's ``eval()`` and ``train()`` do.

The authors' package ``schedulefree`` (``AdamWScheduleFree``) is the official reference; it is
not installed here, so the tests check this module against Algorithm 1 written out in NumPy. The
defaults and the averaging weights follow the authors' simplified reference implementation
(``schedulefree/adamw_schedulefree_reference.py`` in facebookresearch/schedule_free).
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..tree import tree_map, tree_unzip
from .aliases import Betas, Hyper, _build, _maybe
from .core import ChainState, Transform, betas_pair, hyperparameter, power
from .hyperparams import HyperparamsState, remembers_arguments
from .step_size import negate


class ScheduleFreeState(NamedTuple):
    t: int
    z: Any  # the AdamW sequence (its steps are the ones the gradient drives)
    x: Any  # the weighted average of the z's: where to evaluate the model
    v: Any  # EMA of squared gradients (Adam's second moment; no first moment: y is the momentum)
    lr_max: Any  # the largest step size gamma_t so far
    weight_sum: Any  # sum of the averaging weights so far


def scale_by_schedule_free_adamw(
    lr=2.5e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0, weight_lr_power=2.0
) -> Transform:
    r"""Schedule-Free AdamW's step (Defazio et al. 2024, Algorithm 1); it includes the learning rate.

    With :math:`y_t` the current parameters (where the gradient :math:`g_t` was taken):

    .. math::
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \qquad
        \gamma_t = \eta\, \sqrt{1-\beta_2^t}\, \min(1, t / T_{\text{warmup}})

        z_{t+1} = z_t - \gamma_t \frac{g_t}{\sqrt{v_t} + \epsilon} - \gamma_t \lambda\, y_t, \qquad
        c_{t+1} = \frac{w_t}{\sum_{i \le t} w_i}, \qquad x_{t+1} = (1-c_{t+1})\,x_t + c_{t+1} z_{t+1}

        y_{t+1} = (1-\beta_1)\, z_{t+1} + \beta_1 x_{t+1}

    and the update is :math:`y_{t+1} - y_t`. The weights are :math:`w_t = t^r\,
    (\max_{i\le t}\gamma_i)^{p}` (``r``, ``weight_lr_power`` = p): with the defaults r = 0,
    p = 2 and a learning rate that only warms up, :math:`w_t = \gamma_t^2`, the paper's choice.
    :math:`z_1 = x_1 = y_1` are the initial parameters.
    """
    beta1, beta2 = betas_pair(betas)
    lr = hyperparameter(lr, "lr")
    eps = hyperparameter(eps, "eps")
    weight_decay = hyperparameter(weight_decay, "weight_decay")
    r = hyperparameter(r, "r")
    weight_lr_power = hyperparameter(weight_lr_power, "weight_lr_power")
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Integral) or warmup_steps < 0:
        raise ValueError(f"warmup_steps must be a whole number of steps >= 0, got {warmup_steps!r}")

    def init(params):
        return ScheduleFreeState(
            t=0,
            z=tree_map(backend.copy, params),
            x=tree_map(backend.copy, params),
            v=tree_map(backend.zeros_like, params),
            lr_max=0.0,
            weight_sum=0.0,
        )

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("schedule-free AdamW needs the current params (y_t): call update(grads, state, params)")
        t = state.t + 1
        warmup = min(1.0, t / warmup_steps) if warmup_steps else 1.0
        gamma = lr * warmup * np.sqrt(1.0 - power(beta2, t))
        lr_max = np.maximum(state.lr_max, gamma)
        weight = t**r * lr_max**weight_lr_power
        weight_sum = state.weight_sum + weight
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(weight_sum > 0, weight / np.where(weight_sum > 0, weight_sum, 1.0), 0.0)
        gamma, lr_max, weight_sum, c = (_plain(a) for a in (gamma, lr_max, weight_sum, c))

        def one(g, y, z, x, v):
            like = lambda h: backend.like(h, g)  # noqa: E731
            v = like(beta2) * v + (1 - like(beta2)) * g * g
            z = z - like(gamma) * g / (backend.sqrt(v) + like(eps)) - like(gamma * weight_decay) * y
            x = (1 - like(c)) * x + like(c) * z
            y_next = (1 - like(beta1)) * z + like(beta1) * x
            return y_next - y, z, x, v

        updates, z, x, v = tree_unzip(tree_map(one, grads, params, state.z, state.x, state.v), grads, 4)
        return updates, ScheduleFreeState(t, z, x, v, lr_max, weight_sum)

    return Transform(init, update)


def _plain(a):
    """A 0-d result as a Python float (keeps float32 arrays float32); an array stays an array."""
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


def eval_params(state):
    """The point to evaluate (validation loss, test accuracy, checkpoints): the average x.

    Takes the state of :func:`schedule_free_adamw` (also inside a chain or ``inject_hyperparams``).
    """
    found = _find(state)
    if found is None:
        raise TypeError(f"eval_params needs the state of a schedule-free optimizer, got {type(state).__name__}")
    return tree_map(backend.copy, found.x)


def _find(state):
    if isinstance(state, ScheduleFreeState):
        return state
    if isinstance(state, HyperparamsState):
        return _find(state.inner_state)
    if isinstance(state, ChainState):
        return next((s for s in map(_find, state) if s is not None), None)
    return None


@remembers_arguments
def schedule_free_adamw(
    lr: Hyper = 2.5e-3,
    betas: Betas = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    warmup_steps: int = 0,
    r: Hyper = 0.0,
    weight_lr_power: Hyper = 2.0,
    *,
    maximize: bool = False,
) -> Transform:
    """Schedule-Free AdamW (Defazio et al. 2024) with the keyword names of ``schedulefree.AdamWScheduleFree``.

    ``lr`` is a number: a schedule would defeat the purpose (``warmup_steps`` is the one warmup).
    Train at the parameters it returns (y); evaluate at :func:`eval_params` (x).
    """
    return _build(
        _maybe(maximize, negate),
        scale_by_schedule_free_adamw(lr, betas, eps, weight_decay, warmup_steps, r, weight_lr_power),
    )
