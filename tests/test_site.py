"""The course website (`make site`, tools/build_site.py): pages, links, weight, offline, notebook adaptation.

What a browser must show (images load, math typesets, search, explorers) is in tests/browser/test_site.py.
"""

import base64
import io
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_site as site  # noqa: E402

LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
MAX_PAGE_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def html(tmp_path_factory, website):
    return website.site_html(tmp_path_factory)


# --- the build --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_build_prints_the_index_path_last(tmp_path, website):
    if os.environ.get("COURSE_SITE_STDOUT"):  # make test kept what its `make site` printed
        website.wait_for_make_site()
        out = Path(os.environ["COURSE_SITE_DIR"]) / "html"
        stdout = Path(os.environ["COURSE_SITE_STDOUT"]).read_text(encoding="utf-8")
    else:
        out, stdout = website.build_site(tmp_path / "site")
    last = stdout.strip().splitlines()[-1]
    assert Path(last) == (out / "index.html").resolve() and Path(last).is_file()


@pytest.mark.slow
def test_every_lecture_and_exercise_has_a_page(html):
    for path in LECTURES:
        assert (html / "notebooks" / f"{path.stem}.html").is_file(), path.name
    for path in EXERCISES:
        assert (html / "exercises" / f"{path.stem}.html").is_file(), path.name
    for page in ("index", "INSTRUCTORS", "search", "docs/notation", "docs/bibliography", "docs/api", "docs/explorers"):
        assert (html / f"{page}.html").is_file(), page


@pytest.mark.slow
def test_home_page_maps_every_lecture(html):
    home = (html / "index.html").read_text(encoding="utf-8")
    for path in LECTURES:
        assert f'href="notebooks/{path.stem}.html"' in home, path.stem
    for heading in ("Who it is for", "How to start", "The lectures"):
        assert heading in home


@pytest.mark.slow
@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_exercise_page_offers_the_student_notebook(html, path, website):
    page = html / "exercises" / f"{path.stem}.html"
    downloads = [
        ref for _, _, ref, _ in website.parse(page).refs if ref.endswith(f"/{path.name}") and "_downloads" in ref
    ]
    assert downloads, f"no .ipynb download link on {page.name}"
    target = (page.parent / downloads[0]).resolve()
    assert target.read_bytes() == path.read_bytes(), "the download must be the student notebook, unchanged"
    assert "BEGIN SOLUTION" not in target.read_text(encoding="utf-8")


@pytest.mark.slow
def test_no_broken_internal_links(html, website):
    assert website.broken_links(html) == []


def test_link_checker_finds_missing_files_and_anchors(tmp_path, website):
    page = '<a href="b.html#there">x</a><a href="gone.html">y</a><img src="i.png">'
    page += '<a href="https://example.org/x">ext</a><a href="#top">t</a><p id="top"></p>'
    (tmp_path / "a.html").write_text(page)
    (tmp_path / "b.html").write_text('<p id="here"></p>')
    problems = website.broken_links(tmp_path)
    assert len(problems) == 3, problems
    assert any("gone.html" in p for p in problems) and any("'there'" in p for p in problems)
    assert any("i.png" in p for p in problems)


@pytest.mark.slow
def test_site_loads_nothing_from_other_hosts(html, website):
    assert website.external_resources(html) == []


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_lecture_page_weighs_at_most_5_mb(html, path, website):
    weight = website.page_weight(html / "notebooks" / f"{path.stem}.html")
    assert weight <= MAX_PAGE_BYTES, f"{weight / 2**20:.1f} MB"


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_lecture_images_have_alt_text_and_math_is_marked_for_mathjax(html, path, website):
    page = html / "notebooks" / f"{path.stem}.html"
    imgs = website.parse(page).imgs
    assert imgs, "a lecture without a single figure?"
    assert [i["src"] for i in imgs if not (i.get("alt") or "").strip()] == []
    text = page.read_text(encoding="utf-8")
    assert 'class="math' in text and "_static/mathjax/tex-chtml.js" in text


@pytest.mark.slow
def test_bibliography_links_every_doi(html):
    bib = (ROOT / "docs" / "references.bib").read_text(encoding="utf-8")
    dois = re.findall(r"doi = \{([^}]+)\}", bib)
    assert len(dois) >= 15
    page = (html / "docs" / "bibliography.html").read_text(encoding="utf-8")
    for doi in dois:
        assert re.fullmatch(r"10\.\d{4,9}/\S+", doi), doi
        assert f"https://doi.org/{doi}" in page, doi


def test_every_bibliography_entry_has_a_doi_or_a_url():
    bib = (ROOT / "docs" / "references.bib").read_text(encoding="utf-8")
    entries = re.split(r"\n@", bib)[1:]
    assert entries
    for entry in entries:
        assert re.search(r"\b(doi|url) = \{", entry), entry.splitlines()[0]


@pytest.mark.slow
def test_api_reference_documents_the_optimizers(html):
    page = (html / "docs" / "api.html").read_text(encoding="utf-8")
    for name in ("course_utils.optim.adam.scale_by_adam", "course_utils.runner.optimize", "course_utils.problems"):
        assert f'id="{name}' in page, name


@pytest.mark.slow
def test_explorer_frames_are_complete(html):
    manifests = [json.loads(p.read_text()) for p in sorted((html / "_static" / "explorers").glob("*/explorer.json"))]
    assert {m["name"] for m in manifests} >= {"ema", "adam"}
    for m in manifests:
        shape = [len(s["values"]) for s in m["sliders"]]
        count = 1
        for n in shape:
            count *= n
        assert len(m["frames"]) == len(m["readouts"]) == count, m["name"]
        folder = html / "_static" / "explorers" / m["name"]
        assert all((folder / f).is_file() for f in [*m["frames"], m["background"]])
        assert len({(folder / f).read_bytes() for f in m["frames"]}) == count, "two frames are identical"


# --- adapting notebooks (no build needed) -------------------------------------------------------------


def _png(colour=(255, 0, 0)) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _widget_output(model_id="view"):
    return nbformat.v4.new_output(
        "execute_result",
        data={site.WIDGET_MIME: {"model_id": model_id, "version_major": 2, "version_minor": 0}, "text/plain": "VBox()"},
        execution_count=2,
    )


def _notebook(cells, state=None):
    nb = nbformat.v4.new_notebook(cells=cells)
    if state is not None:
        nb.metadata["widgets"] = {site.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb


def _adapt(nb, **kw):
    return site.adapt(nb, name="x", folder="notebooks", lecture_title="Lecture X", **kw)


def _images(nb):
    return [(c, o) for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]


def test_alt_text_comes_from_metadata_then_caption_then_the_figure_text():
    figure = nbformat.v4.new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"})
    with_alt = nbformat.v4.new_code_cell("plot()", outputs=[figure], metadata={"alt": "A", "caption": "Figure 1. C"})
    with_caption = nbformat.v4.new_code_cell("plot()", outputs=[figure], metadata={"caption": "Figure 2. Caption."})
    bare = nbformat.v4.new_code_cell("plot()", outputs=[figure])
    caption_cell = nbformat.v4.new_markdown_cell("**Figure 3.** The *loss* falls.\n\nMore text.")
    plain = nbformat.v4.new_code_cell("plot()", outputs=[figure])
    nb = _adapt(_notebook([nbformat.v4.new_markdown_cell("## 2. Steps"), with_alt, with_caption, bare, caption_cell,
                           plain]))  # fmt: skip
    alts = [c.metadata["mystnb"]["image"]["alt"] for c, _ in _images(nb)]
    assert alts == ["A", "Figure 2. Caption.", "Figure 3. The loss falls.", "Figure of Lecture X, section 2. Steps."]


def test_widget_shows_the_png_from_its_outputs_before_the_widget_state():
    mine, stored = _png((0, 255, 0)), _png((0, 0, 255))
    state = {"view": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_img"]}},
             "img": {"model_name": "ImageModel", "state": {"format": "png"},
                     "buffers": [{"path": ["value"], "encoding": "base64", "data": stored}]}}  # fmt: skip
    static = nbformat.v4.new_output("display_data", data={"image/png": mine, "text/plain": "<Figure>"})
    with_png = nbformat.v4.new_code_cell("live", outputs=[_widget_output(), static], metadata={"alt": "Sliders."})
    without = nbformat.v4.new_code_cell("live", outputs=[_widget_output()])
    nb = _adapt(_notebook([with_png, without], state))
    pictures = [o["data"]["image/png"] for _, o in _images(nb)]
    assert pictures == [mine, stored]
    assert "widgets" not in nb.metadata, "the widget state would load the widget manager from a CDN"
    assert all(site.WIDGET_MIME not in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    notes = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith(":::{note}")]
    assert len(notes) == 2 and all("Run the notebook" in n for n in notes)
    assert "(Sliders.)" in notes[0]


def test_widget_without_any_picture_gets_a_note_and_progress_bars_vanish():
    bar = nbformat.v4.new_output("display_data", data={site.WIDGET_MIME: {"model_id": "bar"}, "text/plain": "0%|"})
    nb = _adapt(_notebook([nbformat.v4.new_code_cell("loop", outputs=[bar])], state={}))
    code = [c for c in nb.cells if c.cell_type == "code"][0]
    assert code.outputs == []
    assert any(c.source.startswith(":::{note}") for c in nb.cells if c.cell_type == "markdown")


def test_explorer_is_placed_after_the_first_widget_and_the_download_link_after_the_title():
    manifest = {"name": "ema", "title": "T", "alt": "A", "background": "background.png"}
    cells = [nbformat.v4.new_markdown_cell("# Lecture 7"), nbformat.v4.new_code_cell("w", outputs=[_widget_output()])]
    nb = _adapt(_notebook(cells, state={}), explorers=[(manifest, "../_static/explorers/ema/")], download="../x.ipynb")
    sources = [c.source for c in nb.cells]
    assert sources[1].startswith("{download}`Download this notebook (.ipynb) <../x.ipynb>`")
    assert 'class="course-explorer"' in sources[-1] and "\n\n" not in sources[-1]
    assert len({c.id for c in nb.cells}) == len(nb.cells)


def test_links_to_repository_folders_point_at_the_home_page():
    text = "See [the exercises](../exercises/) and [ex](../exercises/a.ipynb)."
    nb = _adapt(_notebook([nbformat.v4.new_markdown_cell(text)]))
    assert nb.cells[0].source == "See [the exercises](../index.md) and [ex](../exercises/a.ipynb)."


def test_the_install_check_is_not_shown_on_the_site():
    source = site.publish_notebooks.with_guard("%matplotlib inline\nimport numpy as np")
    nb = _adapt(_notebook([nbformat.v4.new_code_cell(source)]))
    assert nb.cells[0].source == "%matplotlib inline\nimport numpy as np"
