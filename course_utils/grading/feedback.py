"""Instant feedback in the notebook: ``check("adam_step", adam_step)`` and ``hint("adam_step")``.

``check`` runs the *public* cases of a question (fixed inputs; expected values stored as data
in ``public_data/``), prints what passed, and names the likely mistake when the answer
reproduces a known wrong variant. It never raises: exceptions, wrong return types and
infinite loops (a time limit) are reported as text. Passing the public checks is not a grade:
the batch grader runs hidden, randomized cases.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import drivers
from .compare import compare_case, diagnose
from .questions import HONEST, QUESTIONS, TUNING

DATA_DIR = Path(__file__).with_name("public_data")
TIME_LIMIT = 30.0  # seconds per check() call
_hint_levels: dict[str, int] = {}
_data_cache: dict[str, dict] = {}


@dataclass
class CheckResult:
    """What ``check`` found; ``str(result)`` is the report it prints."""

    question: str
    title: str
    status: str  # "passed", "failed", "not-implemented", "timeout", "invalid"
    lines: list = field(default_factory=list)  # (passed, label, message)
    diagnosis: str | None = None
    note: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __str__(self) -> str:
        head = f"{self.question} ({self.title})"
        if self.status == "not-implemented":
            return (
                f"{head}: not implemented yet. Write your answer in the function above, run its cell, "
                "then run this check again."
            )
        if self.status == "invalid":
            return f"{head}: {self.note}"
        n_ok = sum(ok for ok, _, _ in self.lines)
        out = [f"{head}: {n_ok} of {len(self.lines)} public checks passed."]
        for ok, label, message in self.lines:
            out.append(f"  {'✓' if ok else '✗'} {label}" + ("" if ok else f": {message}"))
        if self.status == "timeout":
            out.append(f"Stopped after {self.note}: is there an infinite loop, or a very slow one?")
        if self.diagnosis:
            out.append(f"Likely mistake: {self.diagnosis}")
        if self.passed:
            out.append(HONEST[0].upper() + HONEST[1:])
        elif self.status != "timeout" or not self.diagnosis:
            out.append(f'Need help? hint("{self.question}") gives a hint; call it again for a more detailed one.')
        return "\n".join(out)

    __repr__ = __str__


def public_data(assignment: str) -> dict:
    if assignment not in _data_cache:
        with open(DATA_DIR / f"{assignment}.json", encoding="utf-8") as fh:
            _data_cache[assignment] = json.load(fh)
    return _data_cache[assignment]


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that the student's `except Exception` does not hide it."""


class _time_limit:
    def __init__(self, seconds):
        self.seconds = seconds
        self.active = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def __enter__(self):
        if self.active:

            def handler(signum, frame):
                raise _Timeout()

            self.previous = signal.signal(signal.SIGALRM, handler)
            signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.5)  # keeps firing if the first one is swallowed
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


def _expected(entry):
    return {
        "outputs": {k: None if v is None else drivers.decode(v) for k, v in entry["outputs"].items()},
        "info": entry.get("info", {}),
    }


def evaluate(name: str, answer, time_limit: float = TIME_LIMIT) -> CheckResult:
    """Run the public checks of question ``name`` on ``answer``; never raises for the answer's faults."""
    if name not in QUESTIONS:
        known = ", ".join(sorted(QUESTIONS))
        return CheckResult(name, "unknown question", "invalid", note=f"there is no question {name!r}. Known: {known}.")
    q = QUESTIONS[name]
    if q.graded_by == "written":
        return CheckResult(
            name, q.title, "invalid", note="written answers are graded by hand; there is nothing to check."
        )
    if q.graded_by == "prediction":
        return CheckResult(
            name, q.title, "invalid",
            note=f'a prediction is not checked before you submit: commit it with commit("{name}", {q.variable}) '
            "on the first line of the experiment cell, then compare it with what the experiment shows.",
        )  # fmt: skip
    if not callable(answer):
        return CheckResult(
            name,
            q.title,
            "invalid",
            note=f"pass the function itself, e.g. check({name!r}, {q.function}), not its result "
            f"(got {type(answer).__name__}).",
        )
    if q.graded_by == "config":
        return _evaluate_config(q, answer, time_limit)
    cases = public_data(q.assignment)["questions"][name]
    result = CheckResult(name, q.title, "failed")
    failures, passed_variants = [], []
    try:
        with _time_limit(time_limit), np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NaN/inf are reported in words below
            for entry in cases:
                case = drivers.decode(entry["case"])
                res = drivers.run_case(answer, q, case)
                if res["not_implemented"]:
                    result.status = "not-implemented"
                    return result
                ok, message = compare_case(res, _expected(entry["expected"]), q, case)
                result.lines.append((ok, case["label"], message))
                variants = {vid: _expected(v) | {"error": v.get("error")} for vid, v in entry["variants"].items()}
                if ok:
                    passed_variants.append(variants)
                else:
                    failures.append((res, variants, case))
    except _Timeout:
        result.status, result.note = "timeout", f"{time_limit:g} s"
        result.lines.append((False, "remaining checks", "not run (time limit)"))
    if result.status != "timeout":
        result.status = "passed" if not failures else "failed"
    if failures:
        result.diagnosis = diagnose(failures, q, passed_variants)
    return result


def _evaluate_config(q, answer, time_limit) -> CheckResult:
    from .tuning import ConfigError, config_mistake, evaluate_config

    result = CheckResult(q.name, q.title, "failed")
    target = q.target or TUNING
    res = drivers.run_config(answer)
    if res["not_implemented"]:
        result.status = "not-implemented"
        return result
    if res["error"]:
        result.lines.append((False, "returns a configuration", drivers.describe_error(res["error"])))
        return result
    try:
        with _time_limit(time_limit):
            loss = evaluate_config(res["config"], seed=0, target=target)
    except ConfigError as exc:
        result.lines.append((False, "valid configuration", str(exc)))
        return result
    except _Timeout:
        result.status, result.note = "timeout", f"{time_limit:g} s"
        return result
    result.lines.append((True, "valid configuration", "ok"))
    shown = "inf (diverged)" if math.isinf(loss) else f"{loss:.4f}"
    ok = loss < target["threshold"]
    label = f"seed 0: validation loss after {target['steps']} steps = {shown} (must be below {target['threshold']})"
    result.lines.append((ok, label, "above the threshold" if not ok else "ok"))
    result.status = "passed" if ok else "failed"
    mistake = config_mistake(res["config"], [loss], target)
    if mistake in q.mistakes:
        result.diagnosis = q.mistakes[mistake]
    return result


def check(name: str, answer) -> None:
    """Print the public checks of question ``name`` run on ``answer`` (usually your function)."""
    print(evaluate(name, answer))


def hint(name: str, level: int | None = None) -> None:
    """Print a hint: level 1 on the first call, then 2, then 3 (or ask for a ``level``)."""
    q = QUESTIONS.get(name)
    if q is None or not q.hints:
        print(f"No hints for {name!r}." + ("" if q else f" Known questions: {', '.join(sorted(QUESTIONS))}."))
        return
    if level is None:
        level = min(_hint_levels.get(name, 0) + 1, len(q.hints))
    level = max(1, min(int(level), len(q.hints)))
    _hint_levels[name] = level
    more = " (the last one)" if level == len(q.hints) else f' (call hint("{name}") again for level {level + 1})'
    print(f"Hint {level} of {len(q.hints)} for {name}{more}:\n{q.hints[level - 1]}")
