"""The lectures' text (issue 12): focused cells, one notation linked from every lecture, no stale progress bars.

Scope: the checks on words and symbols cover every lecture (``TEXT_DONE``: all of ``notebooks/``) and
every exercise source. The progress-bar check covers every committed notebook.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT_DONE = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISES_DONE = sorted(p.stem for p in (ROOT / "assignments" / "source").glob("ex*.ipynb"))
COMMITTED = sorted(p for folder in ("notebooks", "exercises", "solutions", "assignments/source")
                   for p in (ROOT / folder).glob("*.ipynb"))  # fmt: skip
MAX_WORDS = 250  # a markdown cell longer than this holds more than one idea: split it
NOTATION = ROOT / "docs" / "notation.md"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def text(cell):
    return "".join(cell["source"])


def markdown(path):
    return [text(c) for c in load(path)["cells"] if c["cell_type"] == "markdown"]


def lecture(name):
    return ROOT / "notebooks" / f"{name}.ipynb"


def long_cells(cells, limit=MAX_WORDS):
    """(index, word count, opening) of each markdown text longer than ``limit`` words."""
    return [(i, len(s.split()), s[:60]) for i, s in enumerate(cells) if len(s.split()) > limit]


def test_long_cells_are_found():
    assert long_cells(["a " * 251, "b " * 250]) == [(0, 251, "a " * 30)]


@pytest.mark.parametrize("name", TEXT_DONE)
def test_no_markdown_cell_is_over_the_word_limit(name):
    assert long_cells(markdown(lecture(name))) == []


@pytest.mark.parametrize("name", TEXT_DONE)
def test_the_lecture_links_the_notation_table_near_the_top(name):
    first = markdown(lecture(name))[0]
    links = re.findall(r"\]\(([^)]*notation\.md)\)", first)
    assert links, "the first cell must link the notation table (../docs/notation.md)"
    assert all((lecture(name).parent / link).resolve() == NOTATION for link in links)


# The loss is f, the smoothness constant L (docs/notation.md): "L(theta)" or "nabla L" is the old loss.
OLD_SYMBOLS = {
    "the loss written L": re.compile(r"\\nabla\s*L\b|(?<![A-Za-z\\])L\(\\theta|\\partial L\b"),
    "Kingma & Ba's step size alpha (the course writes eta)": re.compile(r"\\alpha"),
    "an iterate index k (the course indexes steps by t)": re.compile(
        r"_\{k\s*\+\s*1\}|(?<![A-Za-z\\])(?:x|\\theta)_\{?k\}?(?![A-Za-z0-9_])"
    ),
}


@pytest.mark.parametrize(
    "path",
    [lecture(n) for n in TEXT_DONE] + [ROOT / "assignments" / "source" / f"{n}.ipynb" for n in EXERCISES_DONE],
    ids=lambda p: p.stem,
)
def test_markdown_uses_the_course_notation(path):
    found = [(label, m.group(0)) for s in markdown(path) for label, rx in OLD_SYMBOLS.items() for m in rx.finditer(s)]
    assert found == []


def test_old_symbols_are_caught():
    old = [
        "$\\nabla L(\\theta)$",
        "with $\\alpha = 0.99$",
        "$x_{k+1} = x_k - \\eta g$",
        "every $x_k$",
        "$\\theta_k$",
        "$x_{k}$",
    ]
    assert [any(rx.search(s) for rx in OLD_SYMBOLS.values()) for s in old] == [True] * 6
    new = [
        "$\\nabla f(\\theta)$ and $\\eta < 2/L$",
        "$\\sum_k \\beta^k g_{t-k}$",
        "$\\lambda_{\\max}$",
        "layer sizes $n_k$",
        "$x_i$",
    ]
    assert [any(rx.search(s) for rx in OLD_SYMBOLS.values()) for s in new] == [False] * 5


@pytest.mark.parametrize("name", TEXT_DONE)
def test_no_unsourced_asides_or_verbal_tics(name):
    prose = "\n".join(markdown(lecture(name))).lower()
    for phrase in ("honest", "popular textbooks", "some textbooks", "popular explanations"):
        assert phrase not in prose, f"{phrase!r}: cite the text and the place, or drop the aside"


@pytest.mark.parametrize("path", COMMITTED, ids=[str(p.relative_to(ROOT)) for p in COMMITTED])
def test_committed_progress_bars_show_their_final_state(path):
    stuck = []
    for cell in load(path)["cells"]:
        for out in cell.get("outputs", []):
            plain = "".join(out.get("data", {}).get("text/plain", ""))
            if WIDGET_VIEW in out.get("data", {}) and re.search(r"\d+%\|", plain) and "100%|" not in plain:
                stuck.append(plain)
    assert stuck == [], "run `python tools/normalize_notebooks.py` to write the bars' final state"


@pytest.mark.parametrize("name", TEXT_DONE)
def test_redraw_plumbing_lives_in_course_utils(name):
    code = "\n".join(text(c) for c in load(lecture(name))["cells"] if c["cell_type"] == "code")
    for plumbing in ("set_layout_engine(", "redraw faster", "faster redraws", "redraws stay fast"):
        assert plumbing not in code, f"{plumbing!r}: use widgets.freeze_layout / widgets.plain_log_labels"
