"""Parameters as "trees": one array, or a list / tuple / dict of them (nested as you like).

Optimizers map the same per-array rule over every leaf; :func:`tree_map` is that loop, and it
is also where a gradient that does not match its parameter is caught.
"""

from __future__ import annotations

from . import backend


def tree_leaves(tree) -> list:
    """The arrays of a tree in a fixed order (dicts in key order)."""
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in tree_leaves(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in tree_leaves(item)]
    return [tree]


def _structure_error(what, a, b):
    return TypeError(f"{what}: expected the same structure as the parameters, got {_describe(b)} for {_describe(a)}")


def _describe(x) -> str:
    if isinstance(x, dict):
        return f"a dict with keys {sorted(map(str, x))}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    if backend.is_array(x):
        return f"an array of shape {tuple(x.shape)}"
    return f"a {type(x).__name__}"


def check_like(tree, reference, what="grads"):
    """Raise a clear error unless ``tree`` has the structure, shapes and library of ``reference``."""
    if isinstance(reference, dict):
        if not isinstance(tree, dict) or set(tree) != set(reference):
            raise _structure_error(what, reference, tree)
        for key in reference:
            check_like(tree[key], reference[key], f"{what}[{key!r}]")
        return
    if isinstance(reference, (list, tuple)):
        if not isinstance(tree, (list, tuple)) or len(tree) != len(reference):
            raise _structure_error(what, reference, tree)
        for i, (a, b) in enumerate(zip(tree, reference, strict=True)):
            check_like(a, b, f"{what}[{i}]")
        return
    if not backend.is_array(tree):
        raise TypeError(f"{what} must be a NumPy array or a torch tensor, got {_describe(tree)}")
    if backend.is_torch(tree) != backend.is_torch(reference):
        raise TypeError(f"{what} is {_describe_lib(tree)} but the parameters are {_describe_lib(reference)}")
    if tuple(tree.shape) != tuple(reference.shape):
        raise ValueError(f"{what} has shape {tuple(tree.shape)} but the parameters have shape {tuple(reference.shape)}")


def _describe_lib(x) -> str:
    return "a torch tensor" if backend.is_torch(x) else "a NumPy array"


def tree_map(fn, tree, *rest):
    """Apply ``fn`` leaf by leaf to trees of the same structure (the first tree decides it)."""
    if isinstance(tree, dict):
        return {key: tree_map(fn, tree[key], *(r[key] for r in rest)) for key in tree}
    if isinstance(tree, (list, tuple)) and any(len(r) != len(tree) for r in rest):
        lengths = ", ".join(str(len(r)) for r in (tree, *rest))
        raise ValueError(
            f"trees of different lengths ({lengths}): was the optimizer state made by init() for these parameters?"
        )
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # a NamedTuple, e.g. an optimizer state
        return type(tree)(*(tree_map(fn, *items) for items in zip(tree, *rest, strict=True)))
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(fn, *items) for items in zip(tree, *rest, strict=True))
    return fn(tree, *rest)


def tree_unzip(pairs, like, n: int = 2) -> tuple:
    """Split a tree whose leaves are n-tuples (structured like ``like``) into n trees."""
    return tuple(tree_map(lambda _, p, i=i: p[i], like, pairs) for i in range(n))
