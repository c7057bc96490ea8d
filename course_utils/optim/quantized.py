r"""8-bit optimizer state (after Adam): keep Adam's m and v in one byte each, block by block.

Dettmers et al. (ICLR 2022), "8-bit optimizers via block-wise quantization". Adam's state costs
8 bytes per parameter in float32, twice the parameters themselves. Stored in 8 bits it costs 2
(plus one float32 scale per block). Two ideas make that work:

* **Block-wise scaling**: the flattened state is cut into blocks (2048 values by default, as in the
  paper) and each block is divided by its own largest absolute value (absmax) before coding, so
  one outlier only coarsens its own block.
* **A code with a dynamic range**: Adam's m and v span many orders of magnitude, which a linear
  8-bit code (steps of absmax/127) would flush to zero. The paper uses its "dynamic tree" code (a
  sign, an exponent and a linear fraction). This module uses a simpler **logarithmic code** of our
  own, an exponent with no fraction: code ``q`` in 1..127 stands for
  :math:`\pm\,\text{absmax}\cdot 10^{-D(1 - (q-1)/126)}`, ``q = 0`` for 0, rounded in log space.
  Its relative error is at most :math:`10^{D/252} - 1` (D = 7 decades for m: 6.6%); v is coded
  over D = 14 decades, i.e. :math:`\sqrt v` (what the update divides by) over 7, with the same
  relative error in :math:`\sqrt v`. It is *not* bitsandbytes' dynamic map.

The update itself is computed in the parameter's dtype from the decoded state, as in the paper;
only what is *kept* between steps is quantized.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..tree import tree_leaves, tree_map, tree_unzip
from .aliases import Betas, Hyper, LearningRate, _adaptive
from .core import Transform, betas_pair, hyperparameter
from .ema import debias, ema
from .hyperparams import remembers_arguments

LEVELS = 127  # codes 1..127 for each sign, 0 for zero: one int8
M_DECADES = 7.0
V_DECADES = 14.0


class QuantizedState(NamedTuple):
    """One tensor stored in 8 bits: int8 codes (flattened, padded to whole blocks) and per-block scales."""

    codes: Any  # int8, shape (blocks * block_size,)
    absmax: Any  # float32, shape (blocks,)


def _lib(x):
    if backend.is_torch(x):
        import torch

        return torch
    return np


def _blocks(x, block_size):
    """``x`` flattened and zero-padded to whole blocks, shape (blocks, block_size)."""
    flat = x.reshape(-1)
    n = flat.shape[0]
    blocks = max(1, -(-n // block_size))
    pad = blocks * block_size - n
    if pad and backend.is_torch(x):
        flat = _lib(x).cat([flat, flat.new_zeros(pad)])
    elif pad:
        flat = np.concatenate([flat, np.zeros(pad, dtype=flat.dtype)])
    return flat.reshape(blocks, block_size)


def quantize(x, block_size=2048, decades=M_DECADES) -> QuantizedState:
    """Code ``x`` block-wise with the logarithmic 8-bit code of this module (see the module docstring)."""
    lib = _lib(x)
    blocks = _blocks(x, block_size)
    magnitude = backend.abs(blocks)
    absmax = magnitude.max(axis=1, keepdims=True) if lib is np else magnitude.amax(dim=1, keepdim=True)
    safe = backend.where(absmax > 0, absmax, backend.zeros_like(absmax) + 1)
    ratio = magnitude / safe  # in [0, 1]
    tiny = 10.0 ** (-decades)
    level = lib.log10(backend.clamp_min(ratio, tiny * 1e-3)) / decades * (LEVELS - 1) + (LEVELS - 1)  # 0..126
    q = lib.round(level) + 1  # 1..127
    # below the code's smallest value (half a step under it, in log space): 0
    q = backend.where(level < -0.5, backend.zeros_like(q), q)
    q = backend.sign(blocks) * q
    if lib is np:
        return QuantizedState(q.reshape(-1).astype(np.int8), absmax.reshape(-1).astype(np.float32))
    return QuantizedState(q.reshape(-1).to(lib.int8), absmax.reshape(-1).to(lib.float32))


def dequantize(state: QuantizedState, like, decades=M_DECADES):
    """The values that ``state`` codes, shaped and typed like ``like``."""
    lib = _lib(like)
    codes = state.codes
    if lib is np:
        q = codes.astype(like.dtype)
        absmax = state.absmax.astype(like.dtype)
    else:
        q = codes.to(like.dtype)
        absmax = state.absmax.to(like.dtype)
    block_size = q.shape[0] // absmax.shape[0]
    q = q.reshape(absmax.shape[0], block_size)
    magnitude = 10.0 ** ((backend.abs(q) - 1) / (LEVELS - 1) * decades - decades)
    values = backend.sign(q) * magnitude * absmax.reshape(-1, 1)
    n = math.prod(like.shape)
    return values.reshape(-1)[:n].reshape(like.shape)


def _zeros(p, block_size):
    blocks = max(1, -(-math.prod(p.shape) // block_size))
    if backend.is_torch(p):
        import torch

        return QuantizedState(
            torch.zeros(blocks * block_size, dtype=torch.int8, device=p.device),
            torch.zeros(blocks, dtype=torch.float32, device=p.device),
        )
    return QuantizedState(np.zeros(blocks * block_size, dtype=np.int8), np.zeros(blocks, dtype=np.float32))


class Adam8bitState(NamedTuple):
    t: int
    m_codes: Any
    m_absmax: Any
    v_codes: Any
    v_absmax: Any


def scale_by_adam_8bit(betas=(0.9, 0.999), eps=1e-8, block_size=2048) -> Transform:
    r"""Adam's direction (Kingma & Ba, Algorithm 1) with m and v stored block-wise in 8 bits.

    .. math::
        m_t = \beta_1 Q^{-1}(Q(m_{t-1})) + (1-\beta_1) g_t, \quad
        v_t = \beta_2 Q^{-1}(Q(v_{t-1})) + (1-\beta_2) g_t^2, \quad
        d_t = \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    where :math:`Q` is :func:`quantize` (block-wise absmax, logarithmic code) and
    :math:`Q^{-1}` :func:`dequantize`. The direction uses the fresh :math:`m_t, v_t`; only the
    stored ones are rounded.
    """
    beta1, beta2 = betas_pair(betas)
    eps = hyperparameter(eps, "eps")
    for name, value in (("beta1", beta1), ("beta2", beta2), ("eps", eps)):
        if not isinstance(value, float):
            raise TypeError(f"adam_8bit's {name} must be a number (no batched arrays), got an array")
    if isinstance(block_size, bool) or not isinstance(block_size, numbers.Integral) or block_size < 1:
        raise ValueError(f"block_size must be a whole number >= 1, got {block_size!r}")

    def init(params):
        m = tree_map(lambda p: _zeros(p, block_size), params)
        v = tree_map(lambda p: _zeros(p, block_size), params)
        field = lambda tree, i: tree_map(lambda p, s: s[i], params, tree)  # noqa: E731
        return Adam8bitState(0, field(m, 0), field(m, 1), field(v, 0), field(v, 1))

    def update(grads, state, params=None):
        t = state.t + 1

        def one(g, m_codes, m_absmax, v_codes, v_absmax):
            m = ema(dequantize(QuantizedState(m_codes, m_absmax), g, M_DECADES), g, beta1)
            v = ema(dequantize(QuantizedState(v_codes, v_absmax), g, V_DECADES), g * g, beta2)
            d = debias(m, beta1, t) / (backend.sqrt(debias(v, beta2, t)) + backend.like(eps, g))
            return (d, *quantize(m, block_size, M_DECADES), *quantize(v, block_size, V_DECADES))

        out = tree_unzip(tree_map(one, grads, state.m_codes, state.m_absmax, state.v_codes, state.v_absmax), grads, 5)
        return out[0], Adam8bitState(t, *out[1:])

    return Transform(init, update)


def state_bytes_per_parameter(state, params) -> float:
    """Bytes of the arrays of an :class:`Adam8bitState` (codes, padding and scales) per parameter.

    float32 Adam keeps 8; here it is 2 plus 2 * 4 bytes of scales per block and the padding of
    each parameter's last block (``state`` may also be a chain's state that contains one).
    """
    found = _find(state)
    arrays = [leaf for tree in found[1:] for leaf in tree_leaves(tree)]
    n = sum(math.prod(p.shape) for p in tree_leaves(params))
    if n == 0:
        raise ValueError("state_bytes_per_parameter needs at least one parameter with entries")
    return sum(a.numel() * a.element_size() if backend.is_torch(a) else a.nbytes for a in arrays) / n


def _find(state):
    if isinstance(state, Adam8bitState):
        return state
    if isinstance(state, tuple) and not hasattr(state, "_fields"):  # a chain's states
        for s in state:
            found = _find(s)
            if found is not None:
                return found
    if hasattr(state, "inner_state"):
        return _find(state.inner_state)
    return None


@remembers_arguments
def adam_8bit(
    lr: LearningRate = 1e-3,
    betas: Betas = (0.9, 0.999),
    eps: Hyper = 1e-8,
    weight_decay: Hyper = 0.0,
    block_size: int = 2048,
    *,
    decoupled_weight_decay: bool = False,
    maximize: bool = False,
) -> Transform:
    """``torch.optim.Adam``'s rule with its state in 8 bits (Dettmers et al. 2022, with this module's code)."""
    return _adaptive(scale_by_adam_8bit(betas, eps, block_size), lr, weight_decay, decoupled_weight_decay, maximize)
