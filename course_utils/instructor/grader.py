"""The batch grader: hidden randomized checks, one sandboxed child per question, a grade book.

The parent (this module) decides every score. It draws the hidden inputs from a *secret* seed
(random for each grading run unless given; stored only in the instructor's ``manifest.json``),
computes the expected values with the reference implementations, and compares. Student code only
ever runs in :mod:`.sandbox`, which returns outputs as strictly parsed JSON data, plus the input
arrays as they were after the call, which the parent compares with its own copies.

Fairness by construction (:func:`make_plan`):

* a case that a *non-answer* passes (returning the inputs unchanged, or zeros of the right shape)
  is worth nothing;
* every hidden case slot has a fixed *profile*: the set of known mistakes (and non-answers) that
  pass it, chosen once from public draws. For a secret seed, each slot is redrawn until its case
  has exactly that profile, so a known mistake earns the same points under every seed.

Records are written only by the parent, atomically (temporary file + ``os.replace``), and each
stored result carries an HMAC keyed by a secret in the manifest; a resumed run re-grades any record
that fails verification.
"""

from __future__ import annotations

import atexit
import collections
import csv
import functools
import hashlib
import hmac
import io
import json
import math
import multiprocessing
import multiprocessing.util
import os
import platform
import re
import resource
import runpy
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import course_utils
from course_utils.grading import drivers
from course_utils.grading.compare import compare_case, diagnose
from course_utils.grading.questions import QUESTIONS, TUNING, questions_of

from . import extract, hidden, report, sandbox
from .results import CaseResult, QuestionResult, SubmissionResult

HERE = Path(__file__).resolve().parent
CHECK_FILES = [
    *sorted((HERE / "hidden").glob("*.py")),
    *sorted((HERE.parent / "grading" / "questions").glob("*.py")),
    HERE / "grader.py",
    HERE / "harness.py",
    HERE / "sandbox.py",
    HERE / "extract.py",
    HERE / "report.py",
    HERE.parent / "grading" / "extract.py",
    HERE.parent / "grading" / "drivers.py",
    HERE.parent / "grading" / "compare.py",
    HERE.parent / "grading" / "tuning.py",
    HERE.parent / "grading" / "predictions.py",
]
MAX_NOTEBOOK_BYTES = 20 << 20
MAX_CELLS = 200_000
MAX_NESTING = 64
GRADER_MEMORY_BYTES = 16 << 30  # the grader's own address space (soft limit; the sandbox gets its own)
SIGNATURE_DRAWS = 24  # public draws that fix each hidden slot's profile
RESAMPLE_TRIES = 60  # draws per slot to match its profile under the secret seed


@dataclass
class Settings:
    assignment: str
    seed: int | None = None  # None: a fresh secret seed, or the one in an existing manifest (resuming)
    limits: sandbox.Limits = sandbox.Limits()
    extra_checks: Path | None = None
    use_sandbox: bool = True  # False only with an explicit --no-sandbox
    hmac_key: str | None = field(default=None, repr=False)


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


def _reference(q, case) -> dict:
    with np.errstate(all="ignore"):
        res = drivers.run_case(hidden.REFERENCES[q.name], q, case)
    if res["error"] or res["mutated"]:
        raise RuntimeError(f"the reference for {q.name} fails on {case['label']!r}: {res['error']}")
    return {"outputs": res["outputs"], "info": res["info"]}


def non_answers(q, case, expected) -> dict:
    """Functions that compute nothing: return the inputs unchanged, or zeros of the right shape."""
    if q.output != "arrays" or not q.returns:
        return {}

    def make(kind):
        def fn(*positional):
            args = dict(zip(q.params, positional, strict=False))
            arrays = [a for a in args.values() if hasattr(a, "shape") and getattr(a, "ndim", 0)]
            values = []
            for name in q.returns:
                want = expected["outputs"].get(name)
                shape = () if want is None else want.shape
                base = args.get(name)
                if base is None or not hasattr(base, "shape"):  # e.g. the gradient of x: hand back x itself
                    base = next((a for a in arrays if tuple(a.shape) == shape), None)
                if base is None:
                    values.append(np.zeros(shape))
                else:
                    values.append(base if kind == "inputs" else base * 0)
            return values[0] if len(values) == 1 else tuple(values)

        return fn

    return {"inputs": make("inputs"), "zeros": make("zeros")}


def _run_safely(fn, q, case) -> dict:
    with np.errstate(all="ignore"):
        return drivers.finite_outputs(drivers.run_case(fn, q, case))


def case_profile(q, case, expected) -> frozenset:
    """The known mistakes (ids) and non-answers (``"non-answer:..."``) that pass one case."""
    passing = set()
    for vid, fn in hidden.VARIANTS.get(q.name, {}).items():
        if vid == "mutates":
            continue
        if compare_case(_run_safely(fn, q, case), expected, q, case)[0]:
            passing.add(vid)
    for nid, fn in non_answers(q, case, expected).items():
        if compare_case(_run_safely(fn, q, case), expected, q, case)[0]:
            passing.add(f"non-answer:{nid}")
    return frozenset(passing)


def _profile_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "course-utils" / "grading-profiles"


@functools.cache
def _code_hash() -> str:
    """A hash of the code the profiles depend on (not the sandbox's: it does not change expected values)."""
    h = hashlib.sha256()
    for path in CHECK_FILES:
        if path.name in ("harness.py", "sandbox.py", "extract.py"):
            continue
        h.update(path.relative_to(HERE.parent).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


@functools.cache
def slot_profiles(name: str) -> tuple:
    """Each hidden slot's profile: the most common one over public draws (a function of the code only).

    Computing them runs every known mistake on many draws (tens of seconds for ex08), so they are
    cached on disk under ``~/.cache/course-utils``, keyed by a hash of the grading code.
    """
    cache = _profile_cache() / f"{name}-{SIGNATURE_DRAWS}-{_code_hash()[:24]}.json"
    try:
        return tuple(frozenset(p) for p in json.loads(cache.read_text()))
    except (OSError, ValueError, TypeError):
        pass
    q = QUESTIONS[name]
    counts = None
    for k in range(SIGNATURE_DRAWS):
        cases = hidden.hidden_cases(name, _rng(0x5EED, f"profile:{name}", k))
        if counts is None:
            counts = [collections.Counter() for _ in cases]
        for i, case in enumerate(cases):
            case = drivers.decode(drivers.encode(case))
            counts[i][case_profile(q, case, _reference(q, case))] += 1
    profiles = tuple(c.most_common(1)[0][0] for c in counts or [])
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(cache, json.dumps([sorted(p) for p in profiles]))
    except OSError:
        pass  # no writable cache: compute again next time
    return profiles


def _function_plan(q, seed, extra_cases) -> dict:
    profiles = slot_profiles(q.name)
    chosen = [None] * len(profiles)  # per slot: (encoded, decoded, expected, matched)
    for attempt in range(RESAMPLE_TRIES):
        cases = hidden.hidden_cases(q.name, _rng(seed, q.name, 100 + attempt))
        if len(cases) != len(profiles):
            raise RuntimeError(f"hidden_cases({q.name!r}) must always return {len(profiles)} cases")
        for i, raw in enumerate(cases):
            if chosen[i] is not None and chosen[i][3]:
                continue
            encoded = drivers.encode(raw)
            case = drivers.decode(encoded)
            expected = _reference(q, case)
            matched = case_profile(q, case, expected) == profiles[i]
            if chosen[i] is None or matched:
                chosen[i] = (encoded, case, expected, matched)
        if all(c[3] for c in chosen):
            break
    slots = [(enc, c, e, prof) for (enc, c, e, _), prof in zip(chosen, profiles, strict=True)]
    for raw in extra_cases:
        encoded = drivers.encode(raw)
        case = drivers.decode(encoded)
        expected = _reference(q, case)
        slots.append((encoded, case, expected, case_profile(q, case, expected)))
    weights = [0.0 if any(p.startswith("non-answer:") for p in prof) else 1.0 for *_, prof in slots]
    if not any(weights):
        weights = [1.0] * len(slots)
    return {
        "kind": "function",
        "encoded": [s[0] for s in slots],
        "cases": [s[1] for s in slots],
        "expected": [s[2] for s in slots],
        "weights": weights,
        "unmatched_slots": sum(not c[3] for c in chosen),
    }


def make_plan(settings: Settings) -> dict:
    if settings.seed is None:
        raise ValueError("make_plan needs a seed (grade_batch draws a secret one)")
    extra = _load_extra(settings.extra_checks)
    plan = {"assignment": settings.assignment, "questions": {}}
    for q in questions_of(settings.assignment):
        if q.graded_by == "written":
            plan["questions"][q.name] = {"kind": "written"}
            continue
        if q.graded_by == "config":
            runs = hidden.hidden_cases(q.name, _rng(settings.seed, q.name))
            plan["questions"][q.name] = {"kind": "config", "runs": runs}
            continue
        if q.graded_by == "prediction":
            plan["questions"][q.name] = {"kind": "prediction"}  # read from the saved notebook, never run
            continue
        extra_cases = list(extra[q.name](_rng(settings.seed, q.name, 1))) if q.name in extra else []
        plan["questions"][q.name] = _function_plan(q, settings.seed, extra_cases)
    return plan


def checks_hash(settings: Settings) -> str:
    h = hashlib.sha256()
    for path in CHECK_FILES:
        h.update(path.relative_to(HERE.parent).as_posix().encode() + b"\0" + path.read_bytes())
    if settings.extra_checks is not None:
        h.update(b"extra\0" + Path(settings.extra_checks).read_bytes())
    return h.hexdigest()


def _bwrap_version() -> str | None:
    path = sandbox.bwrap_path()
    if path is None:
        return None
    try:
        return subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def manifest(settings: Settings) -> dict:
    """Everything that determines the grades. Secret: ``seed`` and ``hmac_key`` (never in a sandbox)."""
    qs = questions_of(settings.assignment)
    return {
        "assignment": settings.assignment,
        "seed": settings.seed,
        "hmac_key": settings.hmac_key,
        "course_utils_version": course_utils.__version__,
        "checks_sha256": checks_hash(settings),
        "extra_checks": None if settings.extra_checks is None else Path(settings.extra_checks).name,
        "limits": settings.limits.as_dict(),
        "sandbox": {
            "isolation": "bubblewrap" if settings.use_sandbox else "none (--no-sandbox)",
            "bwrap": _bwrap_version() if settings.use_sandbox else None,
            "process_limit": sandbox.process_limit_mode() if settings.use_sandbox else "rlimit (no namespace)",
        },
        "python": platform.python_version(),
        "numpy": np.__version__,
        "questions": {
            q.name: {"kind": q.kind, "graded_by": q.graded_by, "level": q.level, "points": q.points, "title": q.title}
            for q in qs
        },
    }


def manifest_key(m: dict) -> str:
    public = {k: v for k, v in m.items() if k not in ("hmac_key", "manifest_sha256")}
    return hashlib.sha256(json.dumps(public, sort_keys=True).encode()).hexdigest()


# --- grading one submission ---------------------------------------------------------------------


def _variants_for(q, case, expected_entry, cache, key):
    if key not in cache:
        found = {}
        for vid, fn in hidden.VARIANTS.get(q.name, {}).items():
            if vid == "mutates":
                continue
            res = _run_safely(fn, q, case)
            if not compare_case(res, expected_entry, q, case)[0]:
                found[vid] = res
        cache[key] = found
    return cache[key]


def _new_entry(q) -> QuestionResult:
    """A question's result before grading: no points, no cases, nothing diagnosed."""
    return QuestionResult(q.name, q.title, q.points)


def watched_inputs(case) -> dict:
    """The input arrays the sandbox hands over in shared memory, as the function receives them."""
    watched = {}
    for name, value in case.get("args", {}).items():
        if isinstance(value, np.ndarray):
            dtype = drivers.shared_dtype(value, case)
            if dtype is not None:
                watched[name] = value.astype(dtype, copy=False)
    if isinstance(case.get("grads"), np.ndarray):
        watched["grads"] = case["grads"]
    return watched


def verify_inputs(qplan, inputs_after) -> list[list[str]] | None:
    """Per case, the inputs the function changed, from the parent's own copies; None if the report is incomplete."""
    changed = []
    expected_keys = set()
    for i, case in enumerate(qplan["cases"]):
        names = []
        for name, mine in watched_inputs(case).items():
            expected_keys.add((i, name))
            after = inputs_after.get((i, name))
            if not isinstance(after, np.ndarray) or after.shape != mine.shape or after.dtype != mine.dtype:
                return None
            if not np.array_equal(after, mine, equal_nan=mine.dtype.kind == "f"):
                names.append(name)
        changed.append(names)
    if set(inputs_after) != expected_keys:
        return None
    return changed


NARROW_FLOATS = {"float32": np.float32, "float16": np.float16}


def verify_claims(result: dict) -> None:
    """Check, from the values alone, the types the child says its function returned; an error when they lie.

    A value reported as a float32 (or float16) tensor or array must be exactly representable in that
    dtype: a float64 computation reported as float32 is not. (A float64 NumPy array reported as a float64
    tensor cannot be told apart from its values: see INSTRUCTORS.md.)
    """
    if result["error"] is not None:
        return
    for name, value in result["outputs"].items():
        info = result["info"].get(name, "")
        if value is None or name == "update" or not info.startswith(("torch tensor ", "numpy array ")):
            continue
        claimed = info.split()[2].rstrip(",")
        dtype = NARROW_FLOATS.get(claimed)
        if dtype is None:
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            exact = np.array_equal(value.astype(dtype).astype(np.float64), value)
        if not exact:
            result["outputs"] = {}
            result["error"] = (f"{drivers.BAD_RETURN}`{name}` was reported as {claimed} but holds values that a "
                               f"{claimed} cannot (the reply does not match what the function returned)")  # fmt: skip
            return


def score(q, qplan, passed: list[bool]) -> float:
    """Points for the passed cases: each case counts with its weight (0 for cases a non-answer passes)."""
    weights = qplan["weights"]
    total = sum(weights)
    return round(q.points * sum(w for w, ok in zip(weights, passed, strict=True) if ok) / total, 2) if total else 0.0


def grade_results(q, qplan, results, cache) -> QuestionResult:
    """Compare case results (already verified) with the expected values: the question's entry."""
    entry = _new_entry(q)
    failures, passed, passed_cases = [], [], []
    if all(r["not_implemented"] for r in results):
        entry.status, entry.detail = "not-implemented", "raises NotImplementedError"
    for i, (case, expected, res, weight) in enumerate(
        zip(qplan["cases"], qplan["expected"], results, qplan["weights"], strict=True)
    ):
        ok, message = compare_case(res, expected, q, case)
        passed.append(bool(ok))
        label = case["label"] + ("" if weight else " (worth no points: an empty answer passes it too)")
        entry.cases.append(CaseResult(label, bool(ok), "ok" if ok else message))
        if not ok:
            failures.append((res, _variants_for(q, case, expected, cache, (q.name, i)), case))
        else:
            passed_cases.append((i, case, expected))
    if failures and entry.status == "ok":
        passed_variants = [_variants_for(q, c, e, cache, (q.name, i)) for i, c, e in passed_cases]
        entry.diagnosis = diagnose(failures, q, passed_variants)
    if any(r["mutated"] for r in results):
        entry.status = "mutates-inputs"
    entry.points = score(q, qplan, passed)
    return entry


_failed = QuestionResult.failed


def run_question(box, code, question, cases_encoded, mode="cases") -> sandbox.Outcome:
    """Run one question; a sandbox error is retried once in a fresh sandbox before it counts.

    Whatever made the sandbox fail (an earlier submission, the machine) is gone in a fresh one, so a
    sandbox error that a fresh sandbox reproduces comes from this code, and only then costs points.
    """
    outcome = box.run(code, question, cases_encoded, mode)
    if outcome.status == "sandbox-error":
        box.close()
        outcome = box.run(code, question, cases_encoded, mode)
        if outcome.status == "sandbox-error":
            outcome.detail += " (again in a fresh sandbox, so this code caused it)"
    return outcome


def _grade_function(q, qplan, code, box, cache) -> QuestionResult:
    outcome = run_question(box, code, q.name, qplan["encoded"])
    labels = [c["label"] for c in qplan["cases"]]
    if outcome.status == "ok":
        changed = verify_inputs(qplan, outcome.inputs_after)
        if changed is None:
            outcome = sandbox.Outcome("bad-result", "the sandbox did not report the inputs back", stdout=outcome.stdout,
                                      stderr=outcome.stderr)  # fmt: skip
        else:
            for res, names in zip(outcome.cases, changed, strict=True):
                res["mutated"] = names  # the parent's verdict replaces anything the child said
                verify_claims(res)
    if outcome.status != "ok":
        entry = _failed(q, labels, outcome.status, outcome.detail)
    else:
        entry = grade_results(q, qplan, outcome.cases, cache)
    entry.stdout, entry.stderr = outcome.stdout, outcome.stderr
    return entry


def _grade_config(q, qplan, code, box) -> QuestionResult:
    from course_utils.grading.tuning import ConfigError, config_mistake, evaluate_config

    outcome = run_question(box, code, q.name, None, mode="config")
    target = q.target or TUNING
    runs = qplan["runs"]
    labels = [r["label"] for r in runs]
    if outcome.status != "ok":
        entry = _failed(q, labels, outcome.status, outcome.detail)
    elif outcome.config["not_implemented"]:
        entry = _failed(q, labels, "not-implemented", "raises NotImplementedError")
        for c in entry.cases:
            c.message = "not implemented"
    elif outcome.config["error"] is not None:
        entry = _failed(q, labels, "error", drivers.describe_error(outcome.config["error"]))
    else:
        entry = _new_entry(q)
        entry.config = outcome.config["config"]
        passed, losses = 0, []
        for run in runs:
            try:
                loss = evaluate_config(entry.config, seed=run["seed"], target=target)  # trusted code, validated data
            except ConfigError as exc:
                entry = _failed(q, labels, "invalid-config", str(exc))
                break
            ok = loss < target["threshold"]
            passed += ok
            losses.append(loss)
            shown = "inf (diverged)" if math.isinf(loss) else f"{loss:.4f}"
            message = f"validation loss {shown} ({'below' if ok else 'not below'} {target['threshold']})"
            entry.cases.append(CaseResult(run["label"], bool(ok), message))
        else:
            entry.points = round(q.points * passed / len(runs), 2)
            mistake = config_mistake(entry.config, losses, target)
            if mistake in q.mistakes:
                entry.diagnosis = q.mistakes[mistake]
    entry.stdout, entry.stderr = outcome.stdout, outcome.stderr
    return entry


def grade_prediction(q, sub) -> QuestionResult:
    """A predict question: the committed literal, read from the saved notebook (nothing runs), against the
    instructor's band or choice. A prediction not committed before its experiment scores 0, with the reason."""
    from course_utils.grading.predictions import committed

    entry = _new_entry(q)
    found = committed(sub, q.name)
    label = "prediction committed before the experiment"
    if not found.ok:
        entry.status = "not-committed"
        entry.detail = "; ".join(found.problems)
        entry.cases.append(CaseResult(label, False, entry.detail))
        return entry
    entry.cases.append(CaseResult(label, True, f"{q.variable} = {found.value!r}"))
    grading = hidden.GRADINGS[q.name]
    right = bool(grading.accept(found.value))  # trusted code on a literal the parent parsed
    entry.cases.append(CaseResult("prediction within the accepted band" if not q.choices else "predicted choice",
                                  right, "accepted" if right else "not accepted"))  # fmt: skip
    if right:
        entry.points = q.points
    else:
        named = [vid for vid, matches in hidden.MISCONCEPTIONS.get(q.name, {}).items() if matches(found.value)]
        if named:
            entry.diagnosis = q.mistakes[named[0]]
    return entry


# --- reading a submission safely ------------------------------------------------------------------


class Rejected(Exception):
    """A submission path the grader will not open; the message says why."""


def read_submission_bytes(path: Path, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of a regular file, never following a link and never blocking (FIFOs, devices)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise Rejected(f"cannot read the file: {exc.strerror}") from exc
    if stat.S_ISLNK(st.st_mode):
        raise Rejected("the submission is a symbolic link, not a notebook file")
    if not stat.S_ISREG(st.st_mode):
        raise Rejected("the submission is not a regular file (a named pipe, a device or a folder)")
    if st.st_size > limit:
        raise Rejected(f"the file is larger than {limit >> 20} MB")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise Rejected(f"cannot read the file: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between lstat and open
            raise Rejected("the submission is not a regular file")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise Rejected(f"the file is larger than {limit >> 20} MB")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _depth_ok(text: str) -> bool:
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def normalize_notebook(raw: bytes) -> bytes:
    """A notebook's JSON made regular enough to read: dict metadata, string sources, bounded size.

    Raises :class:`Rejected` for what cannot be a notebook at all. Legal but unusual notebooks (string
    or missing metadata, missing cell ids, any nbformat 4.x minor, non-UTF-8 bytes) pass through.
    """
    if not raw.strip():
        raise Rejected("the file is empty")
    text = raw.decode("utf-8", errors="replace")
    if not _depth_ok(text):
        raise Rejected(f"not a notebook (JSON nested deeper than {MAX_NESTING} levels)")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Rejected("not a notebook (invalid JSON)") from exc
    if not isinstance(data, dict):
        raise Rejected("not a notebook (no cells)")
    if "worksheets" in data:  # nbformat 3: extract.read_submission upgrades it
        return text.encode()
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise Rejected("not a notebook (no cells)")
    if len(cells) > MAX_CELLS:
        raise Rejected(f"the notebook has more than {MAX_CELLS} cells")
    clean = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        cell = dict(cell)
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        course = cell["metadata"].get("course")
        if course is not None and not isinstance(course, dict):
            cell["metadata"] = {k: v for k, v in cell["metadata"].items() if k != "course"}
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        cell["source"] = src if isinstance(src, str) else ""
        if not isinstance(cell.get("cell_type"), str):
            cell["cell_type"] = "raw"
        clean.append(cell)
    data["cells"] = clean
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    if not isinstance(data.get("nbformat"), int):
        data["nbformat"] = 4
    if not isinstance(data.get("nbformat_minor"), int):
        data["nbformat_minor"] = 0
    return json.dumps(data).encode()


def _unreadable(record: SubmissionResult, reason: str) -> None:
    record.flags.append("unreadable")
    record.error = reason or "the notebook could not be read"


def grade_submission(path: Path, plan: dict, settings: Settings, cache=None, box=None) -> SubmissionResult:
    """Grade one notebook; never raises for anything the notebook contains."""
    cache = {} if cache is None else cache
    headings = {q.name: q.title for q in questions_of(settings.assignment) if q.graded_by == "written"}
    record = SubmissionResult(str(path))
    if not settings.use_sandbox:
        record.flags.append("no-sandbox")
    sub = None
    try:
        raw = read_submission_bytes(Path(path))
        record.sha256 = hashlib.sha256(raw).hexdigest()
        sub = extract.read_submission(path, headings, data=normalize_notebook(raw))
    except Rejected as exc:
        _unreadable(record, str(exc))
    except Exception as exc:  # noqa: BLE001 - a notebook the reader chokes on is a 0 with a reason, not a crash
        _unreadable(record, f"the notebook could not be read ({type(exc).__name__})")
    if sub is not None:
        record.flags += [f for f in sub.flags if f not in record.flags]
        if not sub.readable:
            _unreadable(record, sub.error)
    readable = record.error is None
    owned = box is None
    if owned:
        box = sandbox.Sandbox(_stage_for(settings), settings.limits, _preload(plan), isolate=settings.use_sandbox)
    try:
        for q in questions_of(settings.assignment):
            qplan = plan["questions"][q.name]
            if q.graded_by == "written":
                text = sub.written.get(q.name) if readable else None
                record.written[q.name] = text
                if readable and (text is None or text.strip() in extract.BLANK_ANSWERS):
                    record.flags.append(f"written-blank:{q.name}")
                continue
            if q.graded_by == "prediction":
                if readable:
                    entry = grade_prediction(q, sub)
                else:
                    entry = _failed(q, ["prediction committed before the experiment"], "missing", record.error)
                if entry.status != "ok":
                    record.flags.append(f"{entry.status}:{q.name}")
                record.questions[q.name] = entry
                continue
            answer = extract.extract_answer(sub, q.function) if readable else None
            code, flags = (None, []) if answer is None else (answer.code, answer.flags)
            record.flag(*flags)
            labels = [c["label"] for c in (qplan["cases"] if q.graded_by == "function" else qplan["runs"])]
            if code is None:
                detail = answer.reason if readable else "the notebook could not be read"
                entry = record.questions[q.name] = _failed(q, labels, "missing", detail)
                for c in entry.cases:
                    c.message = "function not found" if readable else record.error
                if readable:
                    record.flags.append(f"missing:{q.function}")
                continue
            if re.search(r"\binstructor\b", code):
                record.flags.append(f"suspicious-import:{q.name}")
            if q.graded_by == "config":
                entry = _grade_config(q, qplan, code, box)
            else:
                entry = _grade_function(q, qplan, code, box, cache)
            entry.extracted = answer.public()
            if entry.status not in ("ok",):
                record.flags.append(f"{entry.status}:{q.name}")
            record.questions[q.name] = entry
    finally:
        if owned:
            box.close()
    record.score = round(sum(e.points for e in record.questions.values()), 2)
    record.max_score = sum(q.points for q in questions_of(settings.assignment) if q.graded_by != "written")
    return record


# --- the batch ----------------------------------------------------------------------------------

_WORKER: dict = {}
_STAGES: dict = {}


def _stage_for(settings: Settings) -> Path:
    """A staged package for grading one submission outside :func:`grade_batch` (removed at exit)."""
    if "stage" not in _STAGES:
        _STAGES["stage"] = sandbox.stage_course(Path(tempfile.mkdtemp(prefix="course-stage-")) / "course")
        atexit.register(_remove_stage, _STAGES["stage"])
    return _STAGES["stage"]


def _remove_stage(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        try:
            p.chmod(0o755 if p.is_dir() else 0o644)
        except OSError:
            pass
    shutil.rmtree(path.parent, ignore_errors=True)


def _preload(plan) -> tuple:
    for qplan in plan["questions"].values():
        if any(c.get("backend") == "torch" for c in qplan.get("cases", [])):
            return ("torch",)
    return ()


def _limit_own_memory():
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = GRADER_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(GRADER_MEMORY_BYTES, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):
        pass


def _init_worker(plan, settings, stage, pool=False):
    if pool:  # a worker process of our own: cap its address space (the caller's process is left alone)
        _limit_own_memory()
    _WORKER["plan"], _WORKER["settings"], _WORKER["cache"] = plan, settings, {}
    _WORKER["box"] = sandbox.Sandbox(stage, settings.limits, _preload(plan), isolate=settings.use_sandbox)
    multiprocessing.util.Finalize(None, _WORKER["box"].close, exitpriority=10)


class _Budget(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Budget


def _work(path):
    settings = _WORKER["settings"]
    n = len(questions_of(settings.assignment))
    # per question: a run and its retry in a fresh sandbox (see run_question), each with its deadline
    budget = int(n * (2 * (settings.limits.wall_seconds + 40) + sandbox.STARTUP_SECONDS) + sandbox.STARTUP_SECONDS + 60)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(budget)
    try:
        return grade_submission(Path(path), _WORKER["plan"], settings, _WORKER["cache"], _WORKER["box"])
    except _Budget:
        _WORKER["box"].close()
        return _crash_record(path, RuntimeError(f"grading took longer than {budget} s"))
    except Exception as exc:  # noqa: BLE001 - a grader bug must not lose the batch: report it on the row
        _WORKER["box"].close()
        return _crash_record(path, exc)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _crash_record(path, exc) -> SubmissionResult:
    top = sum(q.points for q in questions_of(_WORKER["settings"].assignment) if q.graded_by != "written")
    return SubmissionResult(str(path), flags=["grader-error"], error=f"{type(exc).__name__}: {exc}", max_score=top)


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


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old or the new file, never a partial one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _previous_secrets(out: Path) -> dict:
    """Seed and HMAC key of an earlier run in ``out`` (to resume it), or {}."""
    try:
        data = json.loads(read_submission_bytes(out / "manifest.json", 1 << 20))
    except (Rejected, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    seed, key = data.get("seed"), data.get("hmac_key")
    ok = isinstance(seed, int) and isinstance(key, str) and re.fullmatch(r"[0-9a-f]{64}", key)
    return {"seed": seed, "hmac_key": key} if ok else {}


def record_mac(key: str, manifest_sha: str, record: dict) -> str:
    body = json.dumps({"manifest_sha256": manifest_sha, "record": record}, sort_keys=True, allow_nan=False)
    return hmac.new(bytes.fromhex(key), body.encode(), hashlib.sha256).hexdigest()


def load_verified(stored: Path, key: str, manifest_sha: str, sha: str) -> dict | None:
    """A stored record if its HMAC verifies under this manifest and it graded this exact file, else None."""
    try:
        saved = json.loads(read_submission_bytes(stored, 64 << 20))
        record, mac = saved["record"], saved["hmac"]
        if saved["manifest_sha256"] != manifest_sha or not isinstance(mac, str):
            return None
        if not hmac.compare_digest(mac, record_mac(key, manifest_sha, record)):
            return None
        typed = SubmissionResult.from_dict(record)  # exactly the shape the grader writes, or RecordError
        return record if typed.sha256 == sha and typed.to_dict() == record else None
    except (Rejected, ValueError, KeyError, TypeError, AttributeError):
        return None


def needs_regrading(record: dict) -> bool:
    """A stored record that an earlier run could not grade properly (a sandbox or grader error): never kept."""
    errors = any(entry.get("status") == "sandbox-error" for entry in record.get("questions", {}).values())
    return errors or "grader-error" in record.get("flags", [])


def _file_sha(path: Path) -> str:
    try:
        return hashlib.sha256(read_submission_bytes(path)).hexdigest()
    except Rejected:
        return ""


def grade_batch(
    paths, out: Path, settings: Settings, jobs: int = 1, force: bool = False, log=print, ids: dict | None = None
) -> list[dict]:
    """Grade every submission into ``out``; already graded ones (same manifest, same file, valid HMAC) are skipped.

    ``ids`` (path -> id, from the roster: see :mod:`.workflow`) replaces the ids made from file names.

    Without an explicit seed, a resumed run reuses the seed and HMAC key of ``out/manifest.json``;
    a new output folder gets a fresh secret seed. Refuses to run without bwrap unless
    ``settings.use_sandbox`` is False (``--no-sandbox``).
    """
    out = Path(out)
    if settings.use_sandbox:
        sandbox.check_bwrap()  # raises SandboxUnavailable with install instructions
    previous = _previous_secrets(out)
    if settings.seed is None:
        settings.seed = previous.get("seed", secrets.randbits(63))
    if settings.hmac_key is None:
        same_seed = previous.get("seed") == settings.seed
        settings.hmac_key = previous["hmac_key"] if same_seed and previous else secrets.token_hex(32)
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    man = manifest(settings)
    key = manifest_key(man)
    _atomic_write(out / "manifest.json", json.dumps({**man, "manifest_sha256": key}, indent=2, sort_keys=True) + "\n")
    try:
        os.chmod(out / "manifest.json", 0o600)  # it holds the secrets
    except OSError:
        pass
    ids = submission_ids(paths) if ids is None else {Path(p): sid for p, sid in ids.items()}
    todo, records = [], {}
    for path, sid in ids.items():
        saved = (
            None if force else load_verified(out / "results" / f"{sid}.json", settings.hmac_key, key, _file_sha(path))
        )
        if saved is not None and needs_regrading(saved):
            log(f"grading {path} again (the earlier run had a sandbox or grader error)")
        elif saved is not None:
            records[sid] = saved
            log(f"skipped {path} (already graded with this manifest)")
            continue
        todo.append((path, sid))
    if todo:
        plan = make_plan(settings)
        stage = sandbox.stage_course(Path(tempfile.mkdtemp(prefix="course-stage-")) / "course")
        try:
            if jobs > 1 and len(todo) > 1:
                # fork: workers inherit the plan (its cases may hold rebuilt functions) and the loaded data sets.
                # Only grading processes are forked here; student code runs only inside each worker's sandbox.
                context = multiprocessing.get_context("fork")
                init = (plan, settings, stage, True)
                with ProcessPoolExecutor(
                    min(jobs, len(todo)), context, initializer=_init_worker, initargs=init
                ) as pool:
                    done = zip(todo, pool.map(_work, [str(p) for p, _ in todo]), strict=True)
                    for (path, sid), result in done:
                        records[sid] = _save(out, sid, result, key, settings)
                        log(f"graded {path}: {result.score:g} / {result.max_score:g}")
            else:
                _init_worker(plan, settings, stage)
                try:
                    for path, sid in todo:
                        result = _work(str(path))
                        records[sid] = _save(out, sid, result, key, settings)
                        log(f"graded {path}: {result.score:g} / {result.max_score:g}")
                finally:
                    _WORKER["box"].close()
        finally:
            _remove_stage(stage)
    ordered = [records[sid] | {"id": sid} for sid in sorted(records)]
    write_csv(out / "grades.csv", ordered, settings)
    return ordered


def _save(out, sid, result: SubmissionResult, key, settings) -> dict:
    """Write one submission's result, its HMAC and its feedback; returns the serialized record."""
    record = result.to_dict()
    mac = record_mac(settings.hmac_key, key, record)
    text = json.dumps({"manifest_sha256": key, "record": record, "hmac": mac}, indent=1, sort_keys=True) + "\n"
    _atomic_write(out / "results" / f"{sid}.json", text)
    _atomic_write(
        out / "feedback" / f"{sid}.json", json.dumps(public_feedback(record, settings), indent=1, sort_keys=True) + "\n"
    )
    _atomic_write(out / "feedback" / f"{sid}.md", feedback_markdown(record, settings))
    _atomic_write(out / "feedback" / f"{sid}.html", report.feedback_html(record, settings.assignment))
    return record


def csv_columns(settings: Settings) -> list[str]:
    qs = questions_of(settings.assignment)
    return (
        ["submission", "file", "score", "max_score"]
        + [q.name for q in qs if q.graded_by != "written"]
        + [f"written:{q.name}" for q in qs if q.graded_by == "written"]
        + ["flags"]
    )


def write_csv(path: Path, records: list[dict], settings: Settings) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(csv_columns(settings))
    for r in records:
        row = [r["id"], r["submission"], f"{r['score']:g}", f"{r['max_score']:g}"]
        for q in questions_of(settings.assignment):
            if q.graded_by == "written":
                continue
            entry = r["questions"].get(q.name)
            row.append("" if entry is None else f"{entry['points']:g}")
        row += ["" for q in questions_of(settings.assignment) if q.graded_by == "written"]  # filled in by hand
        row.append(";".join(r["flags"]))
        writer.writerow(row)
    _atomic_write(path, buf.getvalue())


def public_feedback(record: dict, settings: Settings) -> dict:
    """What a student may see (see :mod:`.report`): no inputs, expected values, instructor notes or paths."""
    feedback = report.public_feedback(record, settings.assignment)
    feedback["sandbox"] = "none (--no-sandbox)" if "no-sandbox" in record["flags"] else "bubblewrap"
    return feedback


def feedback_markdown(record: dict, settings: Settings) -> str:
    text = report.feedback_markdown(record, settings.assignment)
    if "no-sandbox" in record["flags"]:
        text += "\n_Graded WITHOUT a sandbox: the instructor ran the grader with --no-sandbox._\n"
    return text
