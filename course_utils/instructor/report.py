"""What a student gets back from the batch grader: feedback as JSON, Markdown and HTML.

Built from the grader's record of one submission, for the student who wrote it:

* only the student's own results: per question the points, each hidden check's label, pass or
  fail and message, the likely mistake, and a **reason for every lost point** a student can act on
  ("function adam_step not found: the graded notebook defines adam_update instead", "adam_step
  raised ZeroDivisionError on hidden check 3 ...", "timed out ..."). Never the hidden inputs,
  expected values, the grader's notes for the instructor (flags), or an absolute path of the
  instructor's machine or of the sandbox (:func:`scrub` cuts every path down to its file name);
* everything that came from the student (messages of their exceptions, what their code printed,
  written answers) is escaped: HTML-escaped in the HTML page, and in Markdown either escaped or
  inside a code fence it cannot close, so a student's ``<script>`` is shown, never run.
"""

from __future__ import annotations

import html
import re
from pathlib import PurePath

from course_utils.grading.extract import BLANK_ANSWERS
from course_utils.grading.questions import questions_of

# an absolute path: /a/b..., ~/a..., C:\a\... (at least two components, so "1/2" or "/ 2" stay)
_PATH = re.compile(r"(?<![\w.~/\\-])(?:~?/|[A-Za-z]:\\)(?:[\w.@+~-]+[/\\])+[\w.@+~-]*")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()!|#~<>])")
_STUDENT_NOTICES = {
    "duplicate": "`{0}` is defined more than once in your notebook; the last definition was graded.",
    "retyped-cell": "`{0}` was found in a markdown or raw cell; change that cell back to a code cell.",
    "syntax-error": "{0} has a syntax error, so nothing in it was graded.",
    "written-blank": "No answer was found for the written question `{0}`.",
    "answer-found-by-heading": "Your answer to `{0}` was found by its heading: its answer marker was deleted.",
    "malformed-notebook": "The notebook file is not quite a valid notebook; it was read anyway.",
}
HONEST_NOTE = "This score comes from hidden randomized checks; the public checks in the notebook only give feedback."


def scrub(text) -> str:
    """``text`` with every absolute path replaced by its last component (a file name)."""
    if text is None:
        return ""
    return _PATH.sub(lambda m: PurePath(m.group(0).replace("\\", "/").rstrip("/")).name or "…", str(text))


def _notices(record) -> list[str]:
    out = []
    for flag in record.get("flags", []):
        kind, _, arg = str(flag).partition(":")
        if kind in _STUDENT_NOTICES:
            out.append(_STUDENT_NOTICES[kind].format(arg.replace("cell-", "cell ")))
    out.extend(scrub(n) for n in record.get("notices", []))  # the grader's own notes meant for students
    return list(dict.fromkeys(out))


def reason(entry: dict, function: str) -> str:
    """Why a question lost points, in words a student can act on ("" when it got full marks)."""
    if entry.get("points", 0) >= entry.get("max_points", 0) and entry.get("cases"):
        return ""
    status, detail = entry.get("status", ""), scrub(entry.get("detail", "")).rstrip(".")
    if status == "missing":
        return detail or f"function {function} not found in the notebook"
    if status == "not-implemented":
        return (
            f"{function} still raises NotImplementedError: write your answer where the notebook says # YOUR CODE HERE"
        )
    if status == "import-error":
        text = f"your code stopped while the grader was loading it, before {function} was called: {detail}"
        runs = (entry.get("extracted") or {}).get("runs_code") or []
        if runs:
            text += ". These top-level lines run code when your answer is loaded: " + ", ".join(scrub(r) for r in runs)
        return text + ". Run validate() in your notebook to see what the grader loads"
    if status == "timeout":
        return f"timed out: {function} was {detail}"
    if status in ("cpu-limit", "output-limit", "killed", "crashed", "exited", "no-result", "bad-result"):
        return f"the grader could not finish running {function}: it {detail}" if detail else status
    if status in ("invalid-config", "error"):
        return f"{function}: {detail}"
    if status == "not-committed":
        return f"the prediction does not count as committed before the experiment: {detail}"
    cases = entry.get("cases", [])
    if cases and str(cases[0].get("label", "")).startswith("prediction committed"):
        text = "the committed prediction is outside the accepted answer (the explanation is graded by hand)"
        return text + (f". Likely misconception: {scrub(entry['diagnosis'])}" if entry.get("diagnosis") else "")
    failed = [(i, c) for i, c in enumerate(cases, 1) if not c.get("passed")]
    if not failed:
        return detail or status or "no points"
    i, first = failed[0]
    message, label = scrub(first.get("message", "")), scrub(first.get("label", ""))
    if message.startswith("raised "):
        error_type, _, error_message = message[len("raised ") :].partition(": ")
        said = f"{function} raised {error_type} on hidden check {i} ({label})"
        said += f": {error_message}" if error_message else ""
    else:
        said = f"on hidden check {i} ({label}), {function} {message}" if message else f"hidden check {i} ({label})"
    text = f"{len(failed)} of {len(cases)} hidden checks failed; the first: {said}"
    if status == "mutates-inputs":
        text = f"{function} changes its inputs in place (return new arrays instead); " + text
    if entry.get("diagnosis"):
        text += f". Likely mistake: {scrub(entry['diagnosis'])}"
    return text


def public_feedback(record: dict, assignment: str) -> dict:
    """What a student may see of a record: no inputs, no expected values, no instructor notes, no paths."""
    questions = {q.name: q for q in questions_of(assignment)}
    out = {
        "assignment": assignment,
        "submission": PurePath(str(record.get("submission", ""))).name,
        "score": record.get("score", 0.0),
        "max_score": record.get("max_score", 0.0),
        "notices": _notices(record),
        "questions": {},
        "written": {k: v for k, v in record.get("written", {}).items()},
    }
    if "error" in record:
        unreadable = "unreadable" in record.get("flags", [])
        out["error"] = (
            f"the notebook could not be read: {scrub(record['error'])}"
            if unreadable
            else "the grader failed on this notebook (not because of your answers); your instructor has the details"
        )
    for name, e in record.get("questions", {}).items():
        q = questions.get(name)
        function = q.function if q is not None and q.function else name
        out["questions"][name] = {
            "title": e.get("title"),
            "points": e.get("points", 0.0),
            "max_points": e.get("max_points", 0.0),
            "status": e.get("status"),
            "detail": scrub(e.get("detail", "")),
            "diagnosis": scrub(e["diagnosis"]) if e.get("diagnosis") else None,
            "reason": reason(e, function),
            "cases": [
                {"label": scrub(c.get("label")), "passed": bool(c.get("passed")), "message": scrub(c.get("message"))}
                for c in e.get("cases", [])
            ],
            "error_output": scrub(e.get("stderr", "")).strip()[-1500:] if e.get("status") not in ("ok", None) else "",
        }
    return out


# --- Markdown -------------------------------------------------------------------------------------


def md_text(text) -> str:
    """Student-originated text made inert in Markdown: no HTML, links, emphasis or headings."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False).replace("\n", " "))


def md_block(text, info="text") -> list[str]:
    """A fenced code block that the text cannot close (a fence longer than any backtick run in it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *text.splitlines(), fence]


def feedback_markdown(record: dict, assignment: str) -> str:
    fb = public_feedback(record, assignment)
    lines = [f"# {assignment}: feedback for {md_text(fb['submission'])}", ""]
    lines.append(f"**Auto-graded score: {fb['score']:g} / {fb['max_score']:g}.** Written answers are graded by hand.")
    if "error" in fb:
        lines += ["", f"{md_text(fb['error'])}. Every question scored 0."]
    if fb["notices"]:
        lines += ["", *[f"- {md_text(n)}" for n in fb["notices"]]]
    for q in questions_of(assignment):
        if q.graded_by == "written":
            text = fb["written"].get(q.name)
            lines += ["", f"## {q.name}: {q.title} (written, {q.points:g} points, graded by hand)", ""]
            if text is None or text.strip() in BLANK_ANSWERS:
                lines.append("_No answer found._")
            else:
                lines += [f"> {md_text(line)}" if line.strip() else ">" for line in text.splitlines()]
            continue
        e = fb["questions"].get(q.name)
        if e is None:
            continue
        n_ok = sum(c["passed"] for c in e["cases"])
        lines += ["", f"## {q.name}: {q.title} ({e['points']:g} / {e['max_points']:g})", ""]
        lines.append(f"{n_ok} of {len(e['cases'])} hidden checks passed.")
        if e["reason"]:
            lines += ["", f"**Why {'no' if e['points'] == 0 else 'not all'} points:** {md_text(e['reason'])}", ""]
        for c in e["cases"]:
            mark = "✓" if c["passed"] else "✗"
            lines.append(f"- {mark} {md_text(c['label'])}" + ("" if c["passed"] else f": {md_text(c['message'])}"))
        if e["diagnosis"]:  # the course's own words (grading/questions/), written in Markdown
            lines += ["", f"Likely mistake: {e['diagnosis']}"]
        if e["error_output"]:
            lines += ["", "Error output (truncated):", "", *md_block(e["error_output"])]
    lines += ["", f"_{HONEST_NOTE}_", ""]
    return "\n".join(lines)


# --- HTML -----------------------------------------------------------------------------------------

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
    "pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;white-space:pre-wrap}"
    ".ok{color:#1a7f37}.bad{color:#b42318}.reason{border-left:4px solid #b42318;padding-left:.6rem}"
)


def feedback_html(record: dict, assignment: str) -> str:
    """A self-contained page; every string that is not a fixed part of the template is escaped."""
    fb = public_feedback(record, assignment)
    e_ = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e_(assignment)}: feedback</title><style>{_CSS}</style></head><body>",
        f"<h1>{e_(assignment)}: feedback for <code>{e_(fb['submission'])}</code></h1>",
        f"<p><strong>Auto-graded score: {fb['score']:g} / {fb['max_score']:g}.</strong> "
        "Written answers are graded by hand.</p>",
    ]
    if "error" in fb:
        parts.append(f'<p class="reason">{e_(fb["error"])}. Every question scored 0.</p>')
    if fb["notices"]:
        parts.append("<ul>" + "".join(f"<li>{e_(n)}</li>" for n in fb["notices"]) + "</ul>")
    for q in questions_of(assignment):
        if q.graded_by == "written":
            text = fb["written"].get(q.name)
            parts.append(f"<h2>{e_(q.name)}: {e_(q.title)} (written, {q.points:g} points, graded by hand)</h2>")
            blank = text is None or text.strip() in BLANK_ANSWERS
            parts.append("<p><em>No answer found.</em></p>" if blank else f"<pre>{e_(text)}</pre>")
            continue
        e = fb["questions"].get(q.name)
        if e is None:
            continue
        n_ok = sum(c["passed"] for c in e["cases"])
        parts.append(f"<h2>{e_(q.name)}: {e_(q.title)} ({e['points']:g} / {e['max_points']:g})</h2>")
        parts.append(f"<p>{n_ok} of {len(e['cases'])} hidden checks passed.</p>")
        if e["reason"]:
            parts.append(f'<p class="reason"><strong>Why:</strong> {e_(e["reason"])}</p>')
        items = []
        for c in e["cases"]:
            cls, mark = ("ok", "✓") if c["passed"] else ("bad", "✗")
            msg = "" if c["passed"] else f": {e_(c['message'])}"
            items.append(f'<li><span class="{cls}">{mark}</span> {e_(c["label"])}{msg}</li>')
        parts.append("<ul>" + "".join(items) + "</ul>")
        if e["diagnosis"]:
            parts.append(f"<p>Likely mistake: {e_(e['diagnosis'])}</p>")
        if e["error_output"]:
            parts.append(f"<p>Error output (truncated):</p><pre>{e_(e['error_output'])}</pre>")
    parts.append(f"<p><em>{e_(HONEST_NOTE)}</em></p></body></html>\n")
    return "\n".join(parts)
