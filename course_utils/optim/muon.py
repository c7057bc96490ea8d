r"""Muon (after Adam): momentum, then replace the matrix of the step by its nearest orthogonal matrix.

Jordan et al. (2024), blog post "Muon: An optimizer for hidden layers in neural networks". For a
weight matrix the momentum :math:`M = U S V^\top` is replaced by (roughly) :math:`U V^\top`: every
direction of the step gets the same size, so the rare directions that plain momentum would
barely move along are moved as much as the dominant ones. :math:`U V^\top` is computed without an
SVD, by a few steps of a Newton-Schulz iteration (matrix products only), whose quintic
coefficients :math:`(a, b, c) = (3.4445, -4.7750, 2.0315)` are tuned to push small singular
values up fast rather than to converge exactly: the result has singular values in roughly
[0.5, 1.5] (the blog's observation), not exactly 1.

Muon is for 2-D parameters only (the hidden layers' matrices); biases, gains and embeddings go to
another optimizer (AdamW), as in ``torch.optim.Muon`` (torch 2.13), whose names, defaults and
update this module follows. One difference: torch runs the iteration in bfloat16, this module in
the parameter's own dtype (the tests allow for bfloat16's rounding when comparing with torch).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

from .. import backend
from ..tree import tree_map, tree_unzip
from .aliases import Hyper, LearningRate, _build, _check_lr, _l2
from .core import Transform, choice, hyperparameter
from .hyperparams import remembers_arguments
from .step_size import scale_by_lr

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def _check_matrix(p):
    if p.ndim != 2:
        raise ValueError(
            f"Muon updates 2-D parameters (weight matrices) only, got one of shape {tuple(p.shape)}: give biases, "
            "gains and embeddings to another optimizer (e.g. optim.adamw in a second TorchOptimizer)"
        )


def newton_schulz(G, steps=5, coefficients=NS_COEFFICIENTS, eps=1e-7):
    r"""The Newton-Schulz approximation of :math:`U V^\top` for :math:`G = U S V^\top` (a 2-D array).

    .. math::
        X_0 = G / \max(\|G\|_F, \epsilon), \qquad
        X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \quad A_k = X_k X_k^\top

    Dividing by the Frobenius norm puts every singular value in [0, 1]; each step maps a singular
    value :math:`\sigma` to :math:`a\sigma + b\sigma^3 + c\sigma^5` and leaves :math:`U, V` alone.
    A tall matrix is transposed first, so :math:`A_k` is the smaller Gram matrix.
    """
    _check_matrix(G)
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    X = X / max(math.sqrt(float(backend.to_numpy((X * X).sum()))), eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * (A @ A)) @ X
    return X.T if tall else X


class MomentumState(NamedTuple):
    t: int
    b: Any  # the momentum buffer: an EMA of gradients


def ema_momentum(momentum=0.95, nesterov=True) -> Transform:
    r"""Muon's momentum as ``torch.optim.Muon`` computes it (an EMA, zero start):

    .. math::
        b_t = \mu b_{t-1} + (1-\mu) g_t, \qquad
        d_t = \begin{cases} (1-\mu) g_t + \mu b_t & \text{nesterov} \\ b_t & \text{otherwise}\end{cases}

    The blog's code keeps :math:`b_t = \mu b_{t-1} + g_t` instead: :math:`1/(1-\mu)` times larger,
    which the orthogonalization's normalization removes (up to its ``eps``).
    """
    momentum = hyperparameter(momentum, "momentum", high=1.0)

    def init(params):
        return MomentumState(t=0, b=tree_map(backend.zeros_like, params))

    def update(grads, state, params=None):
        def one(g, b):
            mu = backend.like(momentum, g)
            b = mu * b + (1 - mu) * g
            return ((1 - mu) * g + mu * b if nesterov else b), b

        d, b = tree_unzip(tree_map(one, grads, state.b), grads)
        return d, MomentumState(state.t + 1, b)

    return Transform(init, update)


def orthogonalize(ns_steps=5, ns_coefficients=NS_COEFFICIENTS, eps=1e-7, adjust_lr_fn=None) -> Transform:
    r"""Replace each (2-D) update by :func:`newton_schulz` of it, times torch's shape factor.

    ``adjust_lr_fn``: ``None``/``"original"`` multiplies by :math:`\sqrt{\max(1, A/B)}` for an
    :math:`A \times B` matrix (the blog's choice); ``"match_rms_adamw"`` by
    :math:`0.2\sqrt{\max(A, B)}`, which gives the update the RMS of a typical AdamW update.
    Non-2-D parameters are refused with a clear error (at ``init``).
    """
    if isinstance(ns_steps, bool) or not isinstance(ns_steps, numbers.Integral) or not 0 <= ns_steps < 100:
        raise ValueError(f"ns_steps must be a whole number in [0, 100), got {ns_steps!r}")
    if not isinstance(ns_coefficients, (tuple, list)) or len(ns_coefficients) != 3:
        raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got {ns_coefficients!r}")
    coefficients = tuple(
        hyperparameter(x, f"ns_coefficients[{i}]", low=-math.inf) for i, x in enumerate(ns_coefficients)
    )
    eps = hyperparameter(eps, "eps")
    choice(adjust_lr_fn, "adjust_lr_fn", (None, "original", "match_rms_adamw"))

    def scale(shape):
        rows, cols = shape
        if adjust_lr_fn == "match_rms_adamw":
            return 0.2 * math.sqrt(max(rows, cols))
        return math.sqrt(max(1.0, rows / cols))

    def init(params):
        tree_map(_check_matrix, params)
        return ()

    def update(grads, state, params=None):
        return tree_map(lambda g: scale(g.shape) * newton_schulz(g, ns_steps, coefficients, eps), grads), state

    return Transform(init, update)


@remembers_arguments
def muon(
    lr: LearningRate = 1e-3,
    weight_decay: Hyper = 0.1,
    momentum: Hyper = 0.95,
    nesterov: bool = True,
    ns_coefficients: tuple = NS_COEFFICIENTS,
    eps: Hyper = 1e-7,
    ns_steps: int = 5,
    adjust_lr_fn: str | None = None,
) -> Transform:
    r"""``torch.optim.Muon`` (torch 2.13): EMA momentum (Nesterov by default), orthogonalization, decay.

    .. math::
        \theta_t = \theta_{t-1}(1 - \eta\lambda) - \eta\,s(A, B)\,\mathrm{NS}(d_t)

    with :math:`d_t` from :func:`ema_momentum`, NS from :func:`newton_schulz` and the shape factor
    :math:`s` of :func:`orthogonalize`. The decay is decoupled and uses the plain ``lr``.
    For 2-D parameters only.
    """
    lr = _check_lr(lr)
    return _build(
        ema_momentum(momentum, nesterov),
        orthogonalize(ns_steps, ns_coefficients, eps, adjust_lr_fn),
        _l2(weight_decay),  # after the orthogonalization, before -lr: decoupled, at the rate lr * weight_decay
        scale_by_lr(lr),
    )
