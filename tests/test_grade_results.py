"""The grader's results are typed records, serialized to the JSON it has always written.

A real batch (no sandbox needed: these tests are about the records, not the isolation) is graded
once; its stored records must read back into the types and serialize to exactly the same JSON, and
a resumed run must trust them. A stored record of another shape is re-graded even when its HMAC
verifies, because the parent reads it strictly.
"""

import copy
import json
import pickle
import shutil
from pathlib import Path

import pytest

from course_utils.instructor import grader, sandbox
from course_utils.instructor.results import UNSET, CaseResult, QuestionResult, RecordError, SubmissionResult

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ex07_ema_bias_correction"
LIMITS = sandbox.Limits(wall_seconds=30, cpu_seconds=30, memory_mb=1024)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    subs = tmp_path_factory.mktemp("subs")
    shutil.copy2(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb", subs / "alice.ipynb")
    shutil.copy2(ROOT / "exercises" / f"{ASSIGNMENT}.ipynb", subs / "bob.ipynb")  # stubs: not implemented
    (subs / "carol.ipynb").write_text("not a notebook")
    out = tmp_path_factory.mktemp("out")
    settings = grader.Settings(ASSIGNMENT, 11, LIMITS, use_sandbox=False)
    records = grader.grade_batch(sorted(subs.glob("*.ipynb")), out, settings, log=lambda s: None)
    return subs, out, records


def _stored(out, sid):
    return json.loads((out / "results" / f"{sid}.json").read_text())


def test_stored_records_read_back_into_the_types_unchanged(batch):
    _, out, records = batch
    assert [r["id"] for r in records] == ["alice", "bob", "carol"]
    kinds = set()
    for r in records:
        stored = _stored(out, r["id"])["record"]
        typed = SubmissionResult.from_dict(stored)
        assert typed.to_dict() == stored
        assert stored == {k: v for k, v in r.items() if k != "id"}
        for q in typed.questions.values():
            assert all(isinstance(c, CaseResult) for c in q.cases)
            kinds.add((q.status, q.extracted is UNSET))
    assert ("ok", False) in kinds and ("missing", True) in kinds and ("not-implemented", False) in kinds
    alice, _, carol = records
    assert alice["score"] == alice["max_score"] > 0
    assert carol["error"] and "unreadable" in carol["flags"] and "error" not in alice


def test_a_resumed_run_trusts_the_typed_records(batch):
    subs, out, records = batch
    logged = []
    settings = grader.Settings(ASSIGNMENT, None, LIMITS, use_sandbox=False)
    again = grader.grade_batch(sorted(subs.glob("*.ipynb")), out, settings, log=logged.append)
    assert again == records
    assert len(logged) == 3 and all(line.startswith("skipped") for line in logged)


def test_a_record_of_another_shape_is_regraded_even_with_a_valid_hmac(batch, tmp_path):
    subs, out, records = batch
    copy_out = tmp_path / "out"
    shutil.copytree(out, copy_out)
    manifest = json.loads((copy_out / "manifest.json").read_text())
    path = copy_out / "results" / "alice.json"
    saved = json.loads(path.read_text())
    forged = copy.deepcopy(saved["record"])
    forged["questions"]["ema_update"]["cases"][0]["bonus"] = 100  # a key the grader never writes
    saved["record"] = forged
    saved["hmac"] = grader.record_mac(manifest["hmac_key"], manifest["manifest_sha256"], forged)
    path.write_text(json.dumps(saved))
    key, sha = manifest["hmac_key"], manifest["manifest_sha256"]
    assert grader.load_verified(path, key, sha, grader._file_sha(subs / "alice.ipynb")) is None
    logged = []
    settings = grader.Settings(ASSIGNMENT, None, LIMITS, use_sandbox=False)
    grader.grade_batch(sorted(subs.glob("*.ipynb")), copy_out, settings, log=logged.append)
    assert sum(line.startswith("graded") for line in logged) == 1 and "bonus" not in path.read_text()


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r.update(score="10"),
        lambda r: r.update(flags="unreadable"),
        lambda r: r.update(extra=1),
        lambda r: r.pop("written"),
        lambda r: r["questions"]["ema_update"].update(points=None),
        lambda r: r["questions"]["ema_update"]["cases"][0].update(passed="yes"),
        lambda r: r["questions"]["ema_update"].update(question="debiased_ema"),
        lambda r: r["questions"]["ema_update"].pop("stderr"),
        lambda r: r["written"].update(why_bias_correction=3),
    ],
)
def test_from_dict_rejects_what_the_grader_never_writes(batch, damage):
    _, out, _ = batch
    record = _stored(out, "alice")["record"]
    SubmissionResult.from_dict(copy.deepcopy(record))  # the undamaged record reads
    damage(record)
    with pytest.raises(RecordError):
        SubmissionResult.from_dict(record)


def test_absent_fields_stay_absent_and_survive_the_worker_pickle():
    q = QuestionResult("gd_step", "one step", 2)
    assert "config" not in q.to_dict() and "extracted" not in q.to_dict()
    q2 = pickle.loads(pickle.dumps(q))
    assert q2.config is UNSET and q2.to_dict() == q.to_dict()
    q.config = None  # a config question whose function returned None: the key is present, with null
    assert q.to_dict()["config"] is None
    s = SubmissionResult("a.ipynb")
    s.flag("x", "y", "x")
    assert s.flags == ["x", "y"] and "error" not in s.to_dict()
