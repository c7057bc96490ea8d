"""The grader's output folder as the term-workflow tools see it (an adapter).

The batch grader writes ``OUT/grades.csv``, ``OUT/manifest.json``, ``OUT/results/<id>.json`` and
``OUT/feedback/<id>.{md,json}``. Everything in this package's workflow modules (roster, written
answers, late work, exports, Gradescope, shards, similarity) reads those files through this
module only, so a change in the grader's file formats is absorbed here.

The workflow adds its own files next to them:

* ``OUT/workflow.json``: who each submission belongs to (roster match), its submission time and
  where that came from, its late assessment, students on the roster with no submission;
* ``OUT/written/points.json``: hand-graded points (and comments) for written questions;
* ``OUT/roster_report.csv``: how every submission was matched (or not).

:func:`finalize` folds them into ``grades.csv``: ``student_id`` and ``name`` columns, written
points, the late penalty, and ``score``/``max_score`` that include the written questions.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

WORKFLOW = "workflow.json"
WRITTEN_POINTS = Path("written") / "points.json"
EXTRA_COLUMNS = [
    "auto_score",
    "auto_max_score",
    "written_score",
    "written_max_score",
    "late_days",
    "late_penalty",
    "submitted_at",
    "time_source",
]
ID_COLUMNS = ["student_id", "name"]


@dataclass(frozen=True)
class QuestionInfo:
    name: str
    kind: str  # what the student does: paper, derive, predict, bug, design or written (older runs: function, config)
    points: float
    title: str
    graded_by: str = ""  # "function", "config", "prediction" or "written"; empty: read from the kind

    @property
    def by_hand(self) -> bool:
        return (self.graded_by or self.kind) == "written"


def atomic_write(path: Path, text: str) -> None:
    """Write a file so that a reader sees the old or the new content, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data) -> None:
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def read_json(path: Path, default=None):
    path = Path(path)
    if not path.is_file():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def fmt(x: float) -> str:
    return f"{round(float(x), 2):g}"


class GradeBookError(ValueError):
    pass


class GradeBook:
    """One grading output folder."""

    def __init__(self, out: Path):
        self.out = Path(out)
        if not (self.out / "grades.csv").is_file():
            raise GradeBookError(f"{self.out} has no grades.csv: is it a grading output folder (--out)?")
        self.manifest = read_json(self.out / "manifest.json", {}) or {}
        self.assignment = self.manifest.get("assignment", "")
        self.questions = self._questions()
        text = (self.out / "grades.csv").read_text(encoding="utf-8")
        reader = csv.DictReader(io.StringIO(text))
        self.columns = list(reader.fieldnames or [])
        self.rows = list(reader)
        self.workflow = read_json(self.out / WORKFLOW, {}) or {}
        self.written_points = read_json(self.out / WRITTEN_POINTS, {}) or {}

    # --- questions ---------------------------------------------------------------------------
    def _questions(self) -> list[QuestionInfo]:
        from course_utils.grading.questions import questions_of  # the grader's own table: for the order

        try:
            table = list(questions_of(self.assignment))
        except Exception:  # noqa: BLE001 - an assignment this version does not know: the manifest alone
            table = []
        qs = self.manifest.get("questions")
        if isinstance(qs, dict) and qs:
            order = {q.name: i for i, q in enumerate(table)}
            return [
                QuestionInfo(
                    n,
                    str(q.get("kind", "function")),
                    float(q.get("points", 0)),
                    str(q.get("title", n)),
                    str(q.get("graded_by", "")),
                )
                for n, q in sorted(qs.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
            ]
        return [QuestionInfo(q.name, q.kind, float(q.points), q.title, q.graded_by) for q in table]

    @property
    def written(self) -> list[QuestionInfo]:
        return [q for q in self.questions if q.by_hand]

    @property
    def auto(self) -> list[QuestionInfo]:
        return [q for q in self.questions if not q.by_hand]

    def question(self, name: str) -> QuestionInfo:
        for q in self.questions:
            if q.name == name:
                return q
        raise GradeBookError(
            f"{self.assignment} has no question {name!r}; its questions: {[q.name for q in self.questions]}"
        )

    # --- per submission ----------------------------------------------------------------------
    @property
    def ids(self) -> list[str]:
        return [r["submission"] for r in self.rows]

    def record(self, sid: str) -> dict | None:
        """The grader's full record for one submission (instructor only), or None."""
        data = read_json(self.out / "results" / f"{sid}.json")
        if isinstance(data, dict):
            record = data.get("record", data)
            return record if isinstance(record, dict) else None
        return None

    def public_feedback(self, sid: str) -> dict | None:
        data = read_json(self.out / "feedback" / f"{sid}.json")
        return data if isinstance(data, dict) else None

    def feedback_markdown(self, sid: str) -> str | None:
        path = self.out / "feedback" / f"{sid}.md"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def student(self, sid: str) -> dict:
        return (self.workflow.get("students") or {}).get(sid) or {}

    def submission_path(self, sid: str) -> Path | None:
        info = self.student(sid)
        if info.get("file"):
            return Path(info["file"])
        record = self.record(sid) or {}
        return Path(record["submission"]) if record.get("submission") else None

    def written_answer(self, sid: str, question: str) -> str | None:
        """The student's answer: from the grader's record, else its feedback, else the notebook itself."""
        for source in (self.record(sid), self.public_feedback(sid)):
            written = (source or {}).get("written")
            if isinstance(written, dict) and question in written:
                return written[question]
        path = self.submission_path(sid)
        if path is None or not path.is_file():
            return None
        from . import extract  # reads the notebook; never runs it

        headings = {q.name: q.title for q in self.written}
        return extract.read_submission(path, headings).written.get(question)

    def auto_score(self, row: dict) -> tuple[float, float]:
        """(auto-graded score, its maximum) of a grades.csv row, finalized or not."""
        score = row.get("auto_score") if "auto_score" in row else row.get("score")
        top = row.get("auto_max_score") if "auto_max_score" in row else row.get("max_score")
        return float(score or 0), float(top or 0)

    def written_score(self, sid: str) -> tuple[float, int]:
        """(points entered so far, number of written questions not graded yet)."""
        points = self.written_points.get(sid, {})
        total, pending = 0.0, 0
        for q in self.written:
            entry = points.get(q.name)
            if entry is None or entry.get("points") is None:
                pending += 1
            else:
                total += float(entry["points"])
        return total, pending


def finalize(out: Path) -> GradeBook:
    """Rewrite ``grades.csv`` with student ids, written points, late penalties and full totals.

    Idempotent: it can run after every grading run, written-points import or merge.
    """
    book = GradeBook(out)
    written_max = sum(q.points for q in book.written)
    base = [c for c in book.columns if c not in EXTRA_COLUMNS and c not in ID_COLUMNS]
    columns = base[:1] + ID_COLUMNS + base[1:] + EXTRA_COLUMNS
    rows = []
    present = set()
    for row in book.rows:
        sid = row["submission"]
        present.add(sid)
        info = book.student(sid)
        auto, auto_max = book.auto_score(row)
        if book.auto:  # the assignment's points (a row of a grader error says 0)
            auto_max = sum(q.points for q in book.auto)
        written, _ = book.written_score(sid)
        late = info.get("late") or {}
        raw = auto + written
        penalty = round(raw * float(late.get("fraction", 0.0)), 2)
        new = {c: row.get(c, "") for c in base}
        for q in book.written:
            entry = book.written_points.get(sid, {}).get(q.name) or {}
            new[f"written:{q.name}"] = "" if entry.get("points") is None else fmt(entry["points"])
        new.update(
            student_id=info.get("student_id", row.get("student_id", "")),
            name=info.get("name", row.get("name", "")),
            score=fmt(max(raw - penalty, 0.0)),
            max_score=fmt(auto_max + written_max),
            auto_score=fmt(auto),
            auto_max_score=fmt(auto_max),
            written_score=fmt(written),
            written_max_score=fmt(written_max),
            late_days=str(late.get("days_late", "")) if late else "",
            late_penalty=fmt(penalty) if late else "",
            submitted_at=info.get("submitted_at") or "",
            time_source=info.get("time_source") or "",
        )
        rows.append(new)
    auto_max_all = sum(q.points for q in book.auto)
    for sid, info in sorted((book.workflow.get("missing") or {}).items()):
        if sid in present:
            continue
        new = dict.fromkeys(columns, "")
        new.update(
            submission=sid,
            student_id=info.get("student_id", ""),
            name=info.get("name", ""),
            score="0",
            max_score=fmt(auto_max_all + written_max),
            auto_score="0",
            auto_max_score=fmt(auto_max_all),
            written_score="0",
            written_max_score=fmt(written_max),
            flags="no-submission",
        )
        rows.append(new)
    rows.sort(key=lambda r: r["submission"])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(book.out / "grades.csv", buf.getvalue())
    return GradeBook(out)
