"""The built website in headless Chromium, served on 127.0.0.1: what a reader sees.

Home page and every lecture: every image loads, MathJax typesets the math, the console stays clean
(the browser is cut off from every other host, so a CDN dependency shows up as an error here).
Search finds "bias correction". The kernel-free explorers change their frame when a slider moves.
"""

from pathlib import Path

import pytest

from .lab import CHROMIUM, browser_context, static_server

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
LECTURES = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))

if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no `playwright install` needed)")


@pytest.fixture(scope="module")
def server(tmp_path_factory, website):
    html = website.site_html(tmp_path_factory)
    with static_server(html) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    with sync_api.sync_playwright() as p:
        ctx = browser_context(p, tmp_path_factory.mktemp("profile"))
        page = ctx.new_page()
        page.problems = []
        page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: page.problems.append(f"failed request: {r.url}"))
        yield page
        ctx.close()


IMAGES_AND_MATH = """
async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(img => img.complete ? null :
    new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  const broken = imgs.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
  let typeset = 0, unrendered = 0;
  if (window.MathJax && MathJax.startup) {
    await MathJax.startup.promise;
    await document.fonts.ready;  // MathJax's fonts load after typesetting: let them finish before leaving
    typeset = document.querySelectorAll('mjx-container').length;
    unrendered = document.querySelectorAll('mjx-merror').length;
  }
  const math = document.querySelectorAll('.math').length;
  return {images: imgs.length, broken, math, typeset, unrendered};
}
"""


def _open(page, url):
    page.problems.clear()
    page.goto(url, wait_until="load")
    return page.evaluate(IMAGES_AND_MATH)


@pytest.mark.parametrize("name", ["index", *[f"notebooks/{n}" for n in LECTURES]])
def test_page_shows_images_and_math_without_errors(server, browser_page, name):
    report = _open(browser_page, f"{server}/{name}.html")
    assert report["broken"] == [], "images that did not load"
    if name != "index":
        assert report["images"] > 0
        assert report["math"] > 0, "no math on a lecture page?"
        assert report["typeset"] >= report["math"], f"MathJax typeset {report['typeset']} of {report['math']}"
        assert report["unrendered"] == 0, "MathJax reported errors in formulas"
    assert browser_page.problems == []


def test_search_finds_bias_correction(server, browser_page):
    browser_page.problems.clear()
    browser_page.goto(f"{server}/search.html?q=bias+correction", wait_until="load")
    # Sphinx fetches every result page for its summary, then says "Search finished": wait for that, so
    # that no fetch is still running when the next test navigates away.
    browser_page.get_by_text("Search finished").wait_for(timeout=60000)
    results = browser_page.locator("#search-results ul.search li")
    links = results.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any("07_ema_bias_correction" in link for link in links), links
    assert browser_page.problems == []


MOVE = """
async (explorer) => {
  const frame = explorer.querySelector('img.explorer-frame');
  const loaded = () => new Promise(done => frame.complete && frame.naturalWidth > 0 ? done() :
      frame.addEventListener('load', done, {once: true}));
  return {src: frame.getAttribute('src'), readout: explorer.querySelector('.explorer-readout').textContent,
          width: (await loaded(), frame.naturalWidth)};
}
"""


@pytest.mark.parametrize("page_name", ["docs/explorers", "notebooks/07_ema_bias_correction", "notebooks/08_adam"])
def test_static_explorers_respond_to_their_sliders(server, browser_page, page_name):
    browser_page.problems.clear()
    browser_page.goto(f"{server}/{page_name}.html", wait_until="load")
    explorers = browser_page.locator(".course-explorer[data-ready='true']")
    explorers.first.wait_for(timeout=15000)
    names = explorers.evaluate_all("els => els.map(e => e.id)")
    expected = {
        "docs/explorers": {"explorer-ema", "explorer-adam"},
        "notebooks/07_ema_bias_correction": {"explorer-ema"},
        "notebooks/08_adam": {"explorer-adam"},
    }[page_name]
    assert set(names) == expected
    for i in range(explorers.count()):
        explorer = explorers.nth(i)
        explorer.scroll_into_view_if_needed()
        sliders = explorer.locator("input[type=range]")
        assert sliders.count() >= 2
        for j in range(sliders.count()):
            before = explorer.evaluate(MOVE)
            slider = sliders.nth(j)
            slider.focus()
            key = "ArrowLeft" if slider.input_value() == slider.get_attribute("max") else "ArrowRight"
            browser_page.keyboard.press(key)
            after = explorer.evaluate(MOVE)
            assert after["src"] != before["src"], f"slider {j} of {names[i]} did not change the frame"
            assert after["readout"] != before["readout"]
            assert after["width"] > 0, "the new frame did not load"
    assert browser_page.problems == []
