# ruff: noqa: E501  (the shared messages are prose: one string per line reads better than wrapped fragments)
"""The record of one exercise question, and the messages several questions share.

A :class:`Question` checks itself when it is created, so a typo in a kind, a level, an argument
name or a mistake message fails when its assignment's module is imported, not while grading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What a question asks the student to do. A closed set: a new kind is added here together with the
# code that grades it (GRADED_BY), never by a free-form string in one question.
#   rule    a warm-up: turn an update rule the exercise states as a formula into array code (shapes,
#           state, no in-place changes); copying the formula is expected, so it tests coding, not reading
#   paper   implement an algorithm given only as a paper's pseudo-code or in words (no formula to copy)
#   derive  derive a closed form, then write it as a function of the given inputs (hidden inputs vary)
#   predict commit a prediction (a number or a choice) in its own cell, then run the experiment that reads it
#   bug     find and fix the one or two subtle bugs of a plausible implementation
#   design  choose settings that reach a target; the grader trains them itself on hidden seeds
#   written explain in words; graded by hand with the rubric in INSTRUCTORS.md
KINDS = ("rule", "paper", "derive", "predict", "bug", "design", "written")
# How each kind is scored: "function" on the values a student's function returns on public and hidden
# randomized cases (naming known mistakes), "config" by training the returned configuration on hidden
# seeds, "prediction" by reading the committed literal from the saved notebook (never running it),
# "written" by hand.
GRADED_BY = {
    "rule": "function",
    "paper": "function",
    "derive": "function",
    "bug": "function",
    "design": "config",
    "predict": "prediction",
    "written": "written",
}
LEVELS = ("core", "stretch")  # core: everyone does it; stretch: for those who want more
OUTPUTS = ("arrays", "batches")

# The fingerprints of a design question's failed training run, recognised from the configuration and the
# losses it reached (course_utils.grading.tuning.config_mistake); a design question's mistakes are some of these.
CONFIG_MISTAKES = {
    "diverged": "a run diverged: its validation loss is not finite or is above ln 10 = 2.30, the loss of guessing uniformly among the ten digits, so the training made the network worse than at its start. The learning rate is far too large for this optimizer: come down by a factor of 10.",
    "too_cautious": "the learning rate is at or below the optimizer's textbook default (1e-3 for Adam and its relatives, 1e-2 for SGD): with a budget of a few hundred steps the loss has barely started to fall. Sweep upwards on a log grid.",
    "too_large": "the peak learning rate is beyond the sensible range for this optimizer (0.3 or more for Adam and its relatives, whose steps are about lr per coordinate; 20 or more for SGD): even a schedule cannot recover from the first steps. Come down by a factor of 3 to 10.",
    "small_batch": "a batch of fewer than 32 examples: with so few steps the gradient noise of tiny batches sets a floor the run cannot get under. Use a larger batch (up to the limit) before you give up on a learning rate.",
    "ends_high": "a constant schedule at a large learning rate: the last steps still have the full size, so the weights bounce in the gradient noise instead of settling. Keep the peak and let a schedule (cosine) bring the rate down at the end.",
}
HONEST = "public checks passed: this is not your grade; hidden randomized checks grade it."
MUTATES = "your function changed its input arrays in place (e.g. `m *= beta1` or `params -= ...`). Build new arrays instead (`m = beta1 * m + ...`): the caller may still need the old values."
NOT_CARRIED = "the state is not carried over: you ignored the incoming state (or restarted it from zero). Use the arguments you receive and return the updated state."


@dataclass(frozen=True)
class Question:
    name: str  # the id used by check() and hint(), and the grade-book column
    assignment: str  # e.g. "ex08_adam"
    kind: str  # one of KINDS (what the student does); GRADED_BY[kind] says how it is scored
    points: float
    title: str  # one line, shown in reports
    function: str | None = None  # name of the function the student defines
    params: tuple = ()  # positional order of the arguments
    returns: tuple = ()  # names of the returned values (a tuple when more than one)
    state: tuple = ()  # returned values fed back as the argument of the same name in multi-step runs
    grad_arg: str | None = None  # the argument that receives each step's gradient in multi-step runs
    t_arg: str | None = None  # the step-number argument (1, 2, ...) in multi-step runs, if any
    output: str = "arrays"  # one of OUTPUTS: "arrays", or "batches" (a list of index arrays)
    rtol: float = 1e-7  # relative tolerance for float64 cases (float32 cases use 1e-4)
    hints: tuple = ()  # three levels: a nudge, the idea, almost the code
    mistakes: dict = field(default_factory=dict)  # known wrong variant -> what to tell the student
    prompt: str = ""  # written questions: what to answer
    level: str = "core"  # one of LEVELS
    tolerance: str = ""  # derive questions: why rtol is what it is (the arithmetic behind it)
    variable: str | None = None  # predict questions: the top-level name that holds the committed prediction
    choices: tuple = ()  # predict questions: the allowed answers of a choice (empty: the prediction is a number)
    target: dict | None = (
        None  # design questions: {"hidden", "steps", "threshold", "max_batch_size"}; None: ex09's TUNING
    )

    @property
    def graded_by(self) -> str:
        """How this question is scored: "function", "config", "prediction" or "written" (see GRADED_BY)."""
        return GRADED_BY[self.kind]

    def __post_init__(self):
        where = f"question {self.name!r}"
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"a question's name must be a Python identifier, got {self.name!r}")
        if not isinstance(self.assignment, str) or not self.assignment:
            raise ValueError(f"{where}: assignment must be a non-empty string, got {self.assignment!r}")
        if self.kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.level not in LEVELS:
            raise ValueError(f"{where}: level must be one of {LEVELS}, got {self.level!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"{where}: output must be one of {OUTPUTS}, got {self.output!r}")
        if isinstance(self.points, bool) or not isinstance(self.points, (int, float)) or not self.points > 0:
            raise ValueError(f"{where}: points must be a positive number, got {self.points!r}")
        for name in ("params", "returns", "state", "hints", "choices"):
            if not isinstance(getattr(self, name), tuple):
                raise TypeError(f"{where}: {name} must be a tuple, got {type(getattr(self, name)).__name__}")
        if not isinstance(self.mistakes, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in self.mistakes.items()
        ):
            raise ValueError(f"{where}: mistakes must map mistake ids to non-empty messages")
        if self.kind == "written":
            if not self.prompt or self.function or self.mistakes:
                raise ValueError(f"{where}: a written question has a prompt, and no function or mistakes")
            return
        if self.kind == "predict":
            if self.function or not isinstance(self.variable, str) or not self.variable.isidentifier():
                raise ValueError(f"{where}: a predict question names its top-level variable, and no function")
            if self.choices and not all(isinstance(c, str) and c for c in self.choices):
                raise ValueError(f"{where}: a predict question's choices must be non-empty strings")
            if len(set(self.choices)) != len(self.choices) or len(self.choices) == 1:
                raise ValueError(f"{where}: a predict question offers no choice, or at least two distinct ones")
            return
        if self.variable is not None or self.choices:
            raise ValueError(f"{where}: only a predict question has a variable or choices")
        if self.target is not None:
            keys = {"hidden", "steps", "threshold", "max_batch_size"}
            if self.kind != "design" or not isinstance(self.target, dict) or set(self.target) != keys:
                raise ValueError(f"{where}: only a design question has a target, a dict with the keys {sorted(keys)}")
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in self.target.values()):
                raise ValueError(f"{where}: a design target's values must be positive numbers")
        if self.kind == "design" and not set(self.mistakes) <= set(CONFIG_MISTAKES):
            raise ValueError(f"{where}: a design question's mistakes are fingerprints from {sorted(CONFIG_MISTAKES)}")
        if self.kind == "derive" and not (isinstance(self.tolerance, str) and self.tolerance.strip()):
            raise ValueError(f"{where}: a derive question says why its tolerance rtol={self.rtol:g} is right")
        if not self.function or not self.function.isidentifier():
            raise ValueError(f"{where}: kind {self.kind!r} needs the name of the student's function")
        unknown = [n for n in (*self.state, self.grad_arg, self.t_arg) if n is not None and n not in self.params]
        if unknown or not set(self.state) <= set(self.returns):
            raise ValueError(f"{where}: state, grad_arg and t_arg must name arguments (and state returned values)")
