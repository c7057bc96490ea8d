"""The ``nbval_compare`` fixture (tests/conftest.py) gives the verdict strict nbval gives, on the same notebooks.

`make test` checks the lectures' outputs from their run in JupyterLab with ``nbval_compare``
instead of running them again under nbval; this shows the two checks agree: a notebook whose saved
outputs match passes both, and each kind of change fails both, at the same cell.
"""

import copy
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils import execution

ROOT = Path(__file__).resolve().parents[1]
SANITIZE_FILE = ROOT / "tests" / "nbval_sanitize.cfg"

CELLS = [
    'print("loss", 0.25)',
    "import numpy as np\nnp.arange(3) * 2",
    'print("at 0x7f3a2b1c", "took 1.5 ms")',  # masked by the sanitizers: a new run may differ here
    "# NBVAL_IGNORE_OUTPUT\nimport random\nrandom.random()",
    "import sys\nsys.stderr.write('warn\\n')\nprint('a')\nprint('b')",
    "# NBVAL_SKIP\nprint('skipped')",
    "1 / 0",  # tagged raises-exception below: its error is an expected output
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.cells[-1].metadata["tags"] = ["raises-exception"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = tmp_path_factory.mktemp("replay")
    nbformat.write(nb, folder / "saved.ipynb")
    execution.execute_notebook(folder / "saved.ipynb")
    return folder / "saved.ipynb"


@pytest.fixture(scope="module")
def fresh(executed):
    """Outputs of a second, independent run of the notebook (as the browser pass would collect them)."""
    nb = nbformat.read(executed, as_version=4)
    execution.execute(nb, executed.parent)
    return [c.outputs for c in nb.cells if c.cell_type == "code"]


def _set_stream(cells):
    cells[0].outputs[0].text = "loss 0.5\n"


def _set_result(cells):
    cells[1].outputs[0].data["text/plain"] = "array([0, 2, 5])"


def _drop_stream(cells):
    cells[4].outputs = [o for o in cells[4].outputs if o.get("name") != "stderr"]


EDITS = {"unchanged": lambda cells: None, "stream": _set_stream, "result": _set_result, "missing": _drop_stream}


@pytest.fixture(scope="module")
def versions(executed):
    """Each edit of the saved notebook, and real strict nbval's verdict on it (one nbval run for all):
    name -> (notebook, failing cells as 'N M ...', '' when nbval passes)."""
    folder = executed.parent / "versions"
    folder.mkdir()
    notebooks = {}
    for name, edit in EDITS.items():
        nb = nbformat.read(executed, as_version=4)
        edit([c for c in nb.cells if c.cell_type == "code"])
        nbformat.write(nb, folder / f"{name}.ipynb")
        notebooks[name] = nb
    # its own ini file: the repository's conftest (which records cell times into artifacts/) stays out
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "pytest", "-c", str(folder / "pytest.ini"), "-q", "-rf", "-p", "no:randomly",
           "-p", "no:cacheprovider", "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE_FILE),
           str(folder)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=folder, timeout=600)
    failed = re.findall(r"^FAILED \S*?(\w+)\.ipynb::Cell (\d+)", done.stdout, re.M)
    assert done.returncode in (0, 1) and "passed" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    return {name: (nb, " ".join(sorted(c for n, c in failed if n == name))) for name, nb in notebooks.items()}


def _cells(problems) -> str:
    return " ".join(sorted({re.match(r"Cell (\d+):", p).group(1) for p in problems}))


@pytest.mark.slow
def test_unchanged_notebook_passes_both(versions, fresh, nbval_compare):
    nb, nbval_failed = versions["unchanged"]
    assert nbval_compare(nb, fresh) == []
    assert nbval_failed == ""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["stream", "result", "missing"])
def test_each_change_fails_both_at_the_same_cell(versions, fresh, name, nbval_compare):
    nb, nbval_failed = versions[name]
    mine = nbval_compare(nb, fresh)
    assert mine, "the replay check missed a changed output"
    assert _cells(mine) == nbval_failed != ""


def test_an_unexpected_error_is_reported_and_an_expected_one_is_compared(executed, nbval_compare):
    nb = nbformat.read(executed, as_version=4)
    fresh = [copy.deepcopy(c.outputs) for c in nb.cells if c.cell_type == "code"]
    assert nbval_compare(nb, fresh) == []  # the tagged 1 / 0 matches its saved error
    error = nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])
    fresh[0] = [error]
    assert nbval_compare(nb, fresh) == ["Cell 0: cell execution caused an exception: ValueError: boom"]
    fresh = [copy.deepcopy(c.outputs) for c in nb.cells if c.cell_type == "code"]
    fresh[-1][0]["evalue"] = "another message"
    assert _cells(nbval_compare(nb, fresh)) == "6"


def test_skipped_and_ignored_cells_are_not_compared_and_a_missing_cell_is(executed, nbval_compare):
    nb = nbformat.read(executed, as_version=4)
    fresh = [copy.deepcopy(c.outputs) for c in nb.cells if c.cell_type == "code"]
    fresh[3] = [nbformat.v4.new_output("execute_result", data={"text/plain": "0.123"}, execution_count=4)]
    fresh[5] = []
    assert nbval_compare(nb, fresh) == []
    assert nbval_compare(nb, fresh[:-1]) == ["7 code cells saved but 6 in the run"]


def test_the_sanitize_file_is_the_one_make_test_gives_nbval():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"--nbval-sanitize-with {SANITIZE_FILE.relative_to(ROOT)}" in makefile
