"""Grading on many machines: ``--shard K/N`` grades one part of a batch; ``merge`` joins the parts.

A submission belongs to shard ``1 + (first 8 bytes of SHA-256(id)) mod N``: the assignment
depends only on its id (the roster's student id, or the id made from the file name), never on
the order in which files are listed or found, so every machine computes the same split from
the same download. Each shard's output folder records in ``shard.json`` which part it is, the
ids it graded, a hash of the whole batch's ids and its settings; ``merge`` checks that the parts
fit together (no overlap, none missing, same settings) before it writes one grade book.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
from pathlib import Path

from .gradebook import GradeBook, GradeBookError, atomic_write, finalize, read_json, write_json

SHARD_FILE = "shard.json"
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
# Manifest keys that may legitimately differ between machines (per-run secrets, timings).
_PER_RUN = re.compile(r"secret|hmac|key|nonce|created|started|finished|host|duration|elapsed", re.I)


class ShardError(ValueError):
    pass


def parse_spec(text: str) -> tuple[int, int]:
    m = _SPEC.match(text or "")
    if not m:
        raise ShardError(f"--shard must look like K/N (e.g. 3/8), got {text!r}")
    k, n = int(m[1]), int(m[2])
    if not 1 <= k <= n:
        raise ShardError(f"--shard K/N needs 1 <= K <= N, got {k}/{n}")
    return k, n


def shard_of(sid: str, n: int) -> int:
    """The shard (1..n) that grades the submission with id ``sid``."""
    digest = hashlib.sha256(sid.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % n


def batch_hash(ids) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()


def settings_of(manifest: dict) -> dict:
    """The manifest without per-run secrets: what must be equal across shards."""

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if not _PER_RUN.search(k) and k != "manifest_sha256"}
        return x

    return clean(manifest)


def write_shard_file(out: Path, k: int, n: int, all_ids, graded_ids, inputs: dict) -> None:
    """``inputs``: hashes of the roster, late policy, times file (they must agree across shards)."""
    write_json(
        Path(out) / SHARD_FILE,
        {"shard": k, "of": n, "batch_sha256": batch_hash(all_ids), "ids": sorted(graded_ids), "inputs": inputs},
    )


def merge(shard_dirs, dest: Path) -> GradeBook:
    """Check that ``shard_dirs`` are exactly the N parts of one batch, then write one grade book."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ShardError(f"{dest} is not empty: merge into a new folder")
    infos = []
    for d in shard_dirs:
        d = Path(d)
        info = read_json(d / SHARD_FILE)
        if not isinstance(info, dict):
            raise ShardError(f"{d} has no {SHARD_FILE}: was it graded with --shard K/N?")
        try:
            book = GradeBook(d)
        except GradeBookError as exc:
            raise ShardError(str(exc)) from exc
        infos.append((d, info, book))
    if not infos:
        raise ShardError("no shard folders given")
    d0, i0, b0 = infos[0]
    n = i0["of"]
    problems = []
    seen: dict[int, Path] = {}
    for d, info, book in infos:
        if info["of"] != n:
            problems.append(f"{d} is shard {info['shard']}/{info['of']}, but {d0} is part of {n} shards")
        if info["shard"] in seen:
            problems.append(f"{d} and {seen[info['shard']]} are both shard {info['shard']}/{n} (overlap)")
        seen[info["shard"]] = d
        if info["batch_sha256"] != i0["batch_sha256"]:
            problems.append(f"{d} was cut from a different batch of submissions than {d0}")
        if info.get("inputs") != i0.get("inputs"):
            problems.append(f"{d} used a different roster, late policy or times file than {d0}")
        if settings_of(book.manifest) != settings_of(b0.manifest):
            diff = sorted(
                k
                for k in set(settings_of(book.manifest)) | set(settings_of(b0.manifest))
                if settings_of(book.manifest).get(k) != settings_of(b0.manifest).get(k)
            )
            problems.append(f"{d} was graded with other settings than {d0} (differs in: {', '.join(diff)})")
        if book.columns != b0.columns:
            problems.append(f"{d}/grades.csv has other columns than {d0}/grades.csv")
    missing = sorted(set(range(1, n + 1)) - set(seen))
    if missing:
        problems.append(f"shard(s) {', '.join(f'{k}/{n}' for k in missing)} missing")
    owner: dict[str, Path] = {}
    for d, _, book in infos:
        for sid in book.ids:
            if sid in owner:
                problems.append(f"{sid} was graded in both {owner[sid]} and {d}")
            owner[sid] = d
    if not problems and batch_hash(owner) != i0["batch_sha256"]:
        problems.append("the shards together do not cover the whole batch (some submissions were not graded)")
    if problems:
        raise ShardError("cannot merge:\n  " + "\n  ".join(problems))

    dest.mkdir(parents=True, exist_ok=True)
    for sub in ("results", "feedback", "written"):
        (dest / sub).mkdir(exist_ok=True)
    workflow: dict = {"students": {}, "missing": {}}
    for d, info, book in sorted(infos, key=lambda x: x[1]["shard"]):
        for sub in ("results", "feedback"):
            if (d / sub).is_dir():
                for f in sorted((d / sub).iterdir()):
                    if f.is_file() and not f.is_symlink():
                        shutil.copy2(f, dest / sub / f.name)
        (dest / "shards").mkdir(exist_ok=True)
        shutil.copy2(d / "manifest.json", dest / "shards" / f"manifest-{info['shard']}-of-{n}.json")
        for key in ("students", "missing"):
            workflow[key].update(book.workflow.get(key) or {})
        for key in ("late_policy", "inputs"):
            if key in book.workflow:
                workflow[key] = book.workflow[key]
        points = book.written_points
        if points:
            merged = read_json(dest / "written" / "points.json", {}) or {}
            merged.update(points)
            write_json(dest / "written" / "points.json", merged)
    shutil.copy2(d0 / "manifest.json", dest / "manifest.json")
    workflow["merged_from"] = [str(d) for d, _, _ in infos]
    write_json(dest / "workflow.json", workflow)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, b0.columns, lineterminator="\n")
    writer.writeheader()
    for _, _, book in infos:
        writer.writerows(book.rows)
    atomic_write(dest / "grades.csv", buf.getvalue())
    return finalize(dest)
