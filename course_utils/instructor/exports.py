"""What leaves the grading folder: a Canvas gradebook CSV, a plain CSV, feedback in Markdown and HTML.

* ``canvas.csv``: Canvas's gradebook import layout (``Student, ID, SIS User ID, SIS Login ID,
  Section, <assignment column>``, then a ``Points Possible`` row). Canvas matches rows by its
  user id (``ID``) or the SIS ids, so the roster should carry them; the simplest roster is
  Canvas's own gradebook export. Name the assignment column as Canvas does
  (``"Ex08 Adam (123456)"``) with ``--canvas-column``.
* ``grades.csv``: one plain row per student: ids, the parts of the score, the total.
* ``feedback/<student>.md`` and ``.html``: the score and how it was made (auto-graded, written
  points and comments, the late penalty and where the submission time came from), followed by
  the grader's per-question feedback. The HTML is rendered from the Markdown with raw HTML
  disabled, so anything a student wrote appears as text, never as markup.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from markdown_it import MarkdownIt

from .gradebook import GradeBook, atomic_write, finalize, fmt
from .roster import slug

# Raw HTML off (a student's <script> shows as text); images off (no page loads anything from elsewhere).
_MD = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image")


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML escaped, no images, and unsafe link schemes (javascript:) refused."""
    return _MD.render(text or "")


def _csv(columns, rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


def _info(book: GradeBook, row: dict) -> dict:
    sid = row["submission"]
    return book.student(sid) or (book.workflow.get("missing") or {}).get(sid) or {}


def canvas_csv(book: GradeBook, column: str) -> tuple[str, list[str]]:
    """(CSV text, ids of rows left out because no student matched them)."""
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]
    top = fmt(sum(q.points for q in book.questions))  # the assignment's points, never one row's
    rows = [["Points Possible", "", "", "", "", top]]
    skipped = []
    for row in book.rows:
        info = _info(book, row)
        if not row.get("student_id"):
            skipped.append(row["submission"])
            continue
        rows.append(
            [
                info.get("name") or row.get("name", ""),
                info.get("canvas_id", ""),
                row["student_id"],
                info.get("login", ""),
                info.get("section", ""),
                row["score"],
            ]
        )
    return _csv(header, rows), skipped


PLAIN_COLUMNS = [
    "student_id",
    "name",
    "email",
    "submission",
    "auto_score",
    "written_score",
    "late_days",
    "late_penalty",
    "score",
    "max_score",
    "flags",
]


def plain_csv(book: GradeBook) -> str:
    rows = []
    for row in book.rows:
        info = _info(book, row)
        merged = {**row, "email": info.get("email", "")}
        rows.append([merged.get(c, "") for c in PLAIN_COLUMNS])
    return _csv(PLAIN_COLUMNS, rows)


def feedback_markdown(book: GradeBook, row: dict) -> str:
    sid = row["submission"]
    info = _info(book, row)
    who = f"{info['name']} ({info['student_id']})" if info.get("name") else (row.get("student_id") or sid)
    lines = [f"# {book.assignment}: feedback for {who}", ""]
    lines.append(f"**Score: {row['score']} / {row['max_score']}**")
    lines.append("")
    parts = [f"auto-graded questions {row.get('auto_score', '')} / {row.get('auto_max_score', '')}"]
    if book.written:
        _, pending = book.written_score(sid)
        written = f"written answers {row.get('written_score', '')} / {row.get('written_max_score', '')}"
        if pending:
            written += f" ({pending} not graded yet)"
        parts.append(written)
    if row.get("late_penalty"):
        parts.append(f"late penalty -{row['late_penalty']}")
    lines.append("Made of: " + "; ".join(parts) + ".")
    if "no-submission" in row.get("flags", ""):
        lines += ["", "No submission was received for this assignment."]
    late = info.get("late")
    if late:
        lines += ["", "## Submission time", ""]
        lines.append(f"- Submitted: {info.get('submitted_at')} (taken from {info.get('time_source')}).")
        ext = " (your extended deadline)" if late.get("extension") else ""
        lines.append(f"- Deadline: {late['deadline']}{ext}.")
        lines.append(f"- {late['reason'][0].upper()}{late['reason'][1:]}.")
    if info.get("lms_late"):
        lines += ["", "The learning-management system marked this submission as late."]
    points = book.written_points.get(sid) or {}
    if book.written and points:
        lines += ["", "## Written answers (graded by hand)", ""]
        for q in book.written:
            entry = points.get(q.name) or {}
            if entry.get("points") is None:
                lines.append(f"- {q.name}: not graded yet")
                continue
            comment = f": {entry['comment']}" if entry.get("comment") else ""
            lines.append(f"- {q.name}: {fmt(entry['points'])} / {fmt(q.points)}{comment}")
    detail = book.feedback_markdown(sid)
    if detail:
        body = detail.splitlines()
        if body and body[0].startswith("# "):
            body = body[1:]  # our own title replaces the grader's
        lines += ["", "## Auto-graded questions", ""] + ["#" + ln if ln.startswith("#") else ln for ln in body]
    return "\n".join(lines).rstrip() + "\n"


def feedback_html(markdown: str, title: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{render_markdown(markdown)}</body></html>\n"
    )


def export_all(out: Path, dest: Path, canvas_column: str | None = None) -> dict:
    book = finalize(out)
    dest = Path(dest)
    (dest / "feedback").mkdir(parents=True, exist_ok=True)
    column = canvas_column or book.assignment
    text, skipped = canvas_csv(book, column)
    atomic_write(dest / "canvas.csv", text)
    atomic_write(dest / "grades.csv", plain_csv(book))
    names = set()
    for row in book.rows:
        name = slug(row.get("student_id") or row["submission"])
        if name in names:  # an unmatched file named like a student id: keep both
            name = f"{name}__{slug(row['submission'])}"
        names.add(name)
        md = feedback_markdown(book, row)
        atomic_write(dest / "feedback" / f"{name}.md", md)
        atomic_write(dest / "feedback" / f"{name}.html", feedback_html(md, f"{book.assignment}: {name}"))
    return {"students": len(book.rows), "not_in_canvas": skipped}
