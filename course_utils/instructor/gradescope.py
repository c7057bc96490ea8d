"""A Gradescope autograder for one assignment: ``build`` makes the zip, ``run`` grades one submission.

Gradescope's autograder specification (gradescope-autograders.readthedocs.io, "Autograder
Specifications"): the zip holds ``setup.sh`` (run once, as root, on an Ubuntu image, to install
dependencies) and ``run_autograder`` at its root; Gradescope unpacks it into
``/autograder/source``, puts the student's files in ``/autograder/submission``, runs
``run_autograder`` from ``/autograder``, and reads ``/autograder/results/results.json``:
``{"score": ..., "output": ..., "tests": [{"name", "score", "max_score", "status", "output",
"visibility"}, ...]}``. Only the ``output`` fields are shown to students; stdout is for the
instructor.

Our ``run_autograder`` runs the same batch grader as ``python -m course_utils.grade`` (same
hidden checks, same sandbox) on the one notebook, then turns its public feedback into one test
per auto-graded question. Written questions are left to Gradescope's manual grading. The zip's
``config.json`` holds the grading seed: keep the zip private. ``AUTOGRADER_ROOT`` (default
``/autograder``) and ``AUTOGRADER_PYTHON`` let you run it on a local copy of Gradescope's folders.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .gradebook import GradeBook, atomic_write, fmt

ROOT = Path(__file__).resolve().parents[2]
COURSE_FILES = ("pyproject.toml", "README.md", "constraints.txt", "LICENSE")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries get one date: the same inputs give the same zip

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --upgrade pip
# The CPU build of torch: the default Linux wheel pulls several GB of CUDA libraries.
/autograder/venv/bin/python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/python -m pip install -c /autograder/source/course/constraints.txt /autograder/source/course
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, from /autograder. AUTOGRADER_ROOT and AUTOGRADER_PYTHON
# let you (and the course's tests) run it on a local copy of Gradescope's folder layout.
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
python="${AUTOGRADER_PYTHON:-$root/venv/bin/python}"
export PYTHONPATH="$root/source/course${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m course_utils.instructor.gradescope run --root "$root"
"""


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, _FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o755 if executable else 0o644) << 16
    zf.writestr(info, data)


def build(assignment: str, dest: Path, seed: int | None = None, timeout: float = 20.0, root: Path = ROOT) -> Path:
    """Write the autograder zip; the seed is drawn at random when not given (and stays in the zip)."""
    from course_utils.grading.questions import ASSIGNMENTS

    if assignment not in ASSIGNMENTS:
        raise ValueError(f"unknown assignment {assignment!r}; choose one of {sorted(ASSIGNMENTS)}")
    config = {
        "assignment": assignment,
        "seed": int(seed) if seed is not None else secrets.randbelow(2**31),
        "timeout": float(timeout),
    }
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(zf, "run_autograder", RUN_AUTOGRADER.encode(), executable=True)
        _add(zf, "config.json", (json.dumps(config, indent=1, sort_keys=True) + "\n").encode())
        for name in COURSE_FILES:
            if (root / name).is_file():
                _add(zf, f"course/{name}", (root / name).read_bytes())
        for path in sorted((root / "course_utils").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                _add(zf, f"course/{path.relative_to(root).as_posix()}", path.read_bytes())
    tmp.replace(dest)
    return dest


# --- inside Gradescope ----------------------------------------------------------------------------


def _find_notebook(submission: Path, assignment: str) -> tuple[Path | None, str]:
    found = sorted(p for p in submission.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file())
    if not found:
        return None, f"No .ipynb file was found in your submission. Upload your notebook {assignment}.ipynb."
    named = [p for p in found if p.name == f"{assignment}.ipynb"]
    if len(named) == 1:
        return named[0], ""
    if len(found) == 1:
        return found[0], ""
    names = ", ".join(p.name for p in found)
    return None, f"Your submission has several notebooks ({names}). Upload only {assignment}.ipynb."


def _test_output(entry: dict) -> str:
    cases = entry.get("cases") or []
    predicted = bool(cases) and str(cases[0].get("label", "")).startswith("prediction committed")
    what = "checks of the committed prediction" if predicted else "hidden checks"
    lines = [f"{sum(bool(c.get('passed')) for c in cases)} of {len(cases)} {what} passed."]
    if entry.get("detail"):
        lines[0] += f" {entry['detail']}."
    for c in cases:
        mark = "PASS" if c.get("passed") else "FAIL"
        lines.append(f"{mark} {c.get('label', '')}" + ("" if c.get("passed") else f": {c.get('message', '')}"))
    if entry.get("diagnosis"):
        lines.append(f"Likely mistake: {entry['diagnosis']}")
    return "\n".join(lines)


def results_from(out: Path) -> dict:
    """Gradescope's results.json content for the single submission graded into ``out``."""
    book = GradeBook(out)
    row = book.rows[0]
    sid = row["submission"]
    public = book.public_feedback(sid) or {}
    questions = public.get("questions") or {}
    tests = []
    for number, q in enumerate(book.auto, start=1):
        entry = questions.get(q.name) or {}
        got = float(entry.get("points", row.get(q.name) or 0) or 0)
        tests.append(
            {
                "name": f"{q.name}: {q.title}",
                "number": str(number),
                "score": got,
                "max_score": q.points,
                "status": "passed" if got >= q.points else "failed",
                "output": _test_output(entry) if entry else "",
                "visibility": "visible",
            }
        )
    auto = sum(t["score"] for t in tests)
    notes = [f"Auto-graded score: {fmt(auto)} / {fmt(sum(q.points for q in book.auto))}."]
    if book.written:
        listed = ", ".join(f"{q.name} ({fmt(q.points)} points)" for q in book.written)
        notes.append(f"Written answers are graded by hand: {listed}.")
    if public.get("error"):
        notes.append(f"Your notebook could not be read: {public['error']}.")
    notes.append("Hidden randomized checks decide this score; the public checks in the notebook only give feedback.")
    return {
        "score": round(auto, 2),
        "output": "\n".join(notes),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def run(root: Path) -> int:
    import course_utils

    root = Path(root)
    print(f"course_utils from {Path(course_utils.__file__).parent}")  # the zip's copy (PYTHONPATH)
    config = json.loads((root / "source" / "config.json").read_text())
    assignment = config["assignment"]
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    notebook, problem = _find_notebook(root / "submission", assignment)
    if notebook is None:
        data = {"score": 0.0, "output": problem, "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
        atomic_write(results / "results.json", json.dumps(data, indent=1) + "\n")
        print(problem)
        return 0
    with tempfile.TemporaryDirectory(prefix="graded-") as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "course_utils.grade", assignment, str(notebook), "--out", str(out)]
        cmd += ["--seed", str(config["seed"]), "--timeout", str(config.get("timeout", 20.0))]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        print(proc.stdout[-20000:], proc.stderr[-20000:], sep="\n")  # stdout: for the instructor only
        if proc.returncode != 0:
            print(f"the grader failed (exit code {proc.returncode}); no results written")
            return 1
        data = results_from(out)
    atomic_write(results / "results.json", json.dumps(data, indent=1) + "\n")
    print(f"results.json written: {data['score']:g} points")
    return 0


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m course_utils.instructor.gradescope")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="grade /autograder/submission into /autograder/results/results.json")
    r.add_argument("--root", type=Path, default=Path("/autograder"))
    args = p.parse_args(argv)
    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
