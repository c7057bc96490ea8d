# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex09: tuning Adam. What each question asks for (public: ships in the release)."""

from .record import Question

ASSIGNMENT = "ex09_tuning"

TUNING = {"problem": "mlp", "hidden": 32, "steps": 300, "threshold": 0.12, "max_batch_size": 128}

QUESTIONS = (
    Question(
        name="choose_hyperparameters",
        assignment=ASSIGNMENT,
        kind="design",
        points=6,
        title=f"reach a validation loss below {TUNING['threshold']} within {TUNING['steps']} steps",
        function="choose_hyperparameters",
        params=(),
        returns=("config",),
        hints=(
            "Start from Adam and sweep the learning rate on a log grid (1e-3 ... 1e-1): with this step budget the "
            "default 1e-3 is far too cautious.",
            'A larger batch (up to 128) makes each step less noisy; a cosine schedule ("schedule": "cosine") lets '
            "you start with a large step and end with a small one.",
            "Compare a few configurations with `evaluate_config(config, seed)` for seeds 0-3: choose one that is below "
            "the threshold for *every* seed, with some margin.",
        ),
    ),
    Question(
        name="tuning_method",
        assignment=ASSIGNMENT,
        kind="written",
        points=2,
        title="how you searched",
        prompt="Describe your search (grid or random, which ranges), what mattered most, and how you avoided overfitting "
        "the validation set.",
    ),
)
