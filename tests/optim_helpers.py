"""Shared by the optimizer tests: a fixed heavy-tailed gradient sequence, fed open loop to our
optimizers and to ``torch.optim`` on every backend, and the tolerances the comparison can hold
(``/work/shared/reference/optimizer-semantics.md``, section 6)."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from course_utils import backend, optim
from course_utils.tree import tree_leaves

TORCH_CLASSES = {
    "sgd": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "nadam": "NAdam",
    "adamax": "Adamax",
}

# (library, dtype name): every optimizer must run unchanged on each of them
BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]

# float64: rounding only; float32: observed worst case is about 1/8 of this bound
TOLERANCES = {"float64": {"rtol": 1e-9, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}

# parameter trees: leaves are shapes
STRUCTURES = {
    "array": (8, 5),
    "list": [(3, 4), (5,), (2, 3, 2)],
    "dict": {"w": (3, 4), "b": (5,)},
}


def map_leaves(tree, fn):
    """``fn`` applied to each leaf of nested lists and dicts (unlike ``tree_map``, a shape tuple is a leaf)."""
    if isinstance(tree, dict):
        return {key: map_leaves(value, fn) for key, value in tree.items()}
    if isinstance(tree, list):
        return [map_leaves(value, fn) for value in tree]
    return fn(tree)


def heavy_tailed(rng, shape, steps):
    """``steps`` gradients: Student-t with 2 degrees of freedom (infinite variance), about a fifth of
    the entries exactly zero, and the whole third gradient zero (it must not produce a NaN)."""
    g = rng.standard_t(2, size=(steps, *shape))
    g[rng.random(g.shape) < 0.2] = 0.0
    g[2] = 0.0
    return g


def problem(spec=STRUCTURES["array"], steps=50, seed=0, scale=1.0):
    """Float64 NumPy initial params and a list of ``steps`` gradient trees, both shaped like ``spec``."""
    rng = np.random.default_rng(seed)
    params = map_leaves(spec, lambda shape: rng.normal(size=shape))
    sequences = map_leaves(spec, lambda shape: scale * heavy_tailed(rng, shape, steps))
    grads = [map_leaves(sequences, lambda g, t=t: g[t]) for t in range(steps)]
    return params, grads


def convert(tree, lib, dtype, device="cpu"):
    """The same tree as NumPy arrays or torch tensors of ``dtype`` (a name such as ``"float32"``)."""
    if lib == "numpy":
        return map_leaves(tree, lambda x: np.asarray(x, dtype=dtype))
    return map_leaves(tree, lambda x: torch.tensor(x, dtype=getattr(torch, dtype), device=device))


def flat(tree) -> np.ndarray:
    """All leaves of a tree, as one float64 NumPy vector."""
    return np.concatenate([backend.to_numpy(leaf).astype(np.float64).ravel() for leaf in tree_leaves(tree)])


def run_ours(transform, params, grads):
    """Feed ``grads`` open loop; return the final params and the path (one row of ``flat`` per step)."""
    state = transform.init(params)
    path = []
    for g in grads:
        updates, state = transform.update(g, state, params)
        params = optim.apply_updates(params, updates)
        path.append(flat(params))
    return params, np.stack(path)


@contextlib.contextmanager
def default_dtype(dtype):
    """torch keeps some optimizer scalars (NAdam's ``mu_product``) in the default dtype."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def run_torch(name, kwargs, params, grads, dtype="float64", device="cpu", scheduler=None):
    """The same open-loop run with ``torch.optim``; ``scheduler(opt)`` is stepped after every step."""
    torch_dtype = getattr(torch, dtype)
    leaves = [torch.tensor(p, dtype=torch_dtype, device=device, requires_grad=True) for p in tree_leaves(params)]
    with default_dtype(torch.float64 if dtype == "float64" else torch.get_default_dtype()):
        opt = getattr(torch.optim, TORCH_CLASSES[name])(leaves, **kwargs)
        lr_scheduler = scheduler(opt) if scheduler is not None else None
        path = []
        for g in grads:
            for p, gi in zip(leaves, tree_leaves(g), strict=True):
                p.grad = torch.tensor(gi, dtype=torch_dtype, device=device)
            opt.step()
            if lr_scheduler is not None:
                lr_scheduler.step()
            path.append(flat(leaves))
    return np.stack(path)


def assert_like(tree, lib, dtype, device="cpu"):
    """Every leaf is a ``lib`` array of ``dtype`` (and, for torch, on ``device``)."""
    for leaf in tree_leaves(tree):
        if lib == "numpy":
            assert isinstance(leaf, np.ndarray), type(leaf)
            assert leaf.dtype == np.dtype(dtype), leaf.dtype
        else:
            assert isinstance(leaf, torch.Tensor), type(leaf)
            assert leaf.dtype == getattr(torch, dtype), leaf.dtype
            assert leaf.device.type == torch.device(device).type, leaf.device
