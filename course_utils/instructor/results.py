"""What the grader decided, as typed records: one per case, per question and per submission.

The grader builds these; they are serialized (``to_dict``) into the formats it has always written:
``results/<id>.json`` (under an HMAC), the feedback files and ``grades.csv``. ``from_dict`` reads a
stored record back strictly, so a resumed run only trusts records of exactly this shape; and
``SubmissionResult.from_dict(d).to_dict() == d`` for every record the grader writes, so records
written before these types existed keep verifying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class _Unset:
    """A field absent from the serialized form (``config`` and ``extracted`` exist only where they apply)."""

    def __repr__(self):
        return "UNSET"

    def __reduce__(self):  # one instance, also across the grading workers' pickles
        return "UNSET"


UNSET: Any = _Unset()


class RecordError(ValueError):
    """A stored result that does not have the shape the grader writes."""


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise RecordError(what)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _optional_str(x) -> bool:
    return x is None or isinstance(x, str)


@dataclass
class CaseResult:
    """One hidden case (or one training run of a config question): passed or not, and why."""

    label: str
    passed: bool
    message: str

    def to_dict(self) -> dict:
        return {"label": self.label, "passed": self.passed, "message": self.message}

    @classmethod
    def from_dict(cls, d) -> CaseResult:
        _need(isinstance(d, dict) and set(d) == {"label", "passed", "message"}, "a case needs label, passed, message")
        _need(isinstance(d["label"], str) and isinstance(d["passed"], bool) and isinstance(d["message"], str),
              "a case's label and message are strings, passed a boolean")  # fmt: skip
        return cls(d["label"], d["passed"], d["message"])


_QUESTION_KEYS = ("question", "title", "max_points", "points", "cases", "status", "diagnosis", "detail", "stdout",
                  "stderr")  # fmt: skip


@dataclass
class QuestionResult:
    """One question of one submission: its points, its cases, and what went wrong, if anything."""

    question: str
    title: str
    max_points: float
    points: float = 0.0
    cases: list[CaseResult] = field(default_factory=list)
    status: str = "ok"  # "ok", "missing", "not-implemented", "mutates-inputs", or a sandbox outcome (timeout, ...)
    diagnosis: str | None = None  # the known mistake's message, when one explains the failures
    detail: str = ""
    stdout: str = ""
    stderr: str = ""
    config: Any = UNSET  # config questions that ran: the configuration the student chose
    extracted: Any = UNSET  # questions whose code was found: what the extractor took (see extract.Answer.public)

    @classmethod
    def failed(cls, q, labels, status: str, detail: str) -> QuestionResult:
        """Every case failed for one reason (the code is missing, timed out, ...)."""
        cases = [CaseResult(label, False, detail) for label in labels]
        return cls(q.name, q.title, q.points, cases=cases, status=status, detail=detail)

    def to_dict(self) -> dict:
        d = {
            "question": self.question,
            "title": self.title,
            "max_points": self.max_points,
            "points": self.points,
            "cases": [c.to_dict() for c in self.cases],
            "status": self.status,
            "diagnosis": self.diagnosis,
            "detail": self.detail,
            "stdout": self.stdout,
            "stderr": self.stderr,
        }
        if self.config is not UNSET:
            d["config"] = self.config
        if self.extracted is not UNSET:
            d["extracted"] = self.extracted
        return d

    @classmethod
    def from_dict(cls, d) -> QuestionResult:
        _need(isinstance(d, dict), "a question's result is an object")
        _need(set(_QUESTION_KEYS) <= set(d) <= {*_QUESTION_KEYS, "config", "extracted"}, "unexpected question keys")
        _need(all(isinstance(d[k], str) for k in ("question", "title", "status", "detail", "stdout", "stderr")),
              "a question's names and texts are strings")  # fmt: skip
        _need(_number(d["max_points"]) and _number(d["points"]), "points are numbers")
        _need(_optional_str(d["diagnosis"]) and isinstance(d["cases"], list), "malformed diagnosis or cases")
        _need(d.get("config") is None or isinstance(d["config"], dict), "a config is an object")
        _need(d.get("extracted") is None or isinstance(d["extracted"], dict), "extracted is an object")
        return cls(
            d["question"], d["title"], d["max_points"], d["points"], [CaseResult.from_dict(c) for c in d["cases"]],
            d["status"], d["diagnosis"], d["detail"], d["stdout"], d["stderr"],
            d.get("config", UNSET), d.get("extracted", UNSET),
        )  # fmt: skip


@dataclass
class SubmissionResult:
    """One graded notebook: its questions, written answers, flags and total (the grade book's row)."""

    submission: str  # the path that was graded
    sha256: str = ""  # of the file's bytes: a resumed run re-grades a changed file
    flags: list[str] = field(default_factory=list)
    questions: dict[str, QuestionResult] = field(default_factory=dict)
    written: dict[str, str | None] = field(default_factory=dict)
    score: float = 0.0
    max_score: float = 0.0
    error: str | None = None  # why the notebook could not be read (or graded); absent when it could

    def flag(self, *flags: str) -> None:
        """Add flags that are not there yet, in order."""
        for f in flags:
            if f not in self.flags:
                self.flags.append(f)

    def to_dict(self) -> dict:
        d = {
            "submission": self.submission,
            "sha256": self.sha256,
            "flags": list(self.flags),
            "questions": {name: q.to_dict() for name, q in self.questions.items()},
            "written": dict(self.written),
            "score": self.score,
            "max_score": self.max_score,
        }
        if self.error is not None:
            d["error"] = self.error
        return d

    @classmethod
    def from_dict(cls, d) -> SubmissionResult:
        keys = {"submission", "sha256", "flags", "questions", "written", "score", "max_score"}
        _need(isinstance(d, dict) and keys <= set(d) <= keys | {"error"}, "unexpected submission keys")
        _need(isinstance(d["submission"], str) and isinstance(d["sha256"], str), "submission and sha256 are strings")
        _need(isinstance(d["flags"], list) and all(isinstance(f, str) for f in d["flags"]), "flags are strings")
        _need(isinstance(d["questions"], dict) and isinstance(d["written"], dict), "questions and written are objects")
        _need(all(_optional_str(v) for v in d["written"].values()), "written answers are strings or null")
        _need(_number(d["score"]) and _number(d["max_score"]) and _optional_str(d.get("error")), "malformed totals")
        questions = {}
        for name, q in d["questions"].items():
            questions[name] = QuestionResult.from_dict(q)
            _need(questions[name].question == name, f"question {name!r} is filed under another name")
        return cls(d["submission"], d["sha256"], list(d["flags"]), questions, dict(d["written"]), d["score"],
                   d["max_score"], d.get("error"))  # fmt: skip
