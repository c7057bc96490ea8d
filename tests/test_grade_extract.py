"""Reading submissions without running them: last definition wins, broken cells are skipped."""

import json

import nbformat

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
