"""ex03, minibatch SGD: references, known mistakes, public and hidden cases (instructor only)."""

from __future__ import annotations

import numpy as np

from .common import case as _case
from .common import public_rng
from .record import Grading

ASSIGNMENT = "ex03_minibatch_sgd"


# --- minibatch_indices -----------------------------------------------------------------------------


def minibatch_indices(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _mb_no_shuffle(n, batch_size, seed):
    order = np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _mb_drop_last(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


def _mb_replacement(n, batch_size, seed):
    order = np.random.default_rng(seed).integers(0, n, size=n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _mb_other_shuffle(n, batch_size, seed):
    order = np.random.RandomState(seed).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _mb_public():
    return [
        _case("n = 10, batch_size = 3, seed = 0", args={"n": 10, "batch_size": 3, "seed": 0}),
        _case("n = 100, batch_size = 32, seed = 1", args={"n": 100, "batch_size": 32, "seed": 1}),
        _case("one batch holds everything: n = 7, batch_size = 7", args={"n": 7, "batch_size": 7, "seed": 5}),
        _case("batches of one: n = 6, batch_size = 1", args={"n": 6, "batch_size": 1, "seed": 2}),
    ]


def _mb_hidden(rng):
    cases = []
    for _ in range(4):
        n = int(rng.integers(5, 300))
        bs = int(rng.integers(1, n + 1))
        cases.append(
            _case("random n, batch_size and seed", args={"n": n, "batch_size": bs, "seed": int(rng.integers(0, 2**31))})
        )
    n = int(rng.integers(2, 50)) * 4
    cases.append(_case("n divisible by batch_size", args={"n": n, "batch_size": 4, "seed": int(rng.integers(0, 999))}))
    return cases


# --- sgd -------------------------------------------------------------------------------------------


def sgd(grad_fn, w0, lr, batches):
    w = w0
    for batch in batches:
        w = w - lr * grad_fn(w, batch)
    return w


def _sgd_full(grad_fn, w0, lr, batches):
    w = w0
    for _ in batches:
        w = w - lr * grad_fn(w)
    return w


def _sgd_ascent(grad_fn, w0, lr, batches):
    w = w0
    for batch in batches:
        w = w + lr * grad_fn(w, batch)
    return w


def _sgd_one_step(grad_fn, w0, lr, batches):
    return w0 - lr * grad_fn(w0, batches[0])


def _sgd_mutates(grad_fn, w0, lr, batches):
    w = w0
    for batch in batches:
        w -= lr * grad_fn(w, batch)
    return w


def _sgd_public():
    rng = public_rng()
    batches = [np.sort(b) for b in minibatch_indices(80, 16, 3)]
    return [
        _case(
            "5 batches of 16 digits, lr = 0.5, l2 = 1e-3",
            args={
                "grad_fn": {"__fn__": "digits_grad", "args": {"l2": 1e-3}},
                "w0": 0.01 * rng.normal(size=650),
                "lr": 0.5,
                "batches": batches,
            },
        ),
        _case(
            "one batch of 64, lr = 0.1",
            args={
                "grad_fn": {"__fn__": "digits_grad", "args": {"l2": 0.0}},
                "w0": np.zeros(650),
                "lr": 0.1,
                "batches": [np.arange(64)],
            },
        ),
    ]


def _sgd_hidden(rng):
    cases = []
    for _ in range(2):
        k, bs = int(rng.integers(2, 6)), int(rng.integers(8, 40))
        batches = [np.sort(rng.choice(1347, size=bs, replace=False)) for _ in range(k)]
        cases.append(
            _case(
                f"{k} random batches of {bs}",
                args={
                    "grad_fn": {"__fn__": "digits_grad", "args": {"l2": float(rng.choice([0.0, 1e-3, 1e-2]))}},
                    "w0": 0.01 * rng.normal(size=650),
                    "lr": float(10 ** rng.uniform(-2, 0)),
                    "batches": batches,
                },
            )
        )
    return cases


# --- minibatch_noise (derive: E||g_B - grad f||^2 for a batch drawn without replacement) -------------


def _noise(G, B, *, fpc="n-1", ddof=0, center=True, total=True):
    G = np.asarray(G, dtype=float)
    n = G.shape[0]
    dev = G - G.mean(axis=0) if center else G
    per_coordinate = (dev**2).sum(axis=0) / (n - ddof)
    sigma2 = per_coordinate.sum() if total else per_coordinate
    factor = {"n-1": (n - B) / (n - 1), "n": (n - B) / n, "none": 1.0}[fpc]
    return sigma2 / B * factor


def minibatch_noise(per_example_grads, batch_size):
    return _noise(per_example_grads, batch_size)


def _noise_public():
    rng = public_rng()
    return [
        _case(
            "two examples with gradients 1 and -1, B = 1",
            args={"per_example_grads": np.array([[1.0], [-1.0]]), "batch_size": 1},
        ),
        _case("5 examples in 3-D, B = 2", args={"per_example_grads": rng.normal(size=(5, 3)), "batch_size": 2}),
        _case(
            "8 examples in 2-D with a large mean gradient, B = 3",
            args={"per_example_grads": 10.0 + rng.normal(size=(8, 2)), "batch_size": 3},
        ),
        _case("a full batch: 6 examples, B = 6", args={"per_example_grads": rng.normal(size=(6, 4)), "batch_size": 6}),
    ]


def _noise_hidden(rng):
    cases = []
    for _ in range(4):
        n, d = int(rng.integers(4, 60)), int(rng.integers(1, 7))
        B = int(rng.integers(1, n))
        G = float(10 ** rng.uniform(-3, 2)) * (rng.normal(size=d) + rng.normal(size=(n, d)))
        cases.append(_case(f"{n} random examples in {d}-D, B = {B}", args={"per_example_grads": G, "batch_size": B}))
    return cases


GRADING = (
    Grading(
        "minibatch_indices",
        reference=minibatch_indices,
        mistakes={
            "no_shuffle": _mb_no_shuffle,
            "drop_last": _mb_drop_last,
            "replacement": _mb_replacement,
            "other_shuffle": _mb_other_shuffle,
        },
        public_cases=_mb_public,
        hidden_cases=_mb_hidden,
    ),
    Grading(
        "sgd",
        reference=sgd,
        mistakes={"full_batch": _sgd_full, "ascent": _sgd_ascent, "one_step": _sgd_one_step, "mutates": _sgd_mutates},
        public_cases=_sgd_public,
        hidden_cases=_sgd_hidden,
    ),
    Grading(
        "minibatch_noise",
        reference=minibatch_noise,
        mistakes={
            "with_replacement": lambda per_example_grads, batch_size: _noise(per_example_grads, batch_size, fpc="none"),
            "fpc_over_n": lambda per_example_grads, batch_size: _noise(per_example_grads, batch_size, fpc="n"),
            "sample_variance": lambda per_example_grads, batch_size: _noise(per_example_grads, batch_size, ddof=1),
            "no_centering": lambda per_example_grads, batch_size: _noise(per_example_grads, batch_size, center=False),
            "per_coordinate": lambda per_example_grads, batch_size: _noise(per_example_grads, batch_size, total=False),
        },
        public_cases=_noise_public,
        hidden_cases=_noise_hidden,
    ),
)
