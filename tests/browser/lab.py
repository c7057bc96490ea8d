"""Drive a real JupyterLab in headless Chromium (Debian's /usr/bin/chromium) with Playwright.

Used by tests/browser/test_jupyterlab.py. Kept apart from the tests so that the checks (what
counts as "a notebook works in the browser") are one function, :func:`check_notebook`, which the
tests apply both to the course and to a deliberately broken notebook.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


# The waits below are liveness bounds against a hang, not speed targets: under a load average of 15 on
# 2 cores, starting the JupyterLab server took more than 60 s and one lecture's Run All 174 s. They
# stay below pytest-timeout's 600 s per test, so a real hang is still reported by name.
STARTUP_LIMIT_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# An IPython startup file for the Lab's kernels: it records each cell's kernel CPU seconds (user +
# system, of the kernel and its waited-for children: what tests/conftest.py measures under nbval) and
# wall seconds, for the notebook runtime budget. One JSON file per kernel, rewritten after every cell.
# Everything lives inside one function that deletes itself: the notebook's namespace stays untouched.
CELL_TIMES_STARTUP = """
def _course_cell_times():
    import json, os, time

    folder, notebook = os.environ.get("COURSE_CELL_TIMES_DIR"), os.environ.get("JPY_SESSION_NAME")
    shell = get_ipython()
    if not (folder and notebook and shell):
        return
    target = os.path.join(folder, f"kernel-{os.getpid()}.json")
    record, start = {"notebook": notebook, "cells": []}, {}

    def cpu():
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def pre(info):
        start.update(cpu=cpu(), wall=time.perf_counter(), source=info.raw_cell)

    def post(result):
        if "cpu" not in start:
            return
        wall, used = time.perf_counter() - start.pop("wall"), cpu() - start.pop("cpu")
        cell = {"source": start.pop("source"), "wall_s": round(wall, 3), "kernel_cpu_s": round(used, 3)}
        record["cells"].append(cell)
        with open(target + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(target + ".tmp", target)

    shell.events.register("pre_run_cell", pre)
    shell.events.register("post_run_cell", post)


_course_cell_times()
del _course_cell_times
"""


class Lab:
    """A JupyterLab server on 127.0.0.1 with a random token, serving ``root``, with its own HOME.

    Its kernels record their cells' CPU times into ``self.cell_times`` (see :data:`CELL_TIMES_STARTUP`).
    """

    def __init__(self, root: Path, home: Path):
        self.root, self.home = root, home
        self.cell_times = home / "cell-times"
        self.cell_times.mkdir(parents=True, exist_ok=True)
        startup = home / "ipython" / "profile_default" / "startup" / "00-course-cell-times.py"
        startup.parent.mkdir(parents=True, exist_ok=True)
        startup.write_text(CELL_TIMES_STARTUP, encoding="utf-8")
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        settings = home / "lab-settings"
        notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # kernels must show figures inline
        env.update(HOME=str(home), IPYTHONDIR=str(home / "ipython"), MPLCONFIGDIR=str(home / "mpl"),
                   JUPYTER_CONFIG_DIR=str(home / "jcfg"), JUPYTER_RUNTIME_DIR=str(home / "jrun"),
                   JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
                   COURSE_CELL_TIMES_DIR=str(self.cell_times))  # fmt: skip
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={self.port}",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None", "--ServerApp.open_browser=False",
        ]  # fmt: skip
        self.log = open(home / "lab.log", "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=root)
        deadline = time.time() + STARTUP_LIMIT_S
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {(home / 'lab.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        self.close()
        raise RuntimeError(f"jupyter lab did not start within {STARTUP_LIMIT_S} s")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def static_server(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (a free port) for the duration; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def copy_course(src: Path, dst: Path, folders=("notebooks", "exercises", "solutions")) -> Path:
    for folder in folders:
        if (src / folder).is_dir():
            shutil.copytree(src / folder, dst / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dst


def browser_context(playwright, profile: Path):
    ctx = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000},
    )
    ctx.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]|blob:|data:).*"), lambda route: route.abort())
    return ctx


OPEN = """
async (path) => {
  const app = window.jupyterapp;
  const limit = (promise, ms, what) => Promise.race([promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(what + ' timed out')), ms))]);
  const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await limit(panel.context.ready, 300000, 'opening the notebook');
  await limit(panel.sessionContext.ready, 300000, 'starting the kernel');
  // the toolbar says "idle" before the kernel can run cells: wait for its kernel-info reply
  await limit(panel.sessionContext.session.kernel.info, 300000, 'kernel info');
  app.shell.activateById(panel.id);
  return panel.content.widgets.map(c => c.model.sharedModel.getSource());
}
"""

RUN_ALL = """
async () => {
  const app = window.jupyterapp;
  await Promise.race([app.commands.execute('notebook:run-all-cells'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('Run All timed out')), 540000))]);
  const panel = app.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  // Run All resolves on the last execute_reply (shell channel); the kernel's "idle" status arrives
  // separately on iopub, possibly a moment later. Wait for it (a liveness bound, not a speed target)
  // so that a kernel still busy only because that message is in flight is not called a failure.
  const settle = performance.now() + 60000;
  while (kernel.status === 'busy' && performance.now() < settle) await new Promise(r => setTimeout(r, 50));
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  return {status: kernel.status,
          cells: cells.map(c => ({source: c.model.sharedModel.getSource(), count: c.model.executionCount,
                                  outputs: c.model.outputs.toJSON()}))};
}
"""

CLOSE = """
async () => {
  const w = window.jupyterapp.shell.currentWidget;
  if (w && w.sessionContext) { await w.sessionContext.shutdown(); w.dispose(); }
}
"""


@dataclass
class Report:
    notebook: str
    problems: list = field(default_factory=list)
    images: int = 0
    widgets: int = 0
    live_plots: int = 0
    roundtrips_ms: list = field(default_factory=list)  # every timed change: key presses, dropdowns, buttons
    roundtrips: dict = field(default_factory=dict)  # "plot i: slider 1" -> its round trips (ms)
    outputs: list = field(default_factory=list)  # per code cell, its outputs after Run All (nbformat JSON)


def _panel(page):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").last


def _roundtrip(page, img, action, timeout_ms=5000):
    """Milliseconds from the reader's input (the first key, pointer or input event that ``action()``
    fires in the page) until the figure's live image has changed, been decoded and been painted.

    Timed inside the page, so the time Playwright takes to deliver the action does not count.
    """
    handle = img.element_handle()
    page.evaluate(
        """([img, timeout]) => {
             window.__t0 = null;
             const start = () => { if (window.__t0 === null) window.__t0 = performance.now(); };
             for (const type of ['keydown', 'pointerdown', 'input', 'change'])
               document.addEventListener(type, start, {capture: true, once: true});
             window.__rt = new Promise((resolve) => {
               const before = img.src;
               const armed = performance.now();
               const obs = new MutationObserver(async () => {
                 if (img.src === before) return;
                 obs.disconnect();
                 try { await img.decode(); } catch (e) {}  // a superseded frame: it still changed
                 requestAnimationFrame(() => resolve(performance.now() - (window.__t0 ?? armed)));
               });
               obs.observe(img, {attributes: true, attributeFilter: ['src']});
               setTimeout(() => { obs.disconnect(); resolve(null); }, timeout); }); }""",
        [handle, timeout_ms],
    )
    action()
    return page.evaluate("() => window.__rt")


# Closes every tab in the main area and shuts down every kernel session of the server; returns how
# many documents are left open (0 when the page is clean; JupyterLab then shows a new Launcher).
CLOSE_EVERYTHING = """
async () => {
  const app = window.jupyterapp;
  for (const w of Array.from(app.shell.widgets('main'))) {
    if (w.sessionContext && w.sessionContext.session) { await w.sessionContext.shutdown(); }
    w.dispose();
  }
  await app.serviceManager.sessions.shutdownAll();
  return Array.from(app.shell.widgets('main')).filter(w => w.context || w.sessionContext).length;
}
"""


def open_lab(page, base_url, token):
    """JupyterLab in ``page`` with nothing open, every plugin started and no kernel running.

    The first call loads JupyterLab with a fresh workspace (``?reset``). Later calls on the same page
    reuse the loaded application: they close every open document and shut down every kernel session,
    which leaves the same clean state without loading and starting JupyterLab's code again (seconds
    of CPU per notebook on a loaded 2-core machine). A student, too, opens notebook after notebook in
    one JupyterLab. Should the page hold anything else, it is reloaded as on the first call.
    """
    if page.url.startswith(f"{base_url}/lab") and page.evaluate(
        "() => !!(window.jupyterapp && window.jupyterapp.shell)"
    ):
        if page.evaluate(CLOSE_EVERYTHING) == 0:
            return
    page.goto(f"{base_url}/lab?token={token}&reset")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=300000)
    page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
    page.wait_for_selector(".jp-LabShell", timeout=300000)


def _slider_keys(handle) -> tuple:
    """The arrow keys to try on a slider handle, the one that can move it first.

    ipywidgets' sliders (noUiSlider) carry aria-valuenow/-min/-max on the handle. At its maximum,
    ArrowRight changes nothing and the figure rightly stays the same; trying it first would wait out
    the whole liveness bound before trying ArrowLeft. Without the attributes: right, then left.
    """
    now, low, high = (handle.get_attribute(f"aria-value{k}") for k in ("now", "min", "max"))
    try:
        now, low, high = float(now), float(low), float(high)
    except (TypeError, ValueError):
        return ("ArrowRight", "ArrowLeft")
    return ("ArrowLeft", "ArrowRight") if now >= high and now > low else ("ArrowRight", "ArrowLeft")


# How long a slider move may take to change its figure before the test calls the figure frozen. It is
# a liveness bound, not a speed target (the round trips are recorded and reported, and
# benchmarks/run.py measures redraw times): generous, so that a loaded machine cannot fail the test.
ROUNDTRIP_TIMEOUT_MS = 30000


def check_notebook(
    page,
    base_url,
    token,
    path: str,
    screenshot: Path | None = None,
    keypresses=3,
    roundtrip_timeout_ms=ROUNDTRIP_TIMEOUT_MS,
) -> Report:
    """Open ``path`` in JupyterLab, Run All through the UI, and check what a reader would see."""
    report = Report(path)
    open_lab(page, base_url, token)
    page.evaluate(OPEN, path)
    result = page.evaluate(RUN_ALL)
    report.outputs = [cell["outputs"] for cell in result["cells"]]
    model_images = 0
    for cell in result["cells"]:
        if cell["count"] is None:
            report.problems.append(f"cell never ran: {cell['source'][:80]!r}")
        for out in cell["outputs"]:
            if out["output_type"] == "error":
                report.problems.append(f"error output {out.get('ename')}: {out.get('evalue', '')[:200]}")
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                report.widgets += 1  # its image/png is the static copy for readers without a kernel
            else:
                model_images += "image/png" in data
    panel = _panel(page)
    # give widget views a moment to render before judging them
    deadline = time.time() + 20
    while time.time() < deadline and "Loading widget" in panel.inner_text():
        time.sleep(0.2)
    text = panel.inner_text()
    if "Loading widget" in text:
        report.problems.append("a widget stayed at 'Loading widget...'")
    if "Error displaying widget" in text or "Error rendering output" in text:
        report.problems.append("a widget failed to render")
    if re.search(r"^\s*(VBox|HBox|interactive|LivePlot)\(", text, re.M):
        report.problems.append("a widget was shown as a text repr instead of a control")
    rendered = panel.locator(".jp-RenderedImage img")
    report.images = rendered.count()
    if report.images != model_images:
        report.problems.append(f"{model_images} figures in the outputs but {report.images} images on screen")
    for i in range(report.images):
        ok = rendered.nth(i).evaluate("(img) => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0")
        if not ok:
            report.problems.append(f"figure {i} did not render as an image")
    controls = panel.locator(
        ".jupyter-widgets.widget-slider, .jupyter-widgets.widget-dropdown, .jupyter-widgets.widget-toggle-buttons"
    )
    if report.widgets and controls.count() == 0:
        report.problems.append("widget outputs exist but no control is on screen")
    lives = panel.locator("img.course-live-plot")
    report.live_plots = lives.count()
    for i in range(report.live_plots):
        img = lives.nth(i)
        box = img.locator("xpath=ancestor::div[contains(@class, 'widget-vbox')][1]")

        def record(name, ms, i=i):
            report.roundtrips_ms.append(ms)
            report.roundtrips.setdefault(f"plot {i}: {name}", []).append(ms)

        handles = box.locator(".noUi-handle")
        for h in range(handles.count()):
            handle = handles.nth(h)
            handle.scroll_into_view_if_needed()
            for _ in range(keypresses):
                ms = None
                for key in _slider_keys(handle):
                    handle.focus()
                    ms = _roundtrip(page, img, lambda key=key, handle=handle: handle.press(key), roundtrip_timeout_ms)
                    if ms is not None:
                        break
                if ms is None:
                    report.problems.append(f"live plot {i}: the keyboard moved a slider but the figure did not change")
                    break
                record(f"slider {h + 1}", ms)
        selects = box.locator("select")
        for d in range(selects.count()):
            select = selects.nth(d)
            select.scroll_into_view_if_needed()
            options = select.locator("option").count()
            for _ in range(min(keypresses, options - 1)):
                index = (select.evaluate("(s) => s.selectedIndex") + 1) % options
                ms = _roundtrip(
                    page, img, lambda s=select, index=index: s.select_option(index=index), roundtrip_timeout_ms
                )
                if ms is None:
                    report.problems.append(
                        f"live plot {i}: choosing option {index} of a dropdown did not change the figure"
                    )
                    break
                record(f"dropdown {d + 1}", ms)
        buttons = box.locator("button")
        chosen = "(el) => el.closest('.widget-toggle-buttons') !== null && el.classList.contains('mod-active')"
        for b in range(min(2, buttons.count())):  # toggles: on and off again
            button = buttons.nth(b)
            for _ in range(2):
                if button.evaluate(chosen):
                    continue  # the chosen option of a ToggleButtons group: clicking it changes nothing
                ms = _roundtrip(page, img, button.click, roundtrip_timeout_ms)
                if ms is None:
                    report.problems.append(f"live plot {i}: clicking button {b + 1} did not change the figure")
                    break
                record(f"button {b + 1}", ms)
        if i == 0 and handles.count():  # the mouse: drag the first slider's handle (liveness, not timed)
            handle = handles.first
            b = handle.bounding_box()

            def drag(b=b, dx=-40):
                page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
                page.mouse.down()
                page.mouse.move(b["x"] + dx, b["y"] + b["height"] / 2, steps=4)
                page.mouse.up()

            # towards the side with room first: a handle at its end cannot move further, and waiting out
            # the liveness bound for a move that cannot happen only costs time
            first = 40 if _slider_keys(handle)[0] == "ArrowRight" else -40
            if _roundtrip(page, img, lambda first=first: drag(dx=first), roundtrip_timeout_ms) is None and (
                _roundtrip(page, img, lambda first=first: drag(dx=-1.5 * first), roundtrip_timeout_ms) is None
            ):
                report.problems.append("dragging the slider with the mouse did not change the figure")
    if result["status"] not in ("idle",):
        report.problems.append(f"kernel ended {result['status']!r}, not idle")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=False)
    page.evaluate(CLOSE)
    return report


def summarize(roundtrips: list) -> dict:
    if not roundtrips:
        return {"n": 0}
    return {"n": len(roundtrips), "median_ms": statistics.median(roundtrips), "worst_ms": max(roundtrips)}


def answer_exercise(page, base_url, token, path: str, function: str, answer: str) -> list:
    """Open an exercise, type ``answer`` over the cell defining ``function`` (keyboard, as a student
    would), Run All, and return every cell's source and outputs."""
    open_lab(page, base_url, token)
    sources = page.evaluate(OPEN, path)
    index = next(i for i, s in enumerate(sources) if f"def {function}(" in s)
    cell = _panel(page).locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(answer)
    page.keyboard.press("Escape")
    cells = page.evaluate(RUN_ALL)["cells"]
    page.evaluate(CLOSE)
    return cells
