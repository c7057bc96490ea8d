"""Notebook timing for the runtime budget (a pytest plugin; in the repository root so that it also
loads when pytest runs only notebook folders, as `make test`'s nbval pass does).

For every notebook cell that nbval runs, its wall-clock time and the CPU time its kernel used are
written to ``artifacts/notebook_times.json`` (or $COURSE_NOTEBOOK_TIMES), and
``tools/notebook_budget.py`` checks them against the course's budget. Committed notebooks carry no
timestamps (course_utils/execution.py), so this is where the budget is measured.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
TIMES_FILE = Path(os.environ.get("COURSE_NOTEBOOK_TIMES", ROOT / "artifacts" / "notebook_times.json"))

_cells: dict[str, list[dict]] = {}


def _kernel_cpu_seconds(item) -> float | None:
    """User + system CPU seconds used so far by the kernel behind an nbval cell (and its children)."""
    try:
        import psutil

        pid = item.parent.kernel.km.provisioner.pid
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system + t.children_user + t.children_system
    except Exception:  # not an nbval cell, kernel gone, or no psutil: report wall time only
        return None


def _is_notebook_cell(item) -> bool:
    return ".ipynb::" in item.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if not _is_notebook_cell(item):
        yield
        return
    cpu0, t0 = _kernel_cpu_seconds(item), time.perf_counter()
    yield
    wall, cpu1 = time.perf_counter() - t0, _kernel_cpu_seconds(item)
    notebook, cell = item.nodeid.split("::", 1)
    _cells.setdefault(notebook, []).append(
        {
            "cell": cell,
            "wall_s": round(wall, 3),
            "kernel_cpu_s": None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 3),
        }
    )


def pytest_sessionfinish(session):
    if not _cells or hasattr(session.config, "workerinput"):  # nothing timed, or an xdist worker
        return
    report = {
        "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "notebooks": _cells,
    }
    TIMES_FILE.parent.mkdir(parents=True, exist_ok=True)
    TIMES_FILE.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
