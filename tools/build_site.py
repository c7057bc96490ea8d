"""Build the course website from the committed notebooks, without executing them (`make site`).

    python tools/build_site.py [--out build/site] [--jobs N]

Steps, all offline:

1. **Stage** a source folder (``OUT/src``) with the repository's layout, so the relative links between
   notebooks keep working: ``notebooks/`` and ``exercises/`` (the student versions; ``solutions/``
   never goes on the site), ``INSTRUCTORS.md``, ``docs/`` (notation, bibliography, explorers, API
   pages), a generated home page with the map of lectures, and ``_static/`` with MathJax from
   ``node_modules`` (so math renders without a CDN).
2. **Adapt the notebooks** for a page without a kernel: a widget shows its static picture (a PNG
   in the cell's outputs if there is one, else the image stored in the notebook's widget state) and a
   note to run the notebook; figures get their alt text from the cell metadata ``alt`` (or
   ``caption``, or the "**Figure N.**" text that follows them); every page gets a link to download
   its ``.ipynb``; the widget state, which would load the widget manager from a CDN, is dropped.
3. **Precompute the kernel-free explorers** (tools/site_explorers.py) and put them in their
   lectures and on the explorers page. Frames are cached by a hash of their inputs.
4. **Run Sphinx** (myst-nb with ``nb_execution_mode = "off"``, furo theme, autodoc, bibtex) and
   print the path of ``index.html`` as the last line.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import publish_notebooks  # noqa: E402
import site_explorers  # noqa: E402

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MATHJAX_FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")
ORIGINALS = "_originals"  # downloadable copies of the notebooks, untouched


# --- reading the notebooks -------------------------------------------------------------------------


def _text(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.match(r"#\s+(.+)", _text(cell).lstrip())
            if match:
                return match.group(1).strip()
    return fallback


def exercise_links(nb) -> list[str]:
    """Exercise notebooks a lecture links to, in order of appearance."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for name in re.findall(r"\(\.\./exercises/([\w-]+)\.ipynb\)", _text(cell)):
                if name not in found:
                    found.append(name)
    return found


def widget_picture(nb, view: dict) -> str | None:
    """The base64 PNG that a live plot's Image widget held when the notebook was saved, if any."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    todo, seen = [view.get("model_id")], set()
    while todo:
        model_id = todo.pop(0)
        if model_id in seen or model_id not in state:
            continue
        seen.add(model_id)
        model = state[model_id]
        if model.get("model_name") == "ImageModel" and model.get("state", {}).get("format", "png") == "png":
            for buffer in model.get("buffers", []):
                if buffer.get("path") == ["value"] and buffer.get("encoding") == "base64":
                    return buffer["data"]
        for child in model.get("state", {}).get("children", []):
            if isinstance(child, str) and child.startswith("IPY_MODEL_"):
                todo.append(child.removeprefix("IPY_MODEL_"))
    return None


def _figure_text_after(nb, index: int) -> str | None:
    """The "**Figure N.** ..." caption in the markdown cell right after a figure, as plain text."""
    if index + 1 < len(nb.cells) and nb.cells[index + 1].cell_type == "markdown":
        text = _text(nb.cells[index + 1]).strip()
        if text.startswith("**Figure"):
            plain = re.sub(r"[*_`]", "", text.split("\n\n", 1)[0])
            return " ".join(plain.split())
    return None


def _section(nb, index: int) -> str:
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type == "markdown":
            match = re.match(r"#{1,3}\s+(.+)", _text(cell).lstrip())
            if match:
                return re.sub(r"[*_`$\\]", "", match.group(1)).strip()
    return ""


# --- adapting a notebook for a static page -------------------------------------------------------


FOLDER_LINK = re.compile(r"\]\((\.\./)+[\w.-]+/\)")  # a link to a folder of the repository


def without_install_check(source: str) -> str:
    """The source without the install check of tools/publish_notebooks.py: a reader of the site needs none."""
    lines = source.split("\n")
    if publish_notebooks.GUARD_BEGIN not in lines:
        return source
    start = lines.index(publish_notebooks.GUARD_BEGIN)
    end = lines.index(publish_notebooks.GUARD_END, start) + 1
    while end < len(lines) and not lines[end].strip():
        end += 1
    return "\n".join(lines[:start] + lines[end:])


def _note(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(f":::{{note}}\n{text}\n:::")


def explorer_html(manifest: dict, base: str) -> str:
    """The block the page's script turns into sliders and a picture (one line of JSON: no blank lines)."""
    data = html.escape(json.dumps(manifest, ensure_ascii=False), quote=False)
    return (
        f'<div class="course-explorer" id="explorer-{manifest["name"]}" data-base="{base}">\n'
        f'<p class="course-explorer-title">Explore without a kernel: {html.escape(manifest["title"])}</p>\n'
        f'<script type="application/json">{data}</script>\n'
        f'<noscript><img src="{base}{manifest["background"]}" alt="{html.escape(manifest["alt"])}"></noscript>\n'
        "</div>"
    )


def adapt(nb, *, name: str, folder: str, lecture_title: str, explorers=(), download: str | None = None):
    """A copy of ``nb`` ready for a kernel-free page (see the module docstring, step 2)."""
    nb = copy.deepcopy(nb)
    cells = []
    explorers = list(explorers)
    for index, cell in enumerate(nb.cells):
        cells.append(cell)
        if cell.cell_type == "markdown":  # a folder has no page on the site: point at the home page instead
            cell.source = FOLDER_LINK.sub("](../index.md)", _text(cell))
        if cell.cell_type != "code":
            continue
        cell.source = without_install_check(_text(cell))
        meta = cell.metadata
        is_widget = any(WIDGET_MIME in out.get("data", {}) for out in cell.get("outputs", []))
        has_png = any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None and WIDGET_MIME in data:
                picture = None if has_png else widget_picture(nb, data[WIDGET_MIME])
                out = copy.deepcopy(out)
                out.data = {"image/png": picture} if picture else {}
                has_png = has_png or bool(picture)
                if not out.data:
                    continue  # a progress bar, or a widget without a picture: the note below explains
            outputs.append(out)
        cell.outputs = outputs
        if has_png:
            section = _section(nb, index)
            alt = (
                meta.get("alt")
                or meta.get("caption")
                or _figure_text_after(nb, index)
                or (f"Interactive figure ({'section ' + section if section else lecture_title}), initial state."
                    if is_widget else f"Figure of {lecture_title}" + (f", section {section}." if section else "."))
            )  # fmt: skip
            mystnb = meta.setdefault("mystnb", {})
            mystnb.setdefault("image", {})["alt"] = str(alt)
        if is_widget:
            what = f" ({meta['alt']})" if meta.get("alt") else ""
            if has_png:
                text = (
                    f"This is an interactive figure{what}: the picture shows its initial state. "
                    "Run the notebook in JupyterLab to move its controls."
                )
            else:
                text = f"This cell shows an interactive widget{what}. Run the notebook in JupyterLab to use it."
            if explorers:
                manifest, base = explorers.pop(0)
                text += " Or use the kernel-free explorer below, which precomputes the same figure."
                cells.append(_note(text))
                cells.append(nbformat.v4.new_markdown_cell(explorer_html(manifest, base)))
            else:
                cells.append(_note(text))
    if download:
        link = f"{{download}}`Download this notebook (.ipynb) <{download}>` to run it in JupyterLab."
        position = 1 if cells and cells[0].cell_type == "markdown" else 0
        cells.insert(position, nbformat.v4.new_markdown_cell(link))
    for i, cell in enumerate(cells):
        cell.id = f"site-{i}"
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


# --- staging --------------------------------------------------------------------------------------


def _copy_mathjax(static: Path) -> None:
    source = ROOT / "node_modules" / "mathjax" / "es5"
    if not (source / "tex-chtml.js").is_file():
        raise SystemExit("MathJax is missing: run `npm ci` in the repository (make site does it)")
    for rel in MATHJAX_FILES:
        src, dst = source / rel, static / "mathjax" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)


def _explorer_frames(cache: Path, static: Path) -> list[dict]:
    """Explorer frames, rebuilt only when their code, course_utils or matplotlib changed."""
    import matplotlib

    digest = hashlib.sha256(matplotlib.__version__.encode())
    for path in sorted([Path(site_explorers.__file__), *(ROOT / "course_utils").rglob("*.py")]):
        digest.update(path.read_bytes())
    folder = cache / f"explorers-{digest.hexdigest()[:16]}"
    if not (folder / "done").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        for old in cache.glob("explorers-*"):
            shutil.rmtree(old, ignore_errors=True)
        site_explorers.build(folder)
        (folder / "done").write_text("")
    shutil.copytree(folder, static / "explorers", ignore=shutil.ignore_patterns("done"))
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((static / "explorers").glob("*/explorer.json"))]


def _api_page(docs: Path) -> None:
    import pkgutil

    import course_utils

    found = pkgutil.walk_packages(course_utils.__path__, "course_utils.")
    found = [m for m in found if not m.name.endswith("__main__")]
    packages = {"course_utils"} | {m.name for m in found if m.ispkg}
    modules = sorted(m.name for m in found)
    lines = [
        "# API reference: `course_utils`",
        "",
        "Generated from the docstrings of the package (`sphinx.ext.autodoc`). Optimizers follow",
        "`torch.optim`'s names and defaults; see the [notation table](notation.md) for the symbols.",
        "`course_utils.instructor`, `course_utils.grade` and `course_utils.assignments` are the instructors' tools",
        "and are left out of the student release.",
        "",
    ]
    for name in ["course_utils", *modules]:
        # A package re-exports its modules' functions: document them once, where they are defined.
        options = ["   :no-members:"] if name in packages else []
        lines += [f"## `{name}`", "", "```{eval-rst}", f".. automodule:: {name}", *options, "```", ""]
    (docs / "api.md").write_text("\n".join(lines), encoding="utf-8")


def _home_page(src: Path, lectures: list[tuple[Path, object]], exercises: list[Path], explorers: list[dict]) -> None:
    template = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    rows = ["| # | lecture | exercise |", "|---|---|---|"]
    for i, (path, nb) in enumerate(lectures, 1):
        ex = ", ".join(f"[{n}](exercises/{n}.ipynb)" for n in exercise_links(nb)) or "—"
        rows.append(f"| {i} | [{title(nb, path.stem)}](notebooks/{path.name}) | {ex} |")
    explorer_list = "\n".join(f"- [{m['title']}](docs/explorers.md)" for m in explorers)
    toc = [
        "```{toctree}",
        ":hidden:",
        ":caption: Lectures",
        "",
        *[f"notebooks/{p.stem}" for p, _ in lectures],
        "```",
        "",
        "```{toctree}",
        ":hidden:",
        ":caption: Exercises",
        "",
        *[f"exercises/{p.stem}" for p in exercises],
        "```",
        "",
        "```{toctree}",
        ":hidden:",
        ":caption: Reference",
        "",
        "docs/explorers",
        "docs/notation",
        "docs/bibliography",
        "docs/api",
        "INSTRUCTORS",
        "docs/teaching",
        "```",
    ]
    page = template.replace("<!-- lecture map -->", "\n".join(rows)).replace("<!-- explorers -->", explorer_list)
    (src / "index.md").write_text(page + "\n\n" + "\n".join(toc) + "\n", encoding="utf-8")


def stage(src: Path, cache: Path) -> dict:
    """Write the Sphinx source folder; return what was staged (for the summary line)."""
    if src.exists():
        shutil.rmtree(src)
    (src / "docs").mkdir(parents=True)
    shutil.copy2(ROOT / "docs" / "conf.py", src / "conf.py")
    shutil.copytree(ROOT / "docs" / "_static", src / "_static")
    for page in (ROOT / "docs").iterdir():
        if page.is_file() and page.suffix in (".md", ".bib") and page.name != "index.md":
            shutil.copy2(page, src / "docs" / page.name)
    shutil.copy2(ROOT / "INSTRUCTORS.md", src / "INSTRUCTORS.md")
    _copy_mathjax(src / "_static")
    explorers = _explorer_frames(cache, src / "_static")
    _api_page(src / "docs")

    lectures = [(p, nbformat.read(p, as_version=4)) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    exercises = sorted((ROOT / "exercises").glob("*.ipynb"))
    for folder, items in (("notebooks", lectures), ("exercises", [(p, nbformat.read(p, 4)) for p in exercises])):
        (src / folder).mkdir()
        (src / ORIGINALS / folder).mkdir(parents=True)
        for path, nb in items:
            shutil.copy2(path, src / ORIGINALS / folder / path.name)
            mine = [(m, "../_static/explorers/" + m["name"] + "/") for m in explorers if path.match(m["lecture"])]
            page = adapt(
                nb,
                name=path.stem,
                folder=folder,
                lecture_title=title(nb, path.stem),
                explorers=mine if folder == "notebooks" else (),
                download=f"../{ORIGINALS}/{folder}/{path.name}",
            )
            nbformat.write(page, src / folder / path.name)

    blocks = "\n\n".join(explorer_html(m, f"../_static/explorers/{m['name']}/") for m in explorers)
    explorers_page = src / "docs" / "explorers.md"
    explorers_page.write_text(
        explorers_page.read_text(encoding="utf-8").replace("<!-- explorers -->", blocks), encoding="utf-8"
    )
    _home_page(src, lectures, exercises, explorers)
    return {"lectures": len(lectures), "exercises": len(exercises), "explorers": len(explorers)}


def build(out: Path, jobs: str = "auto") -> Path:
    out = out.resolve()
    start = time.perf_counter()
    staged = stage(out / "src", out / "cache")
    html_dir = out / "html"
    warnings = out / "sphinx-warnings.txt"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", str(jobs), "-w", str(warnings),
           "-d", str(out / "doctrees"), str(out / "src"), str(html_dir)]  # fmt: skip
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
    subprocess.run(cmd, check=True, env=env)
    index = html_dir / "index.html"
    if not index.is_file():
        raise SystemExit(f"Sphinx did not write {index}")
    problems = warnings.read_text(encoding="utf-8").count("WARNING") if warnings.is_file() else 0
    print(
        f"site: {staged['lectures']} lectures, {staged['exercises']} exercises, {staged['explorers']} explorers, "
        f"{problems} Sphinx warnings ({warnings}), {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )
    return index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--jobs", default="auto", help="Sphinx parallel jobs (default: one per core)")
    args = parser.parse_args(argv)
    index = build(args.out, args.jobs)
    print(index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
