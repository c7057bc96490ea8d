"""Build one reveal.js slide deck per lecture with nbconvert (`make slides`), without executing anything.

    python tools/build_slides.py [--out build/slides] [notebooks/07_ema_bias_correction.ipynb ...]

The decks follow the slideshow metadata that tools/publish_notebooks.py writes into the lectures (a
section is a slide, figures and derivations are sub-slides, setup and plumbing cells are skipped).
On top of that, for a static deck:

- a cell that shows a figure keeps its figure and loses its code (the plotting code is in the
  notebook, the slide is for the picture);
- a widget shows its static picture (a PNG in its outputs, else the image kept in the widget
  state) with a line saying that the live version runs in the notebook (RISE, `jupyterlab-rise`);
- reveal.js and MathJax are copied next to the decks from ``node_modules``, and the template
  (tools/slides_template/course-reveal) loads nothing from another host.

The last line printed is the folder of the decks.
"""

from __future__ import annotations

import argparse
import copy
import html
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_site  # noqa: E402

TEMPLATE_DIR = Path(__file__).resolve().parent / "slides_template"
REVEAL_FILES = ("dist", "plugin/notes")
HIDE_INPUT = "slides-hide-input"  # set here, in memory only: never written into the notebooks
WIDGET_NOTE = (
    '<p class="course-widget-note">Interactive figure: the picture shows its initial state. '
    "Open the notebook in JupyterLab (RISE: Alt+R) to move its controls live.</p>"
)


def for_slides(nb):
    """A copy of a lecture with static pictures for widgets and the figures' code hidden."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        is_widget = False
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None and build_site.WIDGET_MIME in data:
                is_widget = True
                has_png = any("image/png" in o.get("data", {}) for o in cell.outputs)
                picture = None if has_png else build_site.widget_picture(nb, data[build_site.WIDGET_MIME])
                if not picture:
                    continue
                out = copy.deepcopy(out)
                out.data = {"image/png": picture}
            outputs.append(out)
        cell.outputs = outputs
        if any("image/png" in o.get("data", {}) for o in outputs):
            cell.metadata.setdefault("tags", []).append(HIDE_INPUT)
        if is_widget:
            note = nbformat.v4.new_markdown_cell(WIDGET_NOTE)
            note.metadata["slideshow"] = {"slide_type": "-"}
            cells.append(note)
    for i, cell in enumerate(cells):
        cell.id = f"slide-{i}"
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


def exporter() -> SlidesExporter:
    c = Config()
    c.SlidesExporter.reveal_url_prefix = "reveal.js"
    c.SlidesExporter.reveal_scroll = True
    c.SlidesExporter.reveal_theme = "white"  # its fonts ship with reveal.js (nbconvert's "simple" loads Google Fonts)
    c.SlidesExporter.reveal_number = "c/t"
    c.TagRemovePreprocessor.remove_input_tags = {HIDE_INPUT}
    c.TagRemovePreprocessor.enabled = True
    ex = SlidesExporter(config=c, extra_template_basedirs=[str(TEMPLATE_DIR)], template_name="course-reveal")
    ex.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    return ex


def _copy_assets(out: Path) -> None:
    reveal = ROOT / "node_modules" / "reveal.js"
    mathjax = ROOT / "node_modules" / "mathjax" / "es5"
    if not (reveal / "dist" / "reveal.js").is_file() or not (mathjax / "tex-chtml.js").is_file():
        raise SystemExit("reveal.js or MathJax is missing: run `npm ci` in the repository (make slides does it)")
    for rel in REVEAL_FILES:
        shutil.copytree(reveal / rel, out / "reveal.js" / rel, dirs_exist_ok=True)
    for rel in build_site.MATHJAX_FILES:
        src, dst = mathjax / rel, out / "mathjax" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)


def build(out: Path, paths: list[Path] | None = None) -> list[Path]:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    _copy_assets(out)
    paths = paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    ex = exporter()
    decks = []
    for path in paths:
        nb = for_slides(nbformat.read(path, as_version=4))
        body, _ = ex.from_notebook_node(nb, resources={"metadata": {"name": build_site.title(nb, path.stem)}})
        deck = out / f"{path.stem}.slides.html"
        deck.write_text(body, encoding="utf-8")
        decks.append(deck)
    names = [(d.name, html.escape(d.name.removesuffix(".slides.html"))) for d in decks]
    items = "\n".join(f'<li><a href="{file}">{name}</a></li>' for file, name in names)
    (out / "index.html").write_text(
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Slides</title></head>\n'
        f"<body><h1>Adam from first principles: slides</h1>\n<ul>\n{items}\n</ul></body></html>\n",
        encoding="utf-8",
    )
    return decks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "slides")
    parser.add_argument("notebooks", nargs="*", type=Path, help="lectures to convert (default: all)")
    args = parser.parse_args(argv)
    decks = build(args.out, [p.resolve() for p in args.notebooks] or None)
    print(f"{len(decks)} decks", file=sys.stderr)
    print(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
