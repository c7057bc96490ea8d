"""The course's figures: readable from the back of a lecture hall, and by everyone.

* **Style.** :func:`setup` loads the style sheet shipped in ``course_utils/styles`` and renders
  every notebook figure as a PNG at twice the screen's pixel density (:data:`DENSITY`). Sizes are
  points at 96 dpi, the CSS pixel density, so text set at 10 pt *is* 10 pt on screen.
  ``setup(context="talk")`` (or ``with plots.talk():``) enlarges text, lines and markers for
  projection.
* **Colour grammar.** Each colour means one thing. :data:`OPTIMIZER_COLORS` are reserved for
  optimizers, and the Adam family is also told apart by line style (:func:`style`);
  :data:`CATEGORICAL` is for every other category (steep/flat, L1/L2, float16/float32,
  converged/diverged); :data:`RAMP` is the one sequential colour map for a hyperparameter's value.
  All three are checked in ``tests/test_plots.py``: distinct under simulated colour-vision
  deficiencies and at least 3:1 contrast against white (no pale lines).
* **Figure rules.** At most four paths per trajectory panel (:func:`trajectory_grid` for more),
  legends outside the data (:func:`legend_outside`) or labels on the lines (:func:`label_lines`),
  a few highlighted lines over grey context (:func:`highlight`), smoothed curves over faint raw
  data (:func:`smoothed`), log axes that show the data rather than a float floor
  (:func:`log_limits`). :func:`audit` reports a figure that breaks them; every notebook figure is
  audited as it is rendered and the result stored in the output's metadata.

Functions return the artists they draw so that interactive cells can update them in place
(``line.set_data``) instead of redrawing.
"""

from __future__ import annotations

import contextlib
import struct
from importlib import resources

import numpy as np

DISPLAY_DPI = 96  # CSS pixels per inch: figure points are screen points
DENSITY = 2  # rendered pixels per displayed pixel (retina PNG)
COLUMN_WIDTH_IN = 10.0  # 960 CSS px: the notebook column of JupyterLab on a 1280-px laptop screen
MIN_TEXT_PT = 10.0  # smallest text at the displayed size
MAX_LINES = 8  # coloured lines per axes before a figure turns into spaghetti
MAX_PATHS = 4  # trajectories per panel
MAX_DECADES = 14  # a log y-axis spanning more (float64 resolves ~16) shows a float floor, not the data
MIN_CONTRAST = 3.0  # WCAG 2.1, SC 1.4.11: graphical objects need 3:1 against their background

STYLES = {"laptop": "course.mplstyle", "talk": "course-talk.mplstyle"}

# One colour per optimizer, everywhere. Picked for distinctness under simulated deuteranopia,
# protanopia and tritanopia among lines that share a line style (see tests/test_plots.py) and for
# at least 3:1 contrast against white.
OPTIMIZER_COLORS = {
    "gd": "#000000",
    "sgd": "#808080",
    "momentum": "#0B7551",
    "nesterov": "#05A16A",
    "adagrad": "#E85500",
    "rmsprop": "#0992F5",
    "adam": "#BC012B",
    "amsgrad": "#0414F4",
    "adamw": "#CD4BA5",
    "nadam": "#9A3F70",
    "adamax": "#AB7B45",
    "l-bfgs": "#893A9E",
}
# Variants are drawn dashed, dotted, ...: the Adam family differs by line style as well as colour.
OPTIMIZER_LINESTYLES = {
    "nesterov": "--",
    "amsgrad": "--",
    "adamw": "-.",
    "nadam": ":",
    "adamax": (0, (6, 1.5, 1, 1.5, 1, 1.5)),
}
# Every other categorical meaning: muted where the optimizers are saturated, distinct from all of them.
CATEGORICAL = ["#7744FF", "#774400", "#FF4477", "#554477"]
CATEGORY_COLORS = {
    "steep": CATEGORICAL[1], "flat": CATEGORICAL[0],
    "l1": CATEGORICAL[1], "l2": CATEGORICAL[0],
    "float16": CATEGORICAL[1], "bfloat16": CATEGORICAL[2], "float32": CATEGORICAL[0], "float64": CATEGORICAL[3],
    "diverged": CATEGORICAL[2], "converged": CATEGORICAL[3],
}  # fmt: skip
CONTEXT_GREY = "#C8C8C8"  # deliberately pale: lines that are only context (highlight, small multiples)
CONTOUR_GREY = "#B4B4B4"
MINIMUM_COLOR = "#FFC20A"  # the star at a minimum (black edge, so it stands out on white)


def _ramp():
    import matplotlib as mpl
    from matplotlib.colors import ListedColormap

    # viridis up to where its colours still have 3:1 contrast against white: a dark-to-teal ramp
    # with monotone lightness, so the order of values reads in greyscale and for every viewer.
    return ListedColormap(mpl.colormaps["viridis"](np.linspace(0.0, 0.6, 256)), name="course_ramp")


RAMP = _ramp()


def _key(name: str) -> str:
    return name.lower().replace("_", "-").strip()


def _optimizer(name: str) -> str | None:
    key = _key(name)
    for candidate in sorted(OPTIMIZER_COLORS, key=len, reverse=True):
        if key == candidate or any(key.startswith(candidate + sep) for sep in " ,(-+"):
            return candidate
    return None


def color(name: str) -> str:
    """The course colour of an optimizer, e.g. ``color("Adam")`` or ``color("adam, lr=0.1")``.

    Matching is case-insensitive on the leading word. A category from :data:`CATEGORY_COLORS`
    ("steep", "float16", ...) gets its categorical colour; any other name a stable colour of
    :data:`CATEGORICAL` (never an optimizer's).
    """
    optimizer = _optimizer(name)
    if optimizer is not None:
        return OPTIMIZER_COLORS[optimizer]
    key = _key(name)
    if key in CATEGORY_COLORS:
        return CATEGORY_COLORS[key]
    return CATEGORICAL[sum(map(ord, key)) % len(CATEGORICAL)]


def linestyle(name: str):
    """Solid for most optimizers; the Adam variants and Nesterov each get their own dash pattern."""
    return OPTIMIZER_LINESTYLES.get(_optimizer(name) or "", "-")


def style(name: str) -> dict:
    """``color`` and ``linestyle`` of a name, for ``ax.plot(x, y, **plots.style("AdamW"))``."""
    return {"color": color(name), "linestyle": linestyle(name)}


def ramp(values, log="auto") -> list:
    """Colours of the course ramp for a hyperparameter's ``values`` (lr, β, μ, σ, ...), in order.

    ``log="auto"`` spaces positive values spanning a factor of 10 or more logarithmically.
    """
    norm = ramp_norm(values, log)
    return [RAMP(float(norm(v))) for v in np.asarray(values, dtype=float)]


def ramp_norm(values, log="auto"):
    import matplotlib.colors as mcolors

    values = np.asarray(values, dtype=float)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"ramp needs finite values, got {values}")
    lo, hi = values.min(), values.max()
    if log == "auto":
        log = lo > 0 and hi / lo >= 10
    if log:
        if lo <= 0:
            raise ValueError(f"a log ramp needs positive values, got minimum {lo}")
        return mcolors.LogNorm(lo, hi if hi > lo else lo * 10)
    return mcolors.Normalize(lo, hi if hi > lo else lo + 1)


def ramp_colorbar(ax, values, label, log="auto"):
    """A colour bar of the course ramp beside ``ax``: the key for lines coloured with :func:`ramp`."""
    import matplotlib.cm as cm

    mappable = cm.ScalarMappable(norm=ramp_norm(values, log), cmap=RAMP)
    return ax.figure.colorbar(mappable, ax=ax, label=label, pad=0.02)


# ---------------------------------------------------------------------------------- style, output


def style_path(context: str = "laptop"):
    if context not in STYLES:
        raise ValueError(f"context must be one of {sorted(STYLES)}, got {context!r}")
    return resources.files("course_utils") / "styles" / STYLES[context]


def _sheets(context):
    return ["default", str(style_path("laptop"))] + ([str(style_path(context))] if context != "laptop" else [])


def setup(context: str = "laptop"):
    """The course style, and notebook figures as PNGs at :data:`DENSITY` times the pixel density.

    ``context="talk"`` enlarges text, lines and markers for a projector. In a notebook, each figure
    is audited (:func:`audit`) as it is rendered; the result goes into the output's metadata.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    plt.style.use(_sheets(context))
    if matplotlib.get_backend(auto_select=False) in ("inline", "module://matplotlib_inline.backend_inline"):
        # matplotlib loads its backend at the first figure, and matplotlib-inline then installs its own
        # PNG formatter (1x, no audit) over ours: load it now, without a `%matplotlib inline` cell
        import matplotlib_inline.backend_inline  # noqa: F401
    _register_png_formatter()


@contextlib.contextmanager
def talk():
    """``with plots.talk():`` the figures created inside use the projection context."""
    import matplotlib.pyplot as plt

    with plt.style.context(_sheets("talk")):
        yield


def _png_size(data: bytes):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def render_png(fig, density=DENSITY):
    """``(png_bytes, metadata)``: ``fig`` at ``density`` × its dpi; metadata holds the display size
    (``width``/``height`` in CSS pixels, as Jupyter expects) and the :func:`audit` report."""
    import io

    buffer, facts = io.BytesIO(), []
    # audit the very draw that makes the picture: no extra drawing, and exactly what is shown
    listener = fig.canvas.mpl_connect("draw_event", lambda event: facts.append(_drawn_facts(fig, event.renderer)))
    try:
        fig.savefig(buffer, format="png", dpi=fig.dpi * density, bbox_inches="tight", facecolor=fig.get_facecolor())
    finally:
        fig.canvas.mpl_disconnect(listener)
    data = buffer.getvalue()
    width, height = _png_size(data)
    report = _report(facts[-1], width / density / fig.dpi, fig.dpi) if facts else audit(fig)
    metadata = {"width": round(width / density), "height": round(height / density), "course": report}
    return data, metadata


def _register_png_formatter():
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatters = shell.display_formatter.formatters
    formatters["image/png"].for_type(Figure, lambda fig: render_png(fig) if fig.axes else None)
    for mime in ("image/svg+xml", "image/jpeg", "application/pdf"):
        formatters[mime].pop(Figure, None)


# ------------------------------------------------------------------------------------------ audit


def _data_points(ax):
    points = []
    for line in ax.get_lines():
        if line.get_visible() and len(line.get_xydata()):
            points.append(line.get_transform().transform(line.get_xydata()))
    for coll in ax.collections:
        offsets = np.asarray(coll.get_offsets())
        if coll.get_visible() and offsets.ndim == 2 and len(offsets) > 1:
            points.append(coll.get_offset_transform().transform(offsets))
    if not points:
        return np.empty((0, 2))
    points = np.concatenate(points)
    box = ax.bbox  # only what is visible: clipped points outside the axes cannot be covered
    inside = (points[:, 0] >= box.x0) & (points[:, 0] <= box.x1) & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1)
    return points[np.all(np.isfinite(points), axis=1) & inside]


def _is_context(line):
    import matplotlib.colors as mcolors

    r, g, b, a = mcolors.to_rgba(line.get_color(), line.get_alpha())
    pale_grey = abs(r - g) < 0.02 and abs(g - b) < 0.02 and r >= 0.7
    return pale_grey or a < 0.5


def audit(fig, display_dpi=None) -> dict:
    """Check ``fig`` against the course's figure rules.

    Returns ``{"width_in", "min_text_pt", "problems"}``: the width (tight bounding box), the
    smallest text at the displayed size, and a list of broken rules: text under
    :data:`MIN_TEXT_PT`, wider than the column, a legend on top of data points, more than
    :data:`MAX_LINES` coloured lines in one axes, a log axis spanning less than a factor of 10,
    a log y-axis spanning more than :data:`MAX_DECADES` decades. ``display_dpi``: CSS pixels per inch of figure as
    shown (default ``fig.dpi``, as the notebook shows figures; live plots show them at 96).
    """
    fig.draw_without_rendering()  # ticks, texts and legends where they will be
    renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else fig._get_renderer()
    return _report(_drawn_facts(fig, renderer), fig.get_tightbbox(renderer).width, display_dpi or fig.dpi)


def _report(facts, width_in, display_dpi):
    # the width as displayed, in inches of 96 CSS pixels; JupyterLab shrinks wider images to the column
    width_in = width_in * display_dpi / DISPLAY_DPI
    scale = display_dpi / DISPLAY_DPI * min(1.0, COLUMN_WIDTH_IN / width_in)
    problems = list(facts["problems"])
    if width_in > COLUMN_WIDTH_IN + 0.05:
        problems.append(f"{width_in:.1f} in wide: at most {COLUMN_WIDTH_IN:g} in fits the notebook column")
    small = [(size * scale, text) for size, text in facts["texts"] if size * scale < MIN_TEXT_PT - 0.05]
    if small:
        size, example = min(small)
        problems.append(f"{len(small)} texts under {MIN_TEXT_PT:g} pt on screen, e.g. {example!r} at {size:.1f} pt")
    smallest = min((size for size, _ in facts["texts"]), default=0.0) * scale
    return {"width_in": round(float(width_in), 2), "min_text_pt": round(float(smallest), 1),
            "problems": sorted(set(problems))}  # fmt: skip


def _drawn_facts(fig, renderer) -> dict:
    """What the rules need to know about a figure just drawn with ``renderer``: text sizes (points
    in the figure) and the problems that do not depend on the displayed size."""
    from matplotlib.text import Text

    texts = [
        (text.get_fontsize(), text.get_text()[:30])
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip() and text.get_figure(root=True) is fig
    ]
    problems = []
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    boxes = [legend.get_window_extent(renderer) for legend in legends if legend.get_visible()]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        name = ax.get_title() or ax.get_title(loc="left") or f"axes {fig.axes.index(ax) + 1}"
        points = _data_points(ax)
        for box in boxes:
            inside = np.sum(
                (points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)
            )
            if inside:
                problems.append(f"a legend covers {inside} data points in {name!r}")
        coloured = [line for line in ax.get_lines() if line.get_visible() and len(line.get_xydata()) > 2]
        coloured = [line for line in coloured if not _is_context(line)]
        if len(coloured) > MAX_LINES:
            problems.append(f"{len(coloured)} coloured lines in {name!r} (at most {MAX_LINES}): highlight or split")
        for axis, scale_name in (("x", ax.get_xscale()), ("y", ax.get_yscale())):
            if scale_name != "log":
                continue
            lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
            if lo > 0 and hi / lo < 10 * (1 - 1e-9):
                problems.append(f"log {axis}-axis of {name!r} spans only x{hi / lo:.1f}: use a linear axis")
            if axis == "y" and lo > 0 and np.log10(hi / lo) > MAX_DECADES:  # losses: not down to a float floor
                problems.append(f"{axis}-axis of {name!r} spans {np.log10(hi / lo):.0f} decades: see plots.log_limits")
    return {"texts": texts, "problems": problems}


# ------------------------------------------------------------------------------ building blocks


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def legend_outside(ax, where="right", **kw):
    """A legend beside the axes (``where="right"``) or under it (``"below"``), never on the data."""
    where = "right" if where is True else where
    handles, labels = kw.pop("handles", None), kw.pop("labels", None)
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if where == "right":
        placement = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)}
    elif where == "below":  # under the tick labels and the x label
        import matplotlib as mpl
        from matplotlib.transforms import offset_copy

        rc = mpl.rcParams
        tick = rc["xtick.major.size"] + rc["xtick.major.pad"] + 1.3 * ax.xaxis.get_ticklabels()[0].get_fontsize() \
            if ax.xaxis.get_ticklabels() else 20.0  # fmt: skip
        lines = ax.get_xlabel().count("\n") + 1
        label = rc["axes.labelpad"] + 1.3 * lines * ax.xaxis.label.get_fontsize() if ax.get_xlabel() else 0.0
        below = offset_copy(ax.transAxes, ax.figure, y=-(tick + label + 4), units="points")
        placement = {"loc": "upper center", "bbox_to_anchor": (0.5, 0.0), "bbox_transform": below,
                     "ncol": min(len(handles), kw.pop("ncol", 4))}  # fmt: skip
    else:
        raise ValueError(f"where must be 'right' or 'below', got {where!r}")
    return ax.legend(handles, labels, borderaxespad=0.0, frameon=False, **placement, **kw)


def label_lines(ax, lines: dict, fmt=None, min_gap_pt=None):
    """Write each line's name at its right end, in its colour, instead of a legend.

    ``lines`` maps a label to a ``Line2D``. Labels that would overlap are pushed apart vertically.
    Call it after the axis limits are final. Returns the ``Annotation`` texts.
    """
    import matplotlib as mpl

    size = mpl.rcParams["legend.fontsize"]
    if ax.figure.get_layout_engine() is not None:
        ax.figure.draw_without_rendering()  # the layout engine decides the axes' final size
    ax.get_xlim(), ax.get_ylim()  # apply pending autoscaling before converting to pixels
    size_pt = mpl.font_manager.FontProperties(size=size).get_size_in_points()
    gap = (min_gap_pt or 1.15 * size_pt) * ax.figure.dpi / 72  # pixels between label centres
    ends = []
    for label, line in lines.items():
        xy = np.asarray(line.get_xydata(), dtype=float)
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if len(xy):
            y = np.clip(ax.transData.transform(xy[-1])[1], ax.bbox.y0, ax.bbox.y1)  # lines that leave: at the edge
            ends.append((label, line, xy[-1], y))
    ends.sort(key=lambda e: e[3])
    placed = []
    for _, _, _, y in ends:
        placed.append(y if not placed else max(y, placed[-1] + gap))
    if placed:  # keep the block of labels centred on the line ends it replaces
        shift = (np.mean([e[3] for e in ends]) - np.mean(placed)) if placed[-1] > ends[-1][3] else 0.0
        placed = [p + shift for p in placed]
    texts = []
    for (label, line, _, y), target in zip(ends, placed, strict=True):
        offset_pt = (target - y) * 72 / ax.figure.dpi
        y_axes = ax.transAxes.inverted().transform((0, y))[1]
        texts.append(
            ax.annotate(
                fmt(label) if fmt else label, xy=(1.0, y_axes), xycoords="axes fraction",
                xytext=(6, offset_pt), textcoords="offset points", va="center", color=line.get_color(),
                fontsize=size, annotation_clip=False,
            )
        )  # fmt: skip
    return texts


def log_limits(ax, *arrays, axis="y", decades=MAX_DECADES, pad=1.5):
    """Log-axis limits that show the data: from the smallest positive value (but at most
    ``decades`` below the largest, so a float floor does not stretch the axis) to the largest."""
    values = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        raise ValueError("log_limits needs some positive finite values")
    hi = values.max() * pad
    lo = max(values.min() / pad, hi * 10.0 ** (-decades))
    if hi / lo < 10:  # a log axis needs at least a decade to be read as one
        mid = np.sqrt(hi * lo)
        lo, hi = mid / np.sqrt(10), mid * np.sqrt(10)
    (ax.set_ylim if axis == "y" else ax.set_xlim)(lo, hi)
    return lo, hi


def smooth(y, window: int):
    """Centred moving average over ``window`` points (shorter at the ends); NaN where ``y`` is."""
    y = np.asarray(y, dtype=float)
    if window < 1 or int(window) != window:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    ok = np.isfinite(y)
    kernel = np.ones(int(window))
    total = np.convolve(np.where(ok, y, 0.0), kernel, mode="same")
    count = np.convolve(ok.astype(float), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count
    out[~ok] = np.nan
    return out


def smoothed(ax, x, y, window: int, label=None, **style_kw):
    """The raw series faint in the background, its moving average (:func:`smooth`) on top.

    Returns ``(raw_line, smooth_line)``.
    """
    kw = dict(style(label) if label else {}, **style_kw)
    kw.setdefault("color", CATEGORICAL[0])
    (raw,) = ax.plot(x, y, color=kw["color"], alpha=0.25, lw=1.0, zorder=1)
    (line,) = ax.plot(x, smooth(y, window), label=label, zorder=2, **kw)
    return raw, line


def highlight(ax, curves: dict, keep, x=None, style_of=None, label=True):
    """Draw every curve, but only those in ``keep`` in colour; the rest thin and grey behind.

    ``curves`` maps a name to a 1-D array (or ``(x, y)`` pair). Returns ``{name: Line2D}`` of the
    highlighted curves; with ``label=True`` their names are written at their right ends.
    """
    keep = list(keep)
    missing = [k for k in keep if k not in curves]
    if missing:
        raise ValueError(f"cannot highlight {missing}: not among the curves {list(curves)}")
    style_of = style_of or style
    lines = {}
    for name, data in curves.items():
        xs, ys = data if isinstance(data, tuple) else (np.arange(len(data)) if x is None else x, data)
        if name in keep:
            (lines[name],) = ax.plot(xs, ys, label=name, zorder=3, **style_of(name))
        else:
            ax.plot(xs, ys, color=CONTEXT_GREY, lw=1.0, zorder=1)
    if label:
        label_lines(ax, {k: lines[k] for k in keep})
    return lines


def contour(problem, ax=None, levels=20, resolution=200, log=True, bounds=None):
    """Light contour lines of a 2-D :class:`~course_utils.problems.TestFunction`, minima as stars."""
    ax = _ax(ax)
    (x0, x1), (y0, y1) = bounds or problem.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    Z = problem.f(np.stack([X, Y], axis=-1))
    if log and Z.min() >= 0:
        lo = max(Z.min(), Z.max() * 1e-6, 1e-6)
        lv = np.geomspace(lo, Z.max(), levels)
    else:
        lv = np.linspace(Z.min(), Z.max(), levels)
    ax.contour(X, Y, Z, levels=lv, colors=CONTOUR_GREY, linewidths=0.8, zorder=0)
    if len(problem.minima):
        ax.plot(*problem.minima.T, "*", color=MINIMUM_COLOR, markersize=15, markeredgecolor="k",
                markeredgewidth=1.0, label="minimum", zorder=5, linestyle="none")  # fmt: skip
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


def _marker_handles():
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], marker="o", ls="none", mfc="white", mec="k", mew=1.8, ms=8, label="start"),
        Line2D([], [], marker="D", ls="none", mfc="k", mec="white", ms=7, label="end"),
        Line2D([], [], marker="*", ls="none", mfc=MINIMUM_COLOR, mec="k", ms=13, label="minimum"),
    ]


def trajectories(problem, runs: dict, ax=None, title=None, legend="right", max_paths=MAX_PATHS, **contour_kw):
    """Light contours of ``problem`` with one path per optimizer, start (○) and end (◆) marked.

    ``runs`` maps a name ("Adam", "momentum 0.9", ...) to a :class:`~course_utils.runner.Trajectory`
    or an array of points of shape ``(steps + 1, 2)``; at most ``max_paths`` of them (use
    :func:`trajectory_grid` for more). ``legend`` is ``"right"``, ``"below"`` (outside the axes)
    or ``False``. Returns ``(ax, {name: Line2D})``; each line carries its end marker as
    ``line.end`` and start marker as ``line.start`` for live plots.
    """
    if len(runs) > max_paths:
        raise ValueError(
            f"{len(runs)} paths in one panel is spaghetti: at most {max_paths}; draw small multiples with "
            "plots.trajectory_grid"
        )
    ax = contour(problem, ax=ax, **contour_kw)
    lines = {}
    for name, run in runs.items():
        path = _path(run)
        kw = style(name)
        (line,) = ax.plot(path[:, 0], path[:, 1], marker=".", ms=4, label=name, zorder=3, **kw)
        (line.start,) = ax.plot(*path[:1].T, "o", mfc="white", mec=kw["color"], mew=1.8, ms=8, zorder=4)
        (line.end,) = ax.plot(*path[-1:].T, "D", color=kw["color"], mec="white", ms=7, zorder=4)
        lines[name] = line
    if title:
        ax.set_title(title)
    if legend:
        handles = list(lines.values()) + _marker_handles()[: 3 if len(problem.minima) else 2]
        columns = {"ncol": 2} if legend == "below" else {}  # names under a panel: two columns stay within it
        legend_outside(ax, legend, handles=handles, labels=[h.get_label() for h in handles], **columns)
    return ax, lines


def set_path(line, path):
    """Move a path drawn by :func:`trajectories` (and its start and end markers) in a live plot."""
    path = _path(path)
    line.set_data(path[:, 0], path[:, 1])
    if hasattr(line, "start"):
        line.start.set_data(path[:1, 0], path[:1, 1])
        finite = path[np.all(np.isfinite(path), axis=1)]
        line.end.set_data(finite[-1:, 0], finite[-1:, 1])


def trajectory_grid(problem, runs: dict, ncols=None, width=COLUMN_WIDTH_IN, title=None, **contour_kw):
    """Small multiples: one panel per run, the other runs' paths in light grey for comparison.

    Returns ``(fig, axes, {name: Line2D})``.
    """
    import matplotlib.pyplot as plt

    n = len(runs)
    if n == 0:
        raise ValueError("trajectory_grid needs at least one run")
    ncols = ncols or min(n, 4)
    nrows = -(-n // ncols)
    panel = width / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, panel * nrows * 0.95 + 0.4), squeeze=False,
                             sharex=True, sharey=True, layout="constrained")  # fmt: skip
    paths = {name: _path(run) for name, run in runs.items()}
    lines = {}
    for ax, (name, path) in zip(axes.flat, paths.items(), strict=False):
        contour(problem, ax=ax, **contour_kw)
        for other, p in paths.items():
            if other != name:
                ax.plot(p[:, 0], p[:, 1], color=CONTEXT_GREY, lw=1.2, zorder=1)
        _, drawn = trajectories(problem, {name: path}, ax=ax, legend=False, **contour_kw)
        lines.update(drawn)
        ax.set_title(name.replace(" (", "\n("), color=color(name), fontsize=12)  # "Adam\n(lr=...)": fits a small panel
        ax.label_outer()
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig, axes, lines


def loss_curves(runs: dict, ax=None, log="auto", xlabel="step", ylabel="loss", title=None, val=False,
                legend="right", decades=MAX_DECADES):  # fmt: skip
    """Loss against step, one line per run. Returns ``(ax, {name: Line2D})``.

    Values of ``runs`` are Trajectories (their ``losses``, or ``val_losses`` with ``val=True``)
    or 1-D arrays. Diverged runs stop where they broke (their later losses are NaN).
    ``log="auto"`` uses a log axis when the losses span a factor of 10 or more, with limits from
    :func:`log_limits` (at most ``decades`` decades). ``legend``: ``"right"``, ``"below"``,
    ``"lines"`` (names at the line ends) or ``False``.
    """
    ax = _ax(ax)
    lines, ys = {}, []
    for name, run in runs.items():
        y = getattr(run, "val_losses" if val else "losses", run)
        if y is None:
            raise ValueError(f"run {name!r} has no validation losses (only dataset problems record them)")
        y = np.asarray(y, dtype=float)
        ys.append(y)
        (lines[name],) = ax.plot(np.arange(len(y)), y, label=name, **style(name))
    positive = np.concatenate([y[np.isfinite(y) & (y > 0)] for y in ys]) if ys else np.empty(0)
    if log == "auto":
        log = positive.size > 0 and positive.max() / positive.min() >= 10
    if log:
        ax.set_yscale("log")
        if positive.size:
            log_limits(ax, positive, decades=decades)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    if legend == "lines":
        label_lines(ax, lines)
    elif legend:
        legend_outside(ax, legend)
    return ax, lines


def heatmap(values, x, y, ax=None, xlabel="", ylabel="", title=None, log_x=True, log_y=False, log_color=True,
            cbar_label="final loss", mark_best=True, cmap="viridis"):  # fmt: skip
    """A sweep's result ``values[i, j]`` for ``y[i]`` and ``x[j]``; NaN (diverged) cells in grey.

    Returns ``(ax, mesh)``. The best (lowest) cell is marked with a star.
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
        ax.plot(x[j], y[i], "*", color="white", markersize=16, markeredgecolor="k", markeredgewidth=1.2)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax, mesh


def _with_grey_for_nan(name):
    import matplotlib as mpl

    return mpl.colormaps[name].with_extremes(bad="#BBBBBB")  # grey = diverged runs
