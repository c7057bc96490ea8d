"""Write (or, with --check, verify) the points table in INSTRUCTORS.md from the question registry.

python tools/points_table.py            # rewrite the table between its markers
python tools/points_table.py --check    # exit 1 if it is out of date (what CI runs)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_utils.grading import questions

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=ROOT / "INSTRUCTORS.md")
    parser.add_argument("--check", action="store_true", help="only verify; exit 1 if the table is out of date")
    args = parser.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    fresh = questions.with_points_table(text)
    if args.check:
        if fresh != text:
            print(f"{args.path}: the points table is out of date; run `make points-table`", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        args.path.write_text(fresh, encoding="utf-8")
        print(f"{args.path}: points table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
