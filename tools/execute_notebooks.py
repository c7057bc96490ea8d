"""Execute notebooks in place under the course's one execution policy, and save them normalized.

    python tools/execute_notebooks.py notebooks/04_momentum.ipynb [more.ipynb or folders ...]

Each notebook runs top to bottom in a fresh kernel with its own folder as the working directory,
exactly as nbval and JupyterLab run it, with the environment of ``course_utils.execution`` (fixed
PYTHONHASHSEED, one BLAS thread unless you set the count, inline figures, a temporary HOME). The
saved file carries the outputs but no wall-clock timestamps, so executing an unchanged notebook
leaves it byte for byte as it was. The time per notebook is printed; the runtime budget is checked
from the test run (`make test` writes artifacts/notebook_times.json).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils import execution  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return execution.main(["execute", *args])


if __name__ == "__main__":
    sys.exit(main())
