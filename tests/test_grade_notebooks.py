"""Legal but unusual notebooks never cause a grader error, and keep the points of the code they hold."""

import json
import random
from pathlib import Path

import pytest

from course_utils.grading.questions import questions_of
from course_utils.instructor import grader, sandbox

ROOT = Path(__file__).resolve().parents[1]
NO_SANDBOX = sandbox.bwrap_problem()  # None where bubblewrap works
ASSIGNMENT = "ex02_gradient_descent"
FULL = sum(q.points for q in questions_of(ASSIGNMENT) if q.graded_by != "written")  # the auto-graded points
LIMITS = sandbox.Limits(wall_seconds=10, cpu_seconds=10, memory_mb=1024, file_mb=4)

pytestmark = pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox here: {NO_SANDBOX}")


def _solution() -> dict:
    return json.loads((ROOT / "solutions" / f"{ASSIGNMENT}.ipynb").read_text())


def _variants() -> dict:
    """name -> notebook bytes; every one still holds the full solution's code."""
    out = {}
    nb = _solution()
    for cell in nb["cells"]:
        cell["metadata"] = "not a dict"
    nb["metadata"] = "also not a dict"
    out["string_metadata"] = nb
    nb = _solution()
    for cell in nb["cells"]:
        cell.pop("metadata", None)
        cell.pop("id", None)
    nb.pop("metadata", None)
    out["missing_metadata_and_ids"] = nb
    for minor in range(6):
        nb = _solution()
        nb["nbformat_minor"] = minor
        if minor < 5:
            for cell in nb["cells"]:
                cell.pop("id", None)
        out[f"nbformat_4_{minor}"] = nb
    nb = _solution()
    nb["cells"] = nb["cells"] + json.loads(json.dumps(nb["cells"]))
    out["every_cell_twice"] = nb
    nb = _solution()
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    random.Random(0).shuffle(nb["cells"])
    nb["cells"] = [c for c in nb["cells"] if c["cell_type"] != "code"] + code  # prose reordered, code in order
    out["reordered_prose"] = nb
    nb = _solution()
    nb["cells"].insert(0, {"cell_type": "mystery", "source": ["x = ", 1, None], "metadata": {}})
    nb["cells"].insert(0, "not a cell")
    out["retyped_and_odd_cells"] = nb
    nb = _solution()
    nb["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": f"note {i}"} for i in range(100_000)]
    out["hundred_thousand_cells"] = nb
    encoded = {name: json.dumps(nb).encode() for name, nb in out.items()}
    raw = json.dumps(_solution()).encode()
    encoded["non_utf8_bytes"] = raw.replace(
        b'"cells": [', b'"cells": [{"cell_type": "markdown", "source": "\xff\xfe\x80"},', 1
    )
    return encoded


@pytest.mark.timeout(900)
def test_unusual_notebooks_are_graded_normally(tmp_path):
    paths = []
    for name, data in _variants().items():
        path = tmp_path / f"{name}.ipynb"
        path.write_bytes(data)
        paths.append(path)
    records = grader.grade_batch(paths, tmp_path / "out", grader.Settings(ASSIGNMENT, 3, LIMITS), jobs=2,
                                 log=lambda s: None)  # fmt: skip
    for r in records:
        assert "grader-error" not in r["flags"] and "unreadable" not in r["flags"], (r["id"], r.get("error"))
        assert r["score"] == r["max_score"] == FULL, (r["id"], r["flags"])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b'{"cells": 3}', "no cells"),
        (b"\x00\x01garbage", "invalid JSON"),
        (json.dumps({"cells": [{}] * (grader.MAX_CELLS + 1)}).encode(), "more than"),
    ],
)
def test_unreadable_notebooks_get_zero_and_a_reason(tmp_path, data, reason):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(data)
    record = grader.grade_batch([path], tmp_path / "out", grader.Settings(ASSIGNMENT, 3, LIMITS), log=lambda s: None)[0]
    assert record["score"] == 0 and "unreadable" in record["flags"]
    assert reason in record["error"]
    assert reason in (tmp_path / "out" / "feedback" / "broken.md").read_text()
