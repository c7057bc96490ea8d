"""Read a submitted notebook without running it: find the functions and the written answers.

Tolerant by design (nbgrader #1083, #1941): cells may be missing, duplicated, reordered,
re-typed or broken. Every code cell is parsed on its own with :mod:`ast`; a cell with a syntax
error is skipped (as it would have failed in the notebook); for every name the *last*
definition wins, exactly as when the notebook is run top to bottom. A function that only
exists in a markdown or raw cell (a cell whose type was changed by accident) is used as a
fallback and flagged. Nothing is executed here.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ANSWER_MARK = re.compile(r"<!--\s*answer:\s*([A-Za-z_][\w]*)\s*-->")
ANSWER_PROMPT = re.compile(r"^\s*\*\*Your answer:\*\*\s*$", re.M)
BLANK_ANSWERS = {"", "YOUR ANSWER HERE"}
_SAFE_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)


@dataclass
class Definition:
    names: tuple  # names this statement binds
    code: str  # the statement, unparsed
    order: tuple  # (cell index, statement index)
    uses: frozenset  # names it reads


@dataclass
class Submission:
    path: Path
    readable: bool = True
    error: str | None = None
    flags: list = field(default_factory=list)
    definitions: dict = field(default_factory=dict)  # name -> list[Definition] from code cells, in order
    fallback: dict = field(default_factory=dict)  # name -> list[Definition] from markdown/raw cells
    written: dict = field(default_factory=dict)  # answer id -> text

    def count(self, name) -> int:
        return len(self.definitions.get(name, []))


def _source(cell) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(str(s) for s in src)
    return src if isinstance(src, str) else ""


def _strip_ipython(src: str) -> str | None:
    """Python source without IPython syntax; None for a cell magic we cannot interpret."""
    lines = src.split("\n")
    first = next((ln for ln in lines if ln.strip()), "")
    if first.lstrip().startswith("%%"):
        magic = first.strip()[2:].split()[0] if first.strip()[2:] else ""
        if magic not in _SAFE_CELL_MAGICS:
            return None
        lines = lines[lines.index(first) + 1 :]
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            out.append(line[: len(line) - len(stripped)] + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def _used_names(node) -> frozenset:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


def _is_simple_block(stmts) -> bool:
    return all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Assign, ast.Pass, ast.Expr)) for s in stmts)


def _bound_names(node) -> tuple | None:
    """Names bound by a top-level statement we are willing to keep, else None."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple("*" if a.name == "*" else (a.asname or a.name.split(".")[0]) for a in node.names)
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if node.value is None or not all(isinstance(t, ast.Name) for t in targets):
            return None
        names = tuple(t.id for t in targets)
        if isinstance(node.value, ast.Lambda):  # gd_step = lambda x, grad, lr: ...
            return names
        try:
            ast.literal_eval(node.value)
            return names
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return names if all(n.isupper() for n in names) else None
    if isinstance(node, ast.Try):  # e.g. try: import torch / except ImportError: torch = None
        parts = list(node.body) + [s for h in node.handlers for s in h.body] + list(node.orelse) + list(node.finalbody)
        if not _is_simple_block(parts):
            return None
        names = []
        for s in parts:
            if isinstance(s, (ast.Import, ast.ImportFrom)):
                names.extend(_bound_names(s))
            elif isinstance(s, ast.Assign):
                names.extend(t.id for t in s.targets if isinstance(t, ast.Name))
        return tuple(names)
    return None


def _collect(src: str, cell_index: int, into: dict) -> bool:
    """Add the definitions of one cell to ``into``; False when the cell does not parse."""
    try:
        tree = ast.parse(src)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    for k, node in enumerate(tree.body):
        names = _bound_names(node)
        if not names:
            continue
        try:
            code = ast.unparse(node)
        except (ValueError, RecursionError):  # pragma: no cover - ast.unparse of a parsed tree
            continue
        d = Definition(names, code, (cell_index, k), _used_names(node))
        for name in names:
            into.setdefault(name, []).append(d)
    return True


def read_submission(path, headings: dict | None = None, data: bytes | None = None) -> Submission:
    """Parse a notebook file; never raises (an unreadable file gives ``readable=False``).

    Written answers are found by their ``<!-- answer: id -->`` comment, else by the cell's
    ``course.answer`` metadata, else (``headings``: id -> question title) as the cell right after
    the markdown cell that holds the question's heading. ``data``: the file's bytes, already read
    (the grader reads them itself, safely, and never lets this function open the path).
    """
    path = Path(path)
    sub = Submission(path)
    try:
        raw = path.read_bytes() if data is None else data
    except OSError as exc:
        sub.readable, sub.error = False, f"cannot read the file: {exc.strerror}"
        return sub
    if not raw.strip():
        sub.readable, sub.error = False, "the file is empty"
        return sub
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        sub.readable, sub.error = False, "not a notebook (invalid JSON)"
        return sub
    cells = data.get("cells") if isinstance(data, dict) else None
    if isinstance(cells, list):  # nbformat 4: read the cells as they are, even if the file is not quite valid
        try:
            nbformat.validate(nbformat.from_dict(data))
        except Exception:  # noqa: BLE001 - any validation problem is only worth a flag
            sub.flags.append("malformed-notebook")
    elif isinstance(data, dict) and "worksheets" in data:  # nbformat 3: let nbformat upgrade it
        try:
            cells = list(nbformat.reads(text, as_version=4).cells)
        except Exception:  # noqa: BLE001
            cells = None
    if not isinstance(cells, list):
        sub.readable, sub.error = False, "not a notebook (no cells)"
        return sub
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        kind, src = cell.get("cell_type"), _source(cell)
        if kind == "code":
            py = _strip_ipython(src)
            if py is None:
                continue
            if not _collect(py, i, sub.definitions):
                sub.flags.append(f"syntax-error:cell-{i + 1}")
        elif kind in ("markdown", "raw"):
            blocks = _FENCE.findall(src) or [src]
            for block in blocks:
                if "def " in block:
                    _collect(block, i, sub.fallback)
        if kind in ("markdown", "raw", "code"):
            match = ANSWER_MARK.search(src)
            answer_id = match.group(1) if match else (cell.get("metadata") or {}).get("course", {}).get("answer")
            if answer_id:
                body = ANSWER_PROMPT.sub("", ANSWER_MARK.sub("", src)).strip()
                sub.written[answer_id] = body
    for answer_id, title in (headings or {}).items():
        if answer_id in sub.written:
            continue
        for i, cell in enumerate(cells[:-1]):
            nxt = cells[i + 1]
            if (
                isinstance(cell, dict)
                and isinstance(nxt, dict)
                and title in _source(cell)
                and "(written" in _source(cell)
            ):
                if nxt.get("cell_type") in ("markdown", "raw"):
                    sub.written[answer_id] = ANSWER_PROMPT.sub("", _source(nxt)).strip()
                    sub.flags.append(f"answer-found-by-heading:{answer_id}")
                break
    return sub


def _defines_callable(d: Definition) -> bool:
    node = ast.parse(d.code).body[0]
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or (
        isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda)
    )


def assemble(sub: Submission, function: str) -> tuple[str | None, list]:
    """The code a child needs to define ``function``: it and what it uses, in notebook order.

    Returns ``(code, flags)``; code is None when the function is not defined anywhere.
    """
    flags = []
    table = sub.definitions
    if function not in table or not any(_defines_callable(d) for d in table[function][-1:]):
        if function in sub.fallback:
            table = {**sub.definitions, function: sub.fallback[function]}
            flags.append(f"retyped-cell:{function}")
        else:
            return None, flags
    if len(table.get(function, [])) > 1:
        flags.append(f"duplicate:{function}")
    chosen, stack = {}, [function]
    star = [d for d in sub.definitions.get("*", [])]
    while stack:
        name = stack.pop()
        if name in chosen or name not in table:
            continue
        d = table[name][-1]  # the last definition wins, as in a notebook run top to bottom
        chosen[name] = d
        stack.extend(n for n in d.uses if n not in chosen)
    picked = {id(d): d for d in list(chosen.values()) + star}
    ordered = sorted(picked.values(), key=lambda d: d.order)
    return "\n\n".join(d.code for d in ordered) + "\n", flags
