"""The batch grader: hidden randomized checks, one child process per question, a grade book.

The parent (this module) generates the hidden inputs from the grading seed, computes the
expected values with the reference implementations, and compares. Student code only ever runs
in :mod:`.sandbox` children, which receive inputs and return outputs, both as JSON data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import multiprocessing
import platform
import re
import runpy
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import course_utils
from course_utils.grading import drivers
from course_utils.grading.compare import compare_case, diagnose
from course_utils.grading.questions import QUESTIONS, TUNING, questions_of

from . import extract, hidden, sandbox

HERE = Path(__file__).resolve().parent
CHECK_FILES = [
    HERE / "hidden.py",
    HERE / "grader.py",
    HERE / "harness.py",
    HERE / "sandbox.py",
    HERE / "extract.py",
    HERE.parent / "grading" / "questions.py",
    HERE.parent / "grading" / "drivers.py",
    HERE.parent / "grading" / "compare.py",
    HERE.parent / "grading" / "tuning.py",
]


@dataclass
class Settings:
    assignment: str
    seed: int = 0
    limits: sandbox.Limits = sandbox.Limits()
    extra_checks: Path | None = None


# --- the plan: hidden cases and expected values (computed once, in the parent) --------------


def _rng(seed, name, salt=0):
    return np.random.default_rng([int(seed), zlib.crc32(name.encode()), salt])


def _load_extra(path: Path | None) -> dict:
    if path is None:
        return {}
    namespace = runpy.run_path(str(path))  # the instructor's own file: trusted code
    extra = namespace.get("EXTRA_CASES", {})
    unknown = sorted(set(extra) - set(QUESTIONS))
    if unknown:
        raise ValueError(f"{path}: EXTRA_CASES names unknown questions {unknown}")
    return extra


def make_plan(settings: Settings) -> dict:
    extra = _load_extra(settings.extra_checks)
    plan = {"assignment": settings.assignment, "questions": {}}
    for q in questions_of(settings.assignment):
        if q.kind == "written":
            plan["questions"][q.name] = {"kind": "written"}
            continue
        cases = hidden.hidden_cases(q.name, _rng(settings.seed, q.name))
        if q.name in extra:
            cases += list(extra[q.name](_rng(settings.seed, q.name, 1)))
        if q.kind == "config":
            plan["questions"][q.name] = {"kind": "config", "runs": cases}
            continue
        encoded = [drivers.encode(c) for c in cases]
        decoded = [drivers.decode(e) for e in encoded]
        expected = []
        with np.errstate(all="ignore"):
            for case in decoded:
                res = drivers.run_case(hidden.REFERENCES[q.name], q, case)
                if res["error"] or res["mutated"]:
                    raise RuntimeError(f"the reference for {q.name} fails on {case['label']!r}: {res['error']}")
                expected.append({"outputs": res["outputs"], "info": res["info"]})
        plan["questions"][q.name] = {"kind": "function", "encoded": encoded, "cases": decoded, "expected": expected}
    return plan


def checks_hash(settings: Settings) -> str:
    h = hashlib.sha256()
    for path in CHECK_FILES:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    if settings.extra_checks is not None:
        h.update(b"extra\0" + Path(settings.extra_checks).read_bytes())
    return h.hexdigest()


def manifest(settings: Settings) -> dict:
    qs = questions_of(settings.assignment)
    return {
        "assignment": settings.assignment,
        "seed": settings.seed,
        "course_utils_version": course_utils.__version__,
        "checks_sha256": checks_hash(settings),
        "extra_checks": None if settings.extra_checks is None else Path(settings.extra_checks).name,
        "limits": settings.limits.as_dict(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "questions": {q.name: {"kind": q.kind, "points": q.points, "title": q.title} for q in qs},
    }


def manifest_key(m: dict) -> str:
    return hashlib.sha256(json.dumps(m, sort_keys=True).encode()).hexdigest()


# --- grading one submission ---------------------------------------------------------------------


def _variants_for(q, case, expected_entry, cache, key):
    if key not in cache:
        found = {}
        with np.errstate(all="ignore"):
            for vid, fn in hidden.VARIANTS.get(q.name, {}).items():
                if vid == "mutates":
                    continue
                res = drivers.run_case(fn, q, case)
                if not compare_case(res, expected_entry, q, case)[0]:
                    found[vid] = res
        cache[key] = found
    return cache[key]


def _new_entry(q) -> dict:
    """A question's result before grading: no points, no cases, nothing diagnosed."""
    return {
        "question": q.name,
        "title": q.title,
        "max_points": q.points,
        "points": 0.0,
        "cases": [],
        "status": "ok",
        "diagnosis": None,
        "detail": "",
    }


def _grade_function(q, qplan, code, settings, cache) -> dict:
    entry = _new_entry(q)
    outcome = sandbox.run(code, q.name, qplan["encoded"], settings.limits)
    entry["stdout"], entry["stderr"] = outcome.stdout, outcome.stderr
    if outcome.status != "ok":
        entry["status"], entry["detail"] = outcome.status, outcome.detail
        entry["cases"] = [{"label": c["label"], "passed": False, "message": outcome.detail} for c in qplan["cases"]]
        return entry
    failures, passed, passed_cases = [], 0, []
    if all(r["not_implemented"] for r in outcome.cases):
        entry["status"], entry["detail"] = "not-implemented", "raises NotImplementedError"
    for i, (case, expected, res) in enumerate(zip(qplan["cases"], qplan["expected"], outcome.cases, strict=True)):
        ok, message = compare_case(res, expected, q, case)
        passed += ok
        entry["cases"].append({"label": case["label"], "passed": bool(ok), "message": "ok" if ok else message})
        if not ok:
            failures.append((res, _variants_for(q, case, expected, cache, (q.name, i)), case))
        else:
            passed_cases.append((i, case, expected))
    if failures and entry["status"] == "ok":
        passed_variants = [_variants_for(q, c, e, cache, (q.name, i)) for i, c, e in passed_cases]
        entry["diagnosis"] = diagnose(failures, q, passed_variants)
    if any(r["mutated"] for r in outcome.cases):
        entry["status"] = "mutates-inputs"
    entry["points"] = round(q.points * passed / max(len(qplan["cases"]), 1), 2)
    return entry


def _grade_config(q, qplan, code, settings) -> dict:
    from course_utils.grading.tuning import ConfigError, evaluate_config

    entry = _new_entry(q)
    outcome = sandbox.run(code, q.name, None, settings.limits, mode="config")
    entry["stdout"], entry["stderr"] = outcome.stdout, outcome.stderr
    runs = qplan["runs"]
    fail = lambda msg: [{"label": r["label"], "passed": False, "message": msg} for r in runs]  # noqa: E731
    if outcome.status != "ok":
        entry["status"], entry["detail"], entry["cases"] = outcome.status, outcome.detail, fail(outcome.detail)
        return entry
    res = outcome.config
    if res["not_implemented"]:
        entry["status"], entry["detail"] = "not-implemented", "raises NotImplementedError"
        entry["cases"] = fail("not implemented")
        return entry
    if res["error"] is not None:
        message = drivers.describe_error(res["error"])
        entry["status"], entry["detail"], entry["cases"] = "error", message, fail(message)
        return entry
    entry["config"] = res["config"]
    passed = 0
    for run in runs:
        try:
            loss = evaluate_config(res["config"], seed=run["seed"])  # trusted code on validated data
        except ConfigError as exc:
            entry["status"], entry["detail"], entry["cases"] = "invalid-config", str(exc), fail(str(exc))
            return entry
        ok = loss < TUNING["threshold"]
        passed += ok
        shown = "inf (diverged)" if math.isinf(loss) else f"{loss:.4f}"
        entry["cases"].append(
            {
                "label": run["label"],
                "passed": bool(ok),
                "message": f"validation loss {shown} ({'below' if ok else 'not below'} {TUNING['threshold']})",
            }
        )
    entry["points"] = round(q.points * passed / len(runs), 2)
    return entry


def grade_submission(path: Path, plan: dict, settings: Settings, cache=None) -> dict:
    """Grade one notebook; never raises for anything the notebook contains."""
    cache = {} if cache is None else cache
    headings = {q.name: q.title for q in questions_of(settings.assignment) if q.kind == "written"}
    sub = extract.read_submission(path, headings)
    record = {
        "submission": str(path),
        "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else "",
        "flags": list(sub.flags),
        "questions": {},
        "written": {},
    }
    if not sub.readable:
        record["flags"].append("unreadable")
        record["error"] = sub.error
    for q in questions_of(settings.assignment):
        qplan = plan["questions"][q.name]
        if q.kind == "written":
            text = sub.written.get(q.name)
            record["written"][q.name] = text
            if sub.readable and (text is None or text.strip() in extract.BLANK_ANSWERS):
                record["flags"].append(f"written-blank:{q.name}")
            continue
        code, flags = (None, []) if not sub.readable else extract.assemble(sub, q.function)
        for f in flags:
            if f not in record["flags"]:
                record["flags"].append(f)
        if code is None:
            n = len(qplan["cases"] if q.kind == "function" else qplan["runs"])
            labels = [c["label"] for c in (qplan["cases"] if q.kind == "function" else qplan["runs"])]
            record["questions"][q.name] = {
                "question": q.name,
                "title": q.title,
                "max_points": q.points,
                "points": 0.0,
                "status": "missing",
                "detail": f"no definition of {q.function}() found",
                "diagnosis": None,
                "stdout": "",
                "stderr": "",
                "cases": [{"label": labels[i], "passed": False, "message": "function not found"} for i in range(n)],
            }
            if sub.readable:
                record["flags"].append(f"missing:{q.function}")
            continue
        if re.search(r"\binstructor\b", code):
            record["flags"].append(f"suspicious-import:{q.name}")
        if q.kind == "config":
            entry = _grade_config(q, qplan, code, settings)
        else:
            entry = _grade_function(q, qplan, code, settings, cache)
        if entry["status"] not in ("ok",):
            record["flags"].append(f"{entry['status']}:{q.name}")
        record["questions"][q.name] = entry
    record["score"] = round(sum(e["points"] for e in record["questions"].values()), 2)
    record["max_score"] = sum(q.points for q in questions_of(settings.assignment) if q.kind != "written")
    return record


# --- the batch ----------------------------------------------------------------------------------

_WORKER: dict = {}


def _init_worker(plan, settings):
    _WORKER["plan"], _WORKER["settings"], _WORKER["cache"] = plan, settings, {}


def _work(path):
    try:
        return grade_submission(Path(path), _WORKER["plan"], _WORKER["settings"], _WORKER["cache"])
    except Exception as exc:  # noqa: BLE001 - a grader bug must not lose the batch: report it on the row
        return _crash_record(path, exc)


def _crash_record(path, exc):
    return {
        "submission": str(path),
        "sha256": "",
        "flags": ["grader-error"],
        "questions": {},
        "written": {},
        "score": 0.0,
        "max_score": 0.0,
        "error": f"{type(exc).__name__}: {exc}",
    }


def submission_ids(paths) -> dict:
    """A stable, unique, file-name-safe id per submission path."""
    ids, used = {}, set()
    for p in sorted(Path(x) for x in paths):
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", p.stem) or "submission"
        sid = base
        if sid in used:
            sid = f"{base}__{hashlib.sha256(str(p).encode()).hexdigest()[:8]}"
        used.add(sid)
        ids[p] = sid
    return ids


def grade_batch(
    paths, out: Path, settings: Settings, jobs: int = 1, force: bool = False, log=print, ids: dict | None = None
) -> list[dict]:
    """Grade every submission into ``out``; already graded ones (same manifest and file) are skipped.

    ``ids`` (path -> id, from the roster: see :mod:`.workflow`) replaces the ids made from file names.
    """
    out = Path(out)
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    man = manifest(settings)
    key = manifest_key(man)
    (out / "manifest.json").write_text(json.dumps({**man, "manifest_sha256": key}, indent=2, sort_keys=True) + "\n")
    ids = submission_ids(paths) if ids is None else {Path(p): sid for p, sid in ids.items()}
    todo, records = [], {}
    for path, sid in ids.items():
        stored = out / "results" / f"{sid}.json"
        sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        if not force and stored.is_file():
            try:
                saved = json.loads(stored.read_text())
                if saved.get("manifest_sha256") == key and saved.get("record", {}).get("sha256") == sha:
                    records[sid] = saved["record"]
                    log(f"skipped {path} (already graded with this manifest)")
                    continue
            except (ValueError, OSError):
                pass
        todo.append((path, sid))
    if todo:
        plan = make_plan(settings)
        if jobs > 1 and len(todo) > 1:
            # fork: workers inherit the plan (its cases may hold rebuilt functions) and the loaded data sets.
            # Only grading processes are forked here; student code always starts in a fresh interpreter.
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(jobs, context, initializer=_init_worker, initargs=(plan, settings)) as pool:
                done = zip(todo, pool.map(_work, [str(p) for p, _ in todo]), strict=True)
                for (path, sid), record in done:
                    _save(out, sid, record, key, settings)
                    records[sid] = record
                    log(f"graded {path}: {record['score']:g} / {record['max_score']:g}")
        else:
            _init_worker(plan, settings)
            for path, sid in todo:
                record = _work(str(path))
                _save(out, sid, record, key, settings)
                records[sid] = record
                log(f"graded {path}: {record['score']:g} / {record['max_score']:g}")
    ordered = [records[sid] | {"id": sid} for sid in sorted(records)]
    write_csv(out / "grades.csv", ordered, settings)
    return ordered


def _save(out, sid, record, key, settings):
    (out / "results" / f"{sid}.json").write_text(
        json.dumps({"manifest_sha256": key, "record": record}, indent=1, sort_keys=True, allow_nan=True) + "\n"
    )
    (out / "feedback" / f"{sid}.json").write_text(json.dumps(public_feedback(record), indent=1, sort_keys=True) + "\n")
    (out / "feedback" / f"{sid}.md").write_text(feedback_markdown(record, settings))


def csv_columns(settings: Settings) -> list[str]:
    qs = questions_of(settings.assignment)
    return (
        ["submission", "file", "score", "max_score"]
        + [q.name for q in qs if q.kind != "written"]
        + [f"written:{q.name}" for q in qs if q.kind == "written"]
        + ["flags"]
    )


def write_csv(path: Path, records: list[dict], settings: Settings) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(csv_columns(settings))
    for r in records:
        row = [r["id"], r["submission"], f"{r['score']:g}", f"{r['max_score']:g}"]
        for q in questions_of(settings.assignment):
            if q.kind == "written":
                continue
            entry = r["questions"].get(q.name)
            row.append("" if entry is None else f"{entry['points']:g}")
        row += ["" for q in questions_of(settings.assignment) if q.kind == "written"]  # filled in by hand
        row.append(";".join(r["flags"]))
        writer.writerow(row)
    path.write_text(buf.getvalue(), encoding="utf-8")


def public_feedback(record: dict) -> dict:
    """What a student may see: per-case pass/fail and messages; never inputs or expected values."""
    return {
        "submission": record["submission"],
        "score": record["score"],
        "max_score": record["max_score"],
        "flags": record["flags"],
        "questions": {
            name: {k: e.get(k) for k in ("title", "points", "max_points", "status", "detail", "diagnosis", "cases")}
            for name, e in record["questions"].items()
        },
        "written": record["written"],
        **({"error": record["error"]} if "error" in record else {}),
    }


def feedback_markdown(record: dict, settings: Settings) -> str:
    lines = [f"# {settings.assignment}: feedback for `{record['submission']}`", ""]
    lines.append(
        f"**Auto-graded score: {record['score']:g} / {record['max_score']:g}.** Written answers are graded by hand."
    )
    if "error" in record:
        lines += ["", f"The notebook could not be read: {record['error']}. Every question scored 0."]
    for q in questions_of(settings.assignment):
        if q.kind == "written":
            text = record["written"].get(q.name)
            lines += ["", f"## {q.name}: {q.title} (written, {q.points:g} points, graded by hand)", ""]
            if text is None or text.strip() in extract.BLANK_ANSWERS:
                lines.append("_No answer found._")
            else:
                lines += ["> " + ln for ln in text.splitlines()]
            continue
        e = record["questions"].get(q.name)
        if e is None:
            continue
        n_ok = sum(c["passed"] for c in e["cases"])
        lines += ["", f"## {q.name}: {q.title} ({e['points']:g} / {e['max_points']:g})", ""]
        lines.append(f"{n_ok} of {len(e['cases'])} hidden checks passed." + (f" {e['detail']}." if e["detail"] else ""))
        for c in e["cases"]:
            lines.append(f"- {'✓' if c['passed'] else '✗'} {c['label']}" + ("" if c["passed"] else f": {c['message']}"))
        if e.get("diagnosis"):
            lines.append(f"\nLikely mistake: {e['diagnosis']}")
        if e.get("stderr") and e["status"] not in ("ok", "not-implemented"):
            lines += ["", "Error output (truncated):", "", "```", e["stderr"].strip()[-1500:], "```"]
    if record["flags"]:
        lines += ["", "## Notes for the grader", ""] + [f"- {f}" for f in record["flags"]]
    lines += [
        "",
        "_This score comes from hidden randomized checks; the public checks in the notebook only give feedback._",
        "",
    ]
    return "\n".join(lines)
