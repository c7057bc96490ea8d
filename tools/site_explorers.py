"""Kernel-free explorers for the static website: frames precomputed with course_utils at build time.

A notebook widget redraws its figure in a kernel. The website has no kernel, so for the key
explorers we run the same computation for every position of the sliders ahead of time, save one
PNG per combination, and let a few lines of plain JavaScript (docs/_static/explorers.js) show the
frame that matches the sliders. Each explorer writes ``<name>/frame_<i>.png`` and a
``<name>/explorer.json`` manifest:

    {"name", "title", "alt", "lecture", "background": "background.png",
     "sliders": [{"name", "label", "values", "initial"}], "frames": [...], "readouts": [...]}

Each frame is a transparent PNG holding only the moving lines, drawn over the static background
(axes, contours, legend), which keeps the frames small and fast to render.

Frame ``i`` belongs to the slider indices ``np.unravel_index(i, shape)`` (C order), and the page
computes the same index from the sliders. The computations are the lectures' own: the EMA and its
bias correction from ``optim.ema``/``optim.debias`` (lecture 7), and Adam on the Rosenbrock function
with ``optim.adam`` and the batched ``optimize`` runner (lecture 8), all configurations in one run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import optim, optimize, plots, problems  # noqa: E402

DPI = 80  # frames are shown at about 800 px wide; 80 dpi keeps each under ~60 kB


@dataclass
class Explorer:
    name: str
    title: str
    alt: str
    lecture: str  # glob of the lecture notebook that embeds it (after its first widget)
    sliders: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    readouts: list = field(default_factory=list)

    background: str = "background.png"

    def manifest(self) -> dict:
        keys = ("name", "title", "alt", "lecture", "background", "sliders", "frames", "readouts")
        return {k: getattr(self, k) for k in keys}


def _save(fig: Figure, path: Path, transparent=False) -> None:
    fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None}, transparent=transparent)


class Layers:
    """Render a figure as one static background plus, per frame, only its moving artists.

    The two PNGs have the same size and are stacked in the page, so a frame holds a few lines on a
    transparent canvas (a few kB, fast to draw) instead of the contours and axes again.
    """

    def __init__(self, fig: Figure, moving: list):
        self.fig, self.moving = fig, set(moving)
        self.static = [a for ax in fig.axes for a in ax.get_children() if a not in self.moving]

    def background(self, path: Path) -> None:
        for a in self.moving:
            a.set_visible(False)
        _save(self.fig, path)
        for a in self.moving:
            a.set_visible(True)
        for a in self.static:
            a.set_visible(False)
        self.fig.patch.set_visible(False)

    def frame(self, path: Path) -> None:
        _save(self.fig, path, transparent=True)


def ema_explorer(out: Path) -> Explorer:
    """Lecture 7: raw and bias-corrected EMA of a noisy signal of mean 1, for each beta and step t."""
    betas = [0.5, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999]
    steps = [1, 2, 5, 10, 20, 50, 100, 200, 400]
    rng = np.random.default_rng(0)
    T = steps[-1]
    x = rng.normal(1.0, 0.5, size=T)
    s = np.arange(1, T + 1)
    ex = Explorer(
        "ema",
        "Exponential moving average and bias correction",
        "Two panels. Left: the weight the moving average gives each past sample, raw (summing to 1 − β^t) "
        "and bias-corrected (summing to 1). Right: a noisy signal of mean 1 with its raw EMA, which starts "
        "near 0, and the corrected EMA, which tracks 1 from the first step.",
        "*_ema_*.ipynb",
        sliders=[
            {"name": "beta", "label": "β", "values": betas, "initial": betas.index(0.99)},
            {"name": "t", "label": "step t", "values": steps, "initial": steps.index(20)},
        ],
    )
    cmap = plt.get_cmap("viridis")
    fig = Figure(figsize=(11, 4))
    ax_w, ax_a = fig.subplots(1, 2)
    (raw_w,) = ax_w.plot([], [], ".-", color=cmap(0.1), lw=2, label="raw weights")
    (hat_w,) = ax_w.plot([], [], ".-", color=cmap(0.75), lw=2, label="corrected weights")
    ax_w.set(xlim=(0, T + 1), yscale="log", ylim=(1e-6, 2), xlabel="sample index s", ylabel="weight of $x_s$")
    ax_w.legend(loc="lower left")
    ax_a.plot(s, x, ".", color="0.75", ms=3, label="signal (mean 1)")
    (raw_a,) = ax_a.plot([], [], color=cmap(0.1), lw=2, label="raw EMA")
    (hat_a,) = ax_a.plot([], [], color=cmap(0.75), lw=2, label="corrected")
    cursor = ax_a.axvline(1, color="k", ls=":")
    ax_a.axhline(1, color="k", lw=0.8)
    ax_a.set(xlim=(0, T + 1), ylim=(-0.2, 2.6), xlabel="step", ylabel="value")
    ax_a.legend(loc="lower right", ncol=3, fontsize=9)
    fig.tight_layout()
    layers = Layers(fig, [raw_w, hat_w, raw_a, hat_a, cursor])
    layers.background(out / "background.png")
    for beta in betas:
        ema, average = np.empty(T), 0.0
        for k in range(T):  # the lecture's two lines: a_t = beta a_{t-1} + (1 - beta) x_t, from a_0 = 0
            average = optim.ema(average, x[k], beta)
            ema[k] = average
        hat = optim.debias(ema, beta, s)  # a_t / (1 - beta^t)
        for t in steps:
            weights = (1 - beta) * beta ** (t - s[:t])
            raw_w.set_data(s[:t], weights)
            hat_w.set_data(s[:t], weights / (1 - beta**t))
            raw_a.set_data(s[:t], ema[:t])
            hat_a.set_data(s[:t], hat[:t])
            cursor.set_xdata([t, t])
            frame = f"frame_{len(ex.frames):03d}.png"
            layers.frame(out / frame)
            ex.frames.append(frame)
            ex.readouts.append(
                f"β = {beta}, t = {t}: the raw weights sum to 1 − β^t = {1 - beta**t:.3f}; "
                f"raw EMA {ema[t - 1]:.3f}, corrected {hat[t - 1]:.3f} (the signal's mean is 1)."
            )
    return ex


def adam_explorer(out: Path) -> Explorer:
    """Lecture 8: Adam's three knobs (lr, beta1, beta2) on the Rosenbrock function, 500 steps."""
    lrs = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
    beta1s = [0.0, 0.5, 0.9, 0.99]
    beta2s = [0.9, 0.99, 0.999, 0.9999]
    steps = 500
    rosen = problems.rosenbrock()
    grid = np.array([(lr, b1, b2) for lr in lrs for b1 in beta1s for b2 in beta2s])  # C order, as the page
    default = len(grid)  # one extra row: the defaults lr = 0.01, betas = (0.9, 0.999), drawn in grey
    lr = np.append(grid[:, 0], 0.01)[:, None]
    betas = (np.append(grid[:, 1], 0.9)[:, None], np.append(grid[:, 2], 0.999)[:, None])
    run = optimize(optim.adam(lr=lr, betas=betas), rosen, rosen.start, steps, verbose=False)
    ex = Explorer(
        "adam",
        "Adam's three knobs on the Rosenbrock function",
        "Two panels. Left: the path of Adam over the contours of the Rosenbrock function from its start "
        "point, with the path of the default settings in grey. Right: the loss over 500 steps on a log "
        "scale, for the chosen settings and for the defaults.",
        "*_adam.ipynb",
        sliders=[
            {"name": "lr", "label": "lr", "values": lrs, "initial": lrs.index(0.01)},
            {"name": "beta1", "label": "β1", "values": beta1s, "initial": beta1s.index(0.9)},
            {"name": "beta2", "label": "β2", "values": beta2s, "initial": beta2s.index(0.999)},
        ],
    )
    fig = Figure(figsize=(11, 4.2))
    ax_path, ax_loss = fig.subplots(1, 2)
    plots.contour(rosen, ax=ax_path)
    colour = plots.color("Adam")
    ghost = run.params[:, default]
    ax_path.plot(ghost[:, 0], ghost[:, 1], "-", color="0.5", lw=1.5, alpha=0.7, label="defaults")
    (path,) = ax_path.plot([], [], ".-", color=colour, lw=1.6, ms=3, label="your settings")
    ax_path.plot(*rosen.start, "o", color=colour, ms=7, markeredgecolor="k")
    ax_path.legend(loc="lower right", fontsize=9)
    t = np.arange(steps + 1)
    ax_loss.plot(t, np.maximum(run.losses[:, default], 1e-12), color="0.5", lw=1.5, alpha=0.7, label="defaults")
    (loss,) = ax_loss.plot([], [], color=colour, lw=2, label="your settings")
    ax_loss.set(yscale="log", xlim=(0, steps), ylim=(1e-12, 1e3), xlabel="step", ylabel="loss")
    ax_loss.legend(loc="lower left")
    fig.tight_layout()
    layers = Layers(fig, [path, loss])
    layers.background(out / "background.png")
    for i, (lr_i, b1, b2) in enumerate(grid):
        p = np.clip(run.params[:, i], -10, 10)  # a diverging run stays drawable
        path.set_data(p[:, 0], p[:, 1])
        final = run.losses[-1, i]
        loss.set_data(t, np.clip(np.nan_to_num(run.losses[:, i], nan=1e3), 1e-12, 1e3))
        frame = f"frame_{i:03d}.png"
        layers.frame(out / frame)
        ex.frames.append(frame)
        ex.readouts.append(
            f"lr = {lr_i:g}, β1 = {b1:g}, β2 = {b2:g}: loss after {steps} steps "
            + (f"{final:.2e}" if np.isfinite(final) else "not finite (diverged)")
            + f" (defaults: {run.losses[-1, default]:.2e})."
        )
    return ex


EXPLORERS = (ema_explorer, adam_explorer)


def build(out: Path) -> list[dict]:
    """Write every explorer under ``out/<name>/`` and return their manifests."""
    plots.setup()
    manifests = []
    for make in EXPLORERS:
        folder = out / make.__name__.removesuffix("_explorer")
        folder.mkdir(parents=True, exist_ok=True)
        explorer = make(folder)
        manifest = explorer.manifest()
        (folder / "explorer.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        manifests.append(manifest)
    return manifests
