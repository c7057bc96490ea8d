"""Strict nbval's output check, applied to outputs that another front end produced.

``make test`` runs each lecture once, in JupyterLab in the browser pass (tests/browser/), and checks
the outputs of that run against the committed notebook here, instead of running it a second time
under nbval. The check is nbval's own code (nbval 0.11, as locked): its cell options (``# NBVAL_SKIP``,
``# NBVAL_IGNORE_OUTPUT``, ``raises-exception`` ...), its stream coalescing, its sanitizers
(``tests/nbval_sanitize.cfg``) and its ``IPyNbCell.compare_outputs``; only the source of the fresh
outputs differs. Those come from JupyterLab's output model, which, like nbclient (which wrote the
committed outputs), joins a cell's stream chunks and honours ``clear_output``; nbval reads raw
kernel messages and coalesces the streams itself, which gives the same text. tests/test_nbval_replay.py
shows that this check and nbval agree on the same notebooks, changed and unchanged.
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict, defaultdict
from pathlib import Path
from types import SimpleNamespace

import nbformat
from nbval import plugin

ROOT = Path(__file__).resolve().parents[1]
SANITIZE_FILE = ROOT / "tests" / "nbval_sanitize.cfg"

# The keys nbval leaves out of the comparison: IPyNbFile.__init__'s list, with images added because
# `make test` runs nbval without --nbval-nbdime (figures are checked by tests/test_figures.py).
SKIP_COMPARE = (
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
)


def sanitize_patterns(path: Path = SANITIZE_FILE) -> OrderedDict:
    """The regex -> replacement pairs of an nbval sanitize file, read as nbval reads them."""
    return OrderedDict(plugin.get_sanitize_patterns(Path(path).read_text(encoding="utf-8")))


class _Cell:
    """The parts of nbval's ``IPyNbCell`` that its ``compare_outputs`` uses."""

    compare_outputs = plugin.IPyNbCell.compare_outputs
    sanitize = plugin.IPyNbCell.sanitize
    colors = plugin.nocolors

    def __init__(self, patterns):
        self.parent = SimpleNamespace(skip_compare=SKIP_COMPARE, sanitize_patterns=patterns)
        self.comparison_traceback = []

    def format_output_compare(self, key, left, right):  # nbval's asks pytest for an assertion diff
        trim = plugin._trim_base64
        left, right = (trim(v) if isinstance(v, str) else v for v in (left, right))
        self.comparison_traceback.append(f" mismatch {key!r}\n  saved: {left!r}\n  fresh: {right!r}")


def _options(cell) -> dict:
    """nbval's options for a cell: metadata tags, then comment markers, then the strict default."""
    options = defaultdict(bool, plugin.find_metadata_tags(cell.metadata))
    options.update(dict(plugin.find_comment_markers(cell.source)))
    options.setdefault("check", True)  # `make test` runs nbval strictly (--nbval, not --nbval-lax)
    return options


def compare(saved, fresh_outputs: list, patterns=None) -> list[str]:
    """Problems (empty when none) of fresh outputs against a saved notebook, as strict nbval reports them.

    ``saved``: the committed notebook (an ``nbformat`` node). ``fresh_outputs``: one list of output
    dicts (nbformat's JSON form) per code cell, in order, from a fresh run of the whole notebook.
    """
    patterns = sanitize_patterns() if patterns is None else patterns
    code = [c for c in saved.cells if c.cell_type == "code"]
    if len(fresh_outputs) != len(code):
        return [f"{len(code)} code cells saved but {len(fresh_outputs)} in the run"]
    # nbformat's reader puts every output in its normal form (multi-line strings joined, nodes)
    run = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.source) for c in code])
    for cell, outputs in zip(run.cells, fresh_outputs, strict=True):
        cell.outputs = outputs
    run = nbformat.reads(json.dumps(run), as_version=4)
    problems = []
    for number, (cell, ran) in enumerate(zip(code, run.cells, strict=True)):
        options = _options(cell)
        if options["skip"]:
            continue
        outputs = list(ran.outputs)
        errors = [o for o in outputs if o.output_type == "error"]
        if errors and not options["check_exception"]:
            problems.append(f"Cell {number}: cell execution caused an exception: {errors[0].ename}: {errors[0].evalue}")
            continue
        unrun = cell.execution_count is None
        if unrun and cell.outputs:
            problems.append(f"Cell {number}: unrun reference cell has outputs")
            continue
        if options["check"] and not unrun:
            item = _Cell(patterns)
            saved_outputs = plugin.coalesce_streams(copy.deepcopy(cell.outputs))  # it joins streams in place
            if not item.compare_outputs(plugin.coalesce_streams(outputs), saved_outputs):
                problems.append(f"Cell {number}: cell outputs differ\n" + "\n".join(item.comparison_traceback))
    return problems
