"""The course in a real JupyterLab in a real browser (headless Debian Chromium via Playwright).

Each lecture is opened, run with "Run All", and checked as a reader would see it: no errors, every
figure an image, every widget a real control, and sliders (keyboard and mouse) that change their
figure. Screenshots and widget round-trip times (per control: every slider, dropdown and the first
toggle buttons of each interactive figure) go to artifacts/browser/; benchmarks/run.py --browser
reports the same medians.

This run is also the lectures' strict nbval check in `make test` (run once, checked twice): the
outputs JupyterLab shows are compared with the committed ones by nbval's own comparison
(the nbval_compare fixture of tests/conftest.py), and each cell's kernel CPU time is recorded for the runtime budget
(COURSE_BROWSER_NOTEBOOK_TIMES, default artifacts/browser/notebook_times.json, read by
tools/notebook_budget.py like the nbval pass's file).
"""

import json
import os
from pathlib import Path

import nbformat
import pytest

from .lab import CHROMIUM, Lab, answer_exercise, browser_context, check_notebook, copy_course, summarize

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
LECTURES = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
ROUNDTRIPS = {}
CELL_TIMES = {}  # "notebooks/NN.ipynb" -> per code cell {"cell", "wall_s", "kernel_cpu_s"}, as tests/conftest.py
TIMES_FILE = Path(os.environ.get("COURSE_BROWSER_NOTEBOOK_TIMES", ARTIFACTS / "notebook_times.json"))

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"browser tests need Debian's Chromium at {CHROMIUM}: install it with `apt-get install chromium` "
        "(.ci/run does this)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no `playwright install` needed)")


def _new_notebook(cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _broken_notebooks(folder: Path):
    folder.mkdir()
    setup = "%matplotlib inline\nfrom matplotlib.figure import Figure\nfrom course_utils import widgets"
    frozen = (
        "fig = Figure(figsize=(3, 2))\nax = fig.subplots()\nax.plot([0, 1], [0, 1])\n"
        "def update(lr):\n    pass  # deliberately broken: ignores the slider\n"
        "widgets.live_plot(fig, update, lr=widgets.log_slider('lr', 0.1, -3, 0))"
    )
    nbformat.write(_new_notebook([setup, frozen]), folder / "frozen_widget.ipynb")
    nbformat.write(_new_notebook([setup, "1 / 0"]), folder / "error_cell.ipynb")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = copy_course(ROOT, tmp_path_factory.mktemp("course"))
    _broken_notebooks(root / "broken")
    server = Lab(root, tmp_path_factory.mktemp("home"))
    yield server
    server.close()
    if CELL_TIMES:
        TIMES_FILE.parent.mkdir(parents=True, exist_ok=True)
        report = {"threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
                  "cpus": os.cpu_count(), "loadavg": list(os.getloadavg()), "run": "JupyterLab (browser pass)",
                  "notebooks": CELL_TIMES}  # fmt: skip
        TIMES_FILE.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


def _cell_times(lab, path: str, saved) -> list:
    """Each code cell's times from the kernel's record (tests/browser/lab.py), labelled as nbval labels
    cells ("Cell N", counting every code cell); a cell the kernel never ran (JupyterLab skips empty
    ones) has None, which the budget reports unless the cell is empty."""
    records = [json.loads(p.read_text(encoding="utf-8")) for p in lab.cell_times.glob("kernel-*.json")]
    # jupyter_server gives the kernel the notebook's path, absolute or relative to the server's root
    wanted = {path, str(lab.root / path)}
    ran = next((r["cells"] for r in records if r["notebook"] in wanted), [])
    cells, i = [], 0
    for number, cell in enumerate(c for c in saved.cells if c.cell_type == "code"):
        entry = {"cell": f"Cell {number}", "wall_s": 0.0, "kernel_cpu_s": 0.0 if not cell.source.strip() else None}
        if i < len(ran) and ran[i]["source"] == cell.source:
            entry.update(wall_s=ran[i]["wall_s"], kernel_cpu_s=ran[i]["kernel_cpu_s"])
            i += 1
        cells.append(entry)
    return cells


@pytest.fixture(scope="module")
def page(lab, tmp_path_factory):
    with sync_api.sync_playwright() as p:
        ctx = browser_context(p, tmp_path_factory.mktemp("profile"))
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.set_default_timeout(60000)
        yield page
        ctx.close()
    if ROUNDTRIPS:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        summary = {name: {c: summarize(t) for c, t in controls.items()} for name, controls in ROUNDTRIPS.items()}
        (ARTIFACTS / "widget_roundtrips.json").write_text(
            json.dumps({"summary": summary, "raw_ms": ROUNDTRIPS, "load": os.getloadavg()}, indent=1)
        )
        print("\nWidget round trips in the browser (input event -> new figure decoded and painted):")
        for name, controls in summary.items():
            for control, s in controls.items():
                print(f"  {name:26s} {control:20s} median {s['median_ms']:6.1f} ms  worst {s['worst_ms']:6.1f} ms  "
                      f"({s['n']} changes)")  # fmt: skip


@pytest.mark.parametrize("name", LECTURES)
def test_lecture_runs_in_jupyterlab(page, lab, name, nbval_compare):
    path = f"notebooks/{name}.ipynb"
    report = check_notebook(page, lab.url, lab.token, path, ARTIFACTS / f"{name}.png")
    if report.roundtrips:
        ROUNDTRIPS[name] = report.roundtrips
    saved = nbformat.read(ROOT / path, as_version=4)
    CELL_TIMES[path] = _cell_times(lab, path, saved)
    assert report.problems == []
    differences = nbval_compare(saved, report.outputs)  # strict nbval's check, on this run's outputs
    assert differences == [], "\n".join(differences)
    assert report.images >= 1
    source = (ROOT / "notebooks" / f"{name}.ipynb").read_text()
    if "live_plot(" in source:
        assert report.live_plots >= 1 and report.roundtrips_ms, "interactive figures were not exercised"


def test_a_widget_that_ignores_its_slider_is_caught(page, lab):
    # a frozen figure never changes: a short wait proves it as well as a long one
    report = check_notebook(page, lab.url, lab.token, "broken/frozen_widget.ipynb", roundtrip_timeout_ms=3000)
    assert report.live_plots == 1
    assert any("did not change" in p for p in report.problems), report.problems


def test_an_error_output_is_caught(page, lab):
    report = check_notebook(page, lab.url, lab.token, "broken/error_cell.ipynb")
    assert any("ZeroDivisionError" in p for p in report.problems), report.problems


def test_a_student_answers_an_exercise_and_the_check_passes(page, lab):
    solution = nbformat.read(ROOT / "solutions" / "ex02_gradient_descent.ipynb", as_version=4)
    answer = next(c.source for c in solution.cells if c.cell_type == "code" and "def gd_step(" in c.source)
    cells = answer_exercise(page, lab.url, lab.token, "exercises/ex02_gradient_descent.ipynb", "gd_step", answer)
    typed = next(c for c in cells if "def gd_step(" in c["source"])
    assert typed["source"].strip() == answer.strip() and "NotImplementedError" not in typed["source"]
    check = next(c for c in cells if 'check("gd_step"' in c["source"])
    text = "".join(o.get("text", "") for o in check["outputs"])
    assert "public checks passed" in text and "not implemented" not in text, text
    other = next(c for c in cells if 'check("numerical_gradient"' in c["source"])
    assert "not implemented yet" in "".join(o.get("text", "") for o in other["outputs"])  # untouched answers stay stubs
