"""Shared test helpers (the notebook-timing plugin is ../conftest.py: it must also load for nbval runs).

Optimizer helpers: a fixed heavy-tailed gradient sequence, fed open loop to our optimizers and to
``torch.optim`` on every backend (``/work/shared/reference/optimizer-semantics.md``, section 6).
Tests get them as fixtures (``def test_x(problem, run_ours): ...``): ``problem``, ``run_ours``,
``run_torch``, ``convert``, ``assert_like``, ``flat``, ``heavy_tailed``, ``default_dtype`` and
``torch_classes``.

Sandbox helper: ``processes_with`` (marker -> pids of the processes whose command line holds it).

Website helpers: ``website`` (build or reuse the website, parse pages, check links).

Notebook helper: ``nbval_compare`` (strict nbval's verdict on outputs that another run produced).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
import sys
import time
from collections import OrderedDict, defaultdict
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

import matplotlib
import nbformat
import numpy as np
import psutil
import pytest
import torch
from nbval import plugin

from course_utils import backend, optim
from course_utils.tree import tree_leaves

# Unit tests draw off screen. Set on this process only: kernels that tests start (nbval, nbclient)
# inherit the environment, where course_utils.execution's policy asks for inline figures.
matplotlib.use("Agg")

# --- optimizer helpers ------------------------------------------------------------------------


TORCH_CLASSES = {
    "sgd": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "nadam": "NAdam",
    "adamax": "Adamax",
    "radam": "RAdam",
    "adafactor": "Adafactor",
    "muon": "Muon",
}


def map_leaves(tree, fn):
    """``fn`` applied to each leaf of nested lists and dicts (unlike ``tree_map``, a shape tuple is a leaf)."""
    if isinstance(tree, dict):
        return {key: map_leaves(value, fn) for key, value in tree.items()}
    if isinstance(tree, list):
        return [map_leaves(value, fn) for value in tree]
    return fn(tree)


def heavy_tailed(rng, shape, steps):
    """``steps`` gradients: Student-t with 2 degrees of freedom (infinite variance), about a fifth of
    the entries exactly zero, and the whole third gradient zero (it must not produce a NaN)."""
    g = rng.standard_t(2, size=(steps, *shape))
    g[rng.random(g.shape) < 0.2] = 0.0
    g[2] = 0.0
    return g


def _problem(spec=(8, 5), steps=50, seed=0, scale=1.0):
    """Float64 NumPy initial params and a list of ``steps`` gradient trees, both shaped like ``spec``."""
    rng = np.random.default_rng(seed)
    params = map_leaves(spec, lambda shape: rng.normal(size=shape))
    sequences = map_leaves(spec, lambda shape: scale * heavy_tailed(rng, shape, steps))
    grads = [map_leaves(sequences, lambda g, t=t: g[t]) for t in range(steps)]
    return params, grads


def _convert(tree, lib, dtype, device="cpu"):
    """The same tree as NumPy arrays or torch tensors of ``dtype`` (a name such as ``"float32"``)."""
    if lib == "numpy":
        return map_leaves(tree, lambda x: np.asarray(x, dtype=dtype))
    return map_leaves(tree, lambda x: torch.tensor(x, dtype=getattr(torch, dtype), device=device))


def flat(tree) -> np.ndarray:
    """All leaves of a tree, as one float64 NumPy vector."""
    return np.concatenate([backend.to_numpy(leaf).astype(np.float64).ravel() for leaf in tree_leaves(tree)])


def _run_ours(transform, params, grads):
    """Feed ``grads`` open loop; return the final params and the path (one row of ``flat`` per step)."""
    state = transform.init(params)
    path = []
    for g in grads:
        updates, state = transform.update(g, state, params)
        params = optim.apply_updates(params, updates)
        path.append(flat(params))
    return params, np.stack(path)


@contextlib.contextmanager
def default_dtype(dtype):
    """torch keeps some optimizer scalars (NAdam's ``mu_product``) in the default dtype."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def _run_torch(name, kwargs, params, grads, dtype="float64", device="cpu", scheduler=None):
    """The same open-loop run with ``torch.optim``; ``scheduler(opt)`` is stepped after every step."""
    torch_dtype = getattr(torch, dtype)
    leaves = [torch.tensor(p, dtype=torch_dtype, device=device, requires_grad=True) for p in tree_leaves(params)]
    with default_dtype(torch.float64 if dtype == "float64" else torch.get_default_dtype()):
        opt = getattr(torch.optim, TORCH_CLASSES[name])(leaves, **kwargs)
        lr_scheduler = scheduler(opt) if scheduler is not None else None
        path = []
        for g in grads:
            for p, gi in zip(leaves, tree_leaves(g), strict=True):
                p.grad = torch.tensor(gi, dtype=torch_dtype, device=device)
            opt.step()
            if lr_scheduler is not None:
                lr_scheduler.step()
            path.append(flat(leaves))
    return np.stack(path)


def _assert_like(tree, lib, dtype, device="cpu"):
    """Every leaf is a ``lib`` array of ``dtype`` (and, for torch, on ``device``)."""
    for leaf in tree_leaves(tree):
        if lib == "numpy":
            assert isinstance(leaf, np.ndarray), type(leaf)
            assert leaf.dtype == np.dtype(dtype), leaf.dtype
        else:
            assert isinstance(leaf, torch.Tensor), type(leaf)
            assert leaf.dtype == getattr(torch, dtype), leaf.dtype
            assert leaf.device.type == torch.device(device).type, leaf.device


@pytest.fixture(name="problem")
def _problem_fixture():
    return _problem


@pytest.fixture(name="run_ours")
def _run_ours_fixture():
    return _run_ours


@pytest.fixture(name="run_torch")
def _run_torch_fixture():
    return _run_torch


@pytest.fixture(name="convert")
def _convert_fixture():
    return _convert


@pytest.fixture(name="assert_like")
def _assert_like_fixture():
    return _assert_like


@pytest.fixture(name="flat")
def _flat_fixture():
    return flat


@pytest.fixture(name="heavy_tailed")
def _heavy_tailed_fixture():
    return heavy_tailed


@pytest.fixture(name="default_dtype")
def _default_dtype_fixture():
    return default_dtype


@pytest.fixture(name="torch_classes")
def _torch_classes_fixture():
    return dict(TORCH_CLASSES)


# --- sandbox helpers ----------------------------------------------------------------------------


def processes_with(marker: str) -> list[int]:
    """The pids of the processes whose command line contains ``marker`` (e.g. a probe's ``sleep``)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or []):
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture(name="processes_with")
def _processes_with_fixture():
    return processes_with


# --- strict nbval's output check on another run's outputs ------------------------------------------
#
# `make test` runs each lecture once, in JupyterLab in the browser pass (tests/browser/), and checks the
# outputs of that run against the committed notebook with this, instead of running it a second time
# under nbval. The check is nbval's own code (nbval 0.11, as locked): its cell options (# NBVAL_SKIP,
# # NBVAL_IGNORE_OUTPUT, raises-exception ...), its stream coalescing, its sanitizers
# (tests/nbval_sanitize.cfg) and its IPyNbCell.compare_outputs; only the source of the fresh outputs
# differs. Those come from JupyterLab's output model, which, like nbclient (which wrote the committed
# outputs), joins a cell's stream chunks and honours clear_output; nbval reads raw kernel messages and
# coalesces the streams itself, which gives the same text. tests/test_nbval_replay.py shows that this
# check and nbval agree on the same notebooks, changed and unchanged. Tests get it as the fixture
# ``nbval_compare``.

NBVAL_SANITIZE_FILE = Path(__file__).resolve().parent / "nbval_sanitize.cfg"

# The keys nbval leaves out of the comparison: IPyNbFile.__init__'s list, with images added because
# `make test` runs nbval without --nbval-nbdime (figures are checked by tests/test_figures.py).
SKIP_COMPARE = (
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
)


def sanitize_patterns(path: Path = NBVAL_SANITIZE_FILE) -> OrderedDict:
    """The regex -> replacement pairs of an nbval sanitize file, read as nbval reads them."""
    return OrderedDict(plugin.get_sanitize_patterns(Path(path).read_text(encoding="utf-8")))


class _Cell:
    """The parts of nbval's ``IPyNbCell`` that its ``compare_outputs`` uses."""

    compare_outputs = plugin.IPyNbCell.compare_outputs
    sanitize = plugin.IPyNbCell.sanitize
    colors = plugin.nocolors

    def __init__(self, patterns):
        self.parent = SimpleNamespace(skip_compare=SKIP_COMPARE, sanitize_patterns=patterns)
        self.comparison_traceback = []

    def format_output_compare(self, key, left, right):  # nbval's asks pytest for an assertion diff
        trim = plugin._trim_base64
        left, right = (trim(v) if isinstance(v, str) else v for v in (left, right))
        self.comparison_traceback.append(f" mismatch {key!r}\n  saved: {left!r}\n  fresh: {right!r}")


def _options(cell) -> dict:
    """nbval's options for a cell: metadata tags, then comment markers, then the strict default."""
    options = defaultdict(bool, plugin.find_metadata_tags(cell.metadata))
    options.update(dict(plugin.find_comment_markers(cell.source)))
    options.setdefault("check", True)  # `make test` runs nbval strictly (--nbval, not --nbval-lax)
    return options


def nbval_compare(saved, fresh_outputs: list, patterns=None) -> list[str]:
    """Problems (empty when none) of fresh outputs against a saved notebook, as strict nbval reports them.

    ``saved``: the committed notebook (an ``nbformat`` node). ``fresh_outputs``: one list of output
    dicts (nbformat's JSON form) per code cell, in order, from a fresh run of the whole notebook.
    """
    patterns = sanitize_patterns() if patterns is None else patterns
    code = [c for c in saved.cells if c.cell_type == "code"]
    if len(fresh_outputs) != len(code):
        return [f"{len(code)} code cells saved but {len(fresh_outputs)} in the run"]
    # nbformat's reader puts every output in its normal form (multi-line strings joined, nodes)
    run = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.source) for c in code])
    for cell, outputs in zip(run.cells, fresh_outputs, strict=True):
        cell.outputs = outputs
    run = nbformat.reads(json.dumps(run), as_version=4)
    problems = []
    for number, (cell, ran) in enumerate(zip(code, run.cells, strict=True)):
        options = _options(cell)
        if options["skip"]:
            continue
        outputs = list(ran.outputs)
        errors = [o for o in outputs if o.output_type == "error"]
        if errors and not options["check_exception"]:
            problems.append(f"Cell {number}: cell execution caused an exception: {errors[0].ename}: {errors[0].evalue}")
            continue
        unrun = cell.execution_count is None
        if unrun and cell.outputs:
            problems.append(f"Cell {number}: unrun reference cell has outputs")
            continue
        if options["check"] and not unrun:
            item = _Cell(patterns)
            saved_outputs = plugin.coalesce_streams(copy.deepcopy(cell.outputs))  # it joins streams in place
            if not item.compare_outputs(plugin.coalesce_streams(outputs), saved_outputs):
                problems.append(f"Cell {number}: cell outputs differ\n" + "\n".join(item.comparison_traceback))
    return problems


@pytest.fixture(name="nbval_compare")
def _nbval_compare_fixture():
    return nbval_compare


# --- the website: build it (or reuse make test's build), check its links ----------------------------
#
# Used by tests/test_site.py and tests/browser/test_site.py through the session fixture ``website`` (its
# attributes are the functions below). `make test` builds the site once (`make site`) and passes its
# folder in COURSE_SITE_DIR, so the unit and browser passes check the same build; run alone, each test
# module builds its own. The passes start while that build is still running: COURSE_SITE_READY names
# the file that `make test` writes when the build has ended ("ok" or "failed"), and the site's tests
# wait for it.

SITE_BUILD = Path(__file__).resolve().parents[1] / "tools" / "build_site.py"
LOADED_LINKS = {"stylesheet", "preload", "icon", "modulepreload"}  # <link rel=...> that the browser fetches


def build_site(out: Path) -> tuple[Path, str]:
    """Run ``tools/build_site.py --out OUT``; return the html folder and the command's stdout."""
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, str(SITE_BUILD), "--out", str(out)], capture_output=True, text=True, env=env, timeout=900
    )
    assert done.returncode == 0, f"site build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return out / "html", done.stdout


# A liveness bound for `make test`'s site build (91 s under a load of 8 on 2 cores), not a speed target.
SITE_WAIT_S = 1200


def wait_for_make_site():
    """Under ``make test``: wait until its site build has ended; fail if it failed. Else nothing."""
    ready = os.environ.get("COURSE_SITE_READY")
    if not ready:
        return
    deadline = time.monotonic() + SITE_WAIT_S
    while not os.path.exists(ready):
        assert time.monotonic() < deadline, f"make test's site build did not end within {SITE_WAIT_S} s"
        time.sleep(1)
    state = Path(ready).read_text(encoding="utf-8").strip()
    assert state == "ok", f"make test's site build failed ({state!r}): its output is in the make test log"


def site_html(tmp_path_factory) -> Path:
    given = os.environ.get("COURSE_SITE_DIR")
    wait_for_make_site()
    if given:
        html = Path(given) / "html"
        assert (html / "index.html").is_file(), f"COURSE_SITE_DIR={given} holds no built site"
        return html
    html, _ = build_site(tmp_path_factory.mktemp("site"))
    return html


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs, self.ids, self.imgs = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None:
                self.refs.append((tag, key, attrs[key], attrs))
        if tag == "img":
            self.imgs.append(attrs)


def parse(path: Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def internal_target(page: Path, ref: str) -> tuple[Path, str] | None:
    """The file and fragment an internal link points to; None for external links and data: URLs."""
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc or ref.startswith(("mailto:", "javascript:", "data:")):
        return None
    target = page if not parts.path else (page.parent / unquote(parts.path))
    if parts.path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target.resolve(), unquote(parts.fragment)


def broken_links(html_dir: Path) -> list[str]:
    """Every internal href/src in every page that names a missing file or a missing anchor."""
    pages = sorted(html_dir.rglob("*.html"))
    parsed = {p.resolve(): parse(p) for p in pages}
    problems = []
    for page in pages:
        for tag, key, ref, _ in parsed[page.resolve()].refs:
            found = internal_target(page, ref)
            if found is None:
                continue
            target, fragment = found
            where = f"{page.relative_to(html_dir)}: <{tag} {key}={ref!r}>"
            if not target.exists():
                problems.append(f"{where} -> missing file")
            elif fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if fragment not in ids:
                    problems.append(f"{where} -> no element with id {fragment!r}")
    return problems


def external_resources(html_dir: Path) -> list[str]:
    """Scripts, styles and images loaded from another host (the site must work offline)."""
    found = []
    for page in sorted(html_dir.rglob("*.html")):
        for tag, key, ref, attrs in parse(page).refs:
            rel = set((attrs.get("rel") or "").split())
            loads = tag in ("script", "img", "iframe", "source") or (tag == "link" and bool(rel & LOADED_LINKS))
            if loads and urlsplit(ref).scheme in ("http", "https"):
                found.append(f"{page.relative_to(html_dir)}: <{tag} {key}={ref!r}>")
    return found


def page_weight(page: Path) -> int:
    """Bytes a browser downloads to show ``page``: the HTML and every local file it references."""
    total, seen = page.stat().st_size, set()
    for tag, _, ref, attrs in parse(page).refs:
        if tag == "a" or (tag == "link" and "stylesheet" not in (attrs.get("rel") or "")):
            continue
        found = internal_target(page, ref)
        if found and found[0].is_file() and found[0] not in seen:
            seen.add(found[0])
            total += found[0].stat().st_size
    return total


@pytest.fixture(name="website", scope="session")
def _website_fixture():
    return SimpleNamespace(
        build_site=build_site, site_html=site_html, wait_for_make_site=wait_for_make_site, parse=parse,
        broken_links=broken_links, external_resources=external_resources, page_weight=page_weight,
    )  # fmt: skip
