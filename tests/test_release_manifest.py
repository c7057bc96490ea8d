"""The student release and the sandbox's package are built from an allowlist, not by pruning a copy."""

import shutil
import subprocess
from pathlib import Path

import pytest

from course_utils.grading import questions
from course_utils.instructor import build, release_manifest, sandbox

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"


def _tracked(folder: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", folder], capture_output=True, text=True, cwd=ROOT, timeout=60)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return out.stdout.split()


def test_every_file_of_the_package_is_on_one_side():
    tracked = [p.removeprefix("course_utils/") for p in _tracked("course_utils")]
    student = set(release_manifest.student_files(PACKAGE))
    instructor = {p for p in tracked if release_manifest.is_instructor_only(p)}
    assert set(tracked) - student - instructor == set(), (
        "classify new modules in course_utils/instructor/release_manifest.py"
    )
    assert release_manifest.unclassified(PACKAGE) == []
    assert not student & instructor
    assert not any(p.startswith("instructor/") for p in student)


def test_every_assignment_ships_its_public_half_and_nothing_of_the_private_half():
    student = set(release_manifest.student_files(PACKAGE))
    for module in questions.MODULES:
        assert f"grading/questions/{module.ASSIGNMENT}.py" in student
        assert f"grading/public_data/{module.ASSIGNMENT}.json" in student
    assert not any("hidden" in p for p in student)


def test_the_release_is_exactly_the_allowlist(tmp_path):
    """Files planted next to student modules, or in a student folder under a name the allowlist does
    not match, never reach the release: nothing is copied that the manifest does not name."""
    root = tmp_path / "course"
    for rel in [*build.RELEASE_FILES, *release_manifest.course_files(ROOT)]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, root / rel)
    shutil.copytree(PACKAGE, root / "course_utils", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    planted = [
        "course_utils/notes_for_ta.py",  # an unlisted module at the top
        "course_utils/grading/answers.py",  # next to student modules
        "course_utils/optim/answers.txt",  # in a student folder, not matching its pattern
        "course_utils/grading/questions/nested/x.py",  # folders are not recursive
        "notebooks/solutions_draft.txt",
    ]
    for rel in planted:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("secret\n")
    out = build.release(tmp_path / "release", root=root)
    shipped = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    expected = {
        *build.RELEASE_FILES,
        *release_manifest.course_files(root),
        *(f"course_utils/{p}" for p in release_manifest.student_files(root / "course_utils")),
    }
    assert shipped == expected
    assert not set(planted) & shipped
    assert build.release_leaks(out) == []


def test_a_missing_student_module_stops_the_release(tmp_path):
    package = tmp_path / "course_utils"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (package / "grading" / "drivers.py").unlink()
    with pytest.raises(FileNotFoundError, match="grading/drivers.py"):
        release_manifest.student_files(package)


def test_the_sandbox_stages_the_same_files_as_the_release(tmp_path):
    stage = sandbox.stage_course(tmp_path / "stage")
    staged = {
        p.relative_to(stage / "course_utils").as_posix() for p in (stage / "course_utils").rglob("*") if p.is_file()
    }
    assert staged == set(release_manifest.student_files(PACKAGE))
    for p in [stage, *stage.rglob("*")]:
        p.chmod(0o755)


def test_the_leak_scan_still_catches_what_slips_in(tmp_path):
    out = tmp_path / "release"
    (out / "course_utils" / "instructor").mkdir(parents=True)
    (out / "notes.py").write_text("from course_utils.instructor import hidden\n")
    (out / "ex.ipynb").write_text(f"{build.CODE_BEGIN}\n")
    leaks = build.release_leaks(out)
    assert any("course_utils/instructor is present" in x for x in leaks)
    assert any("notes.py refers to the hidden checks" in x for x in leaks)
    assert any("ex.ipynb contains a solution marker" in x for x in leaks)
