"""Compare a function's outputs with the expected ones, and recognise known wrong variants.

Used by ``check`` (public cases, expected values stored as data) and by the batch grader
(hidden cases, expected values computed in the grader process). Tolerances are relative to
the size of the expected array, so a gradient of 1e-8 is held to the same standard as 1e8.
"""

from __future__ import annotations

import numpy as np

from .drivers import describe_error

FLOAT32_RTOL, FLOAT32_ATOL = 1e-4, 1e-5


def tolerances(question, case) -> tuple[float, float]:
    """``(rtol, atol relative to the largest expected magnitude)`` for one case."""
    if case.get("backend") == "torch" and case.get("dtype", "float64") != "float64":
        return FLOAT32_RTOL, FLOAT32_ATOL
    return question.rtol, question.rtol * 1e-3


def close(got, expected, rtol, atol_rel, equal_nan=False) -> bool:
    if got is None or expected is None:
        return got is None and expected is None
    if got.shape != expected.shape:
        return False
    finite = expected[np.isfinite(expected)]
    scale = float(np.abs(finite).max()) if finite.size else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.allclose(got, expected, rtol=rtol, atol=atol_rel * scale + 1e-300, equal_nan=equal_nan))


def _error_type(text):
    return None if text is None else text.split(":", 1)[0]


def _fmt_shape(shape):
    return "(" + ", ".join(str(s) for s in shape) + (",)" if len(shape) == 1 else ")")


def compare_case(result, expected, question, case) -> tuple[bool, str]:
    """``(passed, message)``; the message names what is wrong without showing expected values."""
    if result["error"] is not None:
        return False, describe_error(result["error"])
    if result["mutated"]:
        names = ", ".join(f"`{n}`" for n in result["mutated"])
        return False, f"changed its input {names} in place"
    if case.get("backend") == "torch":
        for name, want in expected["info"].items():
            got = result["info"].get(name)
            if got != want:
                return False, f"returned a {got} as `{name}`; expected a {want}"
    rtol, atol_rel = tolerances(question, case)
    wrong = []
    ordered = sorted(expected["outputs"], key=lambda n: n == "update")  # the derived step is checked last
    for name in ordered:
        want = expected["outputs"][name]
        if want is None:
            continue
        got = result["outputs"].get(name)
        if name == "update" and (got is None or got.shape != want.shape or not np.all(np.isfinite(got))):
            continue  # already reported through the returned value itself
        if got is None:
            return False, f"returned no value for `{name}`"
        if got.shape != want.shape:
            return False, f"`{name}` has shape {_fmt_shape(got.shape)}; expected {_fmt_shape(want.shape)}"
        if not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
            return False, f"`{name}` contains NaN or inf"
        if not close(got, want, rtol, atol_rel):
            wrong.append((name, got, want))
    if not wrong:
        return True, "ok"
    names = [n for n, _, _ in wrong if n != "update"] or ["update"]
    name, got, want = next(w for w in wrong if w[0] == names[0])
    with np.errstate(invalid="ignore", over="ignore"):
        err = float(np.nanmax(np.abs(got - want)))
    first = question.returns[0] if question.returns else "params"
    label = ", ".join(f"`{n}`" if n != "update" else f"the step (new {first} - {first})" for n in names)
    verb = "differ" if len(names) > 1 else "differs"
    return False, f"{label} {verb} from the expected value (largest difference {err:.1e})"


def matches(result, variant, question, case) -> bool:
    """True when the student's result reproduces a stored wrong variant's result on this case."""
    if variant.get("error") is not None or result["error"] is not None:
        return _error_type(variant.get("error")) == _error_type(result["error"])
    rtol, atol_rel = tolerances(question, case)
    outputs = variant["outputs"]
    compared = 0
    for name, want in outputs.items():
        if want is None:
            continue
        got = result["outputs"].get(name)
        if got is None or not close(got, want, rtol, atol_rel, equal_nan=True):
            return False
        compared += 1
    return compared > 0


def diagnose(failures, question, passed_variants=()) -> str | None:
    """The known mistake that explains the failed cases best, as a message, or None.

    ``failures`` is a list of ``(result, variants, case)`` for the failed cases, where
    ``variants`` maps a variant id to its stored result on that case (only variants that differ
    from the correct answer there are stored). A variant is named when it reproduces every
    failed case, and it does not differ from the correct answer on any case the answer passed
    (``passed_variants``: the stored variants of the passed cases).
    """
    if any(r["mutated"] for r, _, _ in failures) and "mutates" in question.mistakes:
        return question.mistakes["mutates"]
    value_failures = [f for f in failures if f[0]["error"] is None or any(v.get("error") for v in f[1].values())]
    if not value_failures:
        return None
    ruled_out = {vid for variants in passed_variants for vid in variants}
    best, best_count = None, 0
    for vid in question.mistakes:
        if vid in ruled_out:
            continue
        count, ok = 0, True
        for result, variants, case in value_failures:
            if vid not in variants:
                ok = False
                break
            if not matches(result, variants[vid], question, case):
                ok = False
                break
            count += 1
        if ok and count > best_count:
            best, best_count = vid, count
    return None if best is None else question.mistakes[best]
