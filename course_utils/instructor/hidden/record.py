"""The instructor's half of a question: its reference, its known mistakes, its public and hidden cases.

A :class:`Grading` record is checked against the public question (:mod:`course_utils.grading.questions`)
when it is created, that is when its assignment's module is imported: an unknown question, a
written question, a mistake implemented without a message for the student or a message without an
implementation all raise ``ValueError`` before anything is graded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from course_utils.grading.questions import QUESTIONS, Question


@dataclass(frozen=True)
class Grading:
    """Function, bug, derive and design questions have a reference and cases; a predict question has
    ``accept`` instead (is a committed prediction right?) and, as mistakes, one predicate per known
    misconception (does this prediction come from it?)."""

    question: str  # the public question's name
    reference: Callable | None = None  # the correct answer, written with + - * / ** so it runs on arrays and tensors
    public_cases: Callable[[], list] | None = None  # () -> the fixed inputs of the notebook's check()
    hidden_cases: Callable | None = None  # (rng) -> randomized cases for the batch grader, always as many
    mistakes: dict[str, Callable] = field(default_factory=dict)  # mistake id -> a wrong implementation (or predicate)
    accept: Callable | None = None  # predict questions: prediction -> True when it is within the stated band

    def __post_init__(self):
        q = QUESTIONS.get(self.question)
        if q is None:
            raise ValueError(f"grading registered for unknown question {self.question!r}")
        if q.graded_by == "written":
            raise ValueError(f"{self.question}: a written question is graded by hand, it has no reference")
        if q.graded_by == "prediction":
            if not callable(self.accept):
                raise TypeError(f"{self.question}: a predict question needs accept(prediction) -> bool")
            if any(getattr(self, name) is not None for name in ("reference", "public_cases", "hidden_cases")):
                raise ValueError(f"{self.question}: a predict question is read, never run: no reference or cases")
        else:
            if self.accept is not None:
                raise ValueError(f"{self.question}: only a predict question has accept")
            for name in ("reference", "public_cases", "hidden_cases"):
                if not callable(getattr(self, name)):
                    raise TypeError(f"{self.question}: {name} must be callable")
        unknown = sorted(set(self.mistakes) - set(q.mistakes))
        if unknown:
            raise ValueError(
                f"{self.question}: wrong variants {unknown} have no message in the question's mistakes "
                f"(known: {sorted(q.mistakes)})"
            )
        unimplemented = sorted(set(q.mistakes) - set(self.mistakes))
        if unimplemented:
            raise ValueError(f"{self.question}: mistake messages {unimplemented} have no wrong implementation")
        if not all(callable(fn) for fn in self.mistakes.values()):
            raise TypeError(f"{self.question}: every wrong implementation must be callable")

    @property
    def public(self) -> Question:
        return QUESTIONS[self.question]


def build_registry(modules, questions=None) -> dict[str, Grading]:
    """Every module's ``GRADING`` records by question name, in course order.

    Raises ``ValueError`` for a module without ``ASSIGNMENT`` or ``GRADING``, a record for another
    assignment's question, a question graded twice, or an auto-graded question without a record.
    """
    questions = QUESTIONS if questions is None else questions
    gradings: dict[str, Grading] = {}
    for module in modules:
        where = getattr(module, "__name__", repr(module))
        assignment, records = getattr(module, "ASSIGNMENT", None), getattr(module, "GRADING", None)
        if not isinstance(assignment, str) or not isinstance(records, tuple):
            raise ValueError(f"{where} must define ASSIGNMENT (a name) and GRADING (a tuple of Grading records)")
        for g in records:
            if not isinstance(g, Grading):
                raise TypeError(f"{where}: GRADING holds a {type(g).__name__}, not a Grading")
            if questions[g.question].assignment != assignment:
                raise ValueError(
                    f"{where}: {g.question!r} belongs to {questions[g.question].assignment}, not {assignment}"
                )
            if g.question in gradings:
                raise ValueError(f"{where}: question {g.question!r} is graded twice")
            gradings[g.question] = g
    missing = sorted(n for n, q in questions.items() if q.graded_by != "written" and n not in gradings)
    if missing:
        raise ValueError(f"auto-graded questions without a reference implementation: {missing}")
    return gradings
