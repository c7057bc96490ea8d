"""The term workflow around the batch grader: its grading options and its subcommands.

Grading options (added to ``python -m course_utils.grade ASSIGNMENT ...``):

    --roster roster.csv          match submissions to students; student_id in grades.csv
    --duplicates error|latest    two submissions for one student: stop (default) or keep the newest
    --late-policy late.toml      deadline, grace, penalty per day, max days, extensions
    --submission-times times.csv submission times exported from the LMS
    --shard K/N                  grade only part K of N of the batch (see shards.py)

Subcommands (``python -m course_utils.grade <command> ...``):

    written-export OUT --question Q --to DIR   anonymized answers page + CSV to fill in
    written-import OUT FILE.csv...             merge hand-graded points into grades.csv
    export OUT --to DIR [--canvas-column C]    Canvas CSV, plain CSV, feedback .md and .html
    gradescope ASSIGNMENT --out ZIP [--seed S] a Gradescope autograder zip
    merge SHARD_OUT... --out DIR               one grade book from the shards' folders
    similarity OUT [--threshold T]             instructor-only report of near-identical code

Every command is documented with examples in INSTRUCTORS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from . import gradebook, late, roster, shards

COMMANDS = ("written-export", "written-import", "export", "gradescope", "merge", "similarity")


# --- options of the grading command ---------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("term workflow (see INSTRUCTORS.md)")
    g.add_argument("--roster", type=Path, help="CSV of students (student id, name, email): match submissions to them")
    g.add_argument(
        "--duplicates",
        choices=("error", "latest"),
        default="error",
        help="several submissions for one student: stop with a report (default), or grade the latest",
    )
    g.add_argument("--late-policy", type=Path, help="TOML file: deadline, grace, penalty per day, extensions")
    g.add_argument("--submission-times", type=Path, help="CSV with student_id (or file) and submitted_at")
    g.add_argument("--shard", help="K/N: grade only the K-th of N parts of the batch (stable split by student id)")


def _sha(path: Path | None) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None


def _roots(paths, given) -> list[tuple[Path, Path | None]]:
    dirs = [Path(g) for g in given if Path(g).is_dir()]
    out = []
    for p in paths:
        root = next((d for d in dirs if Path(p).is_relative_to(d)), None)
        out.append((Path(p), root))
    return out


def _unique(ids: dict) -> dict:
    """Make ids unique: a collision gets a short hash of the path, never a silent overwrite."""
    seen, out = {}, {}
    for p in sorted(ids):
        sid = ids[p]
        if sid in seen:
            sid = f"{sid}__{hashlib.sha256(str(p).encode()).hexdigest()[:8]}"
        seen[sid] = p
        out[p] = sid
    return out


def prepare(args, paths, error) -> tuple[list[Path], dict]:
    """Match, time, assess and shard the batch; returns the paths to grade and their ids.

    ``error(message)`` stops the command (argparse's ``parser.error``). Writes
    ``OUT/workflow.json``, ``OUT/roster_report.csv`` and ``OUT/shard.json`` as they apply.
    """
    out = Path(args.out)
    try:
        policy = late.load_policy(args.late_policy)
        times = late.load_times(args.submission_times)
        students = roster.load_roster(args.roster) if args.roster else None
        shard = shards.parse_spec(args.shard) if args.shard else None
    except (late.PolicyError, roster.RosterError, shards.ShardError) as exc:
        error(str(exc))
    if shard is not None and getattr(args, "seed", 0) is None:  # a grader that draws a secret seed per run
        error(
            "--shard needs an explicit --seed, the same for every part: otherwise each part draws its own hidden inputs"
        )
    located = _roots(paths, args.submissions)
    info: dict[Path, dict] = {}
    missing: dict[str, dict] = {}
    ids: dict[Path, str] = {}
    if students is not None:
        report = roster.match_submissions(located, students)
        out.mkdir(parents=True, exist_ok=True)
        roster.write_report(out / "roster_report.csv", report)
        print(report.summary() + f"; details in {out / 'roster_report.csv'}")
        for m in report.unmatched:
            why = f"could be {', '.join(m.candidates)}" if m.candidates else "matches no student on the roster"
            print(f"  unmatched: {m.path} ({why}); graded as unmatched-{roster.slug(m.path.stem)}")
        dups = report.duplicates
        drop = set()
        for sid, ms in sorted(dups.items()):
            files = ", ".join(str(m.path) for m in ms)
            if args.duplicates == "error":
                continue
            dated = sorted(ms, key=lambda m: late.submission_time(m.path, (sid, str(m.path)), times, m.lms_time)[0])
            drop |= {m.path for m in dated[:-1]}
            print(f"  {sid} has {len(ms)} submissions ({files}); grading the latest, {dated[-1].path}")
        if dups and args.duplicates == "error":
            lines = [f"  {sid}: " + ", ".join(str(m.path) for m in ms) for sid, ms in sorted(dups.items())]
            error(
                "several submissions for one student (nothing was graded):\n"
                + "\n".join(lines)
                + "\nremove the extra files, or pass --duplicates latest to grade each student's newest one"
            )
        for m in report.matches:
            if m.path in drop:
                continue
            if m.student is not None:
                s = m.student
                ids[m.path] = s.slug
                info[m.path] = {**_student_dict(s), "match": m.how}
            else:
                ids[m.path] = f"unmatched-{roster.slug(m.path.stem)}"
                info[m.path] = {"student_id": "", "name": "", "match": "unmatched"}
            info[m.path]["lms_time"], info[m.path]["lms_late"] = m.lms_time, m.lms_late
        for s in report.missing:
            missing[s.slug] = _student_dict(s)
    else:
        for p, root in located:
            folder = p.relative_to(root).parts[0] if root is not None and len(p.relative_to(root).parts) > 1 else None
            ids[p] = roster.slug(folder or p.stem)
            info[p] = {"student_id": "", "name": "", "lms_time": None, "lms_late": False}
    ids = _unique(ids)
    all_ids = set(ids.values()) | set(missing)
    if shard is not None:
        k, n = shard
        ids = {p: sid for p, sid in ids.items() if shards.shard_of(sid, n) == k}
        missing = {sid: s for sid, s in missing.items() if shards.shard_of(sid, n) == k}
    students_out = {}
    for p, sid in ids.items():
        entry = {**info[p], "file": str(Path(p).resolve())}  # later commands may run from another folder
        if policy is not None or times:
            when, source = late.submission_time(p, (entry.get("student_id"), sid, str(p), p.name), times,
                                                entry.get("lms_time"))  # fmt: skip
            entry["submitted_at"], entry["time_source"] = when.isoformat(), source
            if policy is not None:
                entry["late"] = policy.assess(when, entry.get("student_id") or sid)
        students_out[sid] = entry
    inputs = {
        "roster_sha256": _sha(args.roster),
        "late_policy_sha256": _sha(args.late_policy),
        "submission_times_sha256": _sha(args.submission_times),
        "duplicates": args.duplicates,
    }
    state = {
        "students": students_out,
        "missing": missing,
        "late_policy": policy.as_dict() if policy else None,
        "inputs": inputs,
    }
    out.mkdir(parents=True, exist_ok=True)
    gradebook.write_json(out / gradebook.WORKFLOW, state)
    if shard is not None:
        shards.write_shard_file(out, shard[0], shard[1], all_ids, set(ids.values()) | set(missing), inputs)
        print(f"shard {shard[0]}/{shard[1]}: {len(ids)} of {len(all_ids)} submissions and students")
    return sorted(ids), ids


def _student_dict(s: roster.Student) -> dict:
    return {
        "student_id": s.student_id,
        "name": s.name,
        "email": s.email,
        "canvas_id": s.canvas_id,
        "login": s.login,
        "section": s.section,
    }


def finish(args) -> None:
    """Fold roster ids, written points and late penalties into grades.csv."""
    book = gradebook.finalize(args.out)
    if book.written:
        print(
            f"written questions ({', '.join(q.name for q in book.written)}) are not in the score until you import "
            "their points: python -m course_utils.grade written-export ... / written-import ..."
        )


# --- subcommands ----------------------------------------------------------------------------------


def main(argv) -> int:
    from . import exports, gradescope, similarity, written

    p = argparse.ArgumentParser(prog="python -m course_utils.grade", description="term workflow commands")
    sub = p.add_subparsers(dest="command", required=True)
    we = sub.add_parser("written-export", help="one anonymized page of answers to a written question, and a CSV")
    we.add_argument("out", type=Path, help="a grading output folder")
    we.add_argument("--question", required=True)
    we.add_argument("--to", type=Path, required=True, help="folder for the page and the CSV")
    wi = sub.add_parser("written-import", help="merge filled-in written-points CSVs into grades.csv")
    wi.add_argument("out", type=Path)
    wi.add_argument("csv", type=Path, nargs="+")
    ex = sub.add_parser("export", help="Canvas CSV, plain CSV, and feedback as Markdown and HTML")
    ex.add_argument("out", type=Path)
    ex.add_argument("--to", type=Path, required=True)
    ex.add_argument("--canvas-column", help='the assignment column as Canvas names it, e.g. "Ex08 Adam (123456)"')
    gs = sub.add_parser("gradescope", help="build a Gradescope autograder zip for one assignment")
    gs.add_argument("assignment")
    gs.add_argument("--out", type=Path, required=True, help="the zip file to write")
    gs.add_argument("--seed", type=int, help="grading seed (default: drawn at random and kept in the zip)")
    gs.add_argument("--timeout", type=float, default=20.0, help="wall-clock seconds per question")
    mg = sub.add_parser("merge", help="combine the output folders of --shard K/N runs into one grade book")
    mg.add_argument("shards", type=Path, nargs="+")
    mg.add_argument("--out", type=Path, required=True, help="a new, empty folder")
    si = sub.add_parser("similarity", help="instructor-only report of submissions with near-identical code")
    si.add_argument("out", type=Path)
    si.add_argument("--threshold", type=float, default=0.8, help="report pairs at least this similar (0 to 1)")
    args = p.parse_args(argv)

    try:
        if args.command == "written-export":
            page, table = written.export(args.out, args.question, args.to)
            print(f"answers: {page}\npoints to fill in: {table}")
        elif args.command == "written-import":
            counts = written.import_points(args.out, args.csv)
            print(f"imported {counts['imported']} scores ({counts['blank']} rows left blank); "
                  f"grade book updated: {args.out / 'grades.csv'}")  # fmt: skip
        elif args.command == "export":
            done = exports.export_all(args.out, args.to, args.canvas_column)
            print(f"{done['students']} rows exported to {args.to} (canvas.csv, grades.csv, feedback/)")
            if done["not_in_canvas"]:
                print(f"not in canvas.csv (no student matched): {', '.join(done['not_in_canvas'])}")
        elif args.command == "gradescope":
            path = gradescope.build(args.assignment, args.out, args.seed, args.timeout)
            print(f"Gradescope autograder: {path} (it contains the grading seed: keep it private)")
        elif args.command == "merge":
            book = shards.merge(args.shards, args.out)
            print(f"merged {len(args.shards)} shards: {len(book.rows)} rows in {args.out / 'grades.csv'}")
        elif args.command == "similarity":
            if not 0 <= args.threshold <= 1:
                p.error(f"--threshold must be between 0 and 1, got {args.threshold}")
            pairs = similarity.report(args.out, args.threshold)
            print(f"{len(pairs)} pairs at or above {args.threshold:g}: {args.out / 'instructor' / 'similarity.csv'} "
                  "(for you to look at; not a verdict, never sent to students)")  # fmt: skip
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
