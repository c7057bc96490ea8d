"""Shared by tests/test_site.py and tests/browser/test_site.py: build (or reuse) the website, check links.

``make test`` builds the site once (``make site``) and passes its folder in ``COURSE_SITE_DIR``, so
the unit and browser passes check the same build; run alone, each test module builds its own. The
passes start while that build is still running: ``COURSE_SITE_READY`` names the file that ``make
test`` writes when the build has ended ("ok" or "failed"), and the site's tests wait for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "tools" / "build_site.py"
LOADED_LINKS = {"stylesheet", "preload", "icon", "modulepreload"}  # <link rel=...> that the browser fetches


def build_site(out: Path) -> tuple[Path, str]:
    """Run ``tools/build_site.py --out OUT``; return the html folder and the command's stdout."""
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, str(BUILD), "--out", str(out)], capture_output=True, text=True, env=env, timeout=900
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
