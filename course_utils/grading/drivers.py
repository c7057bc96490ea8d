"""Call a student's function on inputs described as data, and turn what it returns into data.

The same code runs in two places: inside the student's notebook (``check``) and inside the
grader's throw-away child process. Inputs and outputs are plain JSON (arrays are encoded as
dtype + shape + values), so nothing is ever unpickled, and functions such as a loss ``f`` or a
gradient ``grad_fn`` are *rebuilt* from a description (``{"__fn__": "quadratic", ...}``).

A *case* is a dict::

    {"label": "first step (t = 1)", "mode": "call" | "rollout", "args": {name: value},
     "backend": "numpy" | "torch", "dtype": "float64" | "float32", "device": "cpu" | "meta",
     "grads": (steps, ...) array (rollout only)}

``run_case(fn, question, case)`` returns ``{"outputs": {name: array}, "info": {name: str},
"mutated": [names], "error": str | None, "not_implemented": bool}``.
"""

from __future__ import annotations

import math

import numpy as np

MAX_ERROR_CHARS = 300


# --- JSON encoding ------------------------------------------------------------------------------


def encode(value):
    """A JSON-able description of ``value`` (arrays, tuples, numbers, strings, lists, dicts)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"cannot encode an array of dtype {value.dtype}")
        data = value.ravel().tolist()
        return {"__array__": {"dtype": str(value.dtype), "shape": list(value.shape), "data": data}}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")


ALLOWED_DTYPES = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"}
MAX_ELEMENTS = 2_000_000


def decode(obj, depth=0):
    """The inverse of :func:`encode`; strict about what it accepts (it also reads the child's output)."""
    if depth > 20:
        raise ValueError("nested too deeply")
    if isinstance(obj, dict):
        if "__array__" in obj:
            spec = obj["__array__"]
            if not isinstance(spec, dict):
                raise ValueError("malformed array")
            dtype, shape, data = spec["dtype"], spec["shape"], spec["data"]
            if dtype not in ALLOWED_DTYPES:
                raise ValueError(f"dtype {dtype!r} not allowed")
            if not isinstance(shape, list) or not all(isinstance(s, int) and 0 <= s <= MAX_ELEMENTS for s in shape):
                raise ValueError("bad shape")
            size = math.prod(shape)
            if size > MAX_ELEMENTS or not isinstance(data, list) or len(data) != size:
                raise ValueError("array data does not match its shape")
            if not all(type(x) in (int, float, bool) for x in data):  # exactly: no subclass with its own methods
                raise ValueError("array data must be numbers")
            try:
                return np.array(data, dtype=dtype).reshape(shape)
            except (ArithmeticError, ValueError, TypeError) as exc:  # e.g. 10**400: too large for the dtype
                raise ValueError(f"array data out of range for {dtype}") from exc
        if "__tuple__" in obj:
            return tuple(decode(v, depth + 1) for v in obj["__tuple__"])
        if "__fn__" in obj:
            return build_function(obj["__fn__"], {k: decode(v, depth + 1) for k, v in obj.get("args", {}).items()})
        return {str(k): decode(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v, depth + 1) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise ValueError(f"unexpected {type(obj).__name__}")


# --- functions rebuilt from a description -------------------------------------------------------

_CACHE: dict = {}


def build_function(name, args):
    """Objective and gradient functions that a question passes to the student's code."""
    if name == "quadratic":  # f(x) = x^T A x / 2 + b^T x
        A, b = args["A"], args["b"]
        return lambda x: float(0.5 * x @ A @ x + b @ x)
    if name == "rosenbrock":
        return lambda x: float((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)
    if name == "logsumexp":  # f(x) = log sum exp(W x + c)
        W, c = args["W"], args["c"]

        def f(x):
            z = W @ x + c
            top = z.max()
            return float(top + np.log(np.exp(z - top).sum()))

        return f
    if name == "digits_grad":  # gradient of logistic regression on the digits, on a batch of rows
        key = ("digits", float(args.get("l2", 0.0)))
        if key not in _CACHE:
            from course_utils import problems

            _CACHE[key] = problems.logistic_regression(l2=key[1])
        problem = _CACHE[key]
        return lambda w, batch=None: problem.grad(w, batch)
    raise ValueError(f"unknown function description {name!r}")


# --- running one case ---------------------------------------------------------------------------


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "device")


def _to_backend(value, case):
    if case.get("backend", "numpy") != "torch" or not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        return value
    import torch

    dtype = getattr(torch, case.get("dtype", "float64"))
    return torch.as_tensor(value).to(dtype=dtype, device=case.get("device", "cpu"))


BAD_RETURN = "BadReturnValue: "


class OutputError(Exception):
    """The function returned something of the wrong form."""


def _describe(x) -> str:
    if _is_torch(x):
        return f"torch tensor {str(x.dtype).replace('torch.', '')} on {x.device.type}, shape {tuple(x.shape)}"
    if isinstance(x, np.ndarray):
        return f"numpy array {x.dtype}, shape {x.shape}"
    return type(x).__name__


def _as_float_array(x, name):
    if x is None:
        raise OutputError(f"`{name}` is None: did you forget to `return` it?")
    if _is_torch(x):
        if x.device.type == "meta":
            return None
        return x.detach().cpu().double().numpy()
    if isinstance(x, (list, tuple)) and any(_is_torch(v) for v in x):
        raise OutputError(f"`{name}` is a {type(x).__name__} of tensors, not one array")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OutputError(f"`{name}` must be an array or a number, got {type(x).__name__}") from exc
    return arr


def normalize(value, question):
    """The function's return value as ``(outputs, info)``: float64 arrays and type descriptions."""
    names = question.returns
    if question.output == "batches":
        if not isinstance(value, (list, tuple)) or not value:
            raise OutputError(f"expected a list of index arrays, got {type(value).__name__}")
        parts = []
        for i, b in enumerate(value):
            arr = np.asarray(b)
            if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
                raise OutputError(f"batch {i} must be a 1-D array of integer indices, got {_describe(arr)}")
            parts.append(arr.astype(np.int64))
        return {
            "indices": np.concatenate(parts).astype(np.float64),
            "sizes": np.array([len(p) for p in parts], dtype=np.float64),
        }, {}
    if len(names) == 1:
        if isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        items = [value]
    else:
        if not isinstance(value, (tuple, list)) or len(value) != len(names):
            got = (
                f"a {type(value).__name__} of length {len(value)}"
                if isinstance(value, (tuple, list))
                else _describe(value)
            )
            raise OutputError(f"expected a tuple of {len(names)} values ({', '.join(names)}), got {got}")
        items = list(value)
    outputs, info = {}, {}
    for name, item in zip(names, items, strict=True):
        outputs[name] = _as_float_array(item, name)
        info[name] = _describe(item)
    return outputs, info


def _snapshot(args):
    snap = {}
    for name, x in args.items():
        if _is_torch(x):
            snap[name] = ("torch", x._version)
        elif isinstance(x, np.ndarray):
            snap[name] = ("numpy", x.copy())
    return snap


def _mutated(args, snap):
    changed = []
    for name, (kind, before) in snap.items():
        x = args[name]
        if kind == "torch":
            if x._version != before:
                changed.append(name)
        elif x.shape != before.shape or not np.array_equal(x, before, equal_nan=x.dtype.kind == "f"):
            changed.append(name)
    return changed


def _call(fn, question, args):
    positional = []
    for name in question.params:
        if name not in args:
            break
        positional.append(args[name])
    return fn(*positional)


def describe_error(error: str) -> str:
    """An error string as a sentence fragment: "raised ValueError: ..." or the bad-return explanation."""
    return error[len(BAD_RETURN) :] if error.startswith(BAD_RETURN) else f"raised {error}"


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def run_case(fn, question, case) -> dict:
    """Call ``fn`` on one case (see the module docstring); never raises for the function's errors."""
    result = {"outputs": {}, "info": {}, "mutated": [], "error": None, "not_implemented": False}
    try:
        args = {k: _to_backend(v, case) for k, v in case.get("args", {}).items()}
        if case.get("mode", "call") == "rollout":
            _rollout(fn, question, case, args, result)
        else:
            snap = _snapshot(args)
            value = _call(fn, question, args)
            result["mutated"] = _mutated(args, snap)
            outputs, info = normalize(value, question)
            first = question.returns[0] if question.returns else None
            if first in outputs and first in args and outputs[first] is not None:
                # the change is compared on its own scale: a step of 1e-9 on parameters of size 1 still counts
                before = _as_float_array(args[first], first)
                if before is not None and before.shape == outputs[first].shape:
                    outputs["update"] = np.asarray(outputs[first] - before)
            result["outputs"], result["info"] = outputs, info
    except NotImplementedError as exc:
        result["error"], result["not_implemented"] = error_text(exc), True
    except OutputError as exc:
        result["error"] = f"{BAD_RETURN}{exc}"[:MAX_ERROR_CHARS]
    except (Exception, SystemExit) as exc:  # the student's code may raise anything, even SystemExit
        result["error"] = error_text(exc)
    return result


def _rollout(fn, question, case, args, result):
    grads = case["grads"]
    t0 = int(args.get(question.t_arg, 1)) if question.t_arg else 1
    history, mutated = [], set()
    outputs, info = {}, {}
    for i in range(len(grads)):
        args[question.grad_arg] = _to_backend(np.asarray(grads[i]), case)
        if question.t_arg:
            args[question.t_arg] = t0 + i
        snap = _snapshot(args)
        value = _call(fn, question, args)
        mutated.update(_mutated(args, snap))
        outputs, info = normalize(value, question)
        history.append(outputs["params"])
        raw = value if isinstance(value, (tuple, list)) else (value,)
        for name in question.state:  # feed the function's own outputs back, as a training loop would
            args[name] = raw[question.returns.index(name)]
    if all(h is not None for h in history):
        shapes = {h.shape for h in history}
        if len(shapes) != 1:
            raise OutputError("`params` changed shape from one step to the next")
        outputs["params_history"] = np.stack(history)
    result["outputs"], result["info"], result["mutated"] = outputs, info, sorted(mutated)


def sanitize_config(value, depth=0):
    """A student's configuration dict as plain JSON data (numbers, strings, bools, lists)."""
    if depth > 5:
        raise OutputError("the configuration is nested too deeply")
    if isinstance(value, dict):
        if len(value) > 50:
            raise OutputError("the configuration has too many keys")
        return {str(k)[:100]: sanitize_config(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) > 50:
            raise OutputError("a list in the configuration is too long")
        return [sanitize_config(v, depth + 1) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return value[:100]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise OutputError(
        f"the configuration may only hold numbers, strings, booleans and lists, got {type(value).__name__}"
    )


def run_config(fn) -> dict:
    """Call a no-argument function that returns a configuration dict."""
    result = {"config": None, "error": None, "not_implemented": False}
    try:
        value = fn()
        if not isinstance(value, dict):
            raise OutputError(f"expected a dict, got {type(value).__name__}")
        result["config"] = sanitize_config(value)
    except NotImplementedError as exc:
        result["error"], result["not_implemented"] = error_text(exc), True
    except OutputError as exc:
        result["error"] = f"{BAD_RETURN}{exc}"[:MAX_ERROR_CHARS]
    except (Exception, SystemExit) as exc:
        result["error"] = error_text(exc)
    return result


def shared_dtype(value, case):
    """The dtype an input array has when the function receives it, or None when it has no data.

    The grader's sandbox hands inputs over in shared memory and reads them back after the call;
    torch cases get float arrays already in the case's dtype, so ``torch.as_tensor`` shares that
    memory instead of copying it. Tensors on the data-less "meta" device have nothing to compare.
    """
    if case.get("backend", "numpy") == "torch" and value.dtype.kind == "f":
        return None if case.get("device", "cpu") != "cpu" else np.dtype(case.get("dtype", "float64"))
    return value.dtype


def finite_outputs(result: dict) -> dict:
    """``result`` with an error instead of outputs that hold NaN or inf (the grader accepts finite JSON only)."""
    for name, value in result.get("outputs", {}).items():
        if value is not None and not np.all(np.isfinite(value)):
            result["outputs"] = {}
            result["error"] = f"{BAD_RETURN}`{name}` contains NaN or inf"[:MAX_ERROR_CHARS]
            break
    return result


def encode_result(result: dict) -> dict:
    out = dict(result)
    if "outputs" in out:
        out["outputs"] = {k: (None if v is None else encode(v)) for k, v in result["outputs"].items()}
    return out


def decode_result(obj) -> dict:
    """A case result read back from JSON, validated (the grader reads it from an untrusted child)."""
    if not isinstance(obj, dict):
        raise ValueError("a case result must be an object")
    outputs = obj.get("outputs", {})
    info = obj.get("info", {})
    mutated = obj.get("mutated", [])
    error = obj.get("error")
    if not isinstance(outputs, dict) or not isinstance(info, dict) or not isinstance(mutated, list):
        raise ValueError("malformed case result")
    decoded = {}
    for name, value in outputs.items():
        arr = None if value is None else decode(value)
        if arr is not None and not isinstance(arr, np.ndarray):
            raise ValueError(f"output {name!r} is not an array")
        decoded[str(name)] = None if arr is None else arr.astype(np.float64)
    return {
        "outputs": decoded,
        "info": {str(k): str(v)[:200] for k, v in info.items()},
        "mutated": [str(m)[:50] for m in mutated],
        "error": None if error is None else str(error)[:MAX_ERROR_CHARS],
        "not_implemented": bool(obj.get("not_implemented", False)),
    }
