"""The student release's README promises only what the release contains; releasing into a used folder fails clearly."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.instructor import build

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return build.release(tmp_path_factory.mktemp("rel") / "release")


def test_readme_names_only_what_ships(release):
    text = (release / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# Adam from first principles: student release")
    assert not re.search(r"\bmake\b", text)  # no Makefile ships
    for word in ("solutions", "INSTRUCTORS", "course_utils.grade", "assignments", "pytest", "tests/"):
        assert word not in text, word
    for path in re.findall(r"`((?:notebooks|exercises)/[^`]+\.ipynb)`", text):
        assert (release / path).is_file(), path
    listed = set(re.findall(r"`exercises/([^`]+\.ipynb)`", text))
    assert listed == {p.name for p in (release / "exercises").glob("*.ipynb")} and listed
    for name in ("constraints.txt", "environment.yml"):
        assert (name in text) == (release / name).is_file(), name
    if "course_utils.validate" in text:
        assert (release / "course_utils" / "validate.py").is_file()


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None, reason="needs setuptools to build metadata")
def test_readme_install_command_builds_the_package(release):
    # the README's `pip install -e .`, reduced to what needs no network: the release's pyproject and
    # README build into package metadata
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--dry-run",
                          "--no-index", "--quiet", "--report", "-", str(release)], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert '"name": "course-utils"' in run.stdout


def _release_cli(out):
    return subprocess.run([sys.executable, "-m", "course_utils.assignments", "release", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip


def test_release_into_a_used_folder_is_a_clear_error(tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "homework.txt").write_text("mine")
    run = _release_cli(used)
    assert run.returncode == 2
    assert "is not an empty folder" in run.stderr and "nothing was written" in run.stderr
    assert "Traceback" not in run.stderr
    assert [p.name for p in used.iterdir()] == ["homework.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    run = _release_cli(a_file)
    assert run.returncode == 2 and "is not an empty folder" in run.stderr and a_file.read_text() == "x"
