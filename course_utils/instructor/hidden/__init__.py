"""Reference answers, known wrong variants and hidden randomized cases (instructor only).

One module per assignment (``ex08_adam.py`` for ``ex08_adam``), mirroring the public questions in
:mod:`course_utils.grading.questions`. Each module holds, question by question, the reference
implementation, a wrong implementation of every known mistake, the inputs of the public cases and
a generator of hidden cases, gathered in one :class:`~.record.Grading` record per question. The
records are checked against the public questions when this package is imported (see
:mod:`.record`): a mistake key that does not match a message, or an auto-graded question without a
reference, fails loudly before anything is graded.

Nothing here ships to students. The build turns the public cases into
``course_utils/grading/public_data/*.json`` (inputs, expected outputs, and the outputs of each wrong
variant), which is all the student-side ``check`` needs.
"""

from __future__ import annotations

import importlib

from course_utils.grading.questions import ASSIGNMENT_MODULES

from .record import Grading, build_registry

# One module per public assignment module, of the same name: a missing one fails here, at import.
MODULES = tuple(importlib.import_module(f"{__name__}.{name}") for name in ASSIGNMENT_MODULES)

GRADINGS: dict[str, Grading] = build_registry(MODULES)  # question name -> its record; raises on any mismatch

# Views for the grader and the build (derived from the records, never edited by hand).
REFERENCES = {name: g.reference for name, g in GRADINGS.items() if g.reference is not None}
VARIANTS = {name: dict(g.mistakes) for name, g in GRADINGS.items() if g.mistakes and g.public.graded_by == "function"}
# design questions: mistake id -> a function returning a configuration that shows that fingerprint
WRONG_CONFIGS = {
    name: dict(g.mistakes) for name, g in GRADINGS.items() if g.mistakes and g.public.graded_by == "config"
}
MISCONCEPTIONS = {name: dict(g.mistakes) for name, g in GRADINGS.items() if g.accept is not None}  # predict questions


def public_cases(name: str) -> list[dict]:
    """The fixed inputs of the public checks (the notebook's ``check`` runs these)."""
    return GRADINGS[name].public_cases()


def hidden_cases(name: str, rng) -> list[dict]:
    """Randomized cases for the batch grader, drawn from ``rng`` (seeded from the grading seed)."""
    return GRADINGS[name].hidden_cases(rng)


__all__ = [
    "GRADINGS",
    "MISCONCEPTIONS",
    "MODULES",
    "REFERENCES",
    "VARIANTS",
    "WRONG_CONFIGS",
    "Grading",
    "hidden_cases",
    "public_cases",
]
