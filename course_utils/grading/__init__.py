"""Exercises: instant feedback in the notebook, and the data the batch grader shares with it.

In a notebook::

    from course_utils.grading import check, hint
    check("adam_step", adam_step)   # public checks, with the likely mistake named
    hint("adam_step")               # hint level 1; call again for levels 2 and 3
    if commit("ema_half_life", PREDICTED_HALF_LIFE):  # predict questions: the experiment runs once committed
    validate()                      # before submitting: what the grader reads from the saved notebook

The instructor's tools (building releases, hidden checks, the batch grader) live in
``course_utils.instructor``, which is not part of the student release.
"""

from .feedback import CheckResult, check, evaluate, hint
from .predictions import commit
from .questions import ASSIGNMENTS, QUESTIONS
from .tuning import evaluate_config, loss_band
from .validation import validate

__all__ = [
    "ASSIGNMENTS", "QUESTIONS", "CheckResult", "check", "commit", "evaluate", "evaluate_config", "hint", "loss_band",
    "validate",
]  # fmt: skip
