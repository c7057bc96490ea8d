"""Batch-grade submitted notebooks (instructor tool).

Usage::

    python -m course_utils.grade ex08_adam submissions/*.ipynb --out graded/ex08 --seed 2024 --jobs 4

Writes ``OUT/grades.csv`` (one row per submission), ``OUT/feedback/<name>.md`` and ``.json``
(for students), ``OUT/results/<name>.json`` (everything, for resuming) and
``OUT/manifest.json`` (seed, package version, hash of the checks). Re-running skips
submissions already graded under the same manifest. See INSTRUCTORS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    from course_utils.grading.questions import ASSIGNMENTS
    from course_utils.instructor import grader, sandbox

    p = argparse.ArgumentParser(prog="python -m course_utils.grade", description=__doc__.splitlines()[0])
    p.add_argument("assignment", choices=sorted(ASSIGNMENTS), metavar="ASSIGNMENT", help="e.g. ex08_adam")
    p.add_argument("submissions", nargs="+", type=Path, help="notebooks, or folders of notebooks")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="grading seed: the hidden randomized inputs depend on it")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    p.add_argument("--timeout", type=float, default=20.0, help="wall-clock seconds per question")
    p.add_argument("--cpu-seconds", type=int, default=None, help="CPU seconds per question (default: the timeout)")
    p.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per question")
    p.add_argument("--extra-checks", type=Path, help="a Python file defining EXTRA_CASES (see INSTRUCTORS.md)")
    p.add_argument("--force", action="store_true", help="re-grade everything, ignoring stored results")
    args = p.parse_args(argv)

    paths = []
    for s in args.submissions:
        paths.extend(sorted(s.rglob("*.ipynb")) if s.is_dir() else [s])
    paths = [x for x in paths if ".ipynb_checkpoints" not in x.parts]
    if not paths:
        p.error("no submissions found")
    limits = sandbox.Limits(
        wall_seconds=args.timeout, cpu_seconds=args.cpu_seconds or max(1, int(args.timeout)), memory_mb=args.memory_mb
    )
    settings = grader.Settings(args.assignment, args.seed, limits, args.extra_checks)
    records = grader.grade_batch(paths, args.out, settings, jobs=max(1, args.jobs), force=args.force)
    total = sum(r["score"] for r in records)
    mean = total / max(len(records), 1)
    print(f"{len(records)} submissions; mean score {mean:.2f}; grade book: {args.out / 'grades.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
