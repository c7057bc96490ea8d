"""The course's figures: one colour per optimizer everywhere, readable on a projector.

Colours come from Paul Tol's colour-blind-safe "muted" scheme (plus black and grey), and each
optimizer keeps its colour in every notebook. Functions return the artists they draw so that
interactive cells can update them in place (``line.set_data``) instead of redrawing.
"""

from __future__ import annotations

import numpy as np

OPTIMIZER_COLORS = {
    "gd": "#000000",
    "sgd": "#777777",
    "momentum": "#117733",
    "nesterov": "#44AA99",
    "adagrad": "#999933",
    "rmsprop": "#88CCEE",
    "adam": "#CC6677",
    "amsgrad": "#332288",
    "adamw": "#882255",
    "nadam": "#AA4499",
    "adamax": "#DDCC77",
    "l-bfgs": "#4477AA",
}
_FALLBACK = ["#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB"]  # none is a course colour


def color(name: str) -> str:
    """The course colour of an optimizer, e.g. ``color("Adam")`` or ``color("adam, lr=0.1")``.

    Matching is case-insensitive on the leading word; unknown names get a stable fallback colour.
    """
    key = name.lower().replace("_", "-").strip()
    for candidate in sorted(OPTIMIZER_COLORS, key=len, reverse=True):
        if key == candidate or any(key.startswith(candidate + sep) for sep in " ,(-+"):
            return OPTIMIZER_COLORS[candidate]
    return _FALLBACK[sum(map(ord, key)) % len(_FALLBACK)]


def setup():
    """Course-wide matplotlib style: larger fonts for projectors, no figure clutter."""
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 4.5),
            "figure.dpi": 80,
            "font.size": 12,
            "axes.titlesize": 13,
            "axes.labelsize": 12,
            "legend.fontsize": 10,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def contour(problem, ax=None, levels=25, resolution=200, log=True, bounds=None):
    """Contour lines of a 2-D :class:`~course_utils.problems.TestFunction`, minima as stars."""
    ax = _ax(ax)
    (x0, x1), (y0, y1) = bounds or problem.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    Z = problem.f(np.stack([X, Y], axis=-1))
    if log and Z.min() >= 0:
        lo = max(Z.min(), Z.max() * 1e-6, 1e-6)
        lv = np.geomspace(lo, Z.max(), levels)
    else:
        lv = np.linspace(Z.min(), Z.max(), levels)
    ax.contour(X, Y, Z, levels=lv, cmap="Greys_r", linewidths=0.7, alpha=0.7)
    if len(problem.minima):
        ax.plot(*problem.minima.T, "*", color="#DDAA33", markersize=14, markeredgecolor="k", label="minimum", zorder=5)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$x$", ylabel="$y$")
    ax.set_aspect("equal", adjustable="box")
    ax.grid(False)
    return ax


def _path(run):
    path = np.asarray(run.params if hasattr(run, "params") else run)
    if path.ndim != 2 or path.shape[1] != 2:
        raise ValueError(
            f"a path must have shape (steps + 1, 2), got {path.shape}; for a batched run pass one of its runs, "
            "e.g. traj.params[:, i]"
        )
    return path


def trajectories(problem, runs: dict, ax=None, title=None, legend=True, **contour_kw):
    """Contour plot of ``problem`` with one path per optimizer.

    ``runs`` maps a name ("Adam", "momentum 0.9", ...) to a :class:`~course_utils.runner.Trajectory`
    or an array of points of shape ``(steps + 1, 2)``. Returns ``(ax, {name: Line2D})``.
    """
    ax = contour(problem, ax=ax, **contour_kw)
    lines = {}
    for name, run in runs.items():
        path = _path(run)
        (lines[name],) = ax.plot(path[:, 0], path[:, 1], ".-", color=color(name), lw=1.6, ms=3, label=name)
        ax.plot(*path[0], "o", color=color(name), ms=7, markeredgecolor="k")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(loc="best", framealpha=0.9)
    return ax, lines


def loss_curves(runs: dict, ax=None, log=True, xlabel="step", ylabel="loss", title=None, val=False):
    """Loss against step, one line per run (log scale by default). Returns ``(ax, {name: Line2D})``.

    Values of ``runs`` are Trajectories (their ``losses``, or ``val_losses`` with ``val=True``)
    or 1-D arrays. Diverged runs stop where they broke (their later losses are NaN).
    """
    ax = _ax(ax)
    lines = {}
    for name, run in runs.items():
        y = getattr(run, "val_losses" if val else "losses", run)
        if y is None:
            raise ValueError(f"run {name!r} has no validation losses (only dataset problems record them)")
        y = np.asarray(y)
        (lines[name],) = ax.plot(np.arange(len(y)), y, color=color(name), lw=1.8, label=name)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="best")
    return ax, lines


def heatmap(values, x, y, ax=None, xlabel="", ylabel="", title=None, log_x=True, log_y=False, log_color=True,
            cbar_label="final loss", mark_best=True, cmap="viridis"):  # fmt: skip
    """A sweep's result ``values[i, j]`` for ``y[i]`` and ``x[j]``; NaN (diverged) cells in grey.

    Returns ``(ax, mesh)``. The best (lowest) cell is marked with a white star.
    """
    import matplotlib.colors as mcolors

    ax = _ax(ax)
    values = np.asarray(values, dtype=float)
    if values.shape != (len(y), len(x)):
        raise ValueError(f"values must have shape (len(y), len(x)) = {(len(y), len(x))}, got {values.shape}")
    finite = values[np.isfinite(values)]
    norm = None
    if log_color and finite.size and finite.min() > 0:
        norm = mcolors.LogNorm(vmin=finite.min(), vmax=finite.max())
    cm = _with_grey_for_nan(cmap)
    mesh = ax.pcolormesh(x, y, np.ma.masked_invalid(values), cmap=cm, norm=norm, shading="nearest")
    ax.figure.colorbar(mesh, ax=ax, label=cbar_label)
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    if mark_best and finite.size:
        i, j = np.unravel_index(np.nanargmin(np.where(np.isfinite(values), values, np.nan)), values.shape)
        ax.plot(x[j], y[i], "*", color="white", markersize=14, markeredgecolor="k")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax, mesh


def _with_grey_for_nan(name):
    import matplotlib as mpl

    return mpl.colormaps[name].with_extremes(bad="#BBBBBB")  # grey = diverged runs
