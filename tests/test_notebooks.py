"""The lecture notebooks' contract: structure, executed outputs without errors, runtime budget.

Strict nbval (run by ``make test``) re-executes them and compares outputs; these checks cover
what nbval does not: the teaching structure, that outputs were committed in order, and time.
"""

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = [
    "01_start_here", "02_gradient_descent", "03_sgd_minibatch", "04_momentum", "05_adagrad", "06_rmsprop",
    "07_ema_bias_correction", "08_adam", "09_tuning_adam", "10_variants_pitfalls", "11_adam_pytorch_at_scale",
    "12_capstone",
]  # fmt: skip
CELL_BUDGET_S = 30.0
NOTEBOOK_BUDGET_S = 60.0
COURSE_BUDGET_S = 300.0
PATHS = [ROOT / "notebooks" / f"{name}.ipynb" for name in LECTURES]


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def text(cell):
    return "".join(cell["source"])


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and text(c).strip()]


def test_all_twelve_lectures_exist_and_nothing_else():
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


def _seconds(cell):
    ex = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in ex or "shell.execute_reply" not in ex:
        return None
    start, end = (
        datetime.fromisoformat(ex[k].replace("Z", "+00:00")) for k in ("iopub.execute_input", "shell.execute_reply")
    )
    return (end - start).total_seconds()


@pytest.mark.parametrize("path", PATHS, ids=LECTURES)
def test_runtime_budget(path):
    nb = load(path)
    total = nb["metadata"].get("course", {}).get("execution_seconds")
    assert total is not None, "execute with tools/execute_notebooks.py so that the runtime is recorded"
    assert total < NOTEBOOK_BUDGET_S
    for c in code_cells(nb):
        seconds = _seconds(c)
        assert seconds is not None and seconds < CELL_BUDGET_S, f"cell over {CELL_BUDGET_S} s:\n{text(c)[:200]}"


def test_course_totals():
    nbs = [load(p) for p in PATHS]
    assert sum(nb["metadata"]["course"]["execution_seconds"] for nb in nbs) < COURSE_BUDGET_S
    figures = sum(1 for nb in nbs for c in code_cells(nb) for out in c["outputs"] if "image/png" in out.get("data", {}))
    assert figures >= 30, f"only {figures} figures in the course"
    for name, nb in zip(LECTURES, nbs, strict=True):
        if name not in ("01_start_here", "11_adam_pytorch_at_scale"):
            assert any("live_plot(" in text(c) for c in code_cells(nb)), f"{name} has no interactive figure"
