"""How long the batch grader takes: N ex08 submissions, sandbox included (a measurement, not a test).

    python benchmarks/grading.py                 # 200 submissions, --jobs 2 (the issue's target: <= 240 s)
    python benchmarks/grading.py --n 20 --jobs 1
    python benchmarks/grading.py --smoke         # 6 submissions: checks that the benchmark runs

The submissions are made from the ex08 solution: correct ones, the unmodified exercise (raises
NotImplementedError), and common mistakes (eps inside the root, no bias correction, in-place
updates). Reports the wall time of ``grade_batch`` (planning the hidden cases, starting the
sandboxes, grading, writing the grade book), the part spent planning, the machine's load average
before and after, and writes ``benchmarks/results/grading-<host>.json``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_utils.instructor import grader, sandbox  # noqa: E402

ASSIGNMENT = "ex08_adam"
MISTAKES = {
    "eps_inside": ("(v_hat**0.5 + eps)", "(v_hat + eps) ** 0.5"),
    "no_correction": ("m_hat = m / (1 - beta1**t)", "m_hat = m"),
    "in_place": ("m = beta1 * m + (1 - beta1) * grads", "m *= beta1\n    m += (1 - beta1) * grads"),
}


def make_submissions(folder: Path, n: int) -> list[Path]:
    solution = json.loads((ROOT / "solutions" / f"{ASSIGNMENT}.ipynb").read_text())
    stub = (ROOT / "exercises" / f"{ASSIGNMENT}.ipynb").read_text()
    index = next(
        i
        for i, c in enumerate(solution["cells"])
        if c["cell_type"] == "code" and "def adam_step(" in "".join(c["source"])
    )
    kinds = ["solution", "solution", "stub", *MISTAKES]
    paths = []
    for k in range(n):
        kind = kinds[k % len(kinds)]
        path = folder / f"student{k:04d}_{kind}.ipynb"
        if kind == "stub":
            path.write_text(stub)
        else:
            nb = json.loads(json.dumps(solution))
            src = "".join(nb["cells"][index]["source"])
            if kind in MISTAKES:
                old, new = MISTAKES[kind]
                assert old in src, kind
                src = src.replace(old, new)
            nb["cells"][index]["source"] = src
            path.write_text(json.dumps(nb))
        paths.append(path)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of submissions")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="6 submissions, --jobs 2")
    parser.add_argument("--no-sandbox", action="store_true", help="for comparison only")
    parser.add_argument("--out", type=Path, help="JSON report (default: benchmarks/results/grading-<host>.json)")
    args = parser.parse_args(argv)
    n = 6 if args.smoke else args.n
    tmp = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    try:
        paths = make_submissions(tmp, n)
        settings = grader.Settings(ASSIGNMENT, 2024, sandbox.Limits(), use_sandbox=not args.no_sandbox)
        load_before = os.getloadavg()
        start = time.perf_counter()
        plan_start = time.perf_counter()
        grader.make_plan(grader.Settings(ASSIGNMENT, 2024))  # measured alone; grade_batch plans again (cached part)
        plan_s = time.perf_counter() - plan_start
        batch_start = time.perf_counter()
        records = grader.grade_batch(paths, tmp / "out", settings, jobs=args.jobs, log=lambda s: None)
        batch_s = time.perf_counter() - batch_start
        total_s = time.perf_counter() - start
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    scores = sorted({r["score"] for r in records})
    report = {
        "submissions": n,
        "jobs": args.jobs,
        "sandbox": not args.no_sandbox,
        "grade_batch_s": round(batch_s, 1),
        "per_submission_s": round(batch_s / n, 3),
        "first_plan_s": round(plan_s, 1),
        "total_s": round(total_s, 1),
        "target": "200 submissions with --jobs 2 in <= 240 s on 2 cores",
        "distinct_scores": scores,
        "grader_errors": sum("grader-error" in r["flags"] for r in records),
        "load_average_before": [round(x, 1) for x in load_before],
        "load_average_after": [round(x, 1) for x in load_after],
        "cpus": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
    }
    print(
        f"Graded {n} ex08 submissions with --jobs {args.jobs} ({'bubblewrap' if report['sandbox'] else 'NO sandbox'})"
    )
    print(f"  grade_batch: {batch_s:.1f} s ({batch_s / n:.2f} s per submission); first plan alone: {plan_s:.1f} s")
    print(f"  load average before {report['load_average_before']}, after {report['load_average_after']}")
    print(f"  distinct scores {scores}; grader errors {report['grader_errors']}")
    out = args.out or ROOT / "benchmarks" / "results" / f"grading-{platform.node() or 'host'}.json"
    if not args.smoke or args.out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"  report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
