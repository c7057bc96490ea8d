"""Prepare the committed notebooks for publication, without re-executing them.

    python tools/publish_notebooks.py            # update every notebook in place
    python tools/publish_notebooks.py --check    # exit 1 and list what is out of date, change nothing

It writes four things, and nothing else:

1. **A licence footer**: a last markdown cell (id ``course-licence-footer``) in every lecture
   (``notebooks/``), exercise, solution and assignment source.
2. **An install check** in the first code cell of every lecture: if ``course_utils`` cannot be
   imported, the cell stops with the exact ``%pip install`` command instead of an ImportError. When
   ``course_utils`` is installed the block prints nothing, so the committed outputs stay valid.
3. **Slideshow metadata** (``cell.metadata.slideshow.slide_type``) on every lecture cell, for
   RISE and ``make slides``; the rules are in :func:`slide_types`.
4. **Section boundaries**: a ``#``/``##`` heading in the middle of a lecture's markdown cell starts
   a cell of its own (same text), because a slide can only begin at a cell.

Only markdown cells, metadata and the first code cell's source change: outputs, execution counts
and timings are never touched, so no notebook needs to be re-executed. Running it twice gives the
same files as running it once (tests/test_publish.py checks both). Notebooks are found by glob, so
new or renumbered lectures are picked up without editing this file.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LECTURE_GLOB = "notebooks/*.ipynb"
FOOTER_GLOBS = (LECTURE_GLOB, "exercises/*.ipynb", "solutions/*.ipynb", "assignments/source/*.ipynb")

FOOTER_ID = "course-licence-footer"
FOOTER = (
    "---\n\n"
    "*Adam from first principles*: text and figures under the Creative Commons Attribution 4.0 licence "
    "([CC BY 4.0](https://creativecommons.org/licenses/by/4.0/), file `LICENSE-CONTENT`), "
    "code under the MIT licence (file `LICENSE`). To cite the course, see `CITATION.cff`."
)

GUARD_BEGIN = "# The course's helper package: if it is missing, say how to install it (tools/publish_notebooks.py)."
GUARD_END = "    ) from None"
GUARD = f"""{GUARD_BEGIN}
try:
    import course_utils  # noqa: F401
except ModuleNotFoundError:
    from pathlib import Path

    here = Path.cwd()
    _root = next((p for p in (here, *here.parents) if (p / "course_utils").is_dir()), "PATH/TO/THE/COURSE")
    raise SystemExit(
        "This notebook needs course_utils, the course's helper package, and this kernel cannot import it.\\n"
        f'Install it: run  %pip install -e "{{_root}}"  in a cell (the course folder holds pyproject.toml),\\n'
        "then restart the kernel (Kernel > Restart Kernel) and run this notebook again from the top."
{GUARD_END}"""

SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
LONG_CODE_LINES = 15  # a code cell longer than this gets a sub-slide of its own
DEFINITION = re.compile(r"^(def|class) ", re.MULTILINE)  # code that is the lesson even without output
DISPLAY_MATH = re.compile(r"\$\$.+?\$\$|\\begin\{(?:align|equation|gather)", re.DOTALL)  # one match per equation


def _text(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _heading_level(cell) -> int:
    first = _text(cell).lstrip().split("\n", 1)[0]
    match = re.match(r"(#{1,6})\s", first)
    return len(match.group(1)) if match else 0


def _has_picture(cell) -> bool:
    """Figures and widgets: a cell whose output needs room of its own on a slide."""
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if any(k.startswith("image/") for k in data) or "application/vnd.jupyter.widget-view+json" in data:
            return True
    return False


def is_footer(cell) -> bool:
    return cell.get("id") == FOOTER_ID


def first_code_index(nb) -> int | None:
    return next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)


def slide_types(nb) -> list[str]:
    """One slide type per cell, chosen from the notebook's structure.

    - The title cell and every ``#``/``##`` section start a slide; ``###`` subsections a sub-slide.
    - A derivation (a markdown cell with two or more display equations) gets a sub-slide.
    - A cell with a figure or a widget gets a sub-slide of its own, and so does the text that reads
      it (its "**Figure N.**" caption stays with it); so does code longer than 15 lines.
    - Setup and plumbing are skipped: the first code cell (imports, seeds, the install check) and
      code cells that neither show output nor define a function or class (data preparation and
      figure set-up whose results later cells show). A from-scratch ``def`` is the lesson: it stays.
    - Everything else continues the current slide.
    """
    types = []
    setup = first_code_index(nb)
    after_picture = False
    for i, cell in enumerate(nb.cells):
        text = _text(cell)
        if cell.cell_type == "markdown":
            level = _heading_level(cell)
            if i == 0 or level in (1, 2):
                kind = "slide"
            elif is_footer(cell) or text.lstrip().startswith("**Figure"):
                kind = "-"
            elif level >= 3 or len(DISPLAY_MATH.findall(text)) >= 2 or after_picture:
                kind = "subslide"
            else:
                kind = "-"
            if not text.lstrip().startswith("**Figure"):
                after_picture = False
        elif cell.cell_type == "code":
            if i == setup or not (cell.get("outputs") or DEFINITION.search(text)):
                kind = "skip"
            elif _has_picture(cell) or text.count("\n") + 1 > LONG_CODE_LINES:
                kind = "subslide"
            else:
                kind = "-"
            if kind != "skip":
                after_picture = _has_picture(cell)
        else:
            kind = "skip"
        types.append(kind)
    return types


def with_guard(source: str) -> str:
    """The first code cell's source with the install check, placed after ``%matplotlib inline``."""
    lines = source.split("\n")
    if GUARD_BEGIN in lines:  # replace an older version of the block
        start = lines.index(GUARD_BEGIN)
        end = lines.index(GUARD_END, start)
        while end + 1 < len(lines) and not lines[end + 1].strip():
            end += 1
        del lines[start : end + 1]
    at = 1 if lines and lines[0].startswith("%matplotlib") else 0
    block = GUARD.split("\n") + [""]
    return "\n".join(lines[:at] + block + lines[at:])


def split_sections(nb) -> None:
    """Start a new markdown cell at every ``#``/``##`` heading that sits inside a cell, in place.

    A slide can only begin at a cell, and "a section is a slide". The text is unchanged; only the
    cell boundary moves. The title cell (with its "## Learning goals") stays whole. The new cell's
    id is derived from the old one, so a second run finds nothing to split.
    """
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or i == 0:
            cells.append(cell)
            continue
        parts, current, fenced = [], [], False
        for line in _text(cell).split("\n"):
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
            if not fenced and re.match(r"#{1,2}\s", line) and any(x.strip() for x in current):
                parts.append(current)
                current = []
            current.append(line)
        parts.append(current)
        for k, part in enumerate(parts):
            while k + 1 < len(parts) and part and not part[-1].strip():
                part = part[:-1]  # the blank line before a heading belongs to neither cell
            if k == 0:
                cell.source = "\n".join(part)
                cells.append(cell)
            else:
                new = nbformat.v4.new_markdown_cell("\n".join(part))
                new.id = f"{cell.get('id', 'cell')}-{k}"[-64:]
                cells.append(new)
    nb.cells = cells


def publish(nb, lecture: bool) -> None:
    """Apply the footer, and for lectures the section split, install check and slide metadata, in place."""
    nb.cells = [c for c in nb.cells if not is_footer(c)]
    if lecture:
        split_sections(nb)
    footer = nbformat.v4.new_markdown_cell(FOOTER)
    footer.id = FOOTER_ID
    nb.cells.append(footer)
    if not lecture:
        return
    setup = first_code_index(nb)
    if setup is not None:
        nb.cells[setup].source = with_guard(_text(nb.cells[setup]))
    for cell, kind in zip(nb.cells, slide_types(nb), strict=True):
        cell.metadata.setdefault("slideshow", {})["slide_type"] = kind


def targets(root: Path = ROOT) -> list[tuple[Path, bool]]:
    lectures = set(root.glob(LECTURE_GLOB))
    paths = sorted({p for pattern in FOOTER_GLOBS for p in root.glob(pattern)})
    return [(p, p in lectures) for p in paths if ".ipynb_checkpoints" not in p.parts]


def render(nb) -> str:
    return nbformat.writes(nb) + "\n"


def run(root: Path = ROOT, check: bool = False) -> list[Path]:
    """Publish every notebook under ``root``; return the paths that changed (or would change)."""
    changed = []
    for path, lecture in targets(root):
        before = path.read_text(encoding="utf-8")
        nb = nbformat.reads(before, as_version=nbformat.NO_CONVERT)
        publish(nb, lecture)
        after = render(nb)
        if after != before:
            changed.append(path)
            if not check:
                path.write_text(after, encoding="utf-8")
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report notebooks that are out of date, write nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="course folder (default: this repository)")
    args = parser.parse_args(argv)
    changed = run(args.root, check=args.check)
    for path in changed:
        print(f"{'out of date' if args.check else 'updated'}: {path.relative_to(args.root)}")
    if args.check and changed:
        print("run: python tools/publish_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
