"""The batch grader: solutions score full marks, stubs 0, and hostile submissions cost only their own points.

Fixtures are made in the test from the committed solution notebook, by editing its cells. Every
hostile behaviour lives inside a graded function (top-level code is never executed by the grader),
so each one can hurt only the question it sits in.
"""

import csv
import json
import secrets
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor import grader, sandbox

ROOT = Path(__file__).resolve().parents[1]
SLEEPER = f"{60 + secrets.randbelow(10**6) / 10**7:.7f}"  # a unique `sleep` argument: the machine is shared
# A correct answer needs well under 0.1 s per question (the sandbox's Python is pre-warmed); 8 s leaves
# room for a machine loaded by the parallel test passes, while the hanging submissions still end quickly.
FAST = sandbox.Limits(wall_seconds=8, cpu_seconds=8, memory_mb=1024, file_mb=4)


def _nb(assignment, release="solutions"):
    return nbformat.read(ROOT / release / f"{assignment}.ipynb", as_version=4)


def _cell_index(nb, needle):
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and needle in c.source)


def _write(nb, path):
    nbformat.write(nb, path)
    return path


def _replace(nb, function, source):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells[_cell_index(nb, f"def {function}(")].source = source
    return nb


def _settings(assignment, seed=0, limits=FAST, extra=None):
    return grader.Settings(assignment, seed, limits, extra)


def _rows(out):
    with open(out / "grades.csv", newline="") as fh:
        return {row["submission"]: row for row in csv.DictReader(fh)}


# ------------------------------------------------------------------------------------------------
# ex02 hostile batch: one submission per misbehaviour, graded together with --jobs 2
# ------------------------------------------------------------------------------------------------

HOSTILE_GD_STEP = {
    "syntax_error": "def gd_step(x, grad, lr)\n    return x - lr * grad",
    "raises": "def gd_step(x, grad, lr):\n    raise ValueError('nope')",
    "infinite_loop": "def gd_step(x, grad, lr):\n    while True:\n        pass",
    "sleeps_forever": "import time\n\ndef gd_step(x, grad, lr):\n    while True:\n        time.sleep(1)",
    "sys_exit": "import sys\n\ndef gd_step(x, grad, lr):\n    sys.exit(0)",
    "os_exit": "import os\n\ndef gd_step(x, grad, lr):\n    os._exit(0)",
    "memory_bomb": "def gd_step(x, grad, lr):\n    hog = bytearray(8 * 1024**3)\n    return x - lr * grad",
    "output_flood": "def gd_step(x, grad, lr):\n    for _ in range(50):\n        print('spam' * 250_000)\n"
    "    return x - lr * grad",
    "fake_success": "import json\n\ndef gd_step(x, grad, lr):\n    print('All tests passed! 100/100')\n"
    "    print(json.dumps({'status': 'ok', 'cases': [], 'score': 100}))\n    return x",
    "monkeypatch": "import numpy as np\nimport course_utils.grading.compare as cmp\n\n"
    "def gd_step(x, grad, lr):\n    np.allclose = lambda *a, **k: True\n"
    "    cmp.compare_case = lambda *a, **k: (True, 'ok')\n    return x",
    "writes_files": "import glob, os\n\ndef gd_step(x, grad, lr):\n    open('PWNED.txt', 'w').write('x')\n"
    "    for name in glob.glob('result-*.json'):\n        os.remove(name)\n"
    "    open('result-0000.json', 'w').write('{\"status\": \"ok\"}')\n    return x - lr * grad",
    "forks_a_sleeper": "import subprocess\n\ndef gd_step(x, grad, lr):\n"
    f"    subprocess.Popen(['sleep', '{SLEEPER}'])\n    return x - lr * grad",
    "imports_hidden": "def gd_step(x, grad, lr):\n    from course_utils.instructor import hidden\n"
    "    return hidden.gd_step(x, grad, lr)",
    "mutates_input": "def gd_step(x, grad, lr):\n    x -= lr * grad\n    return x",
}


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ex02")
    sol = _nb("ex02_gradient_descent")
    paths = {"solution": _write(sol, tmp / "solution.ipynb")}
    paths["stub"] = _write(_nb("ex02_gradient_descent", "exercises"), tmp / "stub.ipynb")
    for name, source in HOSTILE_GD_STEP.items():
        paths[name] = _write(_replace(sol, "gd_step", source), tmp / f"{name}.ipynb")

    # structure damage
    dup = nbformat.from_dict(json.loads(json.dumps(sol)))
    i = _cell_index(dup, "def gd_step(")
    dup.cells.insert(i + 1, nbformat.v4.new_code_cell("def gd_step(x, grad, lr):\n    return x + lr * grad"))
    paths["duplicated_wrong_last"] = _write(dup, tmp / "duplicated_wrong_last.ipynb")
    dup2 = nbformat.from_dict(json.loads(json.dumps(sol)))
    dup2.cells.insert(i, nbformat.v4.new_code_cell("def gd_step(x, grad, lr):\n    return x + lr * grad"))
    paths["duplicated_right_last"] = _write(dup2, tmp / "duplicated_right_last.ipynb")
    deleted = nbformat.from_dict(json.loads(json.dumps(sol)))
    del deleted.cells[_cell_index(deleted, "def numerical_gradient(")]
    paths["deleted_cell"] = _write(deleted, tmp / "deleted_cell.ipynb")
    retyped = nbformat.from_dict(json.loads(json.dumps(sol)))
    k = _cell_index(retyped, "def largest_stable_lr(")
    retyped.cells[k] = nbformat.v4.new_markdown_cell(retyped.cells[k].source)
    paths["retyped_cell"] = _write(retyped, tmp / "retyped_cell.ipynb")
    wrong = _replace(sol, "largest_stable_lr", "def largest_stable_lr(A):\n    return 2.0 / float(np.max(np.diag(A)))")
    paths["wrong_diag"] = _write(wrong, tmp / "wrong_diag.ipynb")
    (tmp / "corrupt.ipynb").write_text('{"cells": [ this is not json')
    (tmp / "empty.ipynb").write_text("")
    paths["corrupt"], paths["empty"] = tmp / "corrupt.ipynb", tmp / "empty.ipynb"

    out = tmp / "graded"
    log = []
    records = grader.grade_batch(list(paths.values()), out, _settings("ex02_gradient_descent"), jobs=2, log=log.append)
    return {"out": out, "records": {Path(r["submission"]).stem: r for r in records}, "paths": paths, "log": log}


def _points(record, question):
    return record["questions"][question]["points"]


def test_every_submission_gets_a_row(hostile_batch):
    rows = _rows(hostile_batch["out"])
    assert set(rows) == set(hostile_batch["paths"])
    assert len(hostile_batch["records"]) == len(hostile_batch["paths"])


def test_solution_full_marks_and_stub_zero(hostile_batch):
    sol, stub = hostile_batch["records"]["solution"], hostile_batch["records"]["stub"]
    assert sol["score"] == sol["max_score"] == 9  # 2 + 3 + 2 core, and the stretch worst_case_steps 2
    assert sol["flags"] == []
    assert stub["score"] == 0
    assert "not-implemented:gd_step" in stub["flags"] and "written-blank:gd_zigzag" in stub["flags"]


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("syntax_error", "missing"),
        ("raises", "ok"),
        ("infinite_loop", "timeout"),
        ("sleeps_forever", "timeout"),
        ("sys_exit", "ok"),
        ("os_exit", "no-result"),
        ("memory_bomb", "ok"),
        ("output_flood", "ok"),  # Python ignores SIGXFSZ: the write fails with "File too large"
        ("fake_success", "ok"),
        ("monkeypatch", "ok"),
        ("mutates_input", "mutates-inputs"),
    ],
)
def test_hostile_gd_step_costs_only_its_own_points(hostile_batch, name, status):
    record = hostile_batch["records"][name]
    entry = record["questions"]["gd_step"]
    assert entry["status"] == status, entry
    assert entry["points"] == 0, entry
    assert _points(record, "numerical_gradient") == 3
    assert _points(record, "largest_stable_lr") == 2
    assert _points(record, "worst_case_steps") == 2
    assert record["score"] == 7


def test_hostile_details(hostile_batch):
    r = hostile_batch["records"]
    assert "syntax-error:cell-5" in r["syntax_error"]["flags"] and "missing:gd_step" in r["syntax_error"]["flags"]
    assert r["raises"]["questions"]["gd_step"]["cases"][0]["message"] == "raised ValueError: nope"
    assert r["sys_exit"]["questions"]["gd_step"]["cases"][0]["message"] == "raised SystemExit: 0"
    assert "File too large" in r["output_flood"]["questions"]["gd_step"]["cases"][0]["message"]
    assert "MemoryError" in r["memory_bomb"]["questions"]["gd_step"]["cases"][0]["message"]
    assert "timeout:gd_step" in r["infinite_loop"]["flags"]
    assert "All tests passed" in r["fake_success"]["questions"]["gd_step"]["stdout"]
    assert r["mutates_input"]["questions"]["gd_step"]["diagnosis"].startswith("your function changed its input")
    assert r["writes_files"]["score"] == 9  # its files stayed in the throw-away folder; its answer is right
    assert not (Path.cwd() / "PWNED.txt").exists() and not (ROOT / "PWNED.txt").exists()


def test_grandchildren_are_killed_and_hidden_module_is_blocked(hostile_batch):
    r = hostile_batch["records"]
    assert r["forks_a_sleeper"]["score"] == 9  # the background process did not hang the grader
    leftover = subprocess.run(["pgrep", "-f", f"sleep {SLEEPER}"], capture_output=True, text=True).stdout.split()
    assert leftover == []
    blocked = r["imports_hidden"]
    assert blocked["questions"]["gd_step"]["points"] == 0
    # the instructor package is not in the sandbox at all (only the staged student-facing package is)
    assert blocked["questions"]["gd_step"]["cases"][0]["message"] == (
        "raised ModuleNotFoundError: No module named 'course_utils.instructor'"
    )
    assert "suspicious-import:gd_step" in blocked["flags"]


def test_damaged_structure(hostile_batch):
    r = hostile_batch["records"]
    assert r["duplicated_wrong_last"]["questions"]["gd_step"]["points"] == 0  # the last definition wins
    assert r["duplicated_right_last"]["score"] == 9
    assert "duplicate:gd_step" in r["duplicated_right_last"]["flags"]
    assert r["deleted_cell"]["score"] == 6 and "missing:numerical_gradient" in r["deleted_cell"]["flags"]
    assert r["retyped_cell"]["score"] == 9 and "retyped-cell:largest_stable_lr" in r["retyped_cell"]["flags"]
    for name in ("corrupt", "empty"):
        assert r[name]["score"] == 0 and "unreadable" in r[name]["flags"]


def test_feedback_names_the_mistake_without_leaking_inputs(hostile_batch):
    out = hostile_batch["out"]
    md = (out / "feedback" / "wrong_diag.md").read_text()
    assert "Likely mistake: you used the largest *diagonal* entry of A." in md
    data = json.loads((out / "feedback" / "wrong_diag.json").read_text())
    assert data["questions"]["largest_stable_lr"]["points"] < 2  # right only on the diagonal matrix
    text = json.dumps(data)
    assert "__array__" not in text and "expected" not in data["questions"]["largest_stable_lr"]
    solution_md = (out / "feedback" / "solution.md").read_text()
    assert "The learning rate must stay below" in solution_md  # the written answer is quoted for hand grading


def test_csv_format(hostile_batch):
    text = (hostile_batch["out"] / "grades.csv").read_text()
    header = text.splitlines()[0]
    assert header == (
        "submission,file,score,max_score,gd_step,numerical_gradient,largest_stable_lr,worst_case_steps,written:gd_zigzag,flags"
    )
    rows = _rows(hostile_batch["out"])
    for row in rows.values():
        assert float(row["max_score"]) == 9
        assert 0 <= float(row["score"]) <= 9
        assert row["written:gd_zigzag"] == ""
    assert list(rows) == sorted(rows)


def test_manifest(hostile_batch):
    manifest = json.loads((hostile_batch["out"] / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["assignment"] == "ex02_gradient_descent"
    assert len(manifest["checks_sha256"]) == 64 and manifest["course_utils_version"]


# ------------------------------------------------------------------------------------------------
# determinism and resuming
# ------------------------------------------------------------------------------------------------


def test_deterministic_for_a_seed_and_resumable(tmp_path):
    sol = _nb("ex02_gradient_descent")
    a = _write(sol, tmp_path / "a.ipynb")
    b = _write(_replace(sol, "gd_step", "def gd_step(x, grad, lr):\n    return x + lr * grad"), tmp_path / "b.ipynb")
    first, second, other = tmp_path / "1", tmp_path / "2", tmp_path / "3"
    grader.grade_batch([a, b], first, _settings("ex02_gradient_descent", seed=7), log=lambda s: None)
    grader.grade_batch([b, a], second, _settings("ex02_gradient_descent", seed=7), jobs=2, log=lambda s: None)
    for rel in ("grades.csv", "feedback/a.md", "feedback/b.json"):
        assert (first / rel).read_text() == (second / rel).read_text(), rel
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (first, second)]
    assert manifests[0]["hmac_key"] != manifests[1]["hmac_key"]  # a fresh secret per output folder
    assert [{k: v for k, v in m.items() if k != "hmac_key"} for m in manifests[:1]] == [
        {k: v for k, v in m.items() if k != "hmac_key"} for m in manifests[1:]
    ]
    grader.grade_batch([a, b], other, _settings("ex02_gradient_descent", seed=8), log=lambda s: None)
    assert (first / "feedback/a.md").read_text() != (other / "feedback/a.md").read_text()  # new hidden cases

    log = []
    grader.grade_batch([a, b], first, _settings("ex02_gradient_descent", seed=7), log=log.append)
    assert log == [
        f"skipped {a} (already graded with this manifest)",
        f"skipped {b} (already graded with this manifest)",
    ]
    _write(sol, b)  # the student resubmits b
    log.clear()
    grader.grade_batch([a, b], first, _settings("ex02_gradient_descent", seed=7), log=log.append)
    assert log == [f"skipped {a} (already graded with this manifest)", f"graded {b}: 9 / 9"]
    assert _rows(first)["b"]["score"] == "9"


def test_extra_checks_file(tmp_path):
    extra = tmp_path / "extra.py"
    extra.write_text(
        "import numpy as np\n\nEXTRA_CASES = {'gd_step': lambda rng: [{'label': 'instructor case', 'mode': 'call',"
        " 'args': {'x': np.ones(3), 'grad': rng.normal(size=3), 'lr': 0.5}}]}\n"
    )
    sol = _write(_nb("ex02_gradient_descent"), tmp_path / "s.ipynb")
    records = grader.grade_batch([sol], tmp_path / "out", _settings("ex02_gradient_descent", extra=extra),
                                 log=lambda s: None)  # fmt: skip
    cases = records[0]["questions"]["gd_step"]["cases"]
    assert cases[-1]["label"] == "instructor case" and cases[-1]["passed"]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["extra_checks"] == "extra.py"


# ------------------------------------------------------------------------------------------------
# every assignment: solution = full marks, stub = 0
# ------------------------------------------------------------------------------------------------

ASSIGNMENTS = sorted(p.stem for p in (ROOT / "solutions").glob("ex*.ipynb"))


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if a != "ex02_gradient_descent"])
def test_solution_full_marks_stub_zero(assignment, tmp_path):
    paths = [ROOT / "solutions" / f"{assignment}.ipynb", ROOT / "exercises" / f"{assignment}.ipynb"]
    limits = sandbox.Limits(wall_seconds=30.0, cpu_seconds=30)
    records = grader.grade_batch(paths, tmp_path, _settings(assignment, limits=limits), jobs=2, log=lambda s: None)
    by_release = {Path(r["submission"]).parent.name: r for r in records}
    solution, stub = by_release["solutions"], by_release["exercises"]
    assert solution["score"] == solution["max_score"] > 0, json.dumps(solution["questions"], indent=1)[:3000]
    assert solution["flags"] == []
    assert stub["score"] == 0


def test_a_failed_design_run_names_its_fingerprint(tmp_path):
    from course_utils.grading.questions import QUESTIONS

    source = "def choose_hyperparameters():\n    return {'optimizer': 'adam', 'lr': 1e-3, 'batch_size': 64}"
    path = _write(_replace(_nb("ex09_tuning"), "choose_hyperparameters", source), tmp_path / "cautious.ipynb")
    limits = sandbox.Limits(wall_seconds=30.0, cpu_seconds=30)
    (record,) = grader.grade_batch([path], tmp_path / "out", _settings("ex09_tuning", limits=limits), jobs=1,
                                   log=lambda s: None)  # fmt: skip
    entry = record["questions"]["choose_hyperparameters"]
    assert entry["points"] == 0
    assert entry["diagnosis"] == QUESTIONS["choose_hyperparameters"].mistakes["too_cautious"]


def test_cli(tmp_path):
    sol = ROOT / "solutions" / "ex07_ema_bias_correction.ipynb"
    run = subprocess.run(
        [sys.executable, "-m", "course_utils.grade", "ex07_ema_bias_correction", str(sol), "--out", str(tmp_path),
         "--seed", "3", "--timeout", "10"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "1 submissions; mean score 9.00" in run.stdout  # 2 + 3 + 2 + 2 (four questions)
    assert (tmp_path / "grades.csv").read_text().splitlines()[1].startswith("ex07_ema_bias_correction,")
