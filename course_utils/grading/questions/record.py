# ruff: noqa: E501  (the shared messages are prose: one string per line reads better than wrapped fragments)
"""The record of one exercise question, and the messages several questions share.

A :class:`Question` checks itself when it is created, so a typo in a kind, a level, an argument
name or a mistake message fails when its assignment's module is imported, not while grading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# How a question is graded. A closed set: a new kind (issue 11 plans implement-from-paper,
# derive-then-check, predict-then-run, find-the-bug, design-an-experiment) is added here together
# with the code that grades it, never by a free-form string in one question.
KINDS = ("function", "config", "written")
LEVELS = ("core", "stretch")  # core: everyone does it; stretch: for those who want more
OUTPUTS = ("arrays", "batches")

HONEST = "public checks passed: this is not your grade; hidden randomized checks grade it."
MUTATES = "your function changed its input arrays in place (e.g. `m *= beta1` or `params -= ...`). Build new arrays instead (`m = beta1 * m + ...`): the caller may still need the old values."
NOT_CARRIED = "the state is not carried over: you ignored the incoming state (or restarted it from zero). Use the arguments you receive and return the updated state."


@dataclass(frozen=True)
class Question:
    name: str  # the id used by check() and hint(), and the grade-book column
    assignment: str  # e.g. "ex08_adam"
    kind: str  # one of KINDS: "function" (graded on values), "config" (on a training result), "written" (by hand)
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
        for name in ("params", "returns", "state", "hints"):
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
        if not self.function or not self.function.isidentifier():
            raise ValueError(f"{where}: kind {self.kind!r} needs the name of the student's function")
        unknown = [n for n in (*self.state, self.grad_arg, self.t_arg) if n is not None and n not in self.params]
        if unknown or not set(self.state) <= set(self.returns):
            raise ValueError(f"{where}: state, grad_arg and t_arg must name arguments (and state returned values)")
