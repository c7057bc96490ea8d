"""What the grader reads from a notebook: each graded function and everything it needs.

One implementation for the batch grader and for :func:`course_utils.grading.validate`, so that a
student sees before submitting exactly what will be graded. Nothing is executed here.

How a notebook is read (tolerant by design, nbgrader #1083, #1941):

* every code cell is compiled on its own, after IPython's own input transformer has turned magics,
  shell lines (``!pip``) and ``?`` help into Python; a cell that does not compile is skipped, as it
  would have failed in the notebook. Magics and shell lines are then dropped (inside a function
  they become ``pass``);
* each top-level statement that *defines* something is kept: imports, ``def`` and ``class``,
  assignments (``b1, b2 = 0.9, 0.999``; ``sqrt = np.sqrt``; ``W = np.zeros(3)``), augmented
  assignments and in-place changes of an assigned name (``CONFIG["lr"] = 0.1``,
  ``LAYERS.append(...)``), and ``if``/``try`` blocks made only of such statements. Loops, ``with``
  blocks, plots, prints and other calls are never run by the grader;
* for a graded function, the grader keeps the definitions it needs and nothing else, transitively
  and in notebook order, exactly as a top-to-bottom run resolves names: a name read when a
  statement runs (an assignment's value, a default argument, a decorator) comes from the last
  definition *before* that statement; a name read inside a function body comes from the last
  definition in the whole notebook (the last definition wins);
* a function that only exists in a markdown or raw cell (a cell whose type was changed by
  accident) is used as a fallback and flagged.

Whatever cannot be carried faithfully is reported in words a student can act on (a name set only by
a loop, a name that only exists inside Jupyter, a value computed by reading a file).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import difflib
import json
import re
import symtable
from dataclasses import dataclass, field
from pathlib import Path

ANSWER_MARK = re.compile(r"<!--\s*answer:\s*([A-Za-z_][\w]*)\s*-->")
ANSWER_PROMPT = re.compile(r"^\s*\*\*Your answer:\*\*\s*$", re.M)
BLANK_ANSWERS = {"", "YOUR ANSWER HERE"}
# cell magics that run their body in the notebook's namespace (%%timeit runs it in a private one)
_BODY_CELL_MAGICS = {"time", "capture"}
_FENCE = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)
_IPYTHON_CHARS = re.compile(r"[%!?]")
_COMPREHENSIONS = {"listcomp", "setcomp", "dictcomp", "genexpr"}
_BUILTINS = frozenset(dir(builtins))
# names a notebook has that plain Python does not
_JUPYTER_ONLY = {"get_ipython", "display", "In", "Out", "_ih", "_oh", "_dh", "exit", "quit"}
_DONT_RUN = {
    "for": "a `for` loop",
    "while": "a `while` loop",
    "with": "a `with` block",
    "if": "an `if` block with other statements in it",
    "try": "a `try` block with other statements in it",
    "match": "a `match` block",
    "shell": "a shell command or magic",
    "await": "top-level `await`",
}


@dataclass(frozen=True)
class Definition:
    """One top-level statement that binds names."""

    names: tuple  # names it binds, or changes in place
    code: str  # the statement, as Python source
    order: tuple  # (cell index, statement index)
    eager: frozenset  # global names read when the statement runs
    lazy: frozenset  # global names read later, when a function it defines is called
    kind: str  # import, def, class, assign, change, block; or a key of _DONT_RUN
    runs_code: bool = False  # its value is computed by calling code when it runs
    carried: bool = True  # False: it binds names, but the grader does not run it

    @property
    def uses(self) -> frozenset:
        return self.eager | self.lazy

    @property
    def cell(self) -> int:
        """1-based, as a student counts cells."""
        return self.order[0] + 1

    @property
    def summary(self) -> str:
        """The statement's first line, shortened: for messages."""
        first = self.code.strip().split("\n", 1)[0]
        first = first if len(first) <= 70 else first[:67] + "..."
        return first + (" ..." if "\n" in self.code.strip() and not first.endswith("...") else "")


@dataclass
class Submission:
    path: Path
    readable: bool = True
    error: str | None = None
    flags: list = field(default_factory=list)
    definitions: dict = field(default_factory=dict)  # name -> list[Definition] from code cells, in order
    fallback: dict = field(default_factory=dict)  # name -> list[Definition] from markdown/raw cells
    written: dict = field(default_factory=dict)  # answer id -> text
    broken: dict = field(default_factory=dict)  # cell index -> (error message, source) of cells that do not compile
    nested: dict = field(default_factory=dict)  # name -> cell index of functions defined inside other code
    exec_cells: list = field(default_factory=list)  # indices of the code cells that call exec() (never run)
    in_strings: set = field(default_factory=set)  # names that a string constant of a code cell defines ("def f(")
    metadata: dict = field(default_factory=dict)  # the notebook's metadata (a dict, possibly empty)
    commits: dict = field(default_factory=dict)  # predict question -> list of Commit, one per commit() call
    exec_counts: dict = field(default_factory=dict)  # code cell index -> its saved execution count, if an int

    def count(self, name) -> int:
        return len(self.definitions.get(name, []))


@dataclass(frozen=True)
class Commit:
    """One top-level ``commit("question", NAME)`` call in a code cell, and what that cell printed."""

    cell: int  # 0-based index of the cell (the experiment's cell)
    argument: str  # the second argument as source: a bare name when the cell reads the prediction
    printed: str  # the cell's saved stdout (capped): holds commit()'s receipt if the cell ran


MAX_PRINTED = 20_000  # characters of a cell's saved output that are searched for a receipt


def _printed(cell) -> str:
    out, size = [], 0
    outputs = cell.get("outputs")
    for o in outputs if isinstance(outputs, list) else []:
        if not isinstance(o, dict) or o.get("output_type") != "stream" or o.get("name") != "stdout":
            continue
        text = o.get("text", "")
        text = "".join(t for t in text if isinstance(t, str)) if isinstance(text, list) else text
        if isinstance(text, str):
            out.append(text[: MAX_PRINTED - size])
            size += len(out[-1])
    return "".join(out)


def _commits(py: str, cell_index: int, cell, into: dict) -> None:
    """Record the cell's top-level ``commit("name", value)`` calls (a call in a loop or a function is not one)."""
    try:
        tree = ast.parse(py)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return
    for node in tree.body:  # `commit(...)` on its own line, or `if commit(...):` guarding the experiment
        call = node.value if isinstance(node, ast.Expr) else node.test if isinstance(node, ast.If) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "commit"):
            continue
        if len(call.args) != 2 or call.keywords:
            continue
        name = call.args[0]
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            try:
                argument = ast.unparse(call.args[1])[:200]
            except (ValueError, RecursionError):
                continue
            into.setdefault(name.value, []).append(Commit(cell_index, argument, _printed(cell)))


@dataclass
class Answer:
    """What the grader runs for one graded function, and what a student should know about it."""

    function: str
    code: str | None  # None: the function was not found
    definitions: list = field(default_factory=list)  # the Definitions kept, in notebook order
    flags: list = field(default_factory=list)  # for the instructor's grade book
    problems: list = field(default_factory=list)  # what will fail or differ at grading time
    notes: list = field(default_factory=list)  # what is worth knowing (values computed when loaded)
    reason: str | None = None  # why the function was not found

    @property
    def found(self) -> bool:
        return self.code is not None

    @property
    def pulled_in(self) -> list:
        """``(name, cell)`` of every other top-level name the function brings along."""
        out = []
        for d in self.definitions:
            out.extend((n, d.cell) for n in d.names if n != self.function and n != "*")
        return out

    @property
    def runs_code(self) -> list:
        return [d for d in self.definitions if d.runs_code]

    def public(self) -> dict:
        """A JSON-able summary for feedback files (the student's own code only)."""
        return {
            "found": self.found,
            "names": [f"{n} (cell {c})" for n, c in self.pulled_in],
            "runs_code": [f"`{d.summary}` (cell {d.cell})" for d in self.runs_code],
            "problems": list(self.problems),
        }


# --- reading cells --------------------------------------------------------------------------------


def _source(cell) -> str:
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(str(s) for s in src)
    return src if isinstance(src, str) else ""


def _python_source(src: str) -> str | None:
    """The cell as plain Python (IPython syntax transformed); None for a cell magic that hides its body."""
    lines = src.split("\n")
    first = next((ln for ln in lines if ln.strip()), "")
    if first.lstrip().startswith("%%"):
        words = first.strip()[2:].split()
        if not words or words[0] not in _BODY_CELL_MAGICS:
            return None
        src = "\n".join(lines[lines.index(first) + 1 :])
    if not _IPYTHON_CHARS.search(src):
        return src
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(src)
    except Exception:  # noqa: BLE001 - IPython missing, or its transformer chokes on odd input
        return _strip_ipython(src)


def _strip_ipython(src: str) -> str:
    """A fallback without IPython: a line that starts with ``%`` or ``!`` becomes ``pass``."""
    out = []
    for line in src.split("\n"):
        stripped = line.lstrip()
        out.append(line[: len(line) - len(stripped)] + "pass" if stripped.startswith(("%", "!")) else line)
    return "\n".join(out)


def _is_ipython_call(node) -> bool:
    """``get_ipython().anything(...)``: what IPython's transformer makes of a magic or a shell line."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Call)
        and isinstance(node.func.value.func, ast.Name)
        and node.func.value.func.id == "get_ipython"
    )


class _DropMagics(ast.NodeTransformer):
    """Magics and shell lines used as statements do nothing at grading time."""

    def visit_Expr(self, node):
        return ast.copy_location(ast.Pass(), node) if _is_ipython_call(node.value) else node


# --- what a statement binds and reads ------------------------------------------------------------


def _base_name(node):
    """``x`` for ``x``, ``x.a``, ``x[0]``, ``x.a[1].b``; None for anything else."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(node, bound, changed) -> bool:
    """Split an assignment target into names bound and names changed in place; False if unsupported."""
    if isinstance(node, ast.Name):
        bound.append(node.id)
        return True
    if isinstance(node, ast.Starred):
        return _targets(node.value, bound, changed)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_targets(e, bound, changed) for e in node.elts)
    base = _base_name(node)
    if base is None:
        return False
    changed.append(base)
    return True


def _stored_names(node) -> list:
    """Every name a statement binds at top level (for statements the grader does not run)."""
    names = []

    def visit(n):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(n.name)
            return
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            names.extend(a.asname or a.name.split(".")[0] for a in n.names if a.name != "*")
            return
        if isinstance(n, ast.Lambda) or isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.append(n.id)
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(node)
    return list(dict.fromkeys(names))


def _runs_code(node) -> bool:
    """True when running the statement calls code (outside the bodies of functions it defines)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend(n.decorator_list)
            stack.extend(d for d in n.args.defaults + n.args.kw_defaults if d is not None)
            continue
        if isinstance(n, ast.Lambda):
            stack.extend(d for d in n.args.defaults + n.args.kw_defaults if d is not None)
            continue
        stack.extend(ast.iter_child_nodes(n))
    return False


def _scopes(code: str, extra_eager=()) -> tuple[frozenset, frozenset]:
    """``(eager, lazy)`` global names a statement reads, from Python's own symbol tables."""
    eager, lazy = set(extra_eager), set()

    def visit(table, is_lazy):
        kind = table.get_type()
        for sym in table.get_symbols():
            if kind == "module":
                if sym.is_referenced():
                    (lazy if is_lazy else eager).add(sym.get_name())
            elif sym.is_global() and (sym.is_referenced() or sym.is_declared_global()):
                (lazy if is_lazy else eager).add(sym.get_name())
        for child in table.get_children():
            deferred = child.get_type() == "function" and child.get_name() not in _COMPREHENSIONS
            visit(child, is_lazy or deferred)

    visit(symtable.symtable(code, "<cell>", "exec"), False)
    return frozenset(eager), frozenset(lazy)


def _is_definition_block(stmts) -> bool:
    for s in stmts:
        if isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)):
            continue
        if isinstance(s, (ast.If, ast.Try)):
            if not _is_definition_block(_block_parts(s)):
                return False
            continue
        if isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and not _is_ipython_call(s.value):
            continue
        return False
    return True


def _block_parts(node) -> list:
    if isinstance(node, ast.If):
        return list(node.body) + list(node.orelse)
    return list(node.body) + [s for h in node.handlers for s in h.body] + list(node.orelse) + list(node.finalbody)


def _classify(node, assigned: set):
    """``(names, kind, extra eager names, carried)`` for a top-level statement, or None if it binds nothing.

    ``assigned``: names whose current binding is an assignment (their in-place changes are kept).
    """
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return (node.name,), "def", (), True
    if isinstance(node, ast.ClassDef):
        return (node.name,), "class", (), True
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return None
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = tuple("*" if a.name == "*" else (a.asname or a.name.split(".")[0]) for a in node.names)
        return names, "import", (), True
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        if node.value is None:  # a bare annotation `x: int` binds nothing
            return None
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        bound, changed = [], []
        if not all(_targets(t, bound, changed) for t in targets):
            return None
        if isinstance(node, ast.AugAssign):  # x += 1 reads x: it changes the previous value
            changed, bound = changed + bound, []
        names = tuple(dict.fromkeys(bound + changed))
        if _is_ipython_call(node.value):  # files = !ls
            return names, "shell", (), False
        return names, ("change" if changed else "assign"), tuple(changed), True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):  # LAYERS.append(...), CONFIG.update(...)
        func = node.value.func
        base = _base_name(func.value) if isinstance(func, ast.Attribute) else None
        if base in assigned and not _is_ipython_call(node.value):
            return (base,), "change", (base,), True
        return None
    if isinstance(node, (ast.If, ast.Try)):
        names = tuple(_stored_names(node))
        if not names:
            return None
        if _is_definition_block(_block_parts(node)):
            return names, "block", (), True
        return names, "if" if isinstance(node, ast.If) else "try", (), False
    for cls, kind in _LOOPS_AND_BLOCKS:
        if isinstance(node, cls):
            names = tuple(_stored_names(node))
            return (names, kind, (), False) if names else None
    return None


_LOOPS_AND_BLOCKS = [(ast.For, "for"), (ast.AsyncFor, "for"), (ast.While, "while"), (ast.With, "with")]
_LOOPS_AND_BLOCKS += [(ast.AsyncWith, "with")] + ([(ast.Match, "match")] if hasattr(ast, "Match") else [])


_DEF_IN_STRING = re.compile(r"\bdef\s+([A-Za-z_]\w*)\s*\(")


def _collect(src: str, cell_index: int, into: dict, assigned: set, broken=None, nested=None, sub=None) -> bool:
    """Add the definitions of one cell to ``into``; False when the cell does not compile.

    ``assigned`` (updated): names whose current binding is an assignment, whose in-place changes count.
    ``sub`` (code cells): its ``exec_cells`` and ``in_strings`` are updated, to explain a function that is
    defined only through ``exec()``.
    """
    try:
        compile(src, f"<cell {cell_index + 1}>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        tree = _DropMagics().visit(ast.parse(src))
    except SyntaxError as exc:
        if broken is not None:
            broken[cell_index] = (f"{exc.msg} (line {exc.lineno})", src)
        return False
    except (ValueError, MemoryError, RecursionError) as exc:
        if broken is not None:
            broken[cell_index] = (type(exc).__name__, src)
        return False
    if nested is not None:
        for top in tree.body:
            for n in ast.walk(top):
                if n is not top and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    nested.setdefault(n.name, cell_index)
                if sub is None:
                    continue
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "exec":
                    if cell_index not in sub.exec_cells:
                        sub.exec_cells.append(cell_index)
                elif isinstance(n, ast.Constant) and isinstance(n.value, str) and "def" in n.value:
                    sub.in_strings.update(_DEF_IN_STRING.findall(n.value))
    for k, node in enumerate(tree.body):
        try:
            found = _classify(node, assigned)
            if found is None:
                continue
            names, kind, extra, carried = found
            code = ast.unparse(node)
            try:
                eager, lazy = _scopes(code, extra)
            except SyntaxError:  # e.g. top-level await: compiles in a notebook, not as a module
                eager, lazy, kind, carried = frozenset(), frozenset(), "await", False
            runs = kind in ("assign", "change", "block") and _runs_code(node)
        except (ValueError, MemoryError, RecursionError):  # absurdly deep code: as if the statement were absent
            continue
        d = Definition(names, code, (cell_index, k), eager, lazy, kind, runs, carried)
        for name in names:
            into.setdefault(name, []).append(d)
        assigned.difference_update(names)
        if kind in ("assign", "change", "block"):
            assigned.update(names)
    return True


def _parse_notebook(sub: Submission, raw: bytes):
    """The notebook's list of cells, or None (with ``sub.error`` set)."""
    import nbformat  # here: importing it takes a while, and `from course_utils.grading import check` needs none

    if not raw.strip():
        sub.readable, sub.error = False, "the file is empty"
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        sub.readable, sub.error = False, "not a notebook (invalid JSON)"
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    if isinstance(cells, list):  # nbformat 4: read the cells as they are, even if the file is not quite valid
        try:
            nbformat.validate(nbformat.from_dict(data))
        except Exception:  # noqa: BLE001 - any validation problem is only worth a flag
            sub.flags.append("malformed-notebook")
        if isinstance(data.get("metadata"), dict):
            sub.metadata = data["metadata"]
    elif isinstance(data, dict) and "worksheets" in data:  # nbformat 3: let nbformat upgrade it
        try:
            upgraded = nbformat.reads(text, as_version=4)
            cells = list(upgraded.cells)
        except Exception:  # noqa: BLE001
            cells = None
    if not isinstance(cells, list):
        sub.readable, sub.error = False, "not a notebook (no cells)"
        return None
    return cells


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
    cells = _parse_notebook(sub, raw)
    if cells is None:
        return sub
    assigned: set = set()
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        kind, src = cell.get("cell_type"), _source(cell)
        if kind == "code":
            count = cell.get("execution_count")
            if isinstance(count, int) and not isinstance(count, bool):
                sub.exec_counts[i] = count
            py = _python_source(src)
            if py is None:
                continue
            if not _collect(py, i, sub.definitions, assigned, sub.broken, sub.nested, sub):
                sub.flags.append(f"syntax-error:cell-{i + 1}")
            elif "commit" in py:
                _commits(py, i, cell, sub.commits)
        elif kind in ("markdown", "raw"):
            blocks = _FENCE.findall(src) or [src]
            for block in blocks:
                if "def " in block:
                    _collect(block, i, sub.fallback, set())
        if kind in ("markdown", "raw", "code"):
            match = ANSWER_MARK.search(src)
            meta = cell.get("metadata")
            course = meta.get("course") if isinstance(meta, dict) else None
            answer_id = match.group(1) if match else (course.get("answer") if isinstance(course, dict) else None)
            if isinstance(answer_id, str) and answer_id:
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


# --- one graded function and what it needs -------------------------------------------------------


def _last(defs, before=None, carried_only=False):
    """The last definition in ``defs`` (in notebook order) strictly before ``before`` (an order), or None."""
    end = len(defs) if before is None else bisect.bisect_left(defs, before, key=lambda d: d.order)
    for k in range(end - 1, -1, -1):
        if defs[k].carried or not carried_only:
            return defs[k]
    return None


def _who(d: Definition) -> str:
    if d.kind in ("def", "class"):
        return f"`{d.names[0]}" + ("()`" if d.kind == "def" else "`")
    return f"`{d.summary}` (cell {d.cell})"


def extract_answer(sub: Submission, function: str) -> Answer:
    """The code a child needs to define ``function``: it and what it uses, in notebook order."""
    answer = Answer(function, None)
    if not sub.readable:
        answer.reason = f"the notebook could not be read: {sub.error}"
        return answer
    table = sub.definitions
    if _last(table.get(function, []), carried_only=True) is None:
        if function in sub.fallback:
            table = {**sub.definitions, function: sub.fallback[function]}
            answer.flags.append(f"retyped-cell:{function}")
            answer.notes.append(
                f"`{function}` was found in a markdown or raw cell (cell {sub.fallback[function][-1].cell}); "
                "change that cell back to a code cell"
            )
        else:
            answer.reason = missing_reason(sub, function)
            return answer
    if sum(d.kind in ("def", "assign") for d in table.get(function, [])) > 1:
        answer.flags.append(f"duplicate:{function}")
        last = _last(table[function], carried_only=True)
        answer.notes.append(f"`{function}` is defined more than once; the last definition (cell {last.cell}) is graded")

    chosen: dict[int, Definition] = {}
    looked_up: set = set()
    stars = [d for d in table.get("*", []) if d.carried]

    def need(name, before, user):
        if (name, before) in looked_up:
            return
        looked_up.add((name, before))
        d = _last(table.get(name, []), before)
        if d is not None and not d.carried:
            instead = _last(table[name], d.order, carried_only=True)
            if instead is None:
                answer.problems.append(
                    f"{_who(user)} uses `{name}`, which is set only by {_DONT_RUN[d.kind]} in cell {d.cell} "
                    f"(`{d.summary}`); the grader does not run that, so `{name}` will not exist: "
                    "define it with a plain assignment, or inside the function"
                )
                return
            answer.notes.append(
                f"`{name}` is last set by {_DONT_RUN[d.kind]} in cell {d.cell}, which the grader does not run; "
                f"it uses `{instead.summary}` (cell {instead.cell}) instead"
            )
            d = instead
        if d is None:
            if name in _BUILTINS and name not in _JUPYTER_ONLY:
                return
            earlier_stars = [s for s in stars if before is None or s.order < before]
            if earlier_stars:  # it may come from `from module import *`
                for s in earlier_stars:
                    add(s)
                return
            if name in _JUPYTER_ONLY:
                answer.problems.append(
                    f"{_who(user)} uses `{name}`, which only exists inside Jupyter; "
                    "the grader runs your code as plain Python"
                )
            elif table.get(name):
                answer.problems.append(
                    f"{_who(user)} uses `{name}` before the notebook defines it (cell {table[name][0].cell}); "
                    "move the definition above"
                )
            else:
                answer.problems.append(
                    f"{_who(user)} uses `{name}`, which no code cell defines at top level "
                    "(it will raise NameError when graded)"
                )
            return
        add(d)

    todo = []  # definitions whose names are still to be looked up (a list: chains can be very long)

    def add(d):
        if id(d) not in chosen:
            chosen[id(d)] = d
            todo.append(d)

    add(_last(table[function], carried_only=True))
    while todo:
        d = todo.pop()
        for n in sorted(d.eager):
            need(n, d.order, d)
        for n in sorted(d.lazy):
            need(n, None, d)
    answer.definitions = sorted(chosen.values(), key=lambda d: d.order)
    answer.code = "\n\n".join(d.code for d in answer.definitions) + "\n"
    for d in answer.runs_code:
        answer.notes.append(
            f"`{d.summary}` (cell {d.cell}) runs code when your answer is loaded: the grader runs it too, "
            "in an empty folder, without your files or the notebook's other cells"
        )
    return answer


def assemble(sub: Submission, function: str) -> tuple[str | None, list]:
    """``(code, flags)``: the code a child needs to define ``function`` (None when it is not defined)."""
    answer = extract_answer(sub, function)
    return answer.code, answer.flags


def defined_functions(sub: Submission) -> list:
    """Names of the functions (``def``, lambdas) the notebook's code cells define, in notebook order."""
    found = {}
    for name, defs in sub.definitions.items():
        for d in defs:
            if d.kind == "def" or (d.kind == "assign" and d.code.split("=", 1)[-1].lstrip().startswith("lambda")):
                found.setdefault(name, d.order)
    return sorted(found, key=found.get)


def missing_reason(sub: Submission, function: str) -> str:
    """Why ``function`` is not found, in words a student can act on."""
    if not sub.readable:
        return f"the notebook could not be read: {sub.error}"
    defs = sub.definitions.get(function, [])
    if defs:  # bound only by statements the grader does not run
        d = defs[-1]
        return (
            f"function {function} not found: it is defined inside {_DONT_RUN.get(d.kind, 'a block')} "
            f"(cell {d.cell}), which the grader does not run; define it at the top level of a code cell"
        )
    pattern = re.compile(rf"\bdef\s+{re.escape(function)}\s*\(")
    for i, (message, src) in sorted(sub.broken.items()):
        if pattern.search(src):
            where = f"the cell that defines it (cell {i + 1})"
            return f"function {function} not found: {where} has a syntax error: {message}"
    if function in sub.nested:
        return (
            f"function {function} not found: it is defined inside another function or block "
            f"(cell {sub.nested[function] + 1}); define it at the top level of a code cell, not indented"
        )
    if sub.exec_cells:  # the grader runs no top-level code, so no exec()
        how = "it is defined through exec()" if function in sub.in_strings else "the notebook calls exec()"
        return (
            f"function {function} not found: {how} (cell {sub.exec_cells[0] + 1}), which the grader does not "
            "run; define it with def in a code cell"
        )
    others = defined_functions(sub)
    close = difflib.get_close_matches(function, others, n=1, cutoff=0.6)
    if close:
        return (
            f"function {function} not found: the graded notebook defines {close[0]} instead "
            f"(the grader looks for the exact name {function})"
        )
    return (
        f"function {function} not found: no code cell of the notebook defines it "
        "(was its cell deleted, or the notebook not saved?)"
    )
