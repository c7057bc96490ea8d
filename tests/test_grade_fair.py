"""Fair to correct work: top-level definitions count, every lost point has a reason, feedback is safe.

The graded notebooks are made from the committed solution by replacing the cell of one function.
The fairness claim is comparative: code that uses top-level constants, aliases, helpers and imports
gets exactly the points of the same code written inside the function.
"""

import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor import grader, report, sandbox

ROOT = Path(__file__).resolve().parents[1]
# generous limits: on a busy machine, starting Python and importing NumPy or torch takes seconds
ROOMY = sandbox.Limits(wall_seconds=60.0, cpu_seconds=60)
LOOP_LIMITS = sandbox.Limits(wall_seconds=40.0, cpu_seconds=80, memory_mb=1024, file_mb=4)  # the wall limit comes first

ADAM_BODY = """    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return params - lr * m_hat / (sqrt(v_hat) + eps), m, v
"""
SIGNATURE = "def adam_step(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):\n"

# name -> (cell source with definitions at top level, the same code written inside the function)
PAIRS = {
    # the first case: constants at top level (they ignore `betas`, so hidden cases that vary
    # the betas fail either way; what matters is that both versions score the same, and not 0)
    "constants": (
        "b1, b2 = 0.9, 0.999\nsqrt = lambda x: x**0.5\n\n" + SIGNATURE + ADAM_BODY,
        SIGNATURE + "    b1, b2 = 0.9, 0.999\n    sqrt = lambda x: x**0.5\n" + ADAM_BODY,
    ),
    # the second case: an alias of a NumPy function (right on NumPy, wrong on torch tensors)
    "alias": (
        "import numpy as np\n\nsqrt = np.sqrt\n\n" + SIGNATURE + "    b1, b2 = betas\n" + ADAM_BODY,
        SIGNATURE + "    import numpy as np\n\n    sqrt = np.sqrt\n    b1, b2 = betas\n" + ADAM_BODY,
    ),
    # a fully correct answer built from a top-level helper, import and constant
    "helpers": (
        "import math\n\nHALF = 0.5\n\n\ndef sqrt(x):\n    return x**HALF\n\n\ndef unpack(betas):\n"
        "    return tuple(math.fsum([b]) for b in betas)\n\n\n"
        + SIGNATURE
        + "    b1, b2 = unpack(betas)\n"
        + ADAM_BODY,
        SIGNATURE + "    import math\n\n    def sqrt(x):\n        return x**0.5\n\n"
        "    b1, b2 = tuple(math.fsum([b]) for b in betas)\n" + ADAM_BODY,
    ),
}


def _solution(assignment):
    return nbformat.read(ROOT / "solutions" / f"{assignment}.ipynb", as_version=4)


def _with_cell(nb, function, source):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f"def {function}(" in c.source)
    nb.cells[i].source = source
    return nb


@pytest.fixture(scope="module")
def adam_pairs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fair")
    sol = _solution("ex08_adam")
    paths = []
    for name, (top, inside) in PAIRS.items():
        for where, source in (("top", top), ("inside", inside)):
            path = tmp / f"{name}_{where}.ipynb"
            nbformat.write(_with_cell(sol, "adam_step", source), path)
            paths.append(path)
    settings = grader.Settings("ex08_adam", 0, ROOMY)
    records = grader.grade_batch(paths, tmp / "out", settings, jobs=2, log=lambda s: None)
    return {Path(r["submission"]).stem: r for r in records}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_top_level_definitions_score_like_the_same_code_inside_the_function(adam_pairs, name):
    top, inside = adam_pairs[f"{name}_top"], adam_pairs[f"{name}_inside"]
    for q in ("adam_step", "adam_step_torch"):
        assert top["questions"][q]["points"] == inside["questions"][q]["points"], (q, top["questions"][q])
        assert top["questions"][q]["status"] in ("ok", "mutates-inputs"), top["questions"][q]
    assert top["score"] > 0
    assert not [f for f in top["flags"] if f.startswith(("missing", "import-error"))]


def test_a_correct_answer_with_top_level_helpers_gets_full_marks(adam_pairs):
    assert adam_pairs["helpers_top"]["score"] == adam_pairs["helpers_top"]["max_score"] == 13  # 5 + 3 + 3 + 2
    extracted = adam_pairs["helpers_top"]["questions"]["adam_step"]["extracted"]
    assert extracted["names"] == ["math (cell 5)", "HALF (cell 5)", "sqrt (cell 5)", "unpack (cell 5)"]


# ------------------------------------------------------------------------------------------------
# every lost point has a reason; feedback never shows raw HTML, paths or instructor notes
# ------------------------------------------------------------------------------------------------

SCRIPT = "<script>alert('pwned')</script>"
GD = "def gd_step(x, grad, lr):\n"
ZEROS = {
    "renamed": ("gd_step", "def gd_update(x, grad, lr):\n    return x - lr * grad"),
    "syntax": ("gd_step", GD + "    return x - lr * grad)"),
    "raises": ("gd_step", GD + "    return x / 0 if False else 1 // 0"),
    "loops": ("gd_step", GD + "    while True:\n        pass"),
    "loads_a_file": ("gd_step", "import numpy as np\n\nSCALE = np.load('scale.npy')\n\n" + GD + "    return SCALE"),
    "exits": ("gd_step", "import sys\n\n" + GD + "    sys.exit(3)"),
    "stub": ("gd_step", GD + "    # YOUR CODE HERE\n    raise NotImplementedError"),
    "html": ("gd_step", GD + f"    print({SCRIPT!r})\n    raise ValueError({SCRIPT!r})"),
    "paths": (
        "gd_step",
        "import os\nimport course_utils\n\n" + GD + "    raise RuntimeError(os.getcwd() + ' ' + course_utils.__file__)",
    ),
}


@pytest.fixture(scope="module")
def zero_batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zeros")
    sol = _solution("ex02_gradient_descent")
    paths = [tmp / "unreadable.ipynb"]
    paths[0].write_text("{ not json")
    for name, (function, source) in ZEROS.items():
        nb = _with_cell(sol, function, source)
        if name == "html":  # a written answer with markup in it
            k = next(i for i, c in enumerate(nb.cells) if "<!-- answer:" in c.source)
            nb.cells[k].source += f"\n\n{SCRIPT} <img src=x onerror=alert(1)>"
        path = tmp / f"{name}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    out = tmp / "out"
    records = grader.grade_batch(paths, out, grader.Settings("ex02_gradient_descent", 0, LOOP_LIMITS), jobs=2,
                                 log=lambda s: None)  # fmt: skip
    return {"out": out, "tmp": tmp, "records": {Path(r["submission"]).stem: r for r in records}}


def _feedback(batch, name):
    folder = batch["out"] / "feedback"
    return (
        json.loads((folder / f"{name}.json").read_text()),
        (folder / f"{name}.md").read_text(),
        (folder / f"{name}.html").read_text(),
    )


def test_every_zero_comes_with_a_reason(zero_batch):
    zeros = 0
    for name in zero_batch["records"]:
        data, md, page = _feedback(zero_batch, name)
        for qname, entry in data["questions"].items():
            if entry["points"] == 0:
                zeros += 1
                assert entry["reason"], (name, qname, entry)
                assert report.md_text(entry["reason"]) in md
                assert html.escape(entry["reason"]) in page
    assert zeros >= len(ZEROS) + 2  # each broken gd_step, and every question of the unreadable notebook


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("renamed", "function gd_step not found: the graded notebook defines gd_update instead"),
        ("syntax", "has a syntax error"),
        ("raises", "gd_step raised ZeroDivisionError on hidden check 1"),
        ("loops", "timed out: gd_step was stopped after 40 s"),
        ("loads_a_file", "FileNotFoundError"),
        ("exits", "gd_step raised SystemExit on hidden check 1"),
        ("stub", "gd_step still raises NotImplementedError"),
    ],
)
def test_the_reason_is_one_a_student_can_act_on(zero_batch, name, words):
    data, _, _ = _feedback(zero_batch, name)
    assert words in data["questions"]["gd_step"]["reason"]
    assert data["questions"]["gd_step"]["points"] == 0


def test_a_value_loaded_from_a_file_is_named_in_the_reason(zero_batch):
    reason = _feedback(zero_batch, "loads_a_file")[0]["questions"]["gd_step"]["reason"]
    assert "`SCALE = np.load('scale.npy')` (cell 5)" in reason and "validate()" in reason


def test_student_html_is_escaped_everywhere(zero_batch):
    data, md, page = _feedback(zero_batch, "html")
    assert "ValueError" in data["questions"]["gd_step"]["reason"]
    for text in (md, page):
        assert "<script" not in text.lower() and "<img" not in text.lower()
    assert html.escape(SCRIPT) in page  # shown, as text
    assert "&lt;script&gt;" in md


def test_no_absolute_path_in_feedback(zero_batch):
    tmp, root = str(zero_batch["tmp"]), str(ROOT)
    for name in zero_batch["records"]:
        for text in _feedback(zero_batch, name)[1:] + (json.dumps(_feedback(zero_batch, name)[0]),):
            assert tmp not in text and root not in text and "/tmp/" not in text, name
            assert not re.search(r"(?<![\w.])/(?:[\w.-]+/)+[\w.-]+", text), (name, text)
    data = _feedback(zero_batch, "paths")[0]
    assert "__init__.py" in data["questions"]["gd_step"]["reason"]  # the file name stays, the folders go


def test_no_instructor_notes_in_feedback(zero_batch):
    for name, record in zero_batch["records"].items():
        data, md, page = _feedback(zero_batch, name)
        assert "flags" not in data and "Notes for the grader" not in md
        for flag in record["flags"]:
            if flag.startswith(("missing:", "import-error:", "timeout:", "exited:", "error:")):
                assert flag not in md and flag not in page and flag not in json.dumps(data)


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("/home/prof/course/course_utils/grading/drivers.py line 3", "drivers.py line 3"),
        ("No such file: '/tmp/course-grade-x1/scale.npy'", "No such file: 'scale.npy'"),
        (r"C:\Users\prof\x.py failed", "x.py failed"),
        ("lr / 2 and 1/2 and a/b", "lr / 2 and 1/2 and a/b"),
        ("~/notes/secret.txt", "secret.txt"),
    ],
)
def test_scrub(text, scrubbed):
    assert report.scrub(text) == scrubbed


@pytest.mark.parametrize(
    ("status", "detail", "words"),
    [
        ("missing", "function f not found: the graded notebook defines g instead", "defines g instead"),
        ("not-implemented", "raises NotImplementedError", "f still raises NotImplementedError"),
        ("import-error", "NameError: name 'W' is not defined", "before f was called: NameError"),
        ("timeout", "stopped after 2 s (infinite loop?)", "timed out: f was stopped after 2 s"),
        ("cpu-limit", "used more than 5 s of CPU time", "could not finish running f: it used more than 5 s"),
        ("killed", "killed (probably out of memory)", "it killed (probably out of memory)"),
        ("crashed", "crashed with signal SIGSEGV", "crashed with signal SIGSEGV"),
        ("exited", "the process ended (exit code 3) before reporting results", "ended (exit code 3)"),
        ("bad-result", "unusable result file: wrong number of case results", "unusable result file"),
        ("invalid-config", "lr must be positive, got -1", "f: lr must be positive, got -1"),
        ("error", "raised KeyError: 'lr'", "f: raised KeyError"),
        ("mutates-inputs", "", "f changes its inputs in place"),
        ("ok", "", "2 of 2 hidden checks failed; the first: on hidden check 1 (a), f `x` differs"),
    ],
)
def test_every_status_has_a_reason(status, detail, words):
    message = "`x` differs from the expected value (largest difference 1e-3)"
    cases = [{"label": label, "passed": False, "message": message} for label in "ab"]
    entry = {"status": status, "detail": detail, "points": 0.0, "max_points": 2, "cases": cases}
    assert words in report.reason(entry, "f")
    assert report.reason({**entry, "points": 2.0}, "f") == ""  # full marks need no reason
