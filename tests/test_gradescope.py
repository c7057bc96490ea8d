"""The Gradescope autograder zip, run on a local copy of Gradescope's /autograder layout.

Gradescope unpacks the zip into /autograder/source, puts the student's files in
/autograder/submission and reads /autograder/results/results.json after run_autograder exits.
Here a temporary folder stands in for /autograder (AUTOGRADER_ROOT), and the test's own Python
stands in for the virtual environment setup.sh would build (AUTOGRADER_PYTHON); the code that runs
is the copy inside the zip.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_utils.grading.questions import questions_of

pytestmark = pytest.mark.slow  # each test starts the grader (about 10 s on a busy 2-core machine)

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ex07_ema_bias_correction"


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradescope")
    zips = [tmp / "a.zip", tmp / "b.zip"]
    for z in zips:
        run = subprocess.run([sys.executable, "-m", "course_utils.grade", "gradescope", ASSIGNMENT, "--out", str(z),
                              "--seed", "17", "--timeout", "10"], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert "keep it private" in run.stdout
    return zips


def test_zip_layout(autograder):
    a, b = autograder
    assert a.read_bytes() == b.read_bytes()  # the same inputs build the same zip
    with zipfile.ZipFile(a) as zf:
        names = zf.namelist()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        config = json.loads(zf.read("config.json"))
    assert {"setup.sh", "run_autograder", "config.json"} <= set(names)  # at the root, as Gradescope requires
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert "course/pyproject.toml" in names and "course/course_utils/instructor/grader.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert config == {"assignment": ASSIGNMENT, "seed": 17, "timeout": 10.0}


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_pass_shellcheck(autograder, tmp_path):
    with zipfile.ZipFile(autograder[0]) as zf:
        zf.extract("setup.sh", tmp_path)
        zf.extract("run_autograder", tmp_path)
    run = subprocess.run(["shellcheck", str(tmp_path / "setup.sh"), str(tmp_path / "run_autograder")],
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stdout


def run_on(autograder_zip: Path, root: Path, notebook=None) -> dict:
    """Lay out Gradescope's folders under ``root``, run run_autograder, return results.json."""
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # unzip keeps the permission bits; zipfile does not
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777 or 0o644)
    if notebook is not None:
        nbformat.write(notebook, root / "submission" / f"{ASSIGNMENT}.ipynb")
    script = root / "source" / "run_autograder"
    assert os.stat(script).st_mode & stat.S_IXUSR
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    env.pop("PYTHONPATH", None)
    run = subprocess.run([str(script)], capture_output=True, text=True, cwd=root, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"course_utils from {root / 'source' / 'course' / 'course_utils'}" in run.stdout  # the zip's code ran
    return json.loads((root / "results" / "results.json").read_text())


def _check_format(results):
    """Gradescope's documented results.json fields, with the types it expects."""
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["output"], str)
    for test in results["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed") and test["visibility"] == "visible"
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]), abs=1e-9)


def test_correct_submission(autograder, tmp_path):
    nb = nbformat.read(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb", as_version=4)
    results = run_on(autograder[0], tmp_path / "autograder", nb)
    _check_format(results)
    auto = [q for q in questions_of(ASSIGNMENT) if q.graded_by != "written"]
    assert [t["name"].split(":")[0] for t in results["tests"]] == [q.name for q in auto]
    assert [(t["score"], t["max_score"]) for t in results["tests"]] == [(q.points, q.points) for q in auto]
    assert results["score"] == sum(q.points for q in auto) == 9.0
    assert all("hidden checks passed" in t["output"] and "FAIL" not in t["output"] for t in results["tests"])
    assert "why_bias_correction (2 points)" in results["output"]  # the written question is left to hand grading


def test_wrong_submission(autograder, tmp_path):
    nb = nbformat.read(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "def ema_update(" in c.source)
    cell.source = "def ema_update(avg, x, beta):\n    return beta * x + (1 - beta) * avg\n"  # beta on the wrong term
    results = run_on(autograder[0], tmp_path / "autograder", nb)
    _check_format(results)
    ema = results["tests"][0]
    assert ema["score"] == 0 and ema["status"] == "failed" and "FAIL" in ema["output"]
    assert results["score"] < 5


def test_no_notebook_is_a_clear_zero(autograder, tmp_path):
    results = run_on(autograder[0], tmp_path / "autograder")
    assert results["score"] == 0 and results["tests"] == []
    assert f"Upload your notebook {ASSIGNMENT}.ipynb" in results["output"]
