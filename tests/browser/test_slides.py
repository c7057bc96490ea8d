"""A lecture's reveal.js deck (`make slides`) in headless Chromium: keyboard navigation, figures, math.

The deck is built from the committed notebook (nothing is executed) and served on 127.0.0.1; the
browser is cut off from every other host, so a deck that needed a CDN would fail here.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from .lab import CHROMIUM, browser_context, static_server

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
LECTURE = ROOT / "notebooks" / "07_ema_bias_correction.ipynb"

if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no `playwright install` needed)")


@pytest.fixture(scope="module")
def deck_url(tmp_path_factory):
    lecture = LECTURE if LECTURE.exists() else sorted((ROOT / "notebooks").glob("*.ipynb"))[0]
    out = tmp_path_factory.mktemp("slides")
    cmd = [sys.executable, str(ROOT / "tools" / "build_slides.py"), "--out", str(out), str(lecture)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    with static_server(out) as url:
        yield f"{url}/{lecture.stem}.slides.html"


STATE = """
() => {
  const slide = Reveal.getCurrentSlide();
  const imgs = Array.from(slide.querySelectorAll('img'));
  return {indices: Reveal.getIndices(), total: Reveal.getTotalSlides(), html: slide.innerHTML.length,
          images: imgs.length, loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
          math: slide.querySelectorAll('mjx-container').length};
}
"""


def test_deck_moves_with_the_keyboard_and_shows_figures_and_math(deck_url, tmp_path):
    with sync_api.sync_playwright() as p:
        ctx = browser_context(p, tmp_path / "profile")
        page = ctx.new_page()
        problems = []
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))
        page.goto(deck_url, wait_until="load")
        page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=30000)
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30000)
        page.evaluate("MathJax.startup.promise")
        first = page.evaluate(STATE)
        assert first["indices"] == {"h": 0, "v": 0, "f": None} and first["total"] >= 5
        page.keyboard.press("ArrowRight")
        second = page.evaluate(STATE)
        assert second["indices"]["h"] == 1, "ArrowRight must go to the next section"
        # walk the whole deck with the space bar (next slide, vertical ones included)
        seen, figures, math = {(0, 0)}, 0, first["math"] + second["math"]
        for _ in range(4 * first["total"]):
            page.keyboard.press("Space")
            page.wait_for_timeout(50)
            state = page.evaluate(STATE)
            key = (state["indices"]["h"], state["indices"]["v"])
            if key in seen and state["indices"]["f"] is None:
                break
            seen.add(key)
            figures += state["loaded"]
            assert state["loaded"] == state["images"], f"an image did not load on slide {key}"
            math += state["math"]
        assert len(seen) >= 8, "the deck should have sections and sub-slides to move through"
        assert any(v > 0 for _, v in seen), "figures and derivations are sub-slides (vertical)"
        assert figures >= 3, "the lecture's figures must be on its slides"
        assert math >= 5, "MathJax must typeset the lecture's formulas"
        page.evaluate("document.fonts.ready.then(() => true)")  # MathJax's fonts load after typesetting
        assert problems == []
        ctx.close()
