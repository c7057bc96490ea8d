"""What students receive: the release (and every sandbox) is built from this list.

Nothing is copied wholesale and then pruned: a file reaches a student only if it is named here,
either one by one (``STUDENT_MODULES``, for folders where student and instructor code sit side by
side) or as a folder that is student-facing as a whole (``STUDENT_FOLDERS``, non-recursive, by
pattern). ``tests/test_release_manifest.py`` checks that every file of the package is classified
(student-facing here, or under ``INSTRUCTOR_ONLY``), so a new module must be placed on one side
before a test passes; the leak scan in :func:`course_utils.instructor.build.release_leaks` stays as a
second line of defence.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# course_utils/... modules a student's code or notebooks import, one by one.
STUDENT_MODULES = (
    "__init__.py", "py.typed",
    "backend.py", "devices.py", "distributed.py", "execution.py", "plots.py", "problems.py", "runner.py",
    "tree.py", "validate.py", "widgets.py",
    "grading/__init__.py", "grading/compare.py", "grading/drivers.py", "grading/extract.py",
    "grading/feedback.py", "grading/predictions.py", "grading/tuning.py", "grading/validation.py",
)  # fmt: skip

# Folders of course_utils that are student-facing as a whole: folder -> the file patterns that ship.
STUDENT_FOLDERS = {
    "optim": ("*.py",),
    "styles": ("*.mplstyle",),
    "grading/questions": ("*.py",),  # the public half of each assignment (never the instructor's half)
    "grading/public_data": ("*.json",),  # the public checks' numbers
}

# Never in a release or a sandbox (relative to course_utils/).
INSTRUCTOR_ONLY = ("instructor", "grade.py", "assignments.py")

# The course's own folders in a release: folder -> the file pattern that ships.
COURSE_FOLDERS = {"notebooks": "*.ipynb", "exercises": "*.ipynb"}

_NOISE = ("__pycache__", ".ipynb_checkpoints")


def student_files(package: Path) -> list[str]:
    """The student-facing files of ``package`` (a ``course_utils`` folder), relative to it, sorted.

    Raises ``FileNotFoundError`` if a module named in ``STUDENT_MODULES`` is missing: a release
    without it would fail at import in the students' hands.
    """
    package = Path(package)
    missing = [rel for rel in STUDENT_MODULES if not (package / rel).is_file()]
    if missing:
        raise FileNotFoundError(f"student modules missing from {package}: {', '.join(missing)}")
    files = set(STUDENT_MODULES)
    for folder, patterns in STUDENT_FOLDERS.items():
        for pattern in patterns:
            files |= {f"{folder}/{p.name}" for p in (package / folder).glob(pattern) if p.is_file()}
    return sorted(files)


def copy_student_package(package: Path, dest: Path) -> list[str]:
    """Copy only the student-facing files of ``package`` into ``dest`` (created); returns what was copied."""
    files = student_files(package)
    for rel in files:
        target = Path(dest) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(package) / rel, target)
    return files


def course_files(root: Path) -> list[str]:
    """The lecture and exercise notebooks of a release, relative to the course ``root``."""
    return sorted(
        f"{folder}/{p.name}" for folder, pattern in COURSE_FOLDERS.items() for p in (Path(root) / folder).glob(pattern)
    )


def is_instructor_only(rel: str) -> bool:
    """Whether a path relative to course_utils/ is instructor-only."""
    return any(rel == item or rel.startswith(item + "/") for item in INSTRUCTOR_ONLY)


def unclassified(package: Path) -> list[str]:
    """Files of ``package`` that are neither student-facing nor instructor-only (caches aside)."""
    package = Path(package)
    student = set(student_files(package))
    found = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package).as_posix()
        if path.is_dir() or any(part in _NOISE for part in path.parts) or path.suffix in (".pyc", ".pyo"):
            continue
        if rel not in student and not is_instructor_only(rel):
            found.append(rel)
    return found
