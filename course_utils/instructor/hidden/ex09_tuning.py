"""ex09, tuning: a configuration that trains well, and the training runs that grade one (instructor only)."""

from __future__ import annotations

import math

from .common import case as _case
from .record import Grading

ASSIGNMENT = "ex09_tuning"


def choose_hyperparameters():
    return {"optimizer": "adam", "lr": 0.02, "schedule": "cosine", "batch_size": 128}


def _runs(rng):
    """Four training runs with random initial weights and batch order (a config question has no public cases)."""
    return [
        {"label": f"training run {i + 1} (random initial weights and batch order)", "seed": int(s)}
        for i, s in enumerate(rng.integers(1, 10**6, size=4))
    ]


# Configurations that show each fingerprint of a failed run (tuning.config_mistake), checked on seed 0 by the tests.
WRONG_CONFIGS = {
    "diverged": lambda: {"optimizer": "rmsprop", "lr": 3.0, "batch_size": 128},  # losses 9 to 15
    "too_cautious": lambda: {"optimizer": "adam", "lr": 1e-3, "batch_size": 64},  # the notebook's baseline
    "too_large": lambda: {"optimizer": "adam", "lr": 0.5, "schedule": "cosine", "batch_size": 128},
    "small_batch": lambda: {"optimizer": "adam", "lr": 0.02, "schedule": "cosine", "batch_size": 8},
    "ends_high": lambda: {"optimizer": "adam", "lr": 0.2, "batch_size": 64},
}

# --- best_lr_prediction (predict) -------------------------------------------------------------------------------
# evaluate_config({"optimizer": "adam", "lr": lr, "batch_size": 64}) on seeds 0-4: lr 0.001 gives 0.45-0.50,
# 0.03 gives 0.086-0.105, 0.3 gives 0.42-0.91, 3 far worse (lr 1 already 2.0-3.0).


def _best_lr_accept(choice):
    return choice == "0.03"


# --- random_search_hit (derive) ---------------------------------------------------------------------------------
# n independent log-uniform draws on [lr_min, lr_max]; one lands in [good_min, good_max] with probability
# p = ln(good_max / good_min) / ln(lr_max / lr_min); at least one of n does with 1 - (1 - p)^n (Bergstra & Bengio).


def _hit_p(lr_min, lr_max, good_min, good_max):
    return math.log(good_max / good_min) / math.log(lr_max / lr_min)


def random_search_hit(n, lr_min, lr_max, good_min, good_max):
    return 1 - (1 - _hit_p(lr_min, lr_max, good_min, good_max)) ** n


def _hit_linear(n, lr_min, lr_max, good_min, good_max):
    return 1 - (1 - (good_max - good_min) / (lr_max - lr_min)) ** n


def _hit_union(n, lr_min, lr_max, good_min, good_max):
    return n * _hit_p(lr_min, lr_max, good_min, good_max)


def _hit_all(n, lr_min, lr_max, good_min, good_max):
    return _hit_p(lr_min, lr_max, good_min, good_max) ** n


def _hit_miss(n, lr_min, lr_max, good_min, good_max):
    return (1 - _hit_p(lr_min, lr_max, good_min, good_max)) ** n


def _hit_args(n, lr_min, lr_max, good_min, good_max):
    return {"n": n, "lr_min": lr_min, "lr_max": lr_max, "good_min": good_min, "good_max": good_max}


def _hit_public():
    return [
        _case("9 draws on [1e-3, 10], band [0.02, 0.2] (the hint's example)", args=_hit_args(9, 1e-3, 10.0, 0.02, 0.2)),
        _case("1 draw on [1e-4, 1], band [1e-3, 1e-2]", args=_hit_args(1, 1e-4, 1.0, 1e-3, 1e-2)),
        _case("20 draws on [1e-5, 1e-1], band [3e-4, 3e-3]", args=_hit_args(20, 1e-5, 0.1, 3e-4, 3e-3)),
    ]


def _hit_hidden(rng):
    cases = []
    for _ in range(3):
        lo = float(10 ** rng.uniform(-6, -2))
        decades = float(rng.uniform(2, 6))
        width = float(rng.uniform(0.3, 1.5))  # the band: 5 % to 75 % of the range, in logarithms
        start = float(rng.uniform(0, decades - width))
        args = _hit_args(int(rng.integers(2, 30)), lo, lo * 10**decades, lo * 10**start, lo * 10 ** (start + width))
        cases.append(_case("random range, band and number of draws", args=args))
    return cases


GRADING = (
    Grading(
        "best_lr_prediction",
        accept=_best_lr_accept,
        mistakes={
            "default_safe": lambda c: c == "0.001",
            "range_minimum": lambda c: c == "0.3",
            "normalized_any_lr": lambda c: c == "3",
        },
    ),
    Grading(
        "choose_hyperparameters",
        reference=choose_hyperparameters,
        mistakes=WRONG_CONFIGS,
        public_cases=list,
        hidden_cases=_runs,
    ),
    Grading(
        "random_search_hit",
        reference=random_search_hit,
        mistakes={"linear_scale": _hit_linear, "union_bound": _hit_union, "all_hit": _hit_all, "all_miss": _hit_miss},
        public_cases=_hit_public,
        hidden_cases=_hit_hidden,
    ),
)
