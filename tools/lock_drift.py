"""What changed between two lock files, for the Python running this script (`make test-latest`).

    python tools/lock_drift.py requirements.lock artifacts/latest.lock [--out drift.txt]

Prints one line per package whose pinned version differs (or that only one lock has), after
evaluating each line's environment marker for this interpreter and platform. Always exits 0: it is
a report, so that an upgrade is a decision (`make lock-upgrade`), not an accident.
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def pins(path: str | Path) -> dict[str, str]:
    """``{name: version}`` of the ``name==version`` lines of a lock that apply to this interpreter."""
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        (spec,) = req.specifier
        out[canonicalize_name(req.name)] = spec.version
    return out


def drift(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """``name old -> new`` lines, sorted by name.

    >>> drift({"numpy": "2.4.6", "tqdm": "4.70.1"}, {"numpy": "2.5.0", "tqdm": "4.70.1", "rich": "15.0"})
    ['numpy 2.4.6 -> 2.5.0', 'rich (not locked) -> 15.0']
    """
    lines = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, "(not locked)"), new.get(name, "(gone)")
        if a != b:
            lines.append(f"{name} {a} -> {b}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = None
    if "--out" in args:
        i = args.index("--out")
        out = Path(args[i + 1])
        del args[i : i + 2]
    locked, latest = args
    lines = drift(pins(locked), pins(latest))
    py = ".".join(map(str, sys.version_info[:3]))
    head = f"{len(lines)} package(s) differ between {locked} and {latest} (Python {py}, {sys.platform}):"
    text = "\n".join([head, *(f"  {line}" for line in lines)]) + "\n"
    print(text, end="")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
