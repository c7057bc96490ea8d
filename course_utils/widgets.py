"""Interactive figures that redraw fast: controls on top, one reusable figure below.

The figure is created once; each change of a control calls ``update(**values)``, which should
only change the data of existing artists (``line.set_data``), and the figure is re-rendered to a
PNG shown by an ``ipywidgets.Image``. No flicker, no figure pile-up, and every redraw is timed
(``live_plot.timings``) so the course can check the "well under 100 ms" promise.

Speed comes from blitting, done automatically: after ``update`` the artists that matplotlib marks
as changed (``artist.stale``) are drawn on top of a cached picture of everything else (contours,
axes, legends). When anything else changes (axis limits, scales, added or removed artists), the
whole figure is drawn again and the cache renewed.
"""

from __future__ import annotations

import io
import time
import weakref

import ipywidgets as widgets
import numpy as np
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from PIL import Image

_LIVE = weakref.WeakSet()  # every LivePlot of this kernel, for timing them all (benchmarks/)


def _visible_content(artist) -> bool:
    """Artists that draw something of their own (empty texts stay "stale" forever: skip them)."""
    if isinstance(artist, Axis) or not artist.get_visible():
        return False
    return not (isinstance(artist, Text) and artist.get_text() == "")


class LivePlot:
    """Controls + a figure that ``update`` redraws. Display it (last line of a cell) to use it."""

    def __init__(self, fig, update, controls: dict, blit=True):
        if not controls:
            raise ValueError("LivePlot needs at least one control")
        self.fig, self.update, self.controls, self.blit = fig, update, dict(controls), blit
        self.canvas = FigureCanvasAgg(fig)
        self._animated: set = set()
        self._background = None
        self._layout = None
        self.full_draws = 0
        self.canvas.draw()  # clears every artist's "stale" flag: from now on, stale means "changed"
        self.image = widgets.Image(format="png")
        self.image.add_class("course-live-plot")
        self.timings: list[float] = []  # seconds per recompute + redraw
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox(list(self.controls.values()), layout={"flex_flow": "row wrap"}), self.image]
        )
        self.redraw()
        _LIVE.add(self)

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self):
        start = time.perf_counter()
        self.update(**self.values())
        self._render()
        rgba = self.canvas.buffer_rgba()
        buffer = io.BytesIO()
        Image.frombuffer("RGBA", self.canvas.get_width_height(), rgba, "raw", "RGBA", 0, 1).save(
            buffer, "PNG", compress_level=1
        )
        self.image.value = buffer.getvalue()
        self.timings.append(time.perf_counter() - start)

    def _layout_key(self):
        """What a cached background depends on: sizes, and each axes' visibility, limits, scales,
        axis labels, tick formatters and children. (Setting a limit or label to the value it
        already has changes nothing here, so it does not force a full redraw.)"""
        return (
            tuple(self.fig.get_size_inches()), self.fig.dpi,
            tuple((id(ax), ax.get_visible(), tuple(ax.viewLim.bounds), ax.get_xscale(), ax.get_yscale(),
                   ax.get_xlabel(), ax.get_ylabel(), id(ax.xaxis.get_major_formatter()),
                   id(ax.yaxis.get_major_formatter()), tuple(id(c) for c in ax.get_children()))
                  for ax in self.fig.axes),
        )  # fmt: skip

    def _render(self):
        changed = {a for ax in self.fig.axes for a in ax.get_children() if a.stale and _visible_content(a)}
        layout = self._layout_key()
        # figure-level artists (suptitle, fig.text, fig.legend) are part of the background
        figure_changed = any(a.stale and _visible_content(a) for a in self.fig.get_children() if a not in self.fig.axes)
        reuse = (
            self.blit and self._background is not None and layout == self._layout and not figure_changed
            and changed <= self._animated
        )  # fmt: skip
        if not reuse:
            if self.blit:
                for artist in changed - self._animated:
                    artist.set_animated(True)
                self._animated |= changed
            self.canvas.draw()  # everything but the animated artists
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            self._layout = self._layout_key()
            self.full_draws += 1
        else:
            self.canvas.restore_region(self._background)
        for artist in sorted(self._animated, key=lambda a: a.get_zorder()):
            axes = artist.axes
            if axes is not None and axes.get_visible() and artist.get_visible() and artist.figure is self.fig:
                axes.draw_artist(artist)

    def _changed(self, change):
        self.redraw()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def live_plot(fig, update, **controls) -> LivePlot:
    """``live_plot(fig, update, lr=FloatLogSlider(...), ...)``: see :class:`LivePlot`.

    Create ``fig`` with ``matplotlib.figure.Figure`` (or close a pyplot figure) so that the
    notebook does not also show a static copy.
    """
    return LivePlot(fig, update, controls)


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


def _sweep_values(control, n):
    """``n`` admissible values across a control's range (or its options)."""
    if hasattr(control, "options") and control.options:
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        return (values * n)[:n]
    if isinstance(control, widgets.FloatLogSlider):
        exps = np.linspace(control.min, control.max, n)
        return [float(control.base**e) for e in exps]
    if hasattr(control, "min") and hasattr(control, "max"):
        values = np.linspace(control.min, control.max, n)
        return [int(round(v)) for v in values] if isinstance(control.value, int) else [float(v) for v in values]
    if isinstance(control.value, bool):
        return [bool(i % 2) for i in range(1, n + 1)]
    return []


def time_all_live_plots(n=10) -> list[dict]:
    """Move every control of every LivePlot in this kernel through ``n`` values; report redraw times.

    Returns one dict per control: plot index, control name, median and worst seconds. Controls are
    put back to their original values afterwards.
    """
    report = []
    for i, live in enumerate(sorted(_LIVE, key=id)):
        for name, control in live.controls.items():
            original, before = control.value, len(live.timings)
            for value in _sweep_values(control, n):
                control.value = value
            control.value = original
            times = live.timings[before:]
            if times:
                report.append(
                    {
                        "plot": i,
                        "control": name,
                        "median_s": float(np.median(times)),
                        "max_s": float(np.max(times)),
                        "n": len(times),
                    }
                )
    return report
