"""Build the exercises and solutions, and the student release (instructor tool).

python -m course_utils.assignments build              # exercises/, solutions/, public check data; executed
python -m course_utils.assignments build --no-execute --only ex08_adam
python -m course_utils.assignments release OUT_DIR    # what students get
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    from course_utils.instructor import build

    parser = argparse.ArgumentParser(prog="python -m course_utils.assignments", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="regenerate exercises/ and solutions/ from assignments/source/")
    b.add_argument("--dest", type=Path, default=build.ROOT, help="folder that receives exercises/ and solutions/")
    b.add_argument("--only", nargs="*", help="assignment names, e.g. ex08_adam")
    b.add_argument("--no-execute", action="store_true", help="do not run the notebooks")
    r = sub.add_parser("release", help="copy lectures, exercises and course_utils (without instructor tools)")
    r.add_argument("out", type=Path)
    args = parser.parse_args(argv)

    if args.command == "build":
        for path in build.write_public_data(only=args.only):
            print(f"wrote {path.relative_to(build.ROOT)}")
        for path in build.build_notebooks(args.dest, args.only):
            if not args.no_execute:
                build.execute_notebook(path)
            print(f"wrote {path}" + ("" if args.no_execute else " (executed)"))
        return 0
    try:
        out = build.release(args.out)
    except FileExistsError as exc:
        parser.error(str(exc))
    print(f"student release written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
