# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex09: tuning Adam. What each question asks for (public: ships in the release)."""

from .record import CONFIG_MISTAKES, Question

ASSIGNMENT = "ex09_tuning"

TUNING = {"problem": "mlp", "hidden": 32, "steps": 300, "threshold": 0.12, "max_batch_size": 128}

QUESTIONS = (
    Question(
        name="choose_hyperparameters",
        assignment=ASSIGNMENT,
        kind="design",
        level="core",
        points=6,
        title=f"reach a validation loss below {TUNING['threshold']} within {TUNING['steps']} steps",
        function="choose_hyperparameters",
        params=(),
        returns=("config",),
        mistakes=dict(CONFIG_MISTAKES),
        hints=(
            "Start from Adam and sweep the learning rate on a log grid (1e-3 ... 1e-1): with this step budget the "
            "default 1e-3 is far too cautious.",
            'A larger batch (up to 128) makes each step less noisy; a cosine schedule ("schedule": "cosine") lets '
            "you start with a large step and end with a small one.",
            "Worked explanation: the grade runs your configuration on hidden seeds, so a configuration that reaches 0.11 on one seed "
            "and 0.13 on another earns half the points. Suppose three learning rates give mean validation losses 0.20, 0.10 and 0.105 over "
            "seeds 0-3, with the middle one ranging 0.09-0.13 and the last 0.10-0.11: the last is the better choice, since its worst seed still passes. "
            "Judge each candidate by its worst seed and keep a margin below the threshold; the seeds you tried are not the ones that grade you.",
        ),
    ),
    Question(
        name="tuning_method",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="how you searched",
        prompt="Describe your search (grid or random, which ranges), what mattered most, and how you avoided overfitting "
        "the validation set.",
    ),
)
