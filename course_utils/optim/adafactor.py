r"""Adafactor (after Adam): keep only row and column averages of :math:`g^2`, not the whole matrix.

Shazeer & Stern (ICML 2018), "Adafactor: Adaptive learning rates with sublinear memory cost".
Adam stores :math:`v_t`, one number per parameter. For an :math:`n \times m` weight matrix,
Adafactor stores the row means :math:`R_t` (n numbers) and column means :math:`C_t` (m numbers)
of :math:`g^2` and rebuilds a rank-1 estimate :math:`\hat V_t = R_t C_t / \operatorname{mean}(R_t)`:
:math:`n + m` numbers instead of :math:`nm`. The other ideas of the paper each get a block of
their own here: a second-moment decay that grows with t, :math:`1-\beta_{2,t} = t^{c}`,
update clipping, and a relative step size proportional to the parameter's own scale. No first
moment (the paper's :math:`\beta_1 = 0`), as in torch.

Everything follows ``torch.optim.Adafactor`` of torch 2.13 (``torch/optim/_adafactor.py``),
which is tested for parity.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..tree import tree_leaves, tree_map, tree_unzip
from .aliases import LearningRate, _build, _maybe
from .core import Transform, hyperparameter
from .ema import ema
from .hyperparams import remembers_arguments
from .step_size import CountState, negate


def _number(value, name, *, schedule=False):
    """Adafactor's scales are RMS over a whole parameter, so a batched run (one configuration per
    row) would mix its configurations: only numbers (and, for ``lr``, schedules) are accepted."""
    value = hyperparameter(value, name, low=-math.inf, schedule=schedule)
    if isinstance(value, np.ndarray):
        raise TypeError(f"adafactor's {name} must be a number (a batched run's RMS would mix its rows), got an array")
    return value


def eps_pair(eps):
    """Validate ``eps = (eps1, eps2)``: eps1 None (the dtype's machine epsilon) or >= 0, eps2 >= 0."""
    if not isinstance(eps, (tuple, list)) or len(eps) != 2:
        raise ValueError(f"eps must be a pair (eps1, eps2), e.g. (None, 1e-3), got {eps!r}")
    eps1 = None if eps[0] is None else _number(eps[0], "eps[0] (eps1)")
    eps2 = _number(eps[1], "eps[1] (eps2)")
    for value, name in ((eps1, "eps[0] (eps1)"), (eps2, "eps[1] (eps2)")):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0, got {value:g}")
    return eps1, eps2


class FactoredState(NamedTuple):
    t: int
    row_var: Any  # leaves of 2 or more dimensions: EMA of the row means of g^2, shape (..., n, 1); else None
    col_var: Any  # ... and of the column means, shape (..., 1, m); else None
    variance: Any  # leaves of 0 or 1 dimension: the EMA of g^2 itself, as in Adam; else None


def is_factored(p) -> bool:
    """Matrices (and stacks of them) are factored over their last two dimensions; vectors are not."""
    return p.ndim >= 2


def state_size(shape) -> int:
    """How many numbers the second-moment state of a parameter of ``shape`` holds."""
    shape = tuple(shape)
    if len(shape) < 2:
        return math.prod(shape)
    return math.prod(shape[:-2]) * (shape[-2] + shape[-1])


def state_bytes_per_parameter(params, itemsize=4) -> float:
    r"""Bytes of second-moment state per parameter for a tree of parameters (or a list of shapes).

    Adam keeps ``2 * itemsize`` (m and v); Adafactor ``itemsize * (n + m) / (n m)`` for an
    :math:`n \times m` matrix and ``itemsize`` for a vector. The step counter is not counted.
    """
    shapes = [tuple(p.shape) if backend.is_array(p) else tuple(p) for p in _shape_leaves(params)]
    total = sum(math.prod(s) for s in shapes)
    if total == 0:
        raise ValueError("state_bytes_per_parameter needs at least one parameter with entries")
    return itemsize * sum(state_size(s) for s in shapes) / total


def _shape_leaves(params):
    if isinstance(params, (list, tuple)) and params and all(isinstance(d, numbers.Integral) for d in params):
        return [params]  # one shape
    if isinstance(params, (list, tuple)) and all(
        isinstance(s, (list, tuple)) and all(isinstance(d, numbers.Integral) for d in s) for s in params
    ):
        return list(params)  # a list of shapes
    return tree_leaves(params)


def scale_by_factored_rms(beta2_decay=-0.8, eps1=None) -> Transform:
    r"""Divide by the root of Adafactor's factored second moment (Shazeer & Stern, for matrices and vectors).

    With :math:`1-\beta_{2,t} = t^{c}`, :math:`c` = ``beta2_decay`` (:math:`t^{-0.8}`: 1 at the
    first step, so no bias correction is needed), for a matrix (the last two dimensions)

    .. math::
        R_t = \beta_{2,t} R_{t-1} + (1-\beta_{2,t})\,\operatorname{mean}_{\text{cols}}(g_t^2), \quad
        C_t = \beta_{2,t} C_{t-1} + (1-\beta_{2,t})\,\operatorname{mean}_{\text{rows}}(g_t^2), \quad
        \hat V_t = \frac{R_t C_t}{\max(\operatorname{mean}(R_t), \epsilon_1)}

    and :math:`\hat V_t = \beta_{2,t}\hat V_{t-1} + (1-\beta_{2,t}) g_t^2` for a vector; then
    :math:`u_t = g_t / \sqrt{\max(\hat V_t, \epsilon_1^2)}`. ``eps1=None`` is the machine epsilon
    of each parameter's dtype (torch's default). The paper uses row *sums* and
    :math:`R_t C_t / \mathbf 1^\top R_t`; with means the result is the same.
    """
    beta2_decay = _number(beta2_decay, "beta2_decay")
    if beta2_decay > 0:
        raise ValueError(f"beta2_decay must be <= 0 (1 - beta2_t = t**beta2_decay must not grow), got {beta2_decay:g}")
    if eps1 is not None:
        eps1 = _number(eps1, "eps1")
        if eps1 < 0:
            raise ValueError(f"eps1 must be >= 0, got {eps1:g}")

    def init(params):
        def rows(p):  # p[..., :1] keeps every dimension but the last, as a 1: shape (..., n, 1)
            return backend.zeros_like(p[..., :1]) if is_factored(p) else None

        def cols(p):  # shape (..., 1, m)
            return backend.zeros_like(p[..., :1, :]) if is_factored(p) else None

        def full(p):
            return None if is_factored(p) else backend.zeros_like(p)

        return FactoredState(0, tree_map(rows, params), tree_map(cols, params), tree_map(full, params))

    def update(grads, state, params=None):
        t = state.t + 1
        beta2_t = 1.0 - t**beta2_decay

        def one(g, row, col, var):
            eps = backend.machine_eps(g) if eps1 is None else eps1
            g2 = g * g
            if row is not None:
                row = ema(row, backend.mean(g2, axis=-1, keepdims=True), beta2_t)
                col = ema(col, backend.mean(g2, axis=-2, keepdims=True), beta2_t)
                v_hat = row * col / backend.clamp_min(backend.mean(row, axis=-2, keepdims=True), eps)
            else:
                var = ema(var, g2, beta2_t)
                v_hat = var
            return g / backend.sqrt(backend.clamp_min(v_hat, eps * eps)), row, col, var

        u, row, col, var = tree_unzip(tree_map(one, grads, state.row_var, state.col_var, state.variance), grads, 4)
        return u, FactoredState(t, row, col, var)

    return Transform(init, update)


def clip_by_block_rms(d=1.0) -> Transform:
    r"""Update clipping (Shazeer & Stern): :math:`u \leftarrow u / \max(1, \mathrm{RMS}(u)/d)`.

    Each parameter's update is shrunk when its root mean square exceeds ``d``; it stops the rare
    huge steps that a stale second moment would allow (torch's default ``d = 1``).
    """
    d = _number(d, "d")
    if d < 1:
        raise ValueError(f"d (the clipping threshold) must be >= 1, got {d:g}")

    def init(params):
        return ()

    def update(grads, state, params=None):
        return tree_map(lambda u: u / max(1.0, backend.rms(u) / d), grads), state

    return Transform(init, update)


def scale_by_param_scale(eps2=1e-3) -> Transform:
    r"""Relative step size (Shazeer & Stern): scale by :math:`\max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))`.

    A parameter's step is proportional to its own size, so weights of different scales move by
    the same *relative* amount; ``eps2`` lets parameters that start at zero move at all.
    """
    eps2 = _number(eps2, "eps2")
    if eps2 < 0:
        raise ValueError(f"eps2 must be >= 0, got {eps2:g}")

    def init(params):
        return ()

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("scale_by_param_scale needs the current params: call update(grads, state, params)")
        return tree_map(lambda u, p: u * max(eps2, backend.rms(p)), grads, params), state

    return Transform(init, update)


def scale_by_relative_lr(lr=1e-2) -> Transform:
    r"""Multiply by :math:`-\rho_t`, :math:`\rho_t = \min(\eta_t, 1/\sqrt t)` (torch's Adafactor step size).

    The paper's proposed hyperparameters use :math:`\rho_t = \min(10^{-2}, 1/\sqrt t)`; torch makes the
    :math:`10^{-2}` the ``lr``. ``lr`` may be a schedule of ``t`` (1 for the first update).
    """
    lr = hyperparameter(lr, "lr", schedule=True)

    def init(params):
        return CountState(t=0)

    def update(grads, state, params=None):
        t = state.t + 1
        rho = min(lr(t) if callable(lr) else lr, t**-0.5)
        return tree_map(lambda u: -rho * u, grads), CountState(t)

    return Transform(init, update)


def decay_weights_by_lr(lr, weight_decay) -> Transform:
    r"""Subtract :math:`\eta_t\lambda\,\theta_{t-1}` from the (already scaled) updates.

    Decoupled weight decay as torch's Adafactor applies it: at the rate ``lr * weight_decay``
    (the plain ``lr``, not the relative step :math:`\rho_t`), on the parameters before the step.
    """
    lr = hyperparameter(lr, "lr", schedule=True)
    weight_decay = _number(weight_decay, "weight_decay")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay:g}")

    def init(params):
        return CountState(t=0)

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("decay_weights_by_lr needs the current params: call update(grads, state, params)")
        t = state.t + 1
        rate = (lr(t) if callable(lr) else lr) * weight_decay
        return tree_map(lambda u, p: u - rate * p, grads, params), CountState(t)

    return Transform(init, update)


@remembers_arguments
def adafactor(
    lr: LearningRate = 1e-2,
    beta2_decay: float = -0.8,
    eps: tuple = (None, 1e-3),
    d: float = 1.0,
    weight_decay: float = 0.0,
    *,
    maximize: bool = False,
) -> Transform:
    r"""``torch.optim.Adafactor`` (torch 2.13): factored second moment, clipping, relative step.

    .. math::
        \theta_t = \theta_{t-1}(1 - \eta\lambda)
                   - \min(\eta, \tfrac{1}{\sqrt t})\,\max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\,
                   \frac{u_t}{\max(1, \mathrm{RMS}(u_t)/d)}

    with :math:`u_t` from :func:`scale_by_factored_rms`. Read as a chain: flip the sign if
    maximizing, divide by the factored RMS, clip, scale by the parameter's RMS, multiply by
    :math:`-\rho_t`, decay the weights. The step is always relative (torch has no switch for an
    absolute one; ``scale_by_param_scale`` is the block to leave out for that).
    """
    eps1, eps2 = eps_pair(eps)
    lr = _number(lr, "lr", schedule=True)
    if not callable(lr) and lr < 0:
        raise ValueError(f"lr must be >= 0, got {lr:g}")
    decay = decay_weights_by_lr(lr, weight_decay)  # validates weight_decay
    return _build(
        _maybe(maximize, negate),
        scale_by_factored_rms(beta2_decay, eps1),
        clip_by_block_rms(d),
        scale_by_param_scale(eps2),
        scale_by_relative_lr(lr),
        None if float(weight_decay) == 0.0 else decay,
    )
