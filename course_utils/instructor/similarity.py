"""Pairs of submissions whose graded code is nearly the same, for the instructor to look at.

For every auto-graded question, the code the grader extracts (the function and the helpers and
imports it uses) is normalized with :mod:`ast`: docstrings and comments disappear, formatting is
whatever ``ast.unparse`` writes, and every name the code binds itself is renamed in order of
appearance: module-level names (helper functions, import aliases) ``g0, g1, ...``, and each
function's arguments and locals ``v0, v1, ...``, numbered afresh in every function. Library
names (``np.sqrt``) stay. The normalized token stream is cut into 4-token shingles; shingles
that also occur in the exercise's scaffold (the signature and docstring handed out) are
removed, and a pair's similarity is the Jaccard index of what remains. Code that is only the
scaffold is never compared.

The report (``OUT/instructor/similarity.csv`` and ``.html``) lists pairs at or above a threshold
with two numbers that put them in context: how many submissions share exactly the same
normalized code (a short correct answer is often written the same way by many students) and the
similarity to the reference solution. It is never a verdict and never appears in feedback.
"""

from __future__ import annotations

import ast
import csv
import difflib
import html
import io
import itertools
import tokenize
from dataclasses import dataclass
from pathlib import Path

from .gradebook import GradeBook, atomic_write

SHINGLE = 4
HTML_PAIRS = 300  # side-by-side listings in the page (the CSV has every pair)
MIN_OWN_SHINGLES = 8  # fewer student-written shingles than this: nothing of their own to compare
ROOT = Path(__file__).resolve().parents[2]


def _bound(body, args=None) -> list[str]:
    """Names one scope binds itself, in source order: arguments, assignment targets, import aliases,
    nested function and class names (whose bodies are scopes of their own)."""
    names: list[str] = []

    def add(name):
        if name and name not in names:
            names.append(name)

    if args is not None:
        for a in args.posonlyargs + args.args + [args.vararg] + args.kwonlyargs + [args.kwarg]:
            if a is not None:
                add(a.arg)

    def collect(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            add(node.name)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            add(node.id)
        if isinstance(node, ast.alias) and node.asname:
            add(node.asname)
        for child in ast.iter_child_nodes(node):
            collect(child)

    for stmt in body:
        collect(stmt)
    return names


class _Renamer(ast.NodeTransformer):
    """Module-level names become g0, g1, ...; each function's own names v0, v1, ... (numbered per function)."""

    def __init__(self, module_body):
        self.scopes = [{n: f"g{i}" for i, n in enumerate(_bound(module_body))}]

    def _lookup(self, name):
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return name  # a library or builtin name: kept

    def visit_Name(self, node):
        node.id = self._lookup(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._lookup(node.arg)
        node.annotation = None
        return node

    def visit_alias(self, node):
        if node.asname:
            node.asname = self._lookup(node.asname)
        return node

    def _function(self, node):
        node.name = self._lookup(node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            if isinstance(body[0].value.value, str):  # the docstring
                body = body[1:] or [ast.Pass()]
        node.body, node.returns = body, None
        self.scopes.append({n: f"v{i}" for i, n in enumerate(_bound(body, node.args))})
        self.generic_visit(node)
        self.scopes.pop()
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_Lambda(self, node):
        self.scopes.append({n: f"v{i}" for i, n in enumerate(_bound([], node.args))})
        self.generic_visit(node)
        self.scopes.pop()
        return node

    def visit_ClassDef(self, node):
        node.name = self._lookup(node.name)
        self.generic_visit(node)
        return node


def _shadowed(stmt, tree) -> bool:
    """A top-level constant named like a function's parameter: the grader's extraction keeps it, no code uses it."""
    if not isinstance(stmt, ast.Assign) or not all(isinstance(t, ast.Name) for t in stmt.targets):
        return False
    params = {
        a.arg
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs
    }
    return all(t.id in params for t in stmt.targets)


def normalize(code: str) -> list[str]:
    """The code's tokens after canonical renaming; [] when it does not parse."""
    try:
        tree = ast.parse(code)
        tree.body = [s for s in tree.body if not _shadowed(s, tree)]
        tree = ast.fix_missing_locations(_Renamer(tree.body).visit(tree))
        text = ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.ENDMARKER}
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in skip]
    except (tokenize.TokenError, SyntaxError):
        return []


def shingles(tokens: list[str]) -> set[tuple]:
    return {tuple(tokens[i : i + SHINGLE]) for i in range(max(len(tokens) - SHINGLE + 1, 0))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


@dataclass
class Code:
    sid: str
    code: str
    tokens: list
    own: set  # shingles not in the scaffold


def _function_of(question: str) -> str:
    try:
        from course_utils.grading.questions import QUESTIONS

        return QUESTIONS[question].function or question
    except Exception:  # noqa: BLE001 - the grader's tables may move; the question id is the usual name
        return question


def extract_code(path: Path, function: str) -> str | None:
    """The code the grader would run for ``function`` in the notebook at ``path`` (never executed)."""
    from . import extract

    if path is None or not Path(path).is_file():
        return None
    sub = extract.read_submission(path)
    if not sub.readable:
        return None
    code, _ = extract.assemble(sub, function)
    return code


def report(
    out: Path, threshold: float = 0.8, scaffold: Path | None = None, reference: Path | None = None
) -> list[dict]:
    book = GradeBook(out)
    scaffold = Path(scaffold) if scaffold else ROOT / "exercises" / f"{book.assignment}.ipynb"
    reference = Path(reference) if reference else ROOT / "solutions" / f"{book.assignment}.ipynb"
    pairs = []
    examples: dict[tuple, tuple[str, str]] = {}
    for q in book.auto:
        function = _function_of(q.name)
        base = shingles(normalize(extract_code(scaffold, function) or "")) if scaffold.is_file() else set()
        ref_code = extract_code(reference, function) if reference.is_file() else None
        ref = shingles(normalize(ref_code)) - base if ref_code else set()
        codes = []
        for sid in book.ids:
            code = extract_code(book.submission_path(sid), function)
            if not code:
                continue
            tokens = normalize(code)
            own = shingles(tokens) - base
            if len(own) >= MIN_OWN_SHINGLES:
                codes.append(Code(sid, code, tokens, own))
        forms: dict[tuple, int] = {}
        for c in codes:
            forms[tuple(c.tokens)] = forms.get(tuple(c.tokens), 0) + 1
        for a, b in itertools.combinations(codes, 2):
            score = jaccard(a.own, b.own)
            if score < threshold:
                continue
            same = a.tokens == b.tokens
            ratio = 1.0 if same else difflib.SequenceMatcher(None, a.tokens, b.tokens, autojunk=False).ratio()
            pairs.append(
                {
                    "question": q.name,
                    "submission_a": a.sid,
                    "submission_b": b.sid,
                    "student_a": book.student(a.sid).get("student_id", ""),
                    "student_b": book.student(b.sid).get("student_id", ""),
                    "similarity": f"{score:.3f}",
                    "token_sequence_ratio": f"{ratio:.3f}",
                    "same_normalized_code": str(forms[tuple(a.tokens)]) if same else "",
                    "similarity_to_reference_a": f"{jaccard(a.own, ref):.3f}" if ref else "",
                    "similarity_to_reference_b": f"{jaccard(b.own, ref):.3f}" if ref else "",
                }
            )
            examples[(q.name, a.sid, b.sid)] = (a.code, b.code)
    pairs.sort(key=lambda p: (p["question"], -float(p["similarity"]), p["submission_a"], p["submission_b"]))
    dest = book.out / "instructor"
    columns = list(pairs[0]) if pairs else ["question", "submission_a", "submission_b", "similarity"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(pairs)
    atomic_write(dest / "similarity.csv", buf.getvalue())
    atomic_write(dest / "similarity.html", _page(book, pairs, examples, threshold))
    return pairs


def _page(book, pairs, examples, threshold) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(book.assignment)}: similar submissions (instructor only)</title>",
        "<style>body{font-family:sans-serif}td{vertical-align:top}pre{white-space:pre-wrap;font-size:85%}</style>",
        "</head><body>",
        f"<h1>{html.escape(book.assignment)}: pairs with similarity &ge; {threshold:g} (instructor only)</h1>",
        "<p>Similar code is a reason to look, never a verdict: short correct answers are often written "
        "alike, and the columns say how many submissions share the same normalized code and how close each "
        "one is to the reference solution.</p>",
    ]
    if not pairs:
        out.append("<p>No pairs at or above the threshold.</p>")
    if len(pairs) > HTML_PAIRS:
        out.append(f"<p>The first {HTML_PAIRS} of {len(pairs)} pairs; similarity.csv lists them all.</p>")
    for p in pairs[:HTML_PAIRS]:
        a, b = examples[(p["question"], p["submission_a"], p["submission_b"])]
        out.append(
            f"<h2>{html.escape(p['question'])}: {html.escape(p['submission_a'])} and "
            f"{html.escape(p['submission_b'])} ({p['similarity']})</h2>"
            f"<table><tr><td><pre>{html.escape(a)}</pre></td><td><pre>{html.escape(b)}</pre></td></tr></table>"
        )
    out += ["</body></html>", ""]
    return "\n".join(out)
