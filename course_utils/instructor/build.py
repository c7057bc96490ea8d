"""One source, two releases: ``assignments/source/*.ipynb`` -> ``exercises/`` and ``solutions/``.

Answer regions in the source are marked like nbgrader's:

* code cells: lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION``. In the exercise, an
  indented region (inside a function body) becomes ``# YOUR CODE HERE`` +
  ``raise NotImplementedError``, so "Run All" finishes and ``check`` reports "not implemented
  yet"; a top-level region becomes ``# YOUR CODE HERE``. A region opened by
  ``# BEGIN SOLUTION stub: LINE`` becomes ``# YOUR CODE HERE`` and ``LINE`` instead (a prediction
  cell, ``# BEGIN SOLUTION stub: PREDICTED_STEPS = None``, so that the experiment below still runs).
* markdown cells: lines between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``
  become ``YOUR ANSWER HERE``.

In the solution the marker lines are dropped and the answer kept. The build also regenerates
the public check data (``course_utils/grading/public_data/*.json``) from
:mod:`course_utils.instructor.hidden`, and can assemble the student release.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import nbformat
import numpy as np

from course_utils.grading import drivers
from course_utils.grading.compare import compare_case
from course_utils.grading.questions import ASSIGNMENTS, QUESTIONS

from . import release_manifest
from .extract import ANSWER_MARK

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = ROOT / "assignments" / "source"
PUBLIC_DATA_DIR = ROOT / "course_utils" / "grading" / "public_data"

CODE_BEGIN, CODE_END = "# BEGIN SOLUTION", "# END SOLUTION"
MD_BEGIN, MD_END = "<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"
CODE_STUB, MD_STUB = "# YOUR CODE HERE", "YOUR ANSWER HERE"


class MarkerError(ValueError):
    pass


def _regions(lines, begin, end, where):
    """Yield ``(kind, payload)``: ("text", line) or ("solution", (indent, [lines], stub line or None))."""
    out, inside, indent, body, stub = [], False, "", [], None
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith(begin):
            if inside:
                raise MarkerError(f"{where}, line {n}: nested {begin}")
            inside, indent, body = True, line[: len(line) - len(line.lstrip())], []
            rest = stripped[len(begin) :].strip()
            stub = rest[len("stub:") :].strip() if rest.startswith("stub:") else None
            if rest and not stub:
                raise MarkerError(f"{where}, line {n}: after {begin} only 'stub: LINE' may follow, got {rest!r}")
        elif stripped.startswith(end):
            if not inside:
                raise MarkerError(f"{where}, line {n}: {end} without {begin}")
            out.append(("solution", (indent, body, stub)))
            inside = False
        elif inside:
            body.append(line)
        else:
            out.append(("text", line))
    if inside:
        raise MarkerError(f"{where}: {begin} is never closed")
    return out


def transform_cell_source(source: str, cell_type: str, target: str, where: str = "cell") -> str:
    """The cell's source for ``target`` = "exercise" or "solution"."""
    if cell_type not in ("code", "markdown"):
        return source
    begin, end = (CODE_BEGIN, CODE_END) if cell_type == "code" else (MD_BEGIN, MD_END)
    lines = []
    for kind, payload in _regions(source.split("\n"), begin, end, where):
        if kind == "text":
            lines.append(payload)
        elif target == "solution":
            lines.extend(payload[1])
        elif cell_type == "markdown":
            lines.append(MD_STUB)
        else:
            indent, stub = payload[0], payload[2]
            lines.append(indent + CODE_STUB)
            if stub:
                lines.append(indent + stub)
            elif indent:
                lines.append(indent + "raise NotImplementedError")
    return "\n".join(lines)


def solution_lines(source_nb) -> list[str]:
    """Every non-trivial line inside an answer region of a source notebook (for leak tests)."""
    found = []
    for i, cell in enumerate(source_nb.cells):
        if cell.cell_type not in ("code", "markdown"):
            continue
        begin, end = (CODE_BEGIN, CODE_END) if cell.cell_type == "code" else (MD_BEGIN, MD_END)
        for kind, payload in _regions(cell.source.split("\n"), begin, end, f"cell {i}"):
            if kind == "solution":
                found.extend(line.strip() for line in payload[1] if len(line.strip()) >= 8)
    return found


def make_release_notebook(source_nb, target: str, name: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "course": {"assignment": name, "release": target},
    }
    for i, cell in enumerate(source_nb.cells):
        source = transform_cell_source(cell.source, cell.cell_type, target, f"{name} cell {i}")
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(source)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(source)
        else:
            new = nbformat.v4.new_raw_cell(source)
        new.id = cell.get("id") or f"cell-{i}"
        new.metadata = {k: v for k, v in cell.metadata.items() if k not in ("execution", "collapsed", "scrolled")}
        answer = ANSWER_MARK.search(source) if cell.cell_type == "markdown" else None
        if answer:  # a second way to find the answer if the student deletes the comment
            new.metadata["course"] = {"answer": answer.group(1)}
        nb.cells.append(new)
    return nb


def source_paths(only=None) -> list[Path]:
    paths = sorted(SOURCE_DIR.glob("ex*.ipynb"))
    if only:
        paths = [p for p in paths if p.stem in only]
    return paths


def build_notebooks(dest: Path, only=None) -> list[Path]:
    """Write ``dest/exercises/*.ipynb`` and ``dest/solutions/*.ipynb`` (not executed)."""
    written = []
    for path in source_paths(only):
        source_nb = nbformat.read(path, as_version=4)
        for target, folder in (("exercise", "exercises"), ("solution", "solutions")):
            nb = make_release_notebook(source_nb, target, path.stem)
            out = dest / folder / path.name
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out)
            written.append(out)
    return written


def execute_notebook(path: Path, timeout: int = 120) -> None:
    """Run a notebook in a fresh kernel in its own folder and store the outputs in place (normalized).

    Uses the course's one execution policy (course_utils.execution), like tools/execute_notebooks.py.
    """
    from course_utils import execution

    execution.execute_notebook(path, timeout)


# --- public check data --------------------------------------------------------------------------


def _encode_result(res):
    return {
        "outputs": {k: None if v is None else drivers.encode(v) for k, v in res["outputs"].items()},
        "info": res["info"],
        "error": res["error"],
    }


def public_data(assignment: str) -> dict:
    """Inputs, expected outputs and wrong-variant outputs of every public case of an assignment."""
    from . import hidden

    data = {"assignment": assignment, "questions": {}}
    for name in ASSIGNMENTS[assignment]:
        q = QUESTIONS[name]
        if q.graded_by != "function":
            continue  # config: no public data; prediction: read from the notebook; written: by hand
        entries = []
        for case in hidden.public_cases(name):
            encoded = drivers.encode(case)
            case = drivers.decode(encoded)  # exactly what check() will see
            with np.errstate(all="ignore"):
                expected = drivers.run_case(hidden.REFERENCES[name], q, case)
            if expected["error"] or expected["mutated"]:
                raise RuntimeError(f"reference for {name} fails on {case['label']!r}: {expected}")
            variants = {}
            for vid, fn in hidden.VARIANTS.get(name, {}).items():
                if vid == "mutates":
                    continue  # recognised from the mutation flag, not from values
                with np.errstate(all="ignore"):
                    res = drivers.run_case(fn, q, drivers.decode(encoded))
                if not compare_case(res, expected, q, case)[0]:
                    variants[vid] = _encode_result(res)
            entries.append({"case": encoded, "expected": _encode_result(expected), "variants": variants})
        data["questions"][name] = entries
    return data


def dumps_public_data(data) -> str:
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=True) + "\n"


# How far check data computed on two machines may differ, relative to the largest magnitude in the
# same list of numbers (a normwise, infinity-norm comparison; a lone number is compared with itself).
#
# Everything that produces the data is deterministic and elementwise arithmetic is correctly rounded
# IEEE float64 (u = 2**-53 ~ 1.1e-16) on every machine, so only two things can change a result: the
# order in which BLAS/LAPACK (OpenBLAS picks its kernel by CPU type and splits work by thread count)
# adds up the terms of a dot product, matrix product or eigenvalue computation, and the last bits of
# SIMD exp/log. Two orders of the same n-term sum differ by at most 2 * gamma(n-1) * sum|x_i|, with
# gamma(k) = k*u / (1 - k*u) (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §4.2),
# and a few ulps of exp/log add ~4u relative. The longest sums in the public cases have n = 64 terms
# (a digit's pixels times the weights, or the rows of a batch), so one reduction moves by at most
# 2*gamma(63) ~ 1.4e-14 of the size of its terms; sgd chains 5 such steps, each of which can carry an
# earlier difference forward enlarged by the step's Lipschitz factor, and we measured 1.1e-14 in all
# between OpenBLAS's Haswell and Sandybridge kernels and 1 or 2 threads. DEFAULT_RTOL = 1e-10 leaves
# four orders of magnitude for that compounding and for other CPUs.
#
# Finite differences divide such a difference by the step: for numerical_gradient (h >= 1e-5,
# log-sum-exp of W x + c with 5 x 4 weights of order 1), |delta f| <= 2*gamma(3)*sum|W x| + 4u|f|
# ~ 5e-15, and (f(x+h) - f(x)) / h turns it into ~5e-10 of a gradient of order 1; hence
# FINITE_DIFFERENCE_RTOL = 1e-8 (observed: 5e-11). A real change of a reference or of a case moves
# values by far more (1e-6 and up), which both limits still catch; non-finite values must match exactly.
DEFAULT_RTOL = 1e-10
FINITE_DIFFERENCE_RTOL = 1e-8
FINITE_DIFFERENCE_QUESTIONS = ("numerical_gradient",)


def public_data_differences(committed, fresh) -> list[str]:
    """Where two versions of an assignment's check data differ beyond rounding (see DEFAULT_RTOL)."""
    problems: list[str] = []

    def numbers(x):
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    def close(a, b, scale, rtol):
        if not (math.isfinite(a) and math.isfinite(b)):
            return a == b or (math.isnan(a) and math.isnan(b))
        return abs(a - b) <= rtol * scale

    def walk(a, b, path, rtol):
        if len(problems) >= 20:
            return
        if path.startswith("/questions/") and path.count("/") == 2:
            rtol = FINITE_DIFFERENCE_RTOL if path.split("/")[2] in FINITE_DIFFERENCE_QUESTIONS else DEFAULT_RTOL
        if numbers(a) and numbers(b):
            if not close(a, b, max(abs(a), abs(b)), rtol):
                problems.append(f"{path}: {a!r} != {b!r}")
        elif type(a) is not type(b):
            problems.append(f"{path}: {type(a).__name__} != {type(b).__name__}")
        elif isinstance(a, dict):
            if sorted(a) != sorted(b):
                problems.append(f"{path}: keys {sorted(a)} != {sorted(b)}")
            else:
                for k in sorted(a):
                    walk(a[k], b[k], f"{path}/{k}", rtol)
        elif isinstance(a, list):
            if len(a) != len(b):
                problems.append(f"{path}: length {len(a)} != {len(b)}")
            elif a and all(numbers(x) for x in a + b):
                finite = [abs(x) for x in a + b if math.isfinite(x)]
                scale = max(finite, default=0.0)
                bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if not close(x, y, scale, rtol)]
                if bad:
                    i = bad[0]
                    problems.append(f"{path}[{i}]: {a[i]!r} != {b[i]!r} ({len(bad)} of {len(a)} differ)")
            else:
                for i, (x, y) in enumerate(zip(a, b, strict=True)):
                    walk(x, y, f"{path}[{i}]", rtol)
        elif a != b:
            problems.append(f"{path}: {a!r} != {b!r}")

    walk(committed, fresh, "", DEFAULT_RTOL)
    return problems


def write_public_data(dest: Path = PUBLIC_DATA_DIR, only=None) -> list[Path]:
    """Write each assignment's check data; a file that already agrees up to rounding is left as it is,
    so that a rebuild on another CPU (another BLAS kernel) does not rewrite the last digits."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for assignment in sorted(ASSIGNMENTS):
        if only and assignment not in only:
            continue
        path = dest / f"{assignment}.json"
        text = dumps_public_data(public_data(assignment))
        if path.exists():
            try:
                same = not public_data_differences(json.loads(path.read_text(encoding="utf-8")), json.loads(text))
            except ValueError:
                same = False
            if same:
                continue
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# --- the student release ------------------------------------------------------------------------

INSTRUCTOR_ONLY = tuple(f"course_utils/{rel}" for rel in release_manifest.INSTRUCTOR_ONLY)
# Every one of these must exist: a release without its licences may not be redistributed, so a missing file
# is an error, never a silent skip. LICENSE covers the code (MIT), LICENSE-CONTENT the text and figures (CC BY 4.0).
RELEASE_FILES = (
    "pyproject.toml", "environment.yml", "constraints.txt", "requirements.lock",
    "README.md", "LICENSE", "LICENSE-CONTENT",
)  # fmt: skip


def release(out: Path, root: Path = ROOT) -> Path:
    """Lectures + exercises + course_utils without solutions, hidden checks or grading tools."""
    out = Path(out)
    missing = [name for name in RELEASE_FILES if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(f"cannot build a release: {', '.join(missing)} missing from {root}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} is not an empty folder: release into a new or empty one (nothing was written)")
    out.mkdir(parents=True, exist_ok=True)
    # Built from the allowlist in release_manifest: only what is named there is copied, nothing is pruned.
    for rel in release_manifest.course_files(root):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, out / rel)
    release_manifest.copy_student_package(root / "course_utils", out / "course_utils")
    for name in RELEASE_FILES:
        shutil.copy2(root / name, out / name)
    from .release_readme import student_readme  # the repository's README talks about make, tests, grading

    (out / "README.md").write_text(student_readme(out), encoding="utf-8")
    leaks = release_leaks(out)
    if leaks:
        raise RuntimeError("the release would leak instructor material:\n" + "\n".join(leaks))
    return out


def release_leaks(out: Path) -> list[str]:
    """Files in a release folder that must not be there."""
    problems = []
    for rel in INSTRUCTOR_ONLY + ("solutions", "assignments"):
        if (out / rel).exists():
            problems.append(f"{rel} is present")
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".json"):
            text = path.read_text(encoding="utf-8", errors="replace")
            if CODE_BEGIN in text or MD_BEGIN in text:
                if path.name != "build.py":
                    problems.append(f"{path.relative_to(out)} contains a solution marker")
            if "instructor.hidden" in text or "instructor import hidden" in text:
                problems.append(f"{path.relative_to(out)} refers to the hidden checks")
    return problems
