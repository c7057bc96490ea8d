"""Batch-grade submitted notebooks (instructor tool).

Usage::

    python -m course_utils.grade ex08_adam submissions/*.ipynb --out graded/ex08 --jobs 4

Writes ``OUT/grades.csv`` (one row per submission), ``OUT/feedback/<name>.md`` and ``.json``
(for students), ``OUT/results/<name>.json`` (everything, HMAC-signed, for resuming) and
``OUT/manifest.json`` (the SECRET seed and HMAC key, package version, hash of the checks; keep it
private). Student code runs in a bubblewrap sandbox (``bwrap``); without it the grader refuses,
unless ``--no-sandbox`` is given. Re-running skips submissions already graded under the same
manifest whose stored record verifies. See INSTRUCTORS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    from course_utils.instructor import workflow

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in workflow.COMMANDS:  # term workflow subcommands (written-export, merge, ...)
        return workflow.main(argv)
    from course_utils.grading.questions import ASSIGNMENTS
    from course_utils.instructor import grader, sandbox

    p = argparse.ArgumentParser(prog="python -m course_utils.grade", description=__doc__.splitlines()[0])
    p.add_argument("assignment", choices=sorted(ASSIGNMENTS), metavar="ASSIGNMENT", help="e.g. ex08_adam")
    p.add_argument("submissions", nargs="+", type=Path, help="notebooks, or folders of notebooks")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="grading seed (default: a fresh secret one, or the one in OUT/manifest.json when resuming)",
    )
    p.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    p.add_argument("--timeout", type=float, default=20.0, help="wall-clock seconds per question")
    p.add_argument("--cpu-seconds", type=int, default=None, help="CPU seconds per question (default: the timeout)")
    p.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per question")
    p.add_argument("--extra-checks", type=Path, help="a Python file defining EXTRA_CASES (see INSTRUCTORS.md)")
    p.add_argument("--force", action="store_true", help="re-grade everything, ignoring stored results")
    p.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run student code WITHOUT the bubblewrap sandbox (recorded in the manifest and in every feedback)",
    )
    workflow.add_arguments(p)  # --roster, --duplicates, --late-policy, --submission-times, --shard
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
    settings = grader.Settings(args.assignment, args.seed, limits, args.extra_checks, use_sandbox=not args.no_sandbox)
    paths, ids = workflow.prepare(args, paths, p.error)  # roster ids, submission times, late work, shard
    try:
        records = grader.grade_batch(paths, args.out, settings, jobs=max(1, args.jobs), force=args.force, ids=ids)
    except sandbox.SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    workflow.finish(args)  # student_id, written points and late penalties into grades.csv
    total = sum(r["score"] for r in records)
    mean = total / max(len(records), 1)
    print(f"{len(records)} submissions; mean score {mean:.2f}; grade book: {args.out / 'grades.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
