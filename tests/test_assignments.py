"""One source, two releases: exercises/ and solutions/ are in sync with assignments/source/, leak nothing,
and the student release carries no instructor material yet still gives instant feedback."""

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import ASSIGNMENTS, QUESTIONS
from course_utils.instructor import build

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(p.stem for p in build.SOURCE_DIR.glob("ex*.ipynb"))


def _cells(path):
    return [(c.cell_type, c.source) for c in nbformat.read(path, as_version=4).cells]


def test_every_assignment_has_a_source():
    assert NAMES == sorted(ASSIGNMENTS) and len(NAMES) == 10
    lectures = {p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert {name[2:4] for name in NAMES} <= lectures  # exNN goes with lecture NN


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    dest = tmp_path_factory.mktemp("rebuilt")
    build.build_notebooks(dest)
    return dest


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("folder", ["exercises", "solutions"])
def test_committed_release_matches_a_fresh_build(rebuilt, folder, name):
    assert _cells(ROOT / folder / f"{name}.ipynb") == _cells(rebuilt / folder / f"{name}.ipynb"), (
        f"{folder}/{name}.ipynb is out of date: run `python -m course_utils.assignments build --only {name}`"
    )


@pytest.mark.parametrize("name", NAMES)
def test_no_solution_text_leaks_into_exercises(name):
    source = nbformat.read(build.SOURCE_DIR / f"{name}.ipynb", as_version=4)
    answers = build.solution_lines(source)
    assert answers, "the source has no answer regions"
    exercise = (ROOT / "exercises" / f"{name}.ipynb").read_text()
    text = "\n".join(src for _, src in _cells(ROOT / "exercises" / f"{name}.ipynb"))
    lines = {line.strip() for line in text.splitlines()}
    leaked = [a for a in answers if a in lines]
    assert leaked == []
    for marker in ("BEGIN SOLUTION", "END SOLUTION"):
        assert marker not in exercise and marker not in (ROOT / "solutions" / f"{name}.ipynb").read_text()


def test_markers_must_balance():
    with pytest.raises(build.MarkerError, match="never closed"):
        build.transform_cell_source("def f():\n    # BEGIN SOLUTION\n    return 1", "code", "exercise")
    with pytest.raises(build.MarkerError, match="without"):
        build.transform_cell_source("x\n<!-- END SOLUTION -->", "markdown", "exercise")


def test_stubs():
    src = "def f(x):\n    '''doc'''\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n"
    assert build.transform_cell_source(src, "code", "exercise") == (
        "def f(x):\n    '''doc'''\n    # YOUR CODE HERE\n    raise NotImplementedError\n"
    )
    assert build.transform_cell_source(src, "code", "solution") == "def f(x):\n    '''doc'''\n    return x\n"
    assert build.transform_cell_source("# BEGIN SOLUTION\nplot()\n# END SOLUTION", "code", "exercise") == (
        "# YOUR CODE HERE"
    )
    md = "<!-- answer: w -->\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->"
    assert build.transform_cell_source(md, "markdown", "exercise") == "<!-- answer: w -->\nYOUR ANSWER HERE"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_structure_and_committed_outputs(name):
    for folder, expect in (("solutions", "public checks passed"), ("exercises", "not implemented yet")):
        nb = nbformat.read(ROOT / folder / f"{name}.ipynb", as_version=4)
        # the last cell is the licence footer (tools/publish_notebooks.py); the exercise ends just before it
        assert nb.cells[-1].get("id") == "course-licence-footer"
        first, last = nb.cells[0].source, nb.cells[-2].source
        assert first.startswith("# Exercise ") and "## Learning goals" in first
        instructions = " ".join(nb.cells[1].source.split())
        assert instructions.startswith("## Instructions") and "hidden, randomized checks grade" in instructions
        assert last.startswith("## Submit")
        for q in ASSIGNMENTS[name]:
            question = QUESTIONS[q]
            if question.graded_by == "written":
                assert any(f"<!-- answer: {q} -->" in c.source for c in nb.cells if c.cell_type == "markdown"), q
                continue
            if question.graded_by == "prediction":
                starts = (f'commit("{q}",', f'if commit("{q}",')
                cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
                assert len(cells) == 1, q
                out = "".join(o.get("text", "") for o in cells[0].outputs)
                said = f"Prediction committed for {q}:" if folder == "solutions" else "Fix the prediction cell"
                assert said in out, (folder, q, out)
                if folder == "exercises":  # the student must not see the experiment's result before predicting
                    assert out.count("\n") == 1, out
                continue
            cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(f'check("{q}",')]
            assert len(cells) == 1, q
            out = "".join(o.get("text", "") for o in cells[0].outputs)
            assert expect in out, (folder, q, out)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.execution_count is not None, "commit executed notebooks"
                assert not [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"]


@pytest.mark.parametrize("name", NAMES)
def test_public_check_data_is_in_sync(name):
    # Regenerated data may differ from the committed file only by rounding: the limits and their
    # rounding-error argument are next to build.DEFAULT_RTOL (BLAS kernels and thread counts reorder sums).
    committed = json.loads((build.PUBLIC_DATA_DIR / f"{name}.json").read_text())
    fresh = json.loads(build.dumps_public_data(build.public_data(name)))
    problems = build.public_data_differences(committed, fresh)
    assert not problems, f"run `python -m course_utils.assignments build --only {name}`:\n" + "\n".join(problems)


def test_public_data_comparison_catches_real_changes():
    committed = json.loads((build.PUBLIC_DATA_DIR / "ex03_minibatch_sgd.json").read_text())
    assert build.public_data_differences(committed, copy.deepcopy(committed)) == []

    def first_array(node):
        """The first list of numbers with a nonzero entry, found depth first."""
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            if node and all(isinstance(x, float) for x in node) and any(node):
                return node
            for child in node:
                found = first_array(child)
                if found is not None:
                    return found
        return None

    for rel, expect_close in ((1e-13, True), (1e-7, False)):
        changed = copy.deepcopy(committed)
        data = first_array(changed["questions"])
        i = max(range(len(data)), key=lambda j: abs(data[j]))
        data[i] *= 1 + rel
        assert (build.public_data_differences(committed, changed) == []) is expect_close, rel
    changed = copy.deepcopy(committed)
    first_array(changed["questions"])[0] = float("nan")
    assert build.public_data_differences(committed, changed)
    # finite-difference questions get the looser limit, everything else the default one
    grad = {"assignment": "x", "questions": {"numerical_gradient": [1.0, 2.0], "gd_step": [1.0, 2.0]}}
    moved = {"assignment": "x", "questions": {"numerical_gradient": [1.0, 2.0 + 1e-9], "gd_step": [1.0, 2.0]}}
    assert build.public_data_differences(grad, moved) == []
    moved["questions"]["gd_step"][1] += 1e-9
    assert [p.split("[")[0] for p in build.public_data_differences(grad, moved)] == ["/questions/gd_step"]


@pytest.mark.parametrize("missing", ["LICENSE", "LICENSE-CONTENT"])
def test_release_refuses_to_go_out_without_a_licence(tmp_path, missing):
    root = tmp_path / "course"
    root.mkdir()
    for name in build.RELEASE_FILES:
        if name != missing:
            shutil.copy2(ROOT / name, root / name)
    with pytest.raises(FileNotFoundError, match=f"{missing} missing"):
        build.release(tmp_path / "release", root=root)
    assert not (tmp_path / "release").exists()


def test_student_release(tmp_path):
    out = build.release(tmp_path / "release")
    assert (out / "exercises" / "ex08_adam.ipynb").is_file()
    assert (out / "course_utils" / "grading" / "public_data" / "ex08_adam.json").is_file()
    for licence, says in (("LICENSE", "MIT License"), ("LICENSE-CONTENT", "Creative Commons Attribution 4.0")):
        assert says in (out / licence).read_text(encoding="utf-8"), licence
    for absent in ("solutions", "assignments", "course_utils/instructor", "course_utils/grade.py",
                   "course_utils/assignments.py", "tests", "INSTRUCTORS.md"):  # fmt: skip
        assert not (out / absent).exists(), absent
    assert build.release_leaks(out) == []
    with pytest.raises(FileExistsError):
        build.release(out)
    # check() works from the release alone, and the instructor modules are really gone
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        # a development checkout installed with `pip install -e .` maps course_utils.* back to the checkout
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]\n"
        "import course_utils, course_utils.grading as g\n"
        "assert course_utils.__file__.startswith(sys.argv[1])\n"
        "def adam_step(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):\n"
        "    b1, b2 = betas\n"
        "    m = b1 * m + (1 - b1) * grads\n"
        "    v = b2 * v + (1 - b2) * grads * grads\n"
        "    return params - lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)) ** 0.5 + eps), m, v\n"
        "g.check('adam_step', adam_step)\n"
        "try:\n    import course_utils.instructor\nexcept ImportError:\n    print('no instructor tools')\n"
    )
    run = subprocess.run([sys.executable, "-I", "-c", script, str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "7 of 7 public checks passed" in run.stdout and "no instructor tools" in run.stdout
