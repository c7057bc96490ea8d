"""The course's performance targets, measured side by side in one run (ratios, not seconds).

    python benchmarks/run.py             # full sizes (a few minutes), writes benchmarks/results/<host>.json
    python benchmarks/run.py --smoke     # tiny sizes, seconds: checks that the suite runs

Targets (issue "Performance"): an Adam step on 10M float32 NumPy parameters <= 2.5x the memory-
bandwidth floor and faster than torch.optim.Adam(foreach=True); 10,000 Adam configurations x 1,000
Rosenbrock steps in one batched call <= 2 s and >= 100x faster than one by one; widget redraws
<= 100 ms median from a control's change to the new picture in the browser (--browser: JupyterLab in
headless Chromium; without it, the kernel's share: recompute + render + PNG); lecture notebooks
< 60 s each and the course < 300 s (each notebook's time is measured here as it runs). Times are
medians of repeats, with the machine's load average; nothing here asserts a time, it reports.
The floor is 28 bytes per parameter at the best triad bandwidth measured (NumPy on one thread, torch
on all its threads): the fastest that memory can be streamed on this machine.

    python benchmarks/run.py --widgets-only --browser --notebooks notebooks/03_*.ipynb   # one lecture's widgets
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_utils import optim, optimize, problems  # noqa: E402

BYTES_ADAM = 28  # read p, g, m, v and write p, m, v: 7 float32 values per parameter


def timeit(fn, repeat=7, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def triad_bandwidths(n):
    """Bytes per second of ``a = b + c`` on float32 arrays (read 2, write 1), by library.

    NumPy runs on one thread; torch on all the threads it is allowed (``torch.get_num_threads()``).
    One core cannot keep enough memory requests in flight to reach the machine's bandwidth, so the
    floor of an Adam step is set by the best of these, not by the one-threaded NumPy figure.
    """
    import torch

    a, b, c = np.empty(n, np.float32), np.ones(n, np.float32), np.ones(n, np.float32)
    ta, tb, tc = torch.empty(n), torch.ones(n), torch.ones(n)
    return {
        "NumPy triad, 1 thread": 12 * n / timeit(lambda: np.add(b, c, out=a)),
        f"torch triad, {torch.get_num_threads()} threads": 12 * n / timeit(lambda: torch.add(tb, tc, out=ta)),
    }


def adam_step(n, repeat):
    import torch

    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(n, dtype=np.float32)
    g = rng.standard_normal(n, dtype=np.float32)
    bandwidths = triad_bandwidths(n)
    floor = BYTES_ADAM * n / max(bandwidths.values())
    rows = {"bandwidth floor (28 B/param at the best triad bandwidth)": floor}

    transform = optim.adam(lr=1e-3)
    p, state = p0.copy(), transform.init(p0)

    def readable():
        nonlocal p, state
        updates, state = transform.update(g, state, p)
        p = optim.apply_updates(p, updates)

    rows["NumPy, readable rule (update + apply_updates)"] = timeit(readable, repeat)
    q, fstate = p0.copy(), transform.init(p0)

    def fast():
        nonlocal q, fstate
        q, fstate = optim.step(transform, g, fstate, q)

    rows["NumPy, optim.step (in place, cache-blocked)"] = timeit(fast, repeat)
    for label, kw in [
        ("single-tensor", {"foreach": False}),
        ("foreach", {"foreach": True}),
        ("fused", {"fused": True}),
    ]:
        w = torch.nn.Parameter(torch.from_numpy(p0.copy()))
        w.grad = torch.from_numpy(g.copy())
        opt = torch.optim.Adam([w], lr=1e-3, **kw)
        rows[f"torch.optim.Adam {label}"] = timeit(opt.step, repeat)
    w = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    w.grad = torch.from_numpy(g.copy())
    ours = optim.TorchOptimizer([w], optim.adam(lr=1e-3))
    rows["TorchOptimizer(optim.adam), CPU tensors"] = timeit(ours.step, repeat)
    return floor, rows, bandwidths


def adam_cuda(n, repeat):
    import torch

    if not torch.cuda.is_available():
        return None
    rows = {}
    for label, make in [
        ("torch.optim.Adam fused", lambda ps: torch.optim.Adam(ps, lr=1e-3, fused=True)),
        ("TorchOptimizer(optim.adam)", lambda ps: optim.TorchOptimizer(ps, optim.adam(lr=1e-3))),
    ]:
        w = torch.nn.Parameter(torch.randn(n, device="cuda"))
        w.grad = torch.randn(n, device="cuda")
        opt = make([w])

        def go(opt=opt):
            opt.step()
            torch.cuda.synchronize()

        rows[label] = timeit(go, repeat)
    return rows


def sweep(grid, steps, singles):
    fn = problems.rosenbrock()
    lrs = np.logspace(-4, -0.5, grid)[:, None, None]
    beta1 = np.linspace(0.0, 0.99, grid)[None, :, None]
    batched = timeit(lambda: optimize(optim.adam(lr=lrs, betas=(beta1, 0.999)), fn, fn.start, steps, verbose=False), 3)
    picks = [(float(lrs.flat[i % grid]), float(beta1.flat[(7 * i) % grid])) for i in range(singles)]

    def one_by_one():
        for lr, b1 in picks:
            optimize(optim.adam(lr=lr, betas=(b1, 0.999)), fn, fn.start, steps, verbose=False)

    per_run = timeit(one_by_one, 1, 0) / singles
    return batched, per_run * grid * grid


def widgets_in_notebooks(paths, n):
    """Execute each notebook, then move every live-plot control through ``n`` values in its kernel.

    Runs under the course's one execution policy (course_utils.execution). Returns the widget times and
    each notebook's wall-clock seconds in this run (the timing cell included)."""
    import nbformat

    from course_utils import execution

    code = (
        "import json\nfrom course_utils.widgets import time_all_live_plots\n"
        f"print('@@' + json.dumps(time_all_live_plots({n})))"
    )
    results, seconds = {}, {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(code))
        seconds[path.stem] = round(execution.execute(nb, path.parent, timeout=300), 2)
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
        line = [ln for ln in text.splitlines() if ln.startswith("@@")]
        results[path.stem] = json.loads(line[-1][2:]) if line else []
    return results, seconds


def widgets_in_browser(paths, changes=5):
    """Run each notebook with "Run All" in JupyterLab (headless Chromium, as tests/browser does) and time
    every control of every live plot: input event to new picture decoded and painted, in the page.

    Returns {notebook: {"plot i: control": summary}}, or a sentence saying why it could not run."""
    import tempfile

    from tests.browser.lab import CHROMIUM, Lab, browser_context, check_notebook, copy_course, summarize

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "not measured: playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"not measured: no Chromium at {CHROMIUM} (apt-get install chromium)"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lab = Lab(copy_course(ROOT, tmp / "course", folders=("notebooks",)), tmp / "home")
        try:
            with sync_playwright() as p:
                ctx = browser_context(p, tmp / "profile")
                page = ctx.pages[0] if ctx.pages else ctx.new_page()
                page.set_default_timeout(60000)
                for path in paths:
                    report = check_notebook(page, lab.url, lab.token, f"notebooks/{path.name}", keypresses=changes)
                    results[path.stem] = {c: summarize(t) for c, t in report.roundtrips.items()}
                ctx.close()
        finally:
            lab.close()
    return results


def machine():
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cuda = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "cuda": cuda}  # fmt: skip


def optimizer_benchmarks(report, smoke):
    n = 100_000 if smoke else 10_000_000
    grid, steps, singles = (10, 50, 5) if smoke else (100, 1000, 20)
    floor, rows, bandwidths = adam_step(n, 3 if smoke else 7)
    report["adam_step"] = {"params": n, "floor_s": floor, "seconds": rows, "bandwidth": bandwidths}
    measured = ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bandwidths.items())
    print(f"Memory bandwidth (a = b + c, float32): {measured}")
    print(f"One Adam step, {n:,} float32 parameters (median of repeats)")
    print(f"  {'implementation':55s} {'ms':>9s} {'x floor':>8s}")
    for label, seconds in rows.items():
        print(f"  {label:55s} {seconds * 1e3:9.2f} {seconds / floor:8.2f}")
    fast = rows["NumPy, optim.step (in place, cache-blocked)"]
    print(f"  target: optim.step <= 2.5x floor -> {fast / floor:.2f}x; faster than torch foreach -> "
          f"{rows['torch.optim.Adam foreach'] / fast:.2f}x faster\n")  # fmt: skip

    cuda_n = 1_000_000 if smoke else 100_000_000
    cuda = adam_cuda(cuda_n, 3 if smoke else 20)
    if cuda is None:
        report["adam_cuda"] = "not measured: no CUDA device. On a GPU machine run: python benchmarks/run.py"
        print("CUDA Adam step: not measured (no CUDA device here). On a GPU machine: python benchmarks/run.py\n")
    else:
        report["adam_cuda"] = {"params": cuda_n, "seconds": cuda}
        ratio = cuda["TorchOptimizer(optim.adam)"] / cuda["torch.optim.Adam fused"]
        print(f"CUDA Adam step, {cuda_n:,} params: TorchOptimizer / torch fused = {ratio:.2f} (target <= 1.2)\n")

    batched, serial = sweep(grid, steps, singles)
    report["sweep"] = {"configs": grid * grid, "steps": steps, "batched_s": batched, "one_by_one_s_estimated": serial}
    print(f"Sweep: {grid * grid:,} Adam configurations x {steps} Rosenbrock steps")
    print(f"  one batched optimize call: {batched:.2f} s (target <= 2 s)")
    print(f"  one by one (estimated from {singles} runs): {serial:.1f} s -> batched is {serial / batched:.0f}x faster "
          "(target >= 100x)\n")  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description="Course performance benchmarks")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check that everything runs")
    parser.add_argument("--out", type=Path, help="where to write the JSON results")
    parser.add_argument(
        "--notebooks", nargs="*", type=Path, help="notebooks whose widgets to time (default: all lectures)"
    )
    parser.add_argument(
        "--browser", action="store_true", help="also time each widget in JupyterLab in headless Chromium"
    )
    parser.add_argument("--widgets-only", action="store_true", help="skip the optimizer benchmarks")
    args = parser.parse_args(argv)
    smoke = args.smoke
    report = {"machine": machine(), "smoke": smoke}

    print(f"Machine: {report['machine']}\n")
    report["load_before"] = os.getloadavg()
    if not args.widgets_only:
        optimizer_benchmarks(report, smoke)
    paths = args.notebooks if args.notebooks is not None else sorted((ROOT / "notebooks").glob("*.ipynb"))
    if smoke:
        paths = paths[:1]
    widget_times, notebook_seconds = widgets_in_notebooks(paths, 3 if smoke else 10)
    report["widgets"] = widget_times
    print(
        "Widget redraws in the kernel (recompute + render + PNG), per control: jumps across the range, and moves "
        "of one position (the arrow keys)"
    )
    for name, rows_ in widget_times.items():
        for r in rows_:
            flag = "" if r["median_s"] <= 0.1 else "  <-- over 100 ms"
            step = (
                f" | one position at a time: median {r['step_median_s'] * 1e3:6.1f} ms  full draws "
                f"{r['step_full_draws']}/{r['step_n']}"
                if r.get("step_n")
                else ""
            )
            print(
                f"  {name:32s} {r['control']:14s} jumps: median {r['median_s'] * 1e3:6.1f} ms  "
                f"worst {r['max_s'] * 1e3:6.1f} ms  full draws {r['full_draws']}/{r['n']}{step}{flag}"
            )
    if args.browser:
        with_widgets = [p for p in paths if "live_plot(" in p.read_text(encoding="utf-8")]
        browser = widgets_in_browser(with_widgets, 3 if smoke else 7)
        report["browser_widgets"] = browser
        print("\nWidget round trips in the browser (input event -> new picture decoded and painted), per control")
        if isinstance(browser, str):
            print(f"  {browser}")
        else:
            for name, controls in browser.items():
                for control, r in controls.items():
                    flag = "" if r["median_ms"] <= 100 else "  <-- over 100 ms"
                    print(f"  {name:28s} {control:20s} median {r['median_ms']:6.1f} ms  worst {r['worst_ms']:6.1f} ms  "
                          f"({r['n']} changes){flag}")  # fmt: skip
    report["load_after"] = os.getloadavg()
    print(f"\nLoad average (1, 5, 15 min) before: {report['load_before']}, after: {report['load_after']}")
    report["notebook_seconds"] = notebook_seconds
    print(
        f"\nNotebooks executed in this run (with the widget timing cell): {len(notebook_seconds)} notebooks, "
        f"{sum(notebook_seconds.values()):.0f} s in all (per-cell times of the test run: artifacts/notebook_times.json)"
    )
    out = args.out or (
        ROOT / "benchmarks" / "results" / ("smoke.json" if smoke else f"{platform.node() or 'machine'}.json")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"Results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
