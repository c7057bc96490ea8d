"""Interactive figures that redraw fast: controls on top, one reusable figure below.

The figure is created once; each change of a control calls ``update(**values)``, which should
only change the data of existing artists (``line.set_data``), and the figure is re-rendered to a
PNG shown by an ``ipywidgets.Image``. No flicker, no figure pile-up, and every redraw is timed
(``live_plot.timings``) so the course can check its 100 ms promise (benchmarks/run.py).

Pictures are rendered at twice the screen's pixel density (``plots.DENSITY``) and shown at the
figure's size in CSS pixels (``figsize`` × 96), never wider than the notebook column. In a saved
notebook the widget's output also carries a static PNG of its initial state and a text
description, for readers without a running kernel (GitHub, a rendered website, a screen reader).

Speed comes from drawing, encoding and sending only what changed, in two stacked pictures. The
artists that matplotlib marks as changed after ``update`` (``artist.stale``) are drawn alone on a
transparent layer, the only PNG sent on most moves (mostly empty, so it is quick to compress,
send and decode). Everything else (contours, axes, legends) is the background layer below it,
drawn and sent again only when something in it changes (axis limits, scales, added, removed or
hidden artists). Backgrounds are cached by that layout, so returning to a choice seen before (a
dropdown's option, say) costs no full draw; ``prerender`` draws the backgrounds of chosen
controls' options up front.
"""

from __future__ import annotations

import base64
import io
import itertools
import struct
import time
import weakref
import zlib
from collections import OrderedDict

import ipywidgets as widgets
import numpy as np
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from PIL import Image

from . import plots

_LIVE = weakref.WeakSet()  # every LivePlot of this kernel, for timing them all (benchmarks/)


def _visible_content(artist) -> bool:
    """Artists that draw something of their own (empty texts stay "stale" forever: skip them)."""
    if isinstance(artist, Axis) or not artist.get_visible():
        return False
    return not (isinstance(artist, Text) and artist.get_text() == "")


def _ticks(axis) -> tuple:
    """The tick positions and labels that ``axis`` would draw now (major, then minor)."""
    if not axis.axes.get_visible():
        return ()
    major, minor = axis.get_majorticklocs(), axis.get_minorticklocs()
    return (
        tuple(major), tuple(axis.get_major_formatter().format_ticks(major)),
        tuple(minor), tuple(axis.get_minor_formatter().format_ticks(minor)),
    )  # fmt: skip


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png(rgba) -> bytes:
    """A fast PNG of an ``(height, width, 4)`` uint8 RGBA buffer, for live frames.

    Rows use PNG filter type 0 (none) and zlib level 1. Pillow always tries its adaptive row
    filters, which at twice the pixel density cost more than all the rest of a redraw; on a plot
    (mostly flat colour) filtering barely shrinks the file. Checked against Pillow's decoder in
    tests/test_widgets.py.
    """
    pixels = np.asarray(rgba)
    if pixels.ndim != 3 or pixels.shape[2] != 4 or pixels.dtype != np.uint8:
        raise ValueError(f"expected an (height, width, 4) uint8 array, got {pixels.shape} {pixels.dtype}")
    height, width, _ = pixels.shape
    rows = np.empty((height, 1 + 4 * width), dtype=np.uint8)
    rows[:, 0] = 0  # filter type of each row: none
    rows[:, 1:] = pixels.reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 1))
        + _chunk(b"IEND", b"")
    )  # fmt: skip


class LivePlot:
    """Controls + a figure that ``update`` redraws. Display it (last line of a cell) to use it."""

    CACHED_BACKGROUNDS = 16  # layouts kept (a PNG of ~100-300 kB each)

    def __init__(self, fig, update, controls: dict, blit=True, description="", density=plots.DENSITY, prerender=()):
        if not controls:
            raise ValueError("LivePlot needs at least one control")
        if not isinstance(description, str):
            raise TypeError(f"description must be a string (what the figure shows), got {type(description).__name__}")
        unknown = [name for name in prerender if name not in controls]
        if unknown:
            raise ValueError(
                f"prerender names controls that do not exist: {unknown}; the controls are {list(controls)}"
            )
        self.fig, self.update, self.controls, self.blit = fig, update, dict(controls), blit
        self.description = description.strip()
        self.density = density
        fig.set_dpi(plots.DISPLAY_DPI * density)  # draw at `density` pixels per CSS pixel
        self.canvas = FigureCanvasAgg(fig)
        self._animated: set = set()
        self._backgrounds: dict = {}  # layout key -> (background PNG, ids of the artists it shows), most recent last
        self.full_draws = 0
        self.canvas.draw()  # clears every artist's "stale" flag: from now on, stale means "changed"
        pixel_width, pixel_height = self.canvas.get_width_height()
        self._blank = encode_png(np.zeros((pixel_height, pixel_width, 4), np.uint8))  # background when not blitting
        width, height = (round(v) for v in fig.get_size_inches() * plots.DISPLAY_DPI)
        self.display_size = (width, height)  # CSS pixels
        layer = {"grid_area": "plot", "width": "100%", "height": "auto"}  # both layers in one grid cell
        self.background = widgets.Image(format="png", layout=widgets.Layout(**layer))
        self.image = widgets.Image(format="png", layout=widgets.Layout(**layer))  # the live layer, on top
        self.image.add_class("course-live-plot")
        self.picture = widgets.GridBox(
            [self.background, self.image],
            layout=widgets.Layout(grid_template_areas='"plot"', width=f"{width}px", max_width="100%"),
        )
        self.timings: list[float] = []  # seconds per recompute + redraw
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox(list(self.controls.values()), layout={"flex_flow": "row wrap"}), self.picture]
        )
        self._prerender(prerender)
        self.redraw()
        _LIVE.add(self)

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self):
        start = time.perf_counter()
        self.update(**self.values())
        self.background.value = self._render()  # traitlets sends it only when it changed
        self.image.value = encode_png(self.canvas.buffer_rgba())
        self.timings.append(time.perf_counter() - start)

    def _prerender(self, names):
        """Draw and cache the background of every option of the controls ``names`` (then start over)."""
        values = self.values()
        for name in names:
            for value in _sweep_values(self.controls[name], len(getattr(self.controls[name], "options", ())) or 2):
                self.update(**{**values, name: value})
                self._render()

    def _layout_key(self):
        """What a cached background depends on: sizes, and each axes' visibility, limits, scales,
        axis labels, tick positions and labels, and children. (Setting a limit, label or scale to
        what it already shows changes nothing here, so it does not force a full redraw.)"""
        return (
            tuple(self.fig.get_size_inches()), self.fig.dpi,
            tuple((id(ax), ax.get_visible(), tuple(ax.viewLim.bounds), ax.get_xscale(), ax.get_yscale(),
                   ax.get_xlabel(), ax.get_ylabel(), _ticks(ax.xaxis), _ticks(ax.yaxis),
                   tuple(id(c) for c in ax.get_children()))
                  for ax in self.fig.axes),
        )  # fmt: skip

    def _render(self) -> bytes:
        """Draw the live layer into the canvas; return the PNG of the background layer below it."""
        if not self.blit:
            self.canvas.draw()
            self.full_draws += 1
            return self._blank
        changed = {a for ax in self.fig.axes for a in ax.get_children() if a.stale and _visible_content(a)}
        # figure-level artists (suptitle, fig.text, fig.legend) are part of the background
        if any(a.stale and _visible_content(a) for a in self.fig.get_children() if a not in self.fig.axes):
            self._backgrounds.clear()
        joining = changed - self._animated
        if joining:  # they move to the live layer: drop the cached backgrounds that show them
            for artist in joining:
                artist.set_animated(True)
            self._animated |= joining
            ids = {id(a) for a in joining}
            self._backgrounds = {k: b for k, b in self._backgrounds.items() if not ids & b[1]}
        key = self._layout_key()
        background = self._backgrounds.pop(key, None)
        if background is None:
            self.canvas.draw()  # everything but the animated artists
            shown = {id(a) for ax in self.fig.axes if ax.get_visible() for a in ax.get_children() if a.get_visible()}
            background = (encode_png(self.canvas.buffer_rgba()), shown)
            self.full_draws += 1
        self._backgrounds[key] = background  # most recently used last
        while len(self._backgrounds) > self.CACHED_BACKGROUNDS:
            del self._backgrounds[next(iter(self._backgrounds))]
        np.asarray(self.canvas.buffer_rgba())[...] = 0  # transparent black: long runs of zero bytes compress fastest
        for artist in sorted(self._animated, key=lambda a: a.get_zorder()):
            axes = artist.axes
            if axes is not None and axes.get_visible() and artist.get_visible() and artist.figure is self.fig:
                axes.draw_artist(artist)
        return background[0]

    def _changed(self, change):
        self.redraw()

    def picture_rgba(self) -> np.ndarray:
        """The picture a reader sees: the live layer over the background, ``(height, width, 4)`` uint8."""
        below = Image.open(io.BytesIO(bytes(self.background.value))).convert("RGBA")
        above = Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        return np.asarray(Image.alpha_composite(below, above))

    def static_png(self) -> bytes:
        """The current picture, compressed harder than the live frames: for the saved notebook."""
        buffer = io.BytesIO()
        Image.fromarray(self.picture_rgba()).save(buffer, "PNG", optimize=True)
        return buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        """The live widget, plus a static picture and a description for readers without a kernel."""
        data = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["image/png"] = base64.b64encode(self.static_png()).decode("ascii")
        controls = ", ".join(
            f"{getattr(c, 'description', '') or name} = {c.value}" for name, c in self.controls.items()
        )
        text = f"Interactive figure (run the notebook to use its controls: {controls})."
        data["text/plain"] = f"{self.description}\n{text}" if self.description else text
        width, height = self.display_size
        report = plots.audit(self.fig, display_dpi=plots.DISPLAY_DPI)
        return data, {"image/png": {"width": width, "height": height, "course": report}}


def live_plot(fig, update, description="", prerender=(), **controls) -> LivePlot:
    """``live_plot(fig, update, lr=FloatLogSlider(...), ..., description="...")``: see :class:`LivePlot`.

    ``description`` says what the figure shows and what the controls change; it is the text a
    reader without a running kernel (or a screen reader) gets. ``prerender``: names of controls
    (a dropdown of problems, say) whose every option changes the background; their backgrounds
    are drawn once, up front, so that choosing an option never waits for a full draw.

    Create ``fig`` with ``matplotlib.figure.Figure`` (or close a pyplot figure) so that the
    notebook does not also show a static copy.
    """
    return LivePlot(fig, update, controls, description=description, prerender=prerender)


def freeze_layout(fig):
    """Lay ``fig`` out once with its layout engine (e.g. ``layout="constrained"``), then switch the engine off.

    A constrained layout is recomputed at every draw. A live figure's axes do not move when a slider
    changes the data, so computing the layout once is enough, and every redraw gets faster.
    Returns nothing, so that a cell may end with it without displaying the figure.
    """
    fig.draw_without_rendering()
    fig.set_layout_engine("none")


def plain_log_labels(axis, fmt="%.0e"):
    """Tick labels such as ``1e-05`` on a log ``axis`` (``ax.xaxis`` or ``ax.yaxis``) of a live figure.

    matplotlib's default log labels are math text (:math:`10^{-5}`), which costs far more to lay
    out at every redraw than plain text. Returns nothing (a cell may end with it).
    """
    from matplotlib import ticker

    axis.set_major_formatter(ticker.FormatStrFormatter(fmt))


def log_slider(description, value, min_exp, max_exp, step=0.1, fmt=".2e"):
    """A FloatLogSlider from 10**min_exp to 10**max_exp (learning rates, eps, ...)."""
    return widgets.FloatLogSlider(
        value=value, base=10, min=min_exp, max=max_exp, step=step, description=description, readout_format=fmt,
        continuous_update=True, style={"description_width": "initial"},
    )  # fmt: skip


def slider(description, value, min, max, step, fmt=None):  # noqa: A002 - ipywidgets' own names
    """A FloatSlider (or IntSlider when every argument is an int)."""
    ints = all(isinstance(v, int) for v in (value, min, max, step))
    cls = widgets.IntSlider if ints else widgets.FloatSlider
    kw = {} if fmt is None else {"readout_format": fmt}
    return cls(value=value, min=min, max=max, step=step, description=description, continuous_update=True,
               style={"description_width": "initial"}, **kw)  # fmt: skip


def positions(control) -> list | None:
    """Every value a reader can give ``control`` with the mouse or the keyboard, in order: a slider's
    steps, a menu's or a selection slider's options, ``[False, True]`` for a toggle. ``None`` for a
    control without a fixed set of values (a text box, say)."""
    options = getattr(control, "options", None)
    if options:
        return [o[1] if isinstance(o, tuple) else o for o in options]
    if isinstance(control.value, bool):
        return [False, True]
    if isinstance(control, widgets.FloatLogSlider):
        count = int(round((control.max - control.min) / control.step)) + 1
        return [float(control.base ** (control.min + k * control.step)) for k in range(count)]
    if isinstance(control, widgets.IntSlider):
        return list(range(control.min, control.max + 1, control.step))
    if isinstance(control, widgets.FloatSlider):
        count = int(np.floor((control.max - control.min) / control.step + 1e-9)) + 1
        return [float(control.min + k * control.step) for k in range(count)]
    return None


def _nearest(control, values, value):
    """The index of the position of ``control`` nearest to ``value`` (``values = positions(control)``), or
    None when ``value`` is none of them and the positions are not numbers on a scale."""
    if isinstance(control, widgets.FloatLogSlider):
        if not value > 0:
            return None
        k = (np.log(value) / np.log(control.base) - control.min) / control.step
    elif isinstance(control, (widgets.FloatSlider, widgets.IntSlider)):
        k = (value - control.min) / control.step
    else:
        return values.index(value) if value in values else None
    return int(np.clip(round(k), 0, len(values) - 1))


def _position(control, values, value):
    """The index of ``value`` among ``values = positions(control)`` (up to rounding), or None."""
    k = _nearest(control, values, value)
    if k is not None and abs(values[k] - value) <= 1e-9 * max(abs(value), abs(values[k]), 1e-300):
        return k
    return None


def _sweep_values(control, n):
    """``n`` admissible values across a control's range (or its options): positions a reader can reach."""
    if hasattr(control, "options") and control.options:
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return (values * n)[:n]
    values = positions(control)
    if values is None:
        return []
    if isinstance(control.value, bool):
        return [bool(i % 2) for i in range(1, n + 1)]
    return [values[int(round(i))] for i in np.linspace(0, len(values) - 1, n)]


class Lookup:
    """The results of an expensive computation per position of a live plot's controls, computed in
    batches, so that moving a control is a look-up instead of a recomputation.

    ``compute(**arrays)`` gets one array per control (the same length K: K settings side by side) and
    returns K results, one per setting, computed in one batched call (an ``optimize`` with array
    hyperparameters, say). ``lookup(**values)`` returns the result for the controls' current values.
    A setting not seen before (a miss) computes, in that one call, every position within ``reach``
    steps of it along each control with the other controls held (all of a control's positions when
    ``reach`` is None): moving one control by up to ``reach`` steps, which is what a reader does with
    the keyboard or a short drag, then finds its result. A batched call on small arrays costs little
    more than a single run (the time goes to Python and NumPy's per-call overhead), so a miss costs
    about what one recomputation did. ``precompute=True`` computes every combination of positions up
    front (for a small grid). At most ``max_results`` results are kept (least recently used first out).
    A value that is not one of a control's positions (set from code) is computed alone.
    """

    def __init__(self, compute, controls: dict, reach: int | None = 16, max_results=4096, precompute=False):
        if not controls:
            raise ValueError("Lookup needs at least one control")
        self.compute, self.controls, self.reach, self.max_results = compute, dict(controls), reach, max_results
        self._positions = {name: positions(control) for name, control in self.controls.items()}
        self._results: OrderedDict = OrderedDict()  # key (a position index or ("value", v) per control) -> result
        self.misses = self.computed = 0  # look-ups that had to compute; results computed in all
        if precompute:
            grids = [range(len(v)) if v is not None else [None] for v in self._positions.values()]
            keys = [k for k in itertools.product(*grids) if None not in k]
            self._compute_many(keys)

    def _key(self, name, value):
        values = self._positions[name]
        k = None if values is None else _position(self.controls[name], values, value)
        return ("value", value) if k is None else k

    def _value(self, name, key):
        return key[1] if isinstance(key, tuple) else self._positions[name][key]

    def _compute_many(self, keys):
        names = list(self.controls)
        arrays = {n: np.array([self._value(n, key[i]) for key in keys]) for i, n in enumerate(names)}
        results = list(self.compute(**arrays))
        if len(results) != len(keys):
            raise ValueError(f"compute returned {len(results)} results for {len(keys)} settings")
        self.computed += len(keys)
        for key, result in zip(keys, results, strict=True):
            self._results[key] = result
        while len(self._results) > self.max_results:
            self._results.popitem(last=False)

    def __call__(self, **values):
        names = list(self.controls)
        if set(values) != set(names):
            raise TypeError(f"Lookup takes the values of {names}, got {sorted(values)}")
        key = tuple(self._key(n, values[n]) for n in names)
        if key in self._results:
            self._results.move_to_end(key)
            return self._results[key]
        self.misses += 1
        cross = {}  # the neighbours of this setting along each control
        for i, n in enumerate(names):
            if self._positions[n] is None:
                continue
            # a value between positions (a slider's start value, say): the reader moves onto the positions
            at = key[i] if not isinstance(key[i], tuple) else _nearest(self.controls[n], self._positions[n], values[n])
            if at is None:
                continue
            count = len(self._positions[n])
            reach = count if self.reach is None else self.reach
            lo, hi = max(0, at - reach), min(count - 1, at + reach)
            for k in range(lo, hi + 1):
                other = key[:i] + (k,) + key[i + 1 :]
                if other not in self._results:
                    cross[other] = None
        neighbours = [k for k in cross if k != key][: self.max_results - 1]
        self._compute_many([*neighbours, key])  # this setting last: the first kept when results are dropped
        return self._results[key]


def lookup(compute, reach: int | None = 16, precompute=False, max_results=4096, **controls) -> Lookup:
    """``lookup(compute, lr=lr_slider, beta1=beta1_slider)``: see :class:`Lookup`. Pass the same controls
    to :func:`live_plot`, and call the lookup in ``update`` (``run = runs(lr=lr, beta1=beta1)``)."""
    return Lookup(compute, controls, reach=reach, max_results=max_results, precompute=precompute)


def _steps(control, n):
    """Up to ``n`` values one position apart from the control's value, towards the side with room:
    what a reader's arrow keys give (the browser tests press them)."""
    values = positions(control)
    k = None if values is None else _nearest(control, values, control.value)
    if k is None or len(values) < 2:
        return []
    direction = 1 if k + n < len(values) or k < len(values) - 1 - k else -1
    return [values[k + direction * j] for j in range(1, n + 1) if 0 <= k + direction * j < len(values)]


def time_all_live_plots(n=10) -> list[dict]:
    """Move every control of every LivePlot in this kernel and report redraw times, two ways: through
    ``n`` values across its range (jumps: the worst case for the look-ups of :class:`Lookup` and for
    cached backgrounds), and ``n`` moves of one position each (what the arrow keys or a slow drag do).

    Returns one dict per control: plot index, control name, median and worst seconds, and how many
    of the redraws drew the whole figure, for the jumps (``median_s``, ``max_s``, ``n``,
    ``full_draws``) and for the one-position moves (``step_median_s``, ``step_max_s``, ``step_n``,
    ``step_full_draws``; None without positions). Controls are put back to their original values.
    """
    report = []
    for i, live in enumerate(sorted(_LIVE, key=id)):
        for name, control in live.controls.items():
            original, row = control.value, {"plot": i, "control": name}
            for prefix, values in (("", _sweep_values(control, n)), ("step_", _steps(control, n))):
                before, draws = len(live.timings), live.full_draws
                for value in values:
                    control.value = value
                times = live.timings[before:]
                control.value = original
                row.update(
                    {
                        f"{prefix}median_s": float(np.median(times)) if times else None,
                        f"{prefix}max_s": float(np.max(times)) if times else None,
                        f"{prefix}n": len(times),
                        f"{prefix}full_draws": live.full_draws - draws,
                    }
                )
            if row["n"]:
                report.append(row)
    return report
