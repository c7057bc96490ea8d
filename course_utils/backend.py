"""One update rule, two array libraries.

The optimizers in :mod:`course_utils.optim` are written once with ordinary arithmetic
(``+ - * /`` work the same on NumPy arrays and torch tensors). The few operations whose
spelling differs between the libraries (square root, element-wise maximum, ...) live here,
so an update rule never needs to know which library its arrays come from.

Torch is imported only when a torch tensor is actually seen: NumPy-only lectures start fast.
"""

from __future__ import annotations

import numbers

import numpy as np


def is_torch(x) -> bool:
    """True for a ``torch.Tensor`` (checked without importing torch)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "device")


def is_array(x) -> bool:
    """True for the leaves an optimizer can update: NumPy arrays and torch tensors."""
    return isinstance(x, np.ndarray) or is_torch(x)


def sqrt(x):
    return x.sqrt() if is_torch(x) else np.sqrt(x)


def abs(x):  # noqa: A001 - mirrors the NumPy name on purpose
    return x.abs() if is_torch(x) else np.abs(x)


def maximum(a, b):
    if is_torch(a):
        import torch

        return torch.maximum(a, b)
    return np.maximum(a, b)


def where(cond, a, b):
    """``cond ? a : b`` element-wise; a NumPy ``cond`` is fine with torch arrays (moved to their device)."""
    if is_torch(a):
        import torch

        return torch.where(torch.as_tensor(cond, device=a.device), a, b)
    return np.where(cond, a, b)


def zeros_like(x):
    if is_torch(x):
        import torch

        return torch.zeros_like(x)
    return np.zeros_like(x)


def copy(x):
    return x.clone() if is_torch(x) else np.array(x, copy=True)


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of an array or tensor (from any device)."""
    if is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def like(h, x):
    """Hyperparameter ``h`` in a form that combines with leaf ``x`` without changing its dtype.

    Python numbers are "weak" in both libraries and are left alone. An array of
    hyperparameters (one per configuration of a batched run) is cast to ``x``'s dtype and,
    for torch, moved to ``x``'s device.
    """
    if isinstance(h, numbers.Number):
        # a NumPy scalar such as np.sqrt(t) would upcast float32 arrays: use the Python number
        return h.item() if isinstance(h, np.generic) else h
    if is_torch(x):
        import torch

        if is_torch(h):
            return h.to(dtype=x.dtype, device=x.device)
        return torch.as_tensor(np.asarray(h), dtype=x.dtype, device=x.device)
    return np.asarray(h, dtype=x.dtype)


def stack(arrays, axis=-1):
    if is_torch(arrays[0]):
        import torch

        return torch.stack(arrays, dim=axis)
    return np.stack(arrays, axis=axis)


def broadcast_to(x, shape):
    """A new (writable) array of ``shape`` holding ``x`` broadcast."""
    if is_torch(x):
        return x.expand(*shape).clone()
    return np.broadcast_to(x, shape).copy()


# --- used by the optimizers after Adam (course_utils.optim.adafactor, lion, muon, ...) ----------


def mean(x, axis=None, keepdims=False):
    """The mean over ``axis`` (all entries when None); NumPy's keyword names work in torch too."""
    if axis is None:
        return x.mean()
    return x.mean(axis=axis, keepdims=keepdims)


def clamp_min(x, low):
    """``max(x, low)`` element-wise, for a number ``low``."""
    return x.clamp(min=low) if is_torch(x) else np.maximum(x, low)


def sign(x):
    """-1, 0 or +1 element-wise (0 stays 0), in the dtype of ``x``."""
    return x.sign() if is_torch(x) else np.sign(x)


def machine_eps(x) -> float:
    """The machine epsilon of ``x``'s dtype (2**-23 for float32, 2**-52 for float64)."""
    if is_torch(x):
        import torch

        return torch.finfo(x.dtype).eps
    return float(np.finfo(x.dtype).eps)


def rms(x) -> float:
    r"""The root mean square :math:`\sqrt{\frac1n\sum x_i^2}` of all entries, as a Python float."""
    n = x.numel() if is_torch(x) else x.size
    return float(to_numpy(sqrt((x * x).sum()))) / n**0.5 if n else 0.0
