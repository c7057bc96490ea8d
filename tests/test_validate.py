"""validate() and ``python -m course_utils.validate``: what the grader will read, before submitting.

Notebooks are made from the committed ex02 solution (NumPy only, so a run takes seconds) by
replacing the cell of one graded function.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np

from course_utils.grading import extract
from course_utils.grading.validation import report, validate
from course_utils.instructor import extract as instructor_extract

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ex02_gradient_descent"
CONSTANT = "import numpy as np\n\nSTEP = 1.0\n\n\ndef gd_step(x, grad, lr):\n    return x - STEP * lr * grad"


def _notebook(tmp_path, source=None, name="ex02_gradient_descent.ipynb", release="solutions"):
    nb = nbformat.read(ROOT / release / f"{ASSIGNMENT}.ipynb", as_version=4)
    if source is not None:
        i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "def gd_step(" in c.source)
        nb.cells[i].source = source
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def _cli(*args, cwd=ROOT, env=None):
    return subprocess.run(
        [sys.executable, "-m", "course_utils.validate", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=300, env=env,
    )  # fmt: skip


def test_one_extraction_for_the_grader_and_for_validate(tmp_path, monkeypatch):
    assert instructor_extract.extract_answer is extract.extract_answer
    assert instructor_extract.read_submission is extract.read_submission
    seen = []
    original = extract.extract_answer
    monkeypatch.setattr(extract, "extract_answer", lambda sub, fn: seen.append(fn) or original(sub, fn))
    assert report(_notebook(tmp_path), run=False).ok
    assert seen == ["gd_step", "numerical_gradient", "largest_stable_lr", "worst_case_steps"]


def test_cli_ready_to_submit(tmp_path):
    path = _notebook(tmp_path, CONSTANT)
    run = _cli(path)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "✓ gd_step: found (cell 5)" in out
    assert "it brings along: STEP (cell 5)" in out
    assert "    | STEP = 1.0\n" in out and "    | def gd_step(x, grad, lr):\n" in out
    assert "public checks of gd_step:" in out and "public checks passed" in out.lower()
    assert "Ready to submit" in out and "written answer gd_zigzag: answered" in out


def test_cli_missing_function_and_its_reason(tmp_path):
    path = _notebook(tmp_path, "def gd_update(x, grad, lr):\n    return x - lr * grad")
    run = _cli(path)
    assert run.returncode == 1
    assert "✗ gd_step: function gd_step not found: the graded notebook defines gd_update instead" in run.stdout
    assert "Not ready: fix gd_step" in run.stdout


def test_cli_value_read_from_a_file_fails_as_it_will_when_graded(tmp_path):
    source = CONSTANT.replace("STEP = 1.0", "STEP = np.load('step.npy')")
    path = _notebook(tmp_path, source)
    np.save(tmp_path / "step.npy", np.float64(1.0))  # next to the notebook: the grader will not have it
    run = _cli(path, cwd=tmp_path)
    assert run.returncode == 1
    assert "✗ it does not load: `STEP = np.load('step.npy')` (cell 5) raised FileNotFoundError" in run.stdout
    assert "runs code when your answer is loaded" in run.stdout


def test_cli_stub_is_not_ready(tmp_path):
    run = _cli(_notebook(tmp_path, release="exercises"))
    assert run.returncode == 1
    assert "not implemented yet" in run.stdout and "written answer gd_zigzag: NOT ANSWERED" in run.stdout


def test_cli_unreadable_notebook_and_usage(tmp_path):
    bad = tmp_path / "ex02_gradient_descent.ipynb"
    bad.write_text("{ not json")
    run = _cli(bad)
    assert run.returncode == 2 and "cannot be read: not a notebook (invalid JSON)" in run.stdout
    unknown = _notebook(tmp_path, name="homework.ipynb")
    nb = json.loads(unknown.read_text())
    nb["metadata"].pop("course", None)
    unknown.write_text(json.dumps(nb))
    run = _cli(unknown)
    assert run.returncode == 2 and "cannot tell the assignment" in run.stdout
    assert _cli(unknown, "--assignment", ASSIGNMENT, "--no-run").returncode == 0
    assert _cli().returncode == 2  # argparse: the notebook is required


def test_validate_in_a_notebook_finds_the_notebook_of_the_kernel(tmp_path, monkeypatch, capsys):
    path = _notebook(tmp_path, CONSTANT)
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))  # what Jupyter Server sets in the kernel
    rep = report(run=False)
    assert rep.path == path and rep.ok and rep.functions[0].answer.code.startswith("STEP = 1.0")
    monkeypatch.delenv("JPY_SESSION_NAME")
    validate()
    assert "cannot tell which notebook this is" in capsys.readouterr().out
    validate(path)
    assert "Ready to submit" in capsys.readouterr().out


def test_no_hidden_case_is_revealed(tmp_path):
    from course_utils.instructor import grader, hidden

    out = _cli(_notebook(tmp_path)).stdout
    public = {c["label"] for c in hidden.public_cases("gd_step")}
    for seed in range(3):
        for case in hidden.hidden_cases("gd_step", grader._rng(seed, "gd_step")):
            if case["label"] not in public:
                assert case["label"] not in out


def test_works_in_a_student_release(tmp_path):
    """The release has no course_utils/instructor: validate must not need it."""
    release = tmp_path / "release"
    instructor_only = shutil.ignore_patterns("instructor", "grade.py", "assignments.py", "__pycache__")
    shutil.copytree(ROOT / "course_utils", release / "course_utils", ignore=instructor_only)
    assert not (release / "course_utils" / "instructor").exists()
    path = _notebook(release, CONSTANT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | {"PYTHONPATH": str(release)}
    run = subprocess.run(
        [sys.executable, "-c", "import course_utils, sys; print(course_utils.__file__); "
         "from course_utils.grading.validation import main; sys.exit(main(sys.argv[1:]))", str(path)],
        capture_output=True, text=True, cwd=release, timeout=300, env=env,
    )  # fmt: skip
    assert run.stdout.startswith(str(release / "course_utils")), run.stdout + run.stderr
    assert run.returncode == 0 and "Ready to submit" in run.stdout, run.stdout + run.stderr


def test_an_infinite_loop_is_reported_not_hung(tmp_path):
    rep = report(_notebook(tmp_path, "def gd_step(x, grad, lr):\n    while True:\n        pass"), check_seconds=1.0)
    fr = rep.functions[0]
    assert not fr.ok and fr.results["gd_step"]["status"] == "timeout" and rep.exit_status == 1
    assert "Stopped after 1 s" in str(rep)
    top_level_loop = "import time\n\nNAP = time.sleep(600)\n\n\ndef gd_step(x, grad, lr):\n    return x - NAP"
    rep = report(_notebook(tmp_path, top_level_loop), time_limit=5.0)
    assert "timed out after 5 s" in rep.functions[0].load_error


def test_every_exercise_tells_students_to_validate_before_submitting():
    for path in sorted((ROOT / "exercises").glob("ex*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        # the exercise's last cell, before the licence footer that tools/publish_notebooks.py appends
        last = [c for c in nb.cells if c.get("id") != "course-licence-footer"][-1]
        assert "validate()" in last.source and f"course_utils.validate {path.name}" in last.source
        imports = re.compile(r"from course_utils\.grading import [^\n]*\bcheck\b[^\n]*\bhint\b[^\n]*\bvalidate\b")
        assert any(imports.search(c.source) for c in nb.cells if c.cell_type == "code"), path


def test_no_run_reports_what_cannot_be_carried(tmp_path):
    source = "for STEP in [1.0]:\n    pass\n\n\ndef gd_step(x, grad, lr):\n    return x - STEP * lr * grad"
    run = _cli(_notebook(tmp_path, source), "--no-run")
    assert run.returncode == 1 and "public checks of" not in run.stdout
    assert "! problem: `gd_step()` uses `STEP`, which is set only by a `for` loop in cell 5" in run.stdout
