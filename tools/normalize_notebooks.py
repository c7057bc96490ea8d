"""Put committed notebooks into their normal form without executing them (idempotent).

    python tools/normalize_notebooks.py                  # notebooks/, exercises/, solutions/, assignments/source/
    python tools/normalize_notebooks.py PATH [PATH ...]  # files or folders
    python tools/normalize_notebooks.py --check          # list what is not normalized; exit 1 if anything

Removes per-cell wall-clock timestamps (``metadata.execution``), ``course.execution_seconds`` and the
kernel's Python patch version, and rewrites the JSON in nbformat's layout; outputs and execution
counts stay. Running it twice changes nothing the second time. See course_utils/execution.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_utils import execution  # noqa: E402

DEFAULT_FOLDERS = ("notebooks", "exercises", "solutions", "assignments/source")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    flags = [a for a in args if a.startswith("-")]
    paths = [a for a in args if not a.startswith("-")] or [str(ROOT / f) for f in DEFAULT_FOLDERS]
    return execution.main(["normalize", *flags, *paths])


if __name__ == "__main__":
    sys.exit(main())
