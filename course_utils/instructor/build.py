"""One source, two releases: ``assignments/source/*.ipynb`` -> ``exercises/`` and ``solutions/``.

Answer regions in the source are marked like nbgrader's:

* code cells: lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION``. In the exercise, an
  indented region (inside a function body) becomes ``# YOUR CODE HERE`` +
  ``raise NotImplementedError``, so "Run All" finishes and ``check`` reports "not implemented
  yet"; a top-level region becomes ``# YOUR CODE HERE``.
* markdown cells: lines between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``
  become ``YOUR ANSWER HERE``.

In the solution the marker lines are dropped and the answer kept. The build also regenerates
the public check data (``course_utils/grading/public_data/*.json``) from
:mod:`course_utils.instructor.hidden`, and can assemble the student release.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np

from course_utils.grading import drivers
from course_utils.grading.compare import compare_case
from course_utils.grading.questions import ASSIGNMENTS, QUESTIONS

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
    """Yield ``(kind, payload)``: ("text", line) or ("solution", (indent, [lines]))."""
    out, inside, indent, body = [], False, "", []
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith(begin):
            if inside:
                raise MarkerError(f"{where}, line {n}: nested {begin}")
            inside, indent, body = True, line[: len(line) - len(line.lstrip())], []
        elif stripped.startswith(end):
            if not inside:
                raise MarkerError(f"{where}, line {n}: {end} without {begin}")
            out.append(("solution", (indent, body)))
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
            indent = payload[0]
            lines.append(indent + CODE_STUB)
            if indent:
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
    """Run a notebook in a fresh kernel in its own folder and store the outputs in place."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    nbformat.write(nb, path)


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
        if q.kind != "function":
            continue
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


def write_public_data(dest: Path = PUBLIC_DATA_DIR, only=None) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for assignment in sorted(ASSIGNMENTS):
        if only and assignment not in only:
            continue
        path = dest / f"{assignment}.json"
        path.write_text(dumps_public_data(public_data(assignment)), encoding="utf-8")
        written.append(path)
    return written


# --- the student release ------------------------------------------------------------------------

INSTRUCTOR_ONLY = ("course_utils/instructor", "course_utils/grade.py", "course_utils/assignments.py")
# Every one of these must exist: a release without its licences may not be redistributed, so a missing file
# is an error, never a silent skip. LICENSE covers the code (MIT), LICENSE-CONTENT the text and figures (CC BY 4.0).
RELEASE_FILES = ("pyproject.toml", "environment.yml", "constraints.txt", "README.md", "LICENSE", "LICENSE-CONTENT")


def _ignore(directory, names):
    return [n for n in names if n in ("__pycache__", ".ipynb_checkpoints") or n.endswith(".pyc")]


def release(out: Path, root: Path = ROOT) -> Path:
    """Lectures + exercises + course_utils without solutions, hidden checks or grading tools."""
    out = Path(out)
    missing = [name for name in RELEASE_FILES if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(f"cannot build a release: {', '.join(missing)} missing from {root}")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    for folder in ("notebooks", "exercises"):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, out / folder, ignore=_ignore)
    shutil.copytree(root / "course_utils", out / "course_utils", ignore=_ignore)
    for rel in INSTRUCTOR_ONLY:
        target = out / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for name in RELEASE_FILES:
        shutil.copy2(root / name, out / name)
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
