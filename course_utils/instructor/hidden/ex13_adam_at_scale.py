"""ex13, Adam at scale: references, known mistakes, public and hidden cases (instructor only)."""

from __future__ import annotations

import math

import numpy as np

from .common import case as _case
from .common import public_rng
from .record import Grading

ASSIGNMENT = "ex13_adam_at_scale"


# --- fix_lazy_adam (bug) ----------------------------------------------------------------------------------------
# torch.optim.SparseAdam (torch/optim/_functional.py, sparse_adam): duplicate ids are summed (coalesce); for each
# looked-up row m = beta1 m + (1 - beta1) G, v = beta2 v + (1 - beta2) G**2,
# params -= lr sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + eps); other rows unchanged.


def _lazy(params, rows, row_grads, m, v, t, lr, beta1, beta2, eps, *, dense=False, overwrite=False, adam_eps=False):
    rows = np.asarray(rows).astype(int)
    G = np.zeros_like(params)
    if overwrite:
        G[rows] = row_grads
    else:
        np.add.at(G, rows, row_grads)
    touched = np.zeros(len(params), dtype=bool)
    touched[rows] = True
    if dense:
        touched[:] = True
    new_m, new_v, new_p = m.copy(), v.copy(), params.copy()
    new_m[touched] = beta1 * m[touched] + (1 - beta1) * G[touched]
    new_v[touched] = beta2 * v[touched] + (1 - beta2) * G[touched] ** 2
    if adam_eps:
        step = lr * (new_m[touched] / (1 - beta1**t)) / (np.sqrt(new_v[touched] / (1 - beta2**t)) + eps)
    else:
        step = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t) * new_m[touched] / (np.sqrt(new_v[touched]) + eps)
    new_p[touched] = params[touched] - step
    return new_p, new_m, new_v


def lazy_adam_step(params, rows, row_grads, m, v, t, lr, beta1, beta2, eps):
    return _lazy(params, rows, row_grads, m, v, t, lr, beta1, beta2, eps)


def _per_lookup(params, rows, row_grads, m, v, t, lr, beta1, beta2, eps, *, adam_eps=False):
    """The given code's loop: one Adam update per looked-up id, a repeated id updated again from its new state."""
    params, m, v = params.copy(), m.copy(), v.copy()
    for r, g in zip(np.asarray(rows).astype(int), row_grads, strict=True):
        m[r] = beta1 * m[r] + (1 - beta1) * g
        v[r] = beta2 * v[r] + (1 - beta2) * g * g
        if adam_eps:
            params[r] = params[r] - lr * (m[r] / (1 - beta1**t)) / (np.sqrt(v[r] / (1 - beta2**t)) + eps)
        else:
            params[r] = params[r] - lr * math.sqrt(1 - beta2**t) / (1 - beta1**t) * m[r] / (np.sqrt(v[r]) + eps)
    return params, m, v


def _lazy_mutates(params, rows, row_grads, m, v, t, lr, beta1, beta2, eps):
    new_p, new_m, new_v = _lazy(params, rows, row_grads, m, v, t, lr, beta1, beta2, eps)
    m[...] = new_m
    v[...] = new_v
    return new_p, m, v


def _lazy_args(params, rows, row_grads, m, v, t, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-3):
    return {"params": params, "rows": np.asarray(rows, dtype=np.int64), "row_grads": row_grads, "m": m, "v": v,
            "t": t, "lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps}  # fmt: skip


def _lazy_public():
    rng = public_rng()
    table = rng.normal(size=(6, 2))
    z = np.zeros((6, 2))
    return [
        _case("the hint's example: row 2 looked up twice",
              args=_lazy_args(table, [2, 2], np.array([[0.3, 0.3], [0.1, 0.1]]), z, z, 1)),
        _case("three rows, state from earlier steps, t = 7",
              args=_lazy_args(table, [0, 4, 5], 0.01 * rng.normal(size=(3, 2)), 0.01 * rng.normal(size=(6, 2)),
                              1e-4 * rng.uniform(0.1, 1, size=(6, 2)), 7)),
        _case("a batch with repeats", args=_lazy_args(table, [1, 3, 1, 1], rng.normal(size=(4, 2)), z, z, 3, eps=1e-8)),
    ]  # fmt: skip


def _lazy_hidden(rng):
    cases = []
    for scale in (1e-3, 1.0, 100.0):
        num, dim = int(rng.integers(5, 40)), int(rng.integers(1, 5))
        k = int(rng.integers(3, 12))
        rows = rng.integers(0, max(2, num // 3), size=k)  # a small range of ids: repeats are likely
        rows[-1] = rows[0]  # and at least one for certain
        args = _lazy_args(rng.normal(size=(num, dim)), rows, scale * rng.normal(size=(k, dim)),
                          scale * rng.normal(size=(num, dim)) * 0.1, scale**2 * rng.uniform(0.01, 1, size=(num, dim)),
                          int(rng.integers(1, 100)), lr=float(10 ** rng.uniform(-3, -1)),
                          eps=float(scale * 10 ** rng.uniform(-2, 0)))  # fmt: skip
        cases.append(_case(f"random table and batch, gradient scale {scale:g}", args=args))
    return cases


# --- largest_model (derive) ------------------------------------------------------------------------------------
# Mixed-precision Adam: 2 (fp16 params) + 2 (fp16 grads) + 12 (fp32 master, m, v) bytes per parameter (ZeRO,
# Rajbhandari et al. 2020, Section 3.1); stage 1 shards the 12, stage 2 also the gradients, stage 3 everything.


def _bytes_per_param(n_ranks, stage):
    return {0: 16.0, 1: 4 + 12 / n_ranks, 2: 2 + 14 / n_ranks, 3: 16 / n_ranks}[int(stage)]


def largest_model(memory_bytes, n_ranks, stage):
    return float(math.floor(memory_bytes / _bytes_per_param(n_ranks, stage)))


def _largest_stage_shift(memory_bytes, n_ranks, stage):
    return largest_model(memory_bytes, n_ranks, max(0, int(stage) - 1))


def _largest_public():
    return [
        _case(f"80 GB, 8 ranks, stage {s} (the hint's example)", args={"memory_bytes": 8e10, "n_ranks": 8, "stage": s})
        for s in (1, 2, 3)
    ]


def _largest_hidden(rng):
    return [
        _case(f"random memory and ranks, stage {s}",
              args={"memory_bytes": float(10 ** rng.uniform(9, 12)), "n_ranks": int(rng.integers(2, 129)), "stage": s})
        for s in (0, 1, 2, 3)
    ]  # fmt: skip


# --- coasting_prediction (predict) ----------------------------------------------------------------------------
# torch.optim.Adam (lr = 1e-3, default betas, eps = 1e-8) on one coordinate with gradient g at step 1 and 0 after:
# the total distance over 200 steps is 6.006 lr (6.005 for g = 1e-3); SparseAdam moves it 1 lr. Accepted: 4 to 9.


def _coasting_accept(p):
    return 4 <= p <= 9


# --- fix_zero_owners (bug) ---------------------------------------------------------------------------------


def _owners(sizes, n_ranks, *, order="descending", count=False, ties_low=True, visit_order=False):
    sizes = [int(s) for s in sizes]
    idx = list(range(len(sizes)))
    if order == "descending":
        idx = sorted(idx, key=lambda i: -sizes[i])
    elif order == "ascending":
        idx = sorted(idx, key=lambda i: sizes[i])
    load, owner = [0] * int(n_ranks), [0] * len(sizes)
    for i in idx:
        low = min(load)
        r = load.index(low) if ties_low else len(load) - 1 - load[::-1].index(low)
        owner[i] = r
        load[r] += 1 if count else sizes[i]
    if visit_order:  # the owners listed in the order the tensors were visited, not by index
        return np.array([owner[i] for i in idx], dtype=float)
    return np.array(owner, dtype=float)


def zero_owners(sizes, n_ranks):
    return _owners(sizes, n_ranks)


def _owners_public():
    return [
        _case("the hint's example", args={"sizes": [10, 40, 40, 5], "n_ranks": 2}),
        _case("an MLP's weights and biases on 2 ranks", args={"sizes": [4096, 64, 4096, 64, 640, 10], "n_ranks": 2}),
        _case("seven tensors on 3 ranks", args={"sizes": [1, 100, 7, 30, 30, 2, 55], "n_ranks": 3}),
    ]


def _owners_hidden(rng):
    cases = []
    for _ in range(3):
        n = int(rng.integers(5, 15))
        sizes = [int(s) for s in rng.integers(1, 5000, size=n)]
        cases.append(_case(f"{n} random tensors", args={"sizes": sizes, "n_ranks": int(rng.integers(2, 5))}))
    return cases


GRADING = (
    Grading(
        "fix_lazy_adam",
        reference=lazy_adam_step,
        mistakes={
            "as_given": lambda *a: _per_lookup(*a, adam_eps=True),
            "per_lookup": _per_lookup,
            "dense": lambda *a: _lazy(*a, dense=True),
            "duplicates_overwrite": lambda *a: _lazy(*a, overwrite=True),
            "adam_eps": lambda *a: _lazy(*a, adam_eps=True),
            "mutates": _lazy_mutates,
        },
        public_cases=_lazy_public,
        hidden_cases=_lazy_hidden,
    ),
    Grading(
        "largest_model",
        reference=largest_model,
        mistakes={
            "replicated": lambda mem, n, s: float(math.floor(mem / 16)),
            "all_sharded": lambda mem, n, s: float(math.floor(mem / (16 / n))),
            "stage_shift": _largest_stage_shift,
            "no_floor": lambda mem, n, s: mem / _bytes_per_param(n, s),
        },
        public_cases=_largest_public,
        hidden_cases=_largest_hidden,
    ),
    Grading(
        "coasting_prediction",
        accept=_coasting_accept,
        mistakes={
            "lazy_thinking": lambda p: 0.5 <= p <= 1.5,
            "window_ten": lambda p: 9.5 <= p <= 10.5,
            "every_step": lambda p: p >= 100,
        },
    ),
    Grading(
        "fix_zero_owners",
        reference=zero_owners,
        mistakes={
            "as_given": lambda s, n: _owners(s, n, count=True, visit_order=True),
            "sorted_order": lambda s, n: _owners(s, n, visit_order=True),
            "no_sort": lambda s, n: _owners(s, n, order="none"),
            "count_tensors": lambda s, n: _owners(s, n, count=True),
            "ties_highest": lambda s, n: _owners(s, n, ties_low=False),
        },
        public_cases=_owners_public,
        hidden_cases=_owners_hidden,
    ),
)
