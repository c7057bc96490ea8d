"""Per-coordinate step sizes: AdaGrad (lecture 5) and RMSprop (lecture 6)."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import backend
from ..tree import tree_map, tree_unzip
from .core import Transform, choice, hyperparameter
from .ema import ema

EPS_PLACEMENTS = ("outside", "inside")


def rms_denominator(mean_square, eps, eps_placement="outside"):
    r"""The scale that adaptive methods divide by.

    ``"outside"`` (torch.optim, Kingma & Ba Algorithm 1): :math:`\sqrt{s} + \epsilon`;
    ``"inside"`` (Keras RMSprop/AdaGrad, optax's default RMS): :math:`\sqrt{s + \epsilon}`.
    """
    eps = backend.like(eps, mean_square)
    if eps_placement == "inside":
        return backend.sqrt(mean_square + eps)
    return backend.sqrt(mean_square) + eps


class AdagradState(NamedTuple):
    t: int
    s: Any  # running sum of squared gradients


def scale_by_adagrad(eps=1e-10, initial_accumulator_value=0.0, eps_placement="outside") -> Transform:
    r"""AdaGrad's scaling (Duchi, Hazan & Singer 2011, diagonal form; ``torch.optim.Adagrad``).

    .. math:: s_t = s_{t-1} + g_t^2, \qquad d_t = g_t / (\sqrt{s_t} + \epsilon)

    :math:`s_t` only grows, so every coordinate's step size only shrinks: good for rare (sparse)
    features, too fast a decay for long non-convex runs.
    """
    eps = hyperparameter(eps, "eps")
    initial_accumulator_value = hyperparameter(initial_accumulator_value, "initial_accumulator_value")
    choice(eps_placement, "eps_placement", EPS_PLACEMENTS)

    def init(params):
        return AdagradState(
            t=0, s=tree_map(lambda p: backend.zeros_like(p) + backend.like(initial_accumulator_value, p), params)
        )

    def update(grads, state, params=None):
        def one(g, s):
            s = s + g * g
            return g / rms_denominator(s, eps, eps_placement), s

        directions, s = tree_unzip(tree_map(one, grads, state.s), grads)
        return directions, AdagradState(state.t + 1, s)

    return Transform(init, update)


class RMSState(NamedTuple):
    t: int
    v: Any  # EMA of squared gradients
    g_avg: Any  # EMA of gradients (centered variant only, else None)


def scale_by_rms(alpha=0.99, eps=1e-8, centered=False, eps_placement="outside") -> Transform:
    r"""RMSprop's scaling (Hinton's lecture 6e; ``torch.optim.RMSprop``).

    .. math:: v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \qquad d_t = g_t / (\sqrt{v_t} + \epsilon)

    The decay rate :math:`\beta_2` (Adam's letter, ``docs/notation.md``) is ``alpha``, as
    ``torch.optim.RMSprop`` names it; Keras calls it ``rho``.

    RMSprop *does* average squared gradients: it replaces AdaGrad's sum by an exponential moving
    average, so old gradients are forgotten. ``centered=True`` divides by an estimate of the
    standard deviation instead, :math:`\sqrt{v_t - \bar g_t^2}`. No bias correction (that is
    Adam's addition).
    """
    alpha = hyperparameter(alpha, "alpha", high=1.0, high_open=False)
    eps = hyperparameter(eps, "eps")
    choice(eps_placement, "eps_placement", EPS_PLACEMENTS)

    def init(params):
        zeros = tree_map(backend.zeros_like, params)
        return RMSState(t=0, v=zeros, g_avg=tree_map(backend.zeros_like, params) if centered else None)

    def update(grads, state, params=None):
        def one(g, v, g_avg):
            v = ema(v, g * g, alpha)
            mean_square = v
            if centered:
                g_avg = ema(g_avg, g, alpha)
                mean_square = v - g_avg * g_avg
            return g / rms_denominator(mean_square, eps, eps_placement), v, g_avg

        g_avgs = state.g_avg if centered else tree_map(lambda g: None, grads)
        directions, v, g_avg = tree_unzip(tree_map(one, grads, state.v, g_avgs), grads, 3)
        return directions, RMSState(state.t + 1, v, g_avg if centered else None)

    return Transform(init, update)
