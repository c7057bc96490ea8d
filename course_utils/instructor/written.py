"""Hand-grading written answers: one anonymized page per question, a CSV to fill in, an import.

``export`` writes, for one written question, every student's answer on one HTML page (student
text escaped, shown under a random anonymous id, in the order of those ids) and a CSV with one
row per anonymous id and an empty ``points`` column. The key from anonymous id to submission
stays in the output folder (``written/<question>.key.json``), never in the exported files, and
is reused by later exports, so a grader can export again after late submissions.

``import_points`` validates a filled-in CSV completely before it changes anything (unknown
question or id, points that are not a number or outside 0..max, the same id twice: every
problem is listed with its line number), stores the points in ``written/points.json`` and
rewrites ``grades.csv``, whose ``score`` and ``max_score`` include written points.
"""

from __future__ import annotations

import csv
import html
import io
import math
import secrets
from pathlib import Path

from .gradebook import WRITTEN_POINTS, GradeBook, atomic_write, finalize, fmt, read_json, write_json

CSV_COLUMNS = ["question", "anon_id", "points", "max_points", "comment"]
BLANK = {"", "YOUR ANSWER HERE"}


class WrittenError(ValueError):
    pass


def _key_path(book: GradeBook, question: str) -> Path:
    return book.out / "written" / f"{question}.key.json"


def anonymous_ids(book: GradeBook, question: str) -> dict[str, str]:
    """anon id -> submission id; new submissions get new random ids, old ones keep theirs."""
    path = _key_path(book, question)
    key = read_json(path, {}) or {}
    known = set(key.values())
    for sid in book.ids:
        if sid in known or "no-submission" in _flags(book, sid):
            continue
        anon = f"A{secrets.token_hex(3)}"
        while anon in key:
            anon = f"A{secrets.token_hex(3)}"
        key[anon] = sid
    write_json(path, key)
    return key


def _flags(book: GradeBook, sid: str) -> str:
    for row in book.rows:
        if row["submission"] == sid:
            return row.get("flags", "")
    return ""


def _prompt(question: str) -> str:
    try:
        from course_utils.grading.questions import QUESTIONS

        return getattr(QUESTIONS.get(question), "prompt", "") or ""
    except Exception:  # noqa: BLE001 - the prompt is a convenience; the grader's tables may move
        return ""


def export(out: Path, question: str, dest: Path) -> tuple[Path, Path]:
    from .exports import render_markdown

    book = GradeBook(out)
    q = book.question(question)
    if not q.by_hand:
        raise WrittenError(f"{question} is graded automatically, not by hand (written questions: "
                           f"{[w.name for w in book.written]})")  # fmt: skip
    key = anonymous_ids(book, question)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    sections, rows = [], []
    for anon in sorted(key):
        sid = key[anon]
        if sid not in book.ids:
            continue
        text = book.written_answer(sid, question)
        blank = text is None or text.strip() in BLANK
        body = "<p><em>No answer.</em></p>" if blank else render_markdown(text)
        sections.append(f'<section id="{anon}">\n<h2>{anon}</h2>\n{body}\n</section>')
        entry = (book.written_points.get(sid) or {}).get(question) or {}
        points = "" if entry.get("points") is None else fmt(entry["points"])
        rows.append([question, anon, points, fmt(q.points), entry.get("comment", "")])
    title = f"{book.assignment}: {question} ({html.escape(q.title)}), {fmt(q.points)} points"
    prompt = _prompt(question)
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            "<style>body{font-family:sans-serif;max-width:50em;margin:auto}"
            "section{border-top:1px solid #999;padding:.5em 0}pre{white-space:pre-wrap}</style>",
            "</head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p>{html.escape(prompt)}</p>" if prompt else "",
            f"<p>{len(sections)} answers, in the order of their anonymous ids. Enter points in "
            f"<code>written-{html.escape(question)}.csv</code> and import it with "
            "<code>python -m course_utils.grade written-import</code>.</p>",
            *sections,
            "</body></html>",
            "",
        ]
    )
    page_path, csv_path = dest / f"written-{question}.html", dest / f"written-{question}.csv"
    atomic_write(page_path, page)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    atomic_write(csv_path, buf.getvalue())
    return page_path, csv_path


def import_points(out: Path, csv_paths) -> dict:
    """Validate every row of every file, then store the points; returns counts."""
    book = GradeBook(out)
    written = {q.name: q for q in book.written}
    keys = {name: read_json(_key_path(book, name), {}) or {} for name in written}
    problems, updates, seen = [], {}, {}
    pending = 0
    for path in csv_paths:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise WrittenError(f"cannot read {path}: {exc}") from exc
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        need = {"question", "anon_id", "points"} - set(header)
        if need:
            raise WrittenError(f"{path}: missing column(s) {sorted(need)}; expected {CSV_COLUMNS}")
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            where = f"{path.name}, line {line}"
            qname, anon, raw = row.get("question", ""), row.get("anon_id", ""), row.get("points", "")
            if qname not in written:
                problems.append(f"{where}: {qname!r} is not a written question of {book.assignment} "
                                f"({', '.join(written) or 'none'})")  # fmt: skip
                continue
            if anon not in keys[qname]:
                problems.append(
                    f"{where}: unknown anonymous id {anon!r} for {qname} (was it exported from this folder?)"
                )
                continue
            if (qname, anon) in seen:
                problems.append(f"{where}: {anon} appears again (first on {seen[(qname, anon)]})")
                continue
            seen[(qname, anon)] = where
            if raw == "":
                pending += 1
                continue
            try:
                points = float(raw.replace(",", ".")) if raw.count(",") == 1 and "." not in raw else float(raw)
            except ValueError:
                problems.append(f"{where}: points {raw!r} is not a number")
                continue
            top = written[qname].points
            if not math.isfinite(points) or not 0 <= points <= top:
                problems.append(f"{where}: points {raw} out of range for {qname} (0 to {fmt(top)})")
                continue
            sid = keys[qname][anon]
            updates.setdefault(sid, {})[qname] = {"points": points, "comment": row.get("comment", "")}
    if problems:
        raise WrittenError("nothing imported; fix these rows:\n  " + "\n  ".join(problems))
    stored = read_json(book.out / WRITTEN_POINTS, {}) or {}
    for sid, entries in updates.items():
        stored.setdefault(sid, {}).update(entries)
    write_json(book.out / WRITTEN_POINTS, stored)
    finalize(book.out)
    return {"imported": sum(len(v) for v in updates.values()), "blank": pending}
