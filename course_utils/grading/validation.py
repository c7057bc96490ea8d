"""Before you submit: see exactly what the grader will read from your notebook, and whether it runs.

In the notebook (save it first: the saved file is what you hand in)::

    from course_utils.grading import validate
    validate()                      # or validate("ex08_adam.ipynb")

From a shell::

    python -m course_utils.validate ex08_adam.ipynb

For each graded function it shows whether the function is found, the code the grader will run
(the function and the top-level imports, constants, aliases and helpers it uses, with their
cells), what the grader cannot carry over (a name set only by a loop, a value read from a file),
and the result of the public checks run on that code alone, in a fresh Python process started in
an empty folder, as the grader does. It reads the notebook with the grader's own extraction
(:mod:`course_utils.grading.extract`) and runs only the public checks: it knows nothing about the
hidden ones.

Exit status of the command: 0 when every graded function is found and runs on the public checks
(even if some checks fail), 1 when one is missing, does not load, is not implemented, crashes or
times out, 2 when the notebook cannot be read or the assignment cannot be told. With ``--no-run``
nothing is run, and 1 also means that a problem was found (such as a name the grader cannot define).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from .feedback import TIME_LIMIT as CHECK_SECONDS
from .questions import ASSIGNMENTS, QUESTIONS, questions_of

TIME_LIMIT = 120.0  # seconds of wall time per graded function (its public checks have 30 s each)
_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds course_utils

# Runs in a fresh interpreter: load the extracted code one definition at a time (to name the one
# that fails), then run the public checks of each question, exactly as check() does.
_CHILD = r"""
import json, sys
job = json.load(open(sys.argv[1], encoding="utf-8"))
out = {"load_error": None, "questions": {}}
namespace = {"__name__": "__student__"}
for cell, summary, code in job["definitions"]:
    try:
        exec(compile(code, f"<cell {cell}>", "exec"), namespace)
    except BaseException as exc:
        out["load_error"] = f"`{summary}` (cell {cell}) raised {type(exc).__name__}: {exc}"[:500]
        break
if out["load_error"] is None:
    from course_utils.grading.feedback import evaluate
    fn = namespace.get(job["function"])
    for name in job["questions"]:
        try:
            result = evaluate(name, fn, job["check_seconds"])
            out["questions"][name] = {"status": result.status, "text": str(result)}
        except BaseException as exc:
            out["questions"][name] = {"status": "error", "text": f"{type(exc).__name__}: {exc}"[:500]}
with open(sys.argv[2], "w", encoding="utf-8") as fh:
    json.dump(out, fh)
"""


@dataclass
class FunctionReport:
    """One graded function: what the grader extracts, and how its public checks went."""

    function: str
    questions: list  # question names graded on this function
    answer: object  # an extract.Answer
    load_error: str | None = None
    results: dict = field(default_factory=dict)  # question -> {"status", "text"}
    ran: bool = False  # the public checks were run

    @property
    def ok(self) -> bool:
        """Found and loads, and runs on the public checks (when not run: nothing reported as a problem)."""
        if not self.answer.found or self.load_error:
            return False
        if not self.ran:
            return not self.answer.problems
        return bool(self.results) and all(r["status"] in ("passed", "failed") for r in self.results.values())


@dataclass
class Report:
    path: Path
    assignment: str | None
    error: str | None = None
    functions: list = field(default_factory=list)
    written: dict = field(default_factory=dict)  # question -> answered?
    ran: bool = True
    predictions: dict = field(default_factory=dict)  # predict question -> predictions.Committed

    @property
    def ok(self) -> bool:
        return self.error is None and all(f.ok for f in self.functions) and all(c.ok for c in self.predictions.values())

    @property
    def exit_status(self) -> int:
        return 2 if self.error else (0 if self.ok else 1)

    def __str__(self) -> str:
        head = f"Validating {self.path.name}"
        if self.error:
            return f"{head}: {self.error}"
        out = [f"{head} (assignment {self.assignment}): what the grader will read from the SAVED file.", ""]
        for f in self.functions:
            out += _describe(f, self.ran)
        for name, c in self.predictions.items():
            if c.ok:
                out.append(f"prediction {name}: committed before its experiment ({c.value!r}); graded after you submit")
            else:
                out.append(f"prediction {name}: NOT COUNTED: {'; '.join(c.problems)}")
        for name, answered in self.written.items():
            state = "answered" if answered else "NOT ANSWERED (still blank, or its answer cell is missing)"
            out.append(f"written answer {name}: {state}; graded by hand")
        out.append("")
        if self.ok:
            out.append(
                "Ready to submit: every graded function is found and runs."
                if self.ran
                else "Every graded function is found, with no problem reported (nothing was run)."
            )
        else:
            bad = [f.function for f in self.functions if not f.ok]
            bad += [f"the prediction {n}" for n, c in self.predictions.items() if not c.ok]
            out.append(f"Not ready: fix {', '.join(bad)} (see above), save the notebook and validate again.")
        out.append("The grade comes from hidden randomized checks; the public checks only give feedback.")
        return "\n".join(out)

    __repr__ = __str__


def _describe(f: FunctionReport, ran: bool) -> list:
    a = f.answer
    titles = ", ".join(f"{q} ({QUESTIONS[q].points:g} points)" for q in f.questions)
    if not a.found:
        return [f"✗ {f.function}: {a.reason}", f"  graded as: {titles}", ""]
    where = a.definitions[-1].cell if a.definitions else "?"
    target = [d for d in a.definitions if f.function in d.names]
    where = target[-1].cell if target else where
    out = [f"{'✓' if f.ok else '✗'} {f.function}: found (cell {where}); graded as: {titles}"]
    pulled = ", ".join(f"{n} (cell {c})" for n, c in a.pulled_in)
    out.append(f"  it brings along: {pulled or 'nothing else from the notebook'}")
    for p in a.problems:
        out.append(textwrap.fill(f"problem: {p}", 100, initial_indent="  ! ", subsequent_indent="    "))
    for n in a.notes:
        out.append(textwrap.fill(f"note: {n}", 100, initial_indent="  - ", subsequent_indent="    "))
    out.append("  code the grader runs:")
    out += [f"    | {line}" for line in a.code.rstrip("\n").split("\n")]
    if f.load_error:
        out.append(f"  ✗ it does not load: {f.load_error}")
    for name, r in f.results.items():
        out.append(f"  public checks of {name}:")
        out += [f"    {line}" for line in r["text"].split("\n")]
    out.append("")
    return out


def find_notebook() -> Path | None:
    """The notebook of the running Jupyter kernel, if it can be told; else the only exercise notebook here."""
    session = os.environ.get("JPY_SESSION_NAME") or ""
    for candidate in (Path(session), Path.cwd() / Path(session).name) if session else ():
        if candidate.suffix == ".ipynb" and candidate.is_file():
            return candidate
    try:  # VS Code's kernel names its notebook here
        from IPython import get_ipython

        shell = get_ipython()
        name = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
        if name and Path(name).is_file():
            return Path(name)
    except ImportError:
        pass
    mine = [p for p in Path.cwd().glob("*.ipynb") if _assignment_from_name(p)]
    return mine[0] if len(mine) == 1 else None


def _assignment_from_name(path: Path) -> str | None:
    stem = path.stem
    for name in sorted(ASSIGNMENTS):
        if name in stem:
            return name
    prefixes = {name.split("_")[0]: name for name in ASSIGNMENTS}  # ex08_adam -> ex08
    found = [full for short, full in prefixes.items() if stem.startswith(short)]
    return found[0] if len(found) == 1 else None


def _assignment_of(sub) -> str | None:
    course = sub.metadata.get("course")
    name = course.get("assignment") if isinstance(course, dict) else None
    return name if name in ASSIGNMENTS else _assignment_from_name(sub.path)


def _run_public_checks(fr: FunctionReport, time_limit: float, check_seconds: float) -> None:
    a = fr.answer
    job = {
        "function": fr.function,
        "questions": [q for q in fr.questions if QUESTIONS[q].graded_by in ("function", "config")],
        "definitions": [(d.cell, d.summary, d.code) for d in a.definitions],
        "check_seconds": check_seconds,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JPY_"))}
    env.update(PYTHONPATH=str(_ROOT), PYTHONHASHSEED="0", MPLBACKEND="Agg")
    with tempfile.TemporaryDirectory(prefix="validate-") as tmp:
        work = Path(tmp) / "work"  # an empty folder, as in the grader: no files of yours next to it
        work.mkdir()
        (Path(tmp) / "job.json").write_text(json.dumps(job), encoding="utf-8")
        result_path = Path(tmp) / "result.json"
        try:
            run = subprocess.run(
                [sys.executable, "-c", _CHILD, str(Path(tmp) / "job.json"), str(result_path)],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=time_limit,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            fr.load_error = f"timed out after {time_limit:g} s (an infinite loop, or very slow top-level code?)"
            return
        try:
            out = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            tail = (run.stderr or "").strip().splitlines()[-1:] or [f"exit code {run.returncode}"]
            fr.load_error = f"the process ended before reporting ({tail[0][:300]}); does your code call sys.exit?"
            return
    fr.load_error = out.get("load_error")
    fr.results = out.get("questions", {})


def report(
    notebook=None,
    assignment: str | None = None,
    run: bool = True,
    time_limit: float = TIME_LIMIT,
    check_seconds: float = CHECK_SECONDS,
) -> Report:
    """Read ``notebook`` as the grader does and (``run``) run each graded function's public checks.

    ``check_seconds``: the time limit of one question's public checks, as in ``check()``;
    ``time_limit``: of the whole run of one function (loading it included).
    """
    from . import extract  # the grader's own reader (imported here: it needs nbformat, slow to import)

    path = Path(notebook) if notebook is not None else find_notebook()
    if path is None:
        return Report(
            Path("notebook"),
            None,
            'cannot tell which notebook this is: pass its file name, e.g. validate("ex08_adam.ipynb")',
        )
    if path.is_dir() or not path.exists():
        return Report(path, None, f"no notebook file at {path}")
    sub = extract.read_submission(
        path, {q: QUESTIONS[q].title for q in QUESTIONS if QUESTIONS[q].graded_by == "written"}
    )
    if not sub.readable:
        return Report(path, None, f"the notebook cannot be read: {sub.error}")
    assignment = assignment or _assignment_of(sub)
    if assignment not in ASSIGNMENTS:
        known = ", ".join(sorted(ASSIGNMENTS))
        return Report(path, assignment, f"cannot tell the assignment ({assignment!r}); give one of: {known}")
    rep = Report(path, assignment, ran=run)
    by_function: dict[str, list] = {}
    for q in questions_of(assignment):
        if q.graded_by == "written":
            text = sub.written.get(q.name)
            rep.written[q.name] = text is not None and text.strip() not in extract.BLANK_ANSWERS
        elif q.graded_by == "prediction":
            from .predictions import committed

            rep.predictions[q.name] = committed(sub, q.name)
        else:
            by_function.setdefault(q.function, []).append(q.name)
    for function, names in by_function.items():
        fr = FunctionReport(function, names, extract.extract_answer(sub, function))
        if run and fr.answer.found:
            fr.ran = True
            _run_public_checks(fr, time_limit, check_seconds)
        rep.functions.append(fr)
    return rep


def validate(notebook=None, assignment: str | None = None) -> None:
    """Print what the grader will read from the saved ``notebook`` (default: this one) and run its public checks."""
    print(report(notebook, assignment))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.validate",
        description="Show what the grader will read from a notebook, and run its public checks.",
    )
    parser.add_argument("notebook", type=Path, help="the .ipynb file you will hand in")
    parser.add_argument("--assignment", choices=sorted(ASSIGNMENTS), help="if it cannot be told from the notebook")
    parser.add_argument("--no-run", action="store_true", help="only show what is extracted; run nothing")
    args = parser.parse_args(argv)
    rep = report(args.notebook, args.assignment, run=not args.no_run)
    print(rep)
    return rep.exit_status
