"""Reading submissions without running them: last definition wins, broken cells are skipped."""

import json

import nbformat
import pytest

from course_utils.grading.extract import extract_answer, missing_reason
from course_utils.instructor.extract import assemble, read_submission


def _nb(tmp_path, *cells, name="s.ipynb"):
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell}[kind]  # fmt: skip
        nb.cells.append(make(source))
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_last_definition_wins_and_helpers_follow(tmp_path):
    path = _nb(
        tmp_path,
        ("code", "import numpy as np\nimport torch\nSCALE = 2.0\nrng = np.random.default_rng(0)"),
        ("code", "def helper(x):\n    return SCALE * x\n\ndef f(x):\n    return 0"),
        ("code", "%matplotlib inline\ndef f(x):\n    return helper(np.asarray(x))\nf(3)\ncheck('f', f)"),
        ("code", "def f(x) oops"),
    )
    sub = read_submission(path)
    code, flags = assemble(sub, "f")
    assert flags == ["duplicate:f"]
    assert "syntax-error:cell-4" in sub.flags
    namespace = {}
    exec(code, namespace)  # the assembled code is plain Python
    assert namespace["f"](1.5) == 3.0
    assert "import torch" not in code and "rng" not in code and "check(" not in code and "return 0" not in code


def test_top_level_code_is_never_included(tmp_path):
    path = _nb(tmp_path, ("code", "import os\nos.system('echo hacked')\ndef g():\n    return 1\nwhile True:\n    pass"))
    code, _ = assemble(read_submission(path), "g")
    assert code == "def g():\n    return 1\n"


def test_retyped_cell_is_used_as_a_fallback(tmp_path):
    path = _nb(tmp_path, ("markdown", "```python\ndef g(x):\n    return x + 1\n```"), ("raw", "def h():\n    return 2"))
    sub = read_submission(path)
    assert assemble(sub, "g") == ("def g(x):\n    return x + 1\n", ["retyped-cell:g"])
    assert assemble(sub, "h")[0] == "def h():\n    return 2\n"
    assert assemble(sub, "missing") == (None, [])


def test_cell_magics_and_shell_lines(tmp_path):
    path = _nb(tmp_path, ("code", "%%time\ndef g():\n    !ls\n    return 1"), ("code", "%%bash\necho hi"))
    code, _ = assemble(read_submission(path), "g")
    assert code == "def g():\n    pass\n    return 1\n"


def test_written_answers_and_blank_ones(tmp_path):
    path = _nb(
        tmp_path,
        ("markdown", "<!-- answer: why -->\n**Your answer:**\n\nBecause of the bias."),
        ("markdown", "<!-- answer: how -->\n**Your answer:**\n\nYOUR ANSWER HERE"),
    )
    assert read_submission(path).written == {"why": "Because of the bias.", "how": "YOUR ANSWER HERE"}


def test_unreadable_files(tmp_path):
    (tmp_path / "empty.ipynb").write_text("  ")
    (tmp_path / "junk.ipynb").write_bytes(b"\x00\xff not json")
    (tmp_path / "nocells.ipynb").write_text(json.dumps({"metadata": {}}))
    for name in ("empty", "junk", "nocells"):
        sub = read_submission(tmp_path / f"{name}.ipynb")
        assert not sub.readable and sub.error
    assert not read_submission(tmp_path / "absent.ipynb").readable


def test_malformed_but_json_notebook_is_still_read(tmp_path):
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["def g():\n", "    return 5\n"]}]}))
    sub = read_submission(path)
    assert sub.readable and "malformed-notebook" in sub.flags
    assert assemble(sub, "g")[0] == "def g():\n    return 5\n"


def test_lambda_definitions_and_answers_without_their_marker(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("g = lambda x: x + 1"),
        nbformat.v4.new_markdown_cell("### Question · why it works (written, 2 points)\n\nExplain."),
        nbformat.v4.new_markdown_cell("**Your answer:**\n\nI deleted the marker comment."),
        nbformat.v4.new_markdown_cell("Another answer, marker gone but metadata kept."),
    ]
    nb.cells[3].metadata["course"] = {"answer": "other"}
    path = tmp_path / "s.ipynb"
    nbformat.write(nb, path)
    sub = read_submission(path, {"why": "why it works", "other": "not in this notebook"})
    assert assemble(sub, "g")[0] == "g = lambda x: x + 1\n"
    assert sub.written == {"other": "Another answer, marker gone but metadata kept.",
                           "why": "I deleted the marker comment."}  # fmt: skip
    assert "answer-found-by-heading:why" in sub.flags


# ------------------------------------------------------------------------------------------------
# Fair to correct work: what the grader runs is what a top-to-bottom run of the notebook defines
# ------------------------------------------------------------------------------------------------


def _run_all(cells):
    """Run plain-Python cells top to bottom in one namespace, as "Restart and Run All" would."""
    namespace = {"__name__": "__main__"}
    for source in cells:
        exec(source, namespace)
    return namespace


def _graded(cells, function="f", tmp_path=None, name="s.ipynb"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / name
    nbformat.write(nb, path)
    answer = extract_answer(read_submission(path), function)
    namespace = {"__name__": "__student__"}
    exec(answer.code, namespace)  # what the grader's child runs
    return answer, namespace


TOP_LEVEL_NOTEBOOKS = {
    "tuple of constants": ["import numpy as np\nb1, b2 = 0.9, 0.999", "def f(x):\n    return b1 * x + b2"],
    "alias": ["import numpy as np\nsqrt = np.sqrt", "def f(x):\n    return sqrt(x)"],
    "import inside the name": ["from math import sqrt as root", "def f(x):\n    return root(x)"],
    "helper and class": [
        "import numpy as np\n\nclass State:\n    def __init__(self, k):\n        self.k = k",
        "def helper(x):\n    return State(SCALE).k * x\n\nSCALE = 3.0",
        "def f(x):\n    return helper(x) + OFFSET\n\nOFFSET = np.float64(0.5)",
    ],
    "value built from earlier constants": [
        "B1 = 0.9\nBETAS = (B1, 0.999)\nB1 = 0.5",  # BETAS keeps 0.9: it was computed before B1 changed
        "def f(x):\n    return x * BETAS[0] + B1",
    ],
    "augmented and changed in place": [
        "LR = 0.1\nLR *= 2\nCONFIG = {'scale': 1.0}\nCONFIG['scale'] = 4.0\nTERMS = []\nTERMS.append(1.0)",
        "def f(x):\n    return LR * x * CONFIG['scale'] + sum(TERMS)",
    ],
    "conditional definitions": [
        "try:\n    import torch\nexcept ImportError:\n    torch = None",
        "if torch is None:\n    K = 1.0\nelse:\n    K = 2.0",
        "def f(x):\n    return K * x",
    ],
    "decorator, default and lambda": [
        "import functools\nDEFAULT = 3.0\nsquare = lambda v: v * v",
        "@functools.lru_cache(maxsize=None)\ndef f(x, k=DEFAULT):\n    return square(x) + k",
    ],
    "last definition wins": [
        "def helper(x):\n    return 0 * x",
        "def f(x):\n    return helper(x)",
        "def helper(x):\n    return 2 * x",
    ],
}


@pytest.mark.parametrize("case", sorted(TOP_LEVEL_NOTEBOOKS))
def test_top_level_definitions_are_part_of_the_answer(case, tmp_path):
    cells = TOP_LEVEL_NOTEBOOKS[case]
    answer, graded = _graded(cells, tmp_path=tmp_path)
    full = _run_all(cells)
    for x in (0.25, 2.0, 9.0):
        assert graded["f"](x) == full["f"](x), (case, answer.code)
    assert answer.problems == []


def test_side_effects_that_the_answer_does_not_need_never_run(tmp_path):
    cells = [
        "import numpy as np\nimport os\nSCALE = 2.0\nnp.random.seed(0)\nprint('hello')\nos.system('touch PWNED')",
        "def f(x):\n    return SCALE * x\nf(3)\ncheck('f', f)\nresult = f(4)\nfor i in range(3):\n    print(i)",
        "with open('out.txt', 'w') as fh:\n    fh.write('x')",
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()",
    ]
    answer, graded = _graded(cells, tmp_path=tmp_path)
    assert answer.code == "SCALE = 2.0\n\ndef f(x):\n    return SCALE * x\n"
    assert graded["f"](1.5) == 3.0 and answer.pulled_in == [("SCALE", 1)]


def test_magics_and_shell_lines_are_ignored_cleanly(tmp_path):
    cells = [
        "%matplotlib inline\n!pip install nothing\nimport numpy as np\nfiles = !ls\nnp.mean?",
        "%%time\nEPS = 1e-8\ndef f(x):\n    %timeit x + 1\n    !echo hi\n    return x + EPS",
        "%timeit f(1.0)\n%%not a cell magic here",
    ]
    answer, graded = _graded(cells, tmp_path=tmp_path)
    assert graded["f"](1.0) == 1.0 + 1e-8
    assert "get_ipython" not in answer.code and answer.problems == []
    assert "syntax-error" not in " ".join(read_submission(tmp_path / "s.ipynb").flags)


def test_what_cannot_be_carried_is_reported_in_words(tmp_path):
    cells = [
        "import numpy as np\nfor LR in [0.1, 0.01]:\n    pass\nfiles = !ls\ndata = np.load('weights.npy')",
        "def f(x):\n    display(x)\n    return LR * x + len(files) + data.sum() + undefined_name",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, tmp_path / "s.ipynb")
    answer = extract_answer(read_submission(tmp_path / "s.ipynb"), "f")
    text = "\n".join(answer.problems)
    assert "`LR`, which is set only by a `for` loop in cell 1" in text
    assert "`files`, which is set only by a shell command or magic in cell 1" in text
    assert "`display`, which only exists inside Jupyter" in text
    assert "`undefined_name`, which no code cell defines at top level" in text
    assert len(answer.problems) == 4
    assert [d.summary for d in answer.runs_code] == ["data = np.load('weights.npy')"]
    assert "runs code when your answer is loaded" in " ".join(answer.notes)
    assert "data = np.load('weights.npy')" in answer.code  # it behaves the same, and the student is told


def test_a_loop_after_a_plain_definition_is_noted_not_fatal(tmp_path):
    answer, graded = _graded(["LR = 0.5\nfor LR in [1.0, 2.0]:\n    pass", "def f(x):\n    return LR * x"],
                             tmp_path=tmp_path)  # fmt: skip
    assert graded["f"](2.0) == 1.0 and answer.problems == []
    assert "last set by a `for` loop in cell 1, which the grader does not run" in answer.notes[0]


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (["def adam_update(x):\n    return x"], "adam_step not found: the graded notebook defines adam_update instead"),
        (["def adam_step(x)\n    return x"], "the cell that defines it (cell 1) has a syntax error"),
        (["def outer():\n    def adam_step(x):\n        return x"], "inside another function or block (cell 1)"),
        (["with open('f') as fh:\n    def adam_step(x):\n        return x"], "defined inside a `with` block (cell 1)"),
        (["x = 1"], "no code cell of the notebook defines it"),
    ],
)
def test_a_missing_function_comes_with_a_reason(cells, reason, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, tmp_path / "s.ipynb")
    answer = extract_answer(read_submission(tmp_path / "s.ipynb"), "adam_step")
    assert not answer.found and reason in answer.reason
    assert missing_reason(read_submission(tmp_path / "s.ipynb"), "adam_step") == answer.reason


def test_long_chains_and_deep_code_neither_recurse_nor_crash(tmp_path):
    cells = ["X = 0"] + ["X += 1"] * 3000 + ["deep = " + "+".join(["1"] * 20000), "def f(x):\n    return x + X"]
    answer, graded = _graded(cells, tmp_path=tmp_path)
    assert graded["f"](0) == 3000 and len(answer.definitions) == 3002
