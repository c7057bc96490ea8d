"""--shard K/N and merge: the shards of a batch, merged, give the grade book of the whole batch."""

import csv
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.instructor import shards
from course_utils.instructor.roster import slug

pytestmark = pytest.mark.slow  # each test starts the grader (about 10 s on a busy 2-core machine)

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ex07_ema_bias_correction"


def grade(*args, check=True):
    run = subprocess.run([sys.executable, "-m", "course_utils.grade", *map(str, args)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip
    if check:
        assert run.returncode == 0, run.stdout + run.stderr
    return run


def test_assignment_depends_only_on_the_id():
    # pinned: shards graded by two versions of the course must still fit together
    assert [shards.shard_of(s, 4) for s in ("s001", "s002", "s003", "alice")] == [3, 3, 4, 4]
    ids = [f"student{i:03d}" for i in range(200)]
    split = {sid: shards.shard_of(sid, 5) for sid in ids}
    shuffled = ids[:]
    random.Random(0).shuffle(shuffled)
    assert {sid: shards.shard_of(sid, 5) for sid in shuffled} == split
    sizes = [sum(k == j for k in split.values()) for j in range(1, 6)]
    # deterministic (fixed ids, SHA-256); a fair split puts 40 in each, a binomial sd of 5.7: 20 is 3.5 sd away
    assert min(sizes) >= 20, sizes
    assert all(shards.shard_of(sid, 1) == 1 for sid in ids)


@pytest.mark.parametrize("spec", ["0/3", "4/3", "1", "a/b", "1/0", ""])
def test_bad_specs(spec):
    with pytest.raises(shards.ShardError):
        shards.parse_spec(spec)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shards")
    subs = tmp / "subs"
    sol = nbformat.read(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb", as_version=4)
    stub = nbformat.read(ROOT / "exercises" / f"{ASSIGNMENT}.ipynb", as_version=4)
    for rel, nb in (("a.ipynb", sol), ("b.ipynb", stub), ("Zoë Ångström.ipynb", sol),
                    ("carol/ex07.ipynb", stub), ("dave/ex07.ipynb", sol)):  # fmt: skip
        (subs / rel).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, subs / rel)
    common = (ASSIGNMENT, subs, "--seed", 9, "--timeout", 10)
    grade(*common, "--out", tmp / "all")
    for k in (1, 2):
        grade(*common, "--out", tmp / f"shard{k}", "--shard", f"{k}/2")
    return tmp


def _csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_each_shard_grades_its_part(batch):
    zoe = slug("Zoë Ångström")
    whole = {r["submission"] for r in _csv(batch / "all" / "grades.csv")}
    assert whole == {"a", "b", zoe, "carol", "dave"}  # folder names and readable non-ASCII ids
    parts = [{r["submission"] for r in _csv(batch / f"shard{k}" / "grades.csv")} for k in (1, 2)]
    assert parts[0] | parts[1] == whole and not parts[0] & parts[1]
    for k, part in enumerate(parts, start=1):
        assert all(shards.shard_of(sid, 2) == k for sid in part)
        info = json.loads((batch / f"shard{k}" / "shard.json").read_text())
        assert (info["shard"], info["of"], set(info["ids"])) == (k, 2, part)


def test_merge_equals_the_whole_batch(batch, tmp_path):
    run = grade("merge", batch / "shard2", batch / "shard1", "--out", tmp_path / "merged")
    assert "merged 2 shards: 5 rows" in run.stdout
    assert (tmp_path / "merged" / "grades.csv").read_text() == (batch / "all" / "grades.csv").read_text()
    assert sorted(p.name for p in (tmp_path / "merged" / "results").iterdir()) == sorted(
        p.name for p in (batch / "all" / "results").iterdir()
    )
    assert (tmp_path / "merged" / "feedback" / "a.md").read_text() == (batch / "all" / "feedback" / "a.md").read_text()
    grade("export", tmp_path / "merged", "--to", tmp_path / "export")  # the merged folder is an ordinary one
    assert len(_csv(tmp_path / "export" / "grades.csv")) == 5


def _copy(src: Path, dest: Path, edit=None, manifest=None) -> Path:
    shutil.copytree(src, dest)
    if edit:
        info = json.loads((dest / "shard.json").read_text())
        info.update(edit)
        (dest / "shard.json").write_text(json.dumps(info))
    if manifest:
        man = json.loads((dest / "manifest.json").read_text())
        man.update(manifest)
        (dest / "manifest.json").write_text(json.dumps(man))
    return dest


def test_merge_refuses_parts_that_do_not_fit(batch, tmp_path):
    s1, s2 = batch / "shard1", batch / "shard2"

    def refused(*dirs, out=None):
        run = grade("merge", *dirs, "--out", out or tmp_path / "m", check=False)
        assert run.returncode == 2, run.stdout
        assert not (tmp_path / "m").exists() or out is not None
        return run.stderr

    assert "shard(s) 2/2 missing" in refused(s1)
    assert "are both shard 1/2 (overlap)" in refused(s1, s1)
    assert "other settings" in refused(s1, _copy(s2, tmp_path / "seed", manifest={"seed": 10}))
    assert "differs in: seed" in refused(s1, tmp_path / "seed")
    assert "different batch" in refused(s1, _copy(s2, tmp_path / "batch", edit={"batch_sha256": "0" * 64}))
    assert "part of 2 shards" in refused(s1, _copy(s2, tmp_path / "of3", edit={"of": 3}))
    assert "no shard.json" in refused(s1, batch / "all")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    assert "is not empty" in refused(s1, s2, out=tmp_path / "full")
    assert (tmp_path / "full" / "x").read_text() == "keep me"


def test_shards_need_one_seed_when_the_grader_draws_one_per_run(tmp_path):
    from argparse import Namespace

    from course_utils.instructor import workflow

    args = Namespace(out=tmp_path / "o", submissions=[tmp_path], roster=None, duplicates="error", late_policy=None,
                     submission_times=None, shard="1/2", seed=None)  # fmt: skip

    def error(message):
        raise SystemExit(message)

    with pytest.raises(SystemExit, match="--shard needs an explicit --seed"):
        workflow.prepare(args, [], error)
