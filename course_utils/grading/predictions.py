"""Predict, then run: a prediction is committed in its own cell before the experiment that reads it.

In the notebook, a predict question has two cells::

    PREDICTED_HALF_LIFE = 7          # cell 1: only the prediction, a literal (a number, or one of the choices)

    if commit("ema_half_life", PREDICTED_HALF_LIFE):   # cell 2: the experiment reads the prediction
        ...                                             # and runs only once it is committed

``commit`` checks the value's form, prints a receipt, ``Prediction committed for NAME: VALUE``, into
the experiment cell's saved output, and returns True (False, with the reason, for a malformed one: so
the student release, whose prediction is ``None``, does not show the experiment's result). The grader
never runs any of this: it reads the saved notebook (:func:`committed`) and accepts the prediction only when

1. the experiment cell calls ``commit`` with the question's variable itself (not a copied literal);
2. the variable is set exactly once, by a literal in a code cell *above* the experiment, and nowhere later;
3. the experiment cell's saved output holds the receipt for that same value (so the experiment ran
   with this prediction: a prediction changed after the run no longer matches its receipt);
4. where both cells have saved execution counts, the prediction cell ran before the experiment cell.

What this does not guarantee (and INSTRUCTORS.md says so): the notebook is the student's file. A
student who runs the experiment, then edits the prediction and runs both cells again in order
leaves a notebook indistinguishable from an honest one, and a student can edit the saved JSON. The
checks catch the ordinary ways a prediction drifts after the fact (editing it and not re-running the
experiment, re-running only the prediction cell, computing it from the experiment's result), not a
forger; the explanation, graded by hand, is where the learning is assessed.
"""

from __future__ import annotations

import ast
import math
import numbers
from dataclasses import dataclass, field

from .questions import QUESTIONS

RECEIPT = "Prediction committed for {name}: {value!r}"


def _form_problem(q, value) -> str | None:
    """Why ``value`` is not a well-formed prediction for ``q``, or None."""
    if q.choices:
        if value not in q.choices or not isinstance(value, str):
            return f"the prediction must be one of {', '.join(repr(c) for c in q.choices)}; got {value!r}"
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return f"the prediction must be a finite number; got {value!r}"
    return None


def commit(name: str, value) -> bool:
    """Record a prediction before the experiment runs: the experiment cell starts ``if commit(...):``.

    Returns True (and prints the receipt) for a well-formed prediction, so that the experiment runs only
    once one is committed. It says nothing about whether the prediction is right: the batch grader
    decides that, after you submit.
    """
    q = QUESTIONS.get(name)
    if q is None or q.kind != "predict":
        known = ", ".join(sorted(n for n, p in QUESTIONS.items() if p.kind == "predict"))
        print(f"There is no prediction question {name!r}. Prediction questions: {known}.")
        return False
    problem = _form_problem(q, value)
    if problem:
        print(
            f"{name}: {problem}. Fix the prediction cell ({q.variable} = ...), run it, then run this cell again: "
            "the experiment runs once a prediction is committed."
        )
        return False
    print(RECEIPT.format(name=name, value=value))
    return True


@dataclass
class Committed:
    """What the saved notebook says about one prediction."""

    value: object = None  # the literal, when one was found
    problems: list = field(default_factory=list)  # why it does not count as committed before the experiment

    @property
    def ok(self) -> bool:
        return not self.problems


def _literal(d) -> tuple[bool, object]:
    """``(True, value)`` when the definition is ``NAME = <literal>``."""
    if d.kind != "assign":
        return False, None
    try:
        node = ast.parse(d.code).body[0]
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return False, None
        return True, ast.literal_eval(node.value)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError, IndexError):
        return False, None


def committed(sub, question) -> Committed:
    """Read a predict question's prediction from a parsed notebook (:func:`extract.read_submission`); runs nothing.

    ``question``: its name, or the :class:`~.questions.Question` itself.
    """
    q = QUESTIONS[question] if isinstance(question, str) else question
    name, var, out = q.name, q.variable, Committed()
    calls = sub.commits.get(name, [])
    if not calls:
        out.problems.append(f'no experiment cell calls commit("{name}", {var})')
        return out
    if len(calls) > 1:
        out.problems.append(f'commit("{name}", ...) is called in {len(calls)} places; keep only the experiment\'s')
        return out
    call = calls[0]
    if call.argument != var:
        out.problems.append(
            f'the experiment cell must read the prediction: commit("{name}", {var}), not {call.argument}'
        )
        return out
    defs = sub.definitions.get(var, [])
    before = [d for d in defs if d.order[0] < call.cell]
    if not before:
        out.problems.append(f"{var} is not set in a cell above the experiment (cell {call.cell + 1})")
        return out
    if len(defs) > 1:
        cells = ", ".join(str(d.cell) for d in defs)
        out.problems.append(f"{var} is set more than once (cells {cells}): set it once, above the experiment")
        return out
    d = defs[0]
    is_literal, value = _literal(d)
    if not is_literal:
        out.problems.append(f"{var} must be set to a literal (a number or a quoted choice), not computed: {d.summary}")
        return out
    problem = _form_problem(q, value)
    if problem:
        out.problems.append(problem)
        return out
    out.value = value
    receipt = RECEIPT.format(name=name, value=value)
    if receipt not in call.printed.splitlines():
        if f"Prediction committed for {name}: " in call.printed:
            out.problems.append(
                f"the experiment ran with another prediction than the one saved ({var} = {value!r}): "
                "the prediction was changed after the experiment"
            )
        else:
            out.problems.append(
                f"the experiment cell (cell {call.cell + 1}) has no receipt: it was not run after {var} was set"
            )
        return out
    first, second = sub.exec_counts.get(d.order[0]), sub.exec_counts.get(call.cell)
    if first is not None and second is not None and first > second:
        out.problems.append(f"the prediction cell (cell {d.cell}) was run after the experiment (cell {call.cell + 1})")
    return out
