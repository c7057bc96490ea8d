"""The lecture notebooks' contract: structure, executed outputs without errors, quiet diffs.

Strict nbval (run by ``make test``) re-executes them and compares outputs; these checks cover
what nbval does not: the teaching structure, that outputs were committed in order, that committed
notebooks carry no run-to-run noise (timestamps), and the budget check's logic. The runtime budget
itself is measured from the nbval run (tests/conftest.py, tools/notebook_budget.py).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils import execution

ROOT = Path(__file__).resolve().parents[1]
LECTURES = [
    "01_start_here", "02_gradient_descent", "03_sgd_minibatch", "04_momentum", "05_adagrad", "06_rmsprop",
    "07_ema_bias_correction", "08_adam", "09_tuning_adam", "10_amsgrad_adamw", "11_beyond_adamw", "12_adam_pytorch",
    "13_adam_at_scale", "14_capstone",
]  # fmt: skip
PATHS = [ROOT / "notebooks" / f"{name}.ipynb" for name in LECTURES]
COMMITTED = sorted(p for folder in ("notebooks", "exercises", "solutions", "assignments/source")
                   for p in (ROOT / folder).glob("*.ipynb"))  # fmt: skip
sys.path.insert(0, str(ROOT / "tools"))
import notebook_budget  # noqa: E402


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def text(cell):
    return "".join(cell["source"])


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and text(c).strip()]


def test_all_fourteen_lectures_exist_and_nothing_else():
    present = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert present == LECTURES


@pytest.mark.parametrize("path", PATHS, ids=LECTURES)
def test_opening_and_closing_sections(path):
    nb = load(path)
    first = text(nb["cells"][0])
    assert nb["cells"][0]["cell_type"] == "markdown"
    assert re.match(r"# Lecture \d+ · \S", first), "the first cell must start with '# Lecture N · Title'"
    assert "**Prerequisites:**" in first
    goals = first.split("## Learning goals", 1)
    assert len(goals) == 2, "the first cell needs a '## Learning goals' section"
    bullets = [line for line in goals[1].splitlines() if re.match(r"\s*([-*]|\d+\.)\s", line)]
    assert 3 <= len(bullets) <= 5, f"3-5 learning goals, found {len(bullets)}"
    markdown = "\n".join(text(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    for heading in ("## Summary", "## Further reading", "## Exercise"):
        assert heading in markdown, f"missing '{heading}'"
    tail = markdown[markdown.index("## Summary") :]
    for link in re.findall(r"\]\((\.\./exercises/[^)]+)\)", tail):
        assert (path.parent / link).resolve().exists(), f"exercise link {link} points nowhere"


@pytest.mark.parametrize("path", PATHS, ids=LECTURES)
def test_executed_in_order_without_errors(path):
    cells = code_cells(load(path))
    counts = [c["execution_count"] for c in cells]
    assert all(isinstance(n, int) for n in counts), "every code cell must be executed with outputs committed"
    assert counts == list(range(1, len(counts) + 1)), "cells must be executed top to bottom in one fresh kernel"
    for c in cells:
        for out in c["outputs"]:
            assert out["output_type"] != "error", f"error output in cell:\n{text(c)[:200]}"
            stream = out.get("text", "")
            assert "Traceback" not in "".join(stream)
    assert "%matplotlib inline" in text(cells[0])


def test_course_totals():
    nbs = [load(p) for p in PATHS]
    figures = sum(1 for nb in nbs for c in code_cells(nb) for out in c["outputs"] if "image/png" in out.get("data", {}))
    assert figures >= 30, f"only {figures} figures in the course"
    for name, nb in zip(LECTURES, nbs, strict=True):
        if name not in ("01_start_here", "12_adam_pytorch"):
            assert any("live_plot(" in text(c) for c in code_cells(nb)), f"{name} has no interactive figure"


@pytest.mark.parametrize("path", COMMITTED, ids=[str(p.relative_to(ROOT)) for p in COMMITTED])
def test_committed_notebooks_are_normalized(path):
    assert not execution.normalize_file(path, check=True), (
        f"{path.relative_to(ROOT)} carries run-to-run noise (timestamps): run `python tools/normalize_notebooks.py`"
    )


def test_executing_an_unchanged_notebook_changes_nothing(tmp_path):
    # Printed sets and dicts (hash seed), a figure (PNG bytes) and a float sum: executed twice, the
    # saved file is byte for byte the same, with no timestamps in it.
    cells = [
        "%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt",
        "print({'adam', 'sgd', 'rmsprop', 'adagrad'}, hash('adam') % 1000)",
        "x = np.random.default_rng(0).normal(size=1000)\nprint(x.sum(), x @ x)",
        "plt.plot(np.cumsum(x))\nplt.title('a random walk')\nplt.show()",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "small.ipynb"
    nbformat.write(nb, path)
    execution.execute_notebook(path)
    first = path.read_bytes()
    execution.execute_notebook(path)
    assert path.read_bytes() == first
    saved = json.loads(first)
    assert all("execution" not in c["metadata"] for c in saved["cells"])
    assert any("image/png" in o.get("data", {}) for o in saved["cells"][3]["outputs"])
    assert not execution.normalize_file(path, check=True)


def test_normalize_removes_timestamps_and_keeps_outputs(tmp_path):
    src = ROOT / "notebooks" / "01_start_here.ipynb"
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00.000000Z"}
    nb.metadata["course"] = {"execution_seconds": 12.3}
    path = tmp_path / "noisy.ipynb"
    nbformat.write(nb, path)
    assert execution.normalize_file(path, check=True)
    assert execution.normalize_file(path)
    once = path.read_bytes()
    assert not execution.normalize_file(path) and path.read_bytes() == once
    clean = nbformat.read(path, as_version=4)
    assert [c.get("outputs") for c in clean.cells] == [c.get("outputs") for c in nb.cells]
    assert "2026-01-01" not in once.decode() and "execution_seconds" not in once.decode()


def _report(cpu_per_cell, cells=3, threads="1"):
    notebooks = {
        f"notebooks/{name}.ipynb": [{"cell": f"Cell {i}", "wall_s": 3 * cpu, "kernel_cpu_s": cpu} for i in range(cells)]
        for name, cpu in cpu_per_cell.items()
    }
    return {"threads": {"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}, "notebooks": notebooks}


def test_budget_is_checked_in_kernel_cpu_seconds():
    # wall-clock time 3x the CPU time (a loaded machine) does not count against the budget ...
    assert notebook_budget.problems(_report({"01": 10.0, "02": 15.0})) == []
    # ... but more work does: a lecture, a cell, the course
    assert any("budget 60 s" in p for p in notebook_budget.problems(_report({"01": 25.0})))
    assert any("per cell" in p for p in notebook_budget.problems(_report({"01": 31.0}, cells=1)))
    many = _report({f"{i:02d}": 19.0 for i in range(1, 7)})
    assert notebook_budget.problems(many) == ["all lectures: 342.0 s of kernel CPU time, budget 300 s"]
    unknown = _report({"01": 1.0})
    unknown["notebooks"]["notebooks/01.ipynb"][0]["kernel_cpu_s"] = None
    assert "unknown" in notebook_budget.problems(unknown)[0]
    assert notebook_budget.single_threaded(_report({"01": 1.0}))
    assert not notebook_budget.single_threaded(_report({"01": 1.0}, threads="2"))


def test_the_nbval_pass_records_cell_times(tmp_path):
    # The budget's data: the root conftest.py plugin writes each cell's wall time and kernel CPU time.
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in ("x = sum(i * i for i in range(3_000_000))", "print(1 + 1)")]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "tiny.ipynb"
    nbformat.write(nb, path)
    execution.execute_notebook(path)
    times = tmp_path / "times.json"
    env = {**os.environ, "COURSE_NOTEBOOK_TIMES": str(times)}
    # The notebook lies outside the repository, so pyproject.toml's settings do not apply: the plugin
    # is loaded by name, and pytest-randomly (installed, on by default) must be turned off by hand or
    # it would shuffle the cells.
    cmd = [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:randomly", "-p", "no:cacheprovider"]
    cmd += ["--nbval", str(path), "-q"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=500)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(times.read_text())
    (cells,) = report["notebooks"].values()
    assert [c["cell"] for c in cells] == ["Cell 0", "Cell 1"]
    assert cells[0]["kernel_cpu_s"] > 0.05 and cells[0]["wall_s"] > 0  # three million squares take CPU time
    assert report["threads"]["OMP_NUM_THREADS"] == os.environ.get("OMP_NUM_THREADS")


def test_the_budget_merges_the_nbval_and_browser_runs_and_can_require_every_lecture(tmp_path, capsys):
    # make test times the lectures in the browser pass and the exercises under nbval: one budget over both
    lectures = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    browser = {"threads": {"OMP_NUM_THREADS": "1"}, "notebooks": {}}
    for name in lectures:
        browser["notebooks"][f"notebooks/{name}"] = [{"cell": "Cell 0", "wall_s": 2.0, "kernel_cpu_s": 1.0}]
    exercise = [{"cell": "Cell 0", "wall_s": 1.0, "kernel_cpu_s": 0.5}]
    nbval = {"threads": {"OMP_NUM_THREADS": "1"}, "notebooks": {"solutions/ex.ipynb": exercise}}
    (tmp_path / "b.json").write_text(json.dumps(browser))
    (tmp_path / "n.json").write_text(json.dumps(nbval))
    files = [str(tmp_path / "n.json"), str(tmp_path / "b.json")]
    assert notebook_budget.main(["--require-lectures", *files]) == 0
    assert "solutions/ex.ipynb" in capsys.readouterr().out
    del browser["notebooks"][f"notebooks/{lectures[3]}"]
    (tmp_path / "b.json").write_text(json.dumps(browser))
    assert notebook_budget.main(files) == 0  # without the flag a lecture may be absent (a partial run)
    assert notebook_budget.main(["--require-lectures", *files]) == 1
    assert f"notebooks/{lectures[3]}: no run times recorded" in capsys.readouterr().out
    merged = notebook_budget.merge([browser, {"threads": {"OMP_NUM_THREADS": "2"}, "notebooks": {}}])
    assert not notebook_budget.single_threaded(merged)  # any run with more threads turns enforcement off
