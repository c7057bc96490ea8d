"""The runtime budget of the notebooks, checked from a test run (``make test`` runs this after nbval).

    python tools/notebook_budget.py [--require-lectures] [TIMES.json ...]   (default artifacts/notebook_times.json)

tests/conftest.py records, for every notebook cell that nbval runs, its wall-clock time and the CPU
time its kernel used. This prints both per notebook and fails (exit 1) when a lecture is over its
budget, in kernel CPU seconds: a cell 30 s, a lecture 60 s, all lectures together 300 s.

Why CPU time and not wall-clock time: the machine that runs the suite is shared (CI runs several
passes at once on 2 cores, and other jobs may run beside it). Competing processes make a kernel
wait longer, which inflates its wall-clock time by any factor, but they do not make it execute more
instructions, so its CPU time stays close to what it is on an idle machine (cache and memory
contention add a little, far less than the factor of two between the budget and today's lectures).
The check therefore catches a notebook that does more work, and does not fail because the machine
was busy. Wall-clock times are printed for information only. With more than one BLAS/OpenMP thread
(``make test-machines``), idle threads spin and count as CPU time, so the limits are not enforced.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL_BUDGET_S = 30.0
NOTEBOOK_BUDGET_S = 60.0
COURSE_BUDGET_S = 300.0
LECTURE_PREFIX = "notebooks/"


def totals(report: dict) -> dict[str, dict]:
    """Per notebook: cells, wall seconds, kernel CPU seconds (None if any cell's is unknown), slowest cell."""
    out = {}
    for notebook, cells in sorted(report["notebooks"].items()):
        cpus = [c["kernel_cpu_s"] for c in cells]
        known = None not in cpus
        slowest = max(cells, key=lambda c: (c["kernel_cpu_s"] or 0.0, c["wall_s"]))
        out[notebook] = {
            "cells": len(cells),
            "wall_s": sum(c["wall_s"] for c in cells),
            "cpu_s": sum(cpus) if known else None,
            "slowest_cell": slowest["cell"],
            "slowest_cpu_s": slowest["kernel_cpu_s"],
        }
    return out


def problems(report: dict) -> list[str]:
    """Budget violations of the lectures, in kernel CPU seconds (empty when within budget)."""
    found = []
    lectures = {k: v for k, v in totals(report).items() if k.startswith(LECTURE_PREFIX)}
    for notebook, t in lectures.items():
        if t["cpu_s"] is None:
            found.append(f"{notebook}: kernel CPU time unknown (no psutil?)")
            continue
        if t["cpu_s"] > NOTEBOOK_BUDGET_S:
            found.append(f"{notebook}: {t['cpu_s']:.1f} s of kernel CPU time, budget {NOTEBOOK_BUDGET_S:.0f} s")
        if t["slowest_cpu_s"] is not None and t["slowest_cpu_s"] > CELL_BUDGET_S:
            found.append(
                f"{notebook}::{t['slowest_cell']}: {t['slowest_cpu_s']:.1f} s of kernel CPU time, "
                f"budget {CELL_BUDGET_S:.0f} s per cell"
            )
    course = sum(t["cpu_s"] or 0.0 for t in lectures.values())
    if course > COURSE_BUDGET_S:
        found.append(f"all lectures: {course:.1f} s of kernel CPU time, budget {COURSE_BUDGET_S:.0f} s")
    return found


def single_threaded(report: dict) -> bool:
    return all(v in (None, "1") for v in report.get("threads", {}).values())


def merge(reports: list[dict]) -> dict:
    """One report from several runs' files (the nbval pass's, and the browser pass's for the lectures
    that `make test` runs in JupyterLab). A notebook timed in two files keeps the first file's times."""
    merged = {"threads": {}, "loadavg": [], "notebooks": {}}
    for report in reports:
        for key, value in report.get("threads", {}).items():
            if value not in (None, "1") or key not in merged["threads"]:
                merged["threads"][key] = value
        merged["loadavg"].append(report.get("loadavg"))
        for notebook, cells in report["notebooks"].items():
            merged["notebooks"].setdefault(notebook, cells)
    return merged


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    require = "--require-lectures" in args  # every lecture in notebooks/ must have been timed
    paths = [Path(a) for a in args if a != "--require-lectures"] or [ROOT / "artifacts" / "notebook_times.json"]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"notebook budget: {', '.join(map(str, missing))} not found (run the nbval pass first)", file=sys.stderr)
        return 1
    report = merge([json.loads(p.read_text(encoding="utf-8")) for p in paths])
    print(f"Notebook run times ({', '.join(map(str, paths))}; load average then: {report['loadavg']})")
    print(f"  {'notebook':48s} {'cells':>5s} {'CPU s':>7s} {'wall s':>7s}")
    for notebook, t in totals(report).items():
        cpu = "?" if t["cpu_s"] is None else f"{t['cpu_s']:.1f}"
        print(f"  {notebook:48s} {t['cells']:5d} {cpu:>7s} {t['wall_s']:7.1f}")
    found = problems(report)
    if require:
        lectures = sorted(f"{LECTURE_PREFIX}{p.name}" for p in (ROOT / LECTURE_PREFIX).glob("*.ipynb"))
        found += [f"{n}: no run times recorded (did its run fail?)" for n in lectures if n not in report["notebooks"]]
    if not single_threaded(report):
        print(f"notebook budget: not enforced with threads {report['threads']} (spinning threads count as CPU time)")
        return 0
    for p in found:
        print(f"OVER BUDGET: {p}")
    if found:
        return 1
    print(f"notebook budget: every lecture within {NOTEBOOK_BUDGET_S:.0f} s of kernel CPU time, cells within "
          f"{CELL_BUDGET_S:.0f} s, all lectures within {COURSE_BUDGET_S:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
