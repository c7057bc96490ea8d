"""The README of the student release: only commands that work with what the release contains.

The repository's README talks about ``make``, the test suite, ``solutions/`` and the grader, none
of which students receive. The release gets this text instead, written from what was actually
copied (the lectures and exercises present, whether ``environment.yml``, ``constraints.txt`` and a
``validate`` command ship), so it cannot promise a file that is not there.
"""

from __future__ import annotations

from pathlib import Path


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []


def student_readme(out: Path, title: str = "Adam from first principles") -> str:
    out = Path(out)
    lectures, exercises = _listing(out / "notebooks"), _listing(out / "exercises")
    pin = " -c constraints.txt" if (out / "constraints.txt").is_file() else ""
    lines = [
        f"# {title}: student release",
        "",
        "A Jupyter course that builds the Adam optimizer step by step. This folder holds the lectures",
        "(`notebooks/`), the graded exercises (`exercises/`) and the small helper package they use",
        "(`course_utils/`). It needs Python 3.10 or newer; a CPU is enough.",
        "",
        "## Install (once)",
        "",
        "```bash",
        "python3 -m venv .venv",
        "# Linux without an NVIDIA GPU: first get the small CPU build of PyTorch (optional, saves GBs)",
        ".venv/bin/python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu",
        f".venv/bin/python -m pip install -e .{pin}",
        "```",
        "",
        "On Windows, write `.venv\\Scripts\\python` instead of `.venv/bin/python`.",
    ]
    if (out / "environment.yml").is_file():
        lines += [
            "",
            "With conda instead:",
            "",
            "```bash",
            "conda env create -f environment.yml",
            "conda activate adam-course",
            "pip install -e . --no-deps",
            "```",
        ]
    lines += [
        "",
        "## Work",
        "",
        "```bash",
        ".venv/bin/python -m jupyter lab          # or just `jupyter lab` inside the conda environment",
        "```",
        "",
        "Open a lecture in `notebooks/`, then its exercise in `exercises/`. Inside an exercise:",
        "",
        "```python",
        "from course_utils.grading import check, hint",
        'check("adam_step", adam_step)   # public checks, with the likely mistake named',
        'hint("adam_step")               # a hint; call it again for a more detailed one',
        "```",
        "",
        "Passing the public checks is not your grade: your instructor grades the notebook you hand in",
        "with hidden checks on other, randomly drawn inputs. Only functions are graded, so keep every",
        "answer inside the function the exercise asks for, and hand in the `.ipynb` file itself.",
    ]
    if (out / "course_utils" / "validate.py").is_file():
        example = "ex08_adam.ipynb" if "ex08_adam.ipynb" in exercises else (exercises or ["NOTEBOOK.ipynb"])[0]
        lines += [
            "",
            "Before you hand in, see what the grader will find in your notebook:",
            "",
            "```bash",
            f".venv/bin/python -m course_utils.validate exercises/{example}",
            "```",
        ]
    if lectures:
        lines += ["", "## Lectures", ""] + [f"- `notebooks/{name}`" for name in lectures]
    if exercises:
        lines += ["", "## Exercises", ""] + [f"- `exercises/{name}`" for name in exercises]
    return "\n".join(lines) + "\n"
