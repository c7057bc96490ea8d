"""ex09, tuning: a configuration that trains well, and the training runs that grade one (instructor only)."""

from __future__ import annotations

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

GRADING = (
    Grading(
        "choose_hyperparameters",
        reference=choose_hyperparameters,
        mistakes=WRONG_CONFIGS,
        public_cases=list,
        hidden_cases=_runs,
    ),
)
