"""One way to execute notebooks: the environment policy and the normal form of committed notebooks.

Every tool that runs a notebook goes through this module: ``tools/execute_notebooks.py`` (the
contributor command), the assignment build (``python -m course_utils.assignments build``),
``benchmarks/run.py``, and ``make test``, whose pytest passes run under :func:`policy_env` through
``python -m course_utils.execution run -- COMMAND``. The policy:

- ``PYTHONHASHSEED=0``: set and dict iteration orders are the same in every run;
- BLAS and OpenMP thread counts default to 1 (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
  ``MKL_NUM_THREADS``, ...): fast on a shared 2-core machine, where several passes run at once. A
  value the caller already set is kept, so ``make test-machines`` can run everything with 2 threads
  and show that no committed output depends on the count;
- kernels draw figures with the inline backend (``MPLBACKEND`` set to matplotlib-inline's), so an
  ``MPLBACKEND=Agg`` inherited from a test run never leaves a notebook without its images;
- ``HOME``, the IPython, matplotlib and Jupyter settings and data folders point into one temporary
  folder, so no personal ``ipython_config.py``, ``matplotlibrc`` or Lab setting changes an output,
  and nothing is written to the user's home; the ``python3`` kernel is still this environment's
  (its kernelspec is found through ``sys.prefix``);
- a cell may run for :data:`CELL_TIMEOUT_S` seconds and a kernel gets :data:`STARTUP_TIMEOUT_S`
  seconds to start.

The normal form (:func:`normalize`) keeps every output but drops what changes from one run to the
next without any change of ours: the per-cell wall-clock timestamps that nbclient and JupyterLab
write into ``metadata.execution``, a notebook-level ``course.execution_seconds``, and the kernel's
Python version in ``metadata.language_info``. Executing an unchanged notebook therefore leaves its
file byte for byte as it was; the run time is measured by the test run instead (see
``tests/conftest.py``).

It also writes a finished progress bar's final state into its text: a ``tqdm`` bar in a notebook
is a widget whose saved state ends at 100 %, but its ``text/plain`` fallback (what GitHub, nbviewer
and any view without the widget manager show) was captured when the bar was created, at 0 %. When
the saved widget state says the bar finished, the fallback becomes ``DESC: 100%|██████████| N/N``
(without the timing, which differs from run to run). Such cells are ``NBVAL_IGNORE_OUTPUT`` cells.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CELL_TIMEOUT_S",
    "KERNEL_MPLBACKEND",
    "STARTUP_TIMEOUT_S",
    "THREAD_VARIABLES",
    "execute",
    "execute_notebook",
    "finish_progress_text",
    "normalize",
    "normalize_file",
    "policy",
    "policy_env",
]

CELL_TIMEOUT_S = 600  # a bound against hangs, not a speed limit: tools/notebook_budget.py checks speed
STARTUP_TIMEOUT_S = 60
KERNEL_MPLBACKEND = "module://matplotlib_inline.backend_inline"
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
# Settings folders that would otherwise come from the user's home.
_FOLDERS = {
    "HOME": "",
    "IPYTHONDIR": "ipython",
    "MPLCONFIGDIR": "matplotlib",
    "JUPYTER_CONFIG_DIR": "jupyter/config",
    "JUPYTER_DATA_DIR": "jupyter/data",
    "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
    "JUPYTERLAB_SETTINGS_DIR": "jupyter/lab/settings",
    "JUPYTERLAB_WORKSPACES_DIR": "jupyter/lab/workspaces",
}
# Cell metadata written by nbclient (record_timing) and JupyterLab: wall-clock times of one run.
_VOLATILE_CELL_METADATA = ("execution",)
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# tqdm's text fallback of a notebook bar: "DESC:   0%|          | 0/4 [00:00<?, ?it/s]" (DESC may be empty).
_PROGRESS_TEXT = re.compile(r"(?P<desc>[^\n|]*?)\s*\d+%\|[^|\n]*\|\s*\d+/(?P<total>\d+)")


def policy_env(home: str | os.PathLike[str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a kernel or a test run under the course's policy, with ``home`` as HOME.

    >>> env = policy_env("/tmp/h", base={"OPENBLAS_NUM_THREADS": "2", "MPLBACKEND": "Agg"})
    >>> env["PYTHONHASHSEED"], env["OMP_NUM_THREADS"], env["OPENBLAS_NUM_THREADS"]
    ('0', '1', '2')
    >>> env["MPLBACKEND"], env["IPYTHONDIR"]
    ('module://matplotlib_inline.backend_inline', '/tmp/h/ipython')
    """
    env = dict(os.environ if base is None else base)
    env["PYTHONHASHSEED"] = "0"
    for name in THREAD_VARIABLES:
        env.setdefault(name, "1")
    env["MPLBACKEND"] = KERNEL_MPLBACKEND
    root = Path(home)
    for name, sub in _FOLDERS.items():
        env[name] = str(root / sub) if sub else str(root)
    return env


@contextlib.contextmanager
def policy() -> Iterator[dict[str, str]]:
    """Apply :func:`policy_env` to ``os.environ`` with a fresh temporary home; restore both afterwards."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="course-exec-") as home:
        env = policy_env(home)
        os.environ.clear()
        os.environ.update(env)
        try:
            yield env
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _progress_bar(state: Mapping[str, Any], model_id: str | None) -> tuple[float, float] | None:
    """``(value, max)`` of the progress bar inside the widget ``model_id`` (tqdm's HBox), or None."""
    model = state.get(model_id or "", {})
    children = model.get("state", {}).get("children", []) if model.get("model_name") == "HBoxModel" else []
    for child in children:
        child_model = state.get(str(child).removeprefix("IPY_MODEL_"), {})
        if child_model.get("model_name") == "FloatProgressModel":
            bar = child_model.get("state", {})
            return float(bar.get("value", 0)), float(bar.get("max", 100))
    return None


def finish_progress_text(nb: Any) -> bool:
    """Write each finished tqdm bar's final state into its ``text/plain`` fallback (see the module docstring).

    Returns True when a fallback changed. A bar without saved widget state, or one that stopped before
    its end, is left as it is.

    >>> state = {"h": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_p"]}},
    ...          "p": {"model_name": "FloatProgressModel", "state": {"value": 4, "max": 4}}}
    >>> out = {"data": {"text/plain": "runs:   0%|          | 0/4 [00:00<?, ?it/s]",
    ...                 "application/vnd.jupyter.widget-view+json": {"model_id": "h"}}}
    >>> nb = {"metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": state}}},
    ...       "cells": [{"cell_type": "code", "outputs": [out]}]}
    >>> finish_progress_text(nb), out["data"]["text/plain"], finish_progress_text(nb)
    (True, 'runs: 100%|██████████| 4/4', False)
    """
    state = nb.get("metadata", {}).get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    changed = False
    for cell in nb["cells"]:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data", {})
            plain = data.get("text/plain")
            if _WIDGET_VIEW not in data or plain is None:
                continue
            plain = plain if isinstance(plain, str) else "".join(plain)
            match = _PROGRESS_TEXT.match(plain)
            bar = _progress_bar(state, data[_WIDGET_VIEW].get("model_id")) if match else None
            if bar is None or bar[0] < bar[1]:
                continue
            total = match["total"]
            final = f"{match['desc']} 100%|{'█' * 10}| {total}/{total}".lstrip()
            if data["text/plain"] != final:
                data["text/plain"] = final
                changed = True
    return changed


def normalize(nb: Any) -> bool:
    """Drop run-to-run noise from a notebook (a ``nbformat`` node or a plain dict), in place.

    Returns True when something was removed. Outputs and execution counts are kept (a finished
    progress bar's text fallback shows its final state: :func:`finish_progress_text`).

    >>> nb = {"metadata": {"course": {"execution_seconds": 3.1}, "language_info": {"version": "3.11.7"}},
    ...       "cells": [{"cell_type": "code", "metadata": {"execution": {"iopub.status.busy": "..."}}}]}
    >>> normalize(nb), nb["cells"][0]["metadata"], nb["metadata"]
    (True, {}, {'language_info': {}})
    >>> normalize(nb)
    False
    """
    changed = False
    for cell in nb["cells"]:
        meta = cell.get("metadata", {})
        for key in _VOLATILE_CELL_METADATA:
            if key in meta:
                del meta[key]
                changed = True
    meta = nb["metadata"]
    course = meta.get("course")
    if isinstance(course, dict) and "execution_seconds" in course:
        del course["execution_seconds"]
        if not course:
            del meta["course"]
        changed = True
    info = meta.get("language_info")
    if isinstance(info, dict) and "version" in info:
        del info["version"]  # the kernel's Python patch version: differs between machines
        changed = True
    return finish_progress_text(nb) or changed


def _dumps(nb: Any) -> str:
    """The file text that ``nbformat.write`` produces (JSON, one-space indent, final newline)."""
    import nbformat

    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def normalize_file(path: str | os.PathLike[str], check: bool = False) -> bool:
    """Normalize one notebook file in place (or only report, with ``check``); True if it was not normal.

    The file is rewritten only when something changes, in nbformat's own layout.
    """
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    changed = normalize(nb)
    text = _dumps(nb)
    changed = changed or text != path.read_text(encoding="utf-8")
    if changed and not check:
        path.write_text(text, encoding="utf-8")
    return changed


def execute(nb: Any, cwd: str | os.PathLike[str], timeout: int = CELL_TIMEOUT_S) -> float:
    """Run an in-memory notebook top to bottom in a fresh kernel whose working directory is ``cwd``.

    The outputs are stored in ``nb``; the environment is :func:`policy`'s. Returns wall-clock seconds.
    """
    from nbclient import NotebookClient

    with policy():
        client = NotebookClient(
            nb,
            timeout=timeout,
            startup_timeout=STARTUP_TIMEOUT_S,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(Path(cwd).resolve())}},
        )
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start


def execute_notebook(path: str | os.PathLike[str], timeout: int = CELL_TIMEOUT_S) -> float:
    """Execute a notebook file in place, in its own folder (as nbval and JupyterLab do), and save it
    normalized. Returns the wall-clock seconds, which the tools print and never store in the file."""
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    seconds = execute(nb, path.parent, timeout)
    normalize(nb)
    path.write_text(_dumps(nb), encoding="utf-8")
    return seconds


def _notebooks(paths: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        else:
            found.append(p)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.execution", description="Run notebooks and tests under one environment policy."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a command (after --) under the policy, with a temporary home")
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    e = sub.add_parser("execute", help="execute notebooks in place and save them normalized")
    e.add_argument("paths", nargs="+")
    e.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S, help="seconds per cell")
    n = sub.add_parser("normalize", help="normalize notebooks (files or folders) without executing them")
    n.add_argument("paths", nargs="+")
    n.add_argument("--check", action="store_true", help="only list notebooks that are not normalized; exit 1 if any")
    args = parser.parse_args(argv)

    if args.command == "run":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            parser.error("run needs a command after --")
        with policy() as env:
            return subprocess.call(cmd, env=env)
    if args.command == "execute":
        for path in _notebooks(args.paths):
            print(f"{path}: {execute_notebook(path, args.timeout):.1f} s", flush=True)
        return 0
    dirty = [p for p in _notebooks(args.paths) if normalize_file(p, check=args.check)]
    for p in dirty:
        print(f"{'not normalized' if args.check else 'normalized'}: {p}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
