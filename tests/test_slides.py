"""Slides: every lecture's slideshow metadata is consistent, and `make slides` builds offline decks.

The metadata is written by tools/publish_notebooks.py (rules in ``slide_types``); a deck is tested in
a real browser in tests/browser/test_slides.py.
"""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import publish_notebooks as pub  # noqa: E402

LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _kinds(nb):
    return [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_slide_metadata_is_consistent(path):
    nb = nbformat.read(path, as_version=4)
    kinds = _kinds(nb)
    assert all(k in pub.SLIDE_TYPES for k in kinds), "every cell needs a slide type"
    assert kinds == pub.slide_types(nb), "out of date: run python tools/publish_notebooks.py"
    assert kinds[0] == "slide", "the title opens the deck"
    for cell, kind in zip(nb.cells, kinds, strict=True):
        level = pub._heading_level(cell) if cell.cell_type == "markdown" else 0
        if level in (1, 2):
            assert kind == "slide", f"a section is a slide: {cell.source[:60]!r}"
        if cell.cell_type == "code" and pub._has_picture(cell):
            assert kind != "skip", "a figure or widget is never skipped"
    setup = pub.first_code_index(nb)
    assert kinds[setup] == "skip", "the setup cell (imports, seeds, install check) is not a slide"
    shown = [k for k in kinds if k != "skip"]
    assert len(shown) >= 0.6 * len(kinds), "most of the lecture must reach the slides"
    assert kinds.count("slide") >= 4, "a lecture has a title and at least three sections"


def test_rules_on_a_small_lecture():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"})
    printed = nbformat.v4.new_output("stream", name="stdout", text="3\n")
    nb = nbformat.v4.new_notebook(cells=[
        md("# Lecture 0 · Title"), code("import numpy as np"), md("## 1. Section"), md("Some text."),
        code("x = 1"), code("def f(x):\n    return x"), code("print(3)", outputs=[printed]),
        code("plot()", outputs=[figure]), md("**Figure 1.** What to see."), md("Reading the figure."),
        md("$$a$$ and then $$b$$"), md("### Detail"), code("\n" * 20 + "print(3)", outputs=[printed]),
    ])  # fmt: skip
    assert pub.slide_types(nb) == [
        "slide", "skip", "slide", "-", "skip", "-", "-",
        "subslide", "-", "subslide", "subslide", "subslide", "subslide",
    ]  # fmt: skip


@pytest.mark.slow
def test_a_deck_builds_offline_and_prints_its_folder(tmp_path, website):
    lecture = LECTURES[0]
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_slides.py"), "--out", str(tmp_path / "slides"), str(lecture)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert folder == (tmp_path / "slides").resolve()
    deck = folder / f"{lecture.stem}.slides.html"
    text = deck.read_text(encoding="utf-8")
    assert text.count("<section") >= 5 and "reveal.js/dist/reveal.js" in text
    assert (folder / "reveal.js" / "dist" / "reveal.js").is_file() and (folder / "mathjax" / "tex-chtml.js").is_file()
    assert website.external_resources(folder) == []
    assert "application/vnd.jupyter.widget" not in text, "widgets must be replaced by their static pictures"


def test_rise_is_installed_for_presenting_live_in_jupyterlab():
    # jupyterlab-rise ships a prebuilt JupyterLab extension: JupyterLab loads it from this folder.
    extension = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-rise" / "package.json"
    assert extension.is_file(), "pip install jupyterlab-rise (it is a dependency of the course)"
