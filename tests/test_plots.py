import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import optim, optimize, plots, problems  # noqa: E402

colorspacious = pytest.importorskip("colorspacious", reason="pip install colorspacious (test extra)")

# Colour-vision deficiencies simulated with Machado, Oliveira & Fernandes (2009) at full severity,
# i.e. dichromacy, the hardest case; distances are CAM02-UCS ΔE (about 1 = just noticeable).
DEFICIENCIES = ["deuteranomaly", "protanomaly", "tritanomaly"]
SAME_STYLE_DE = 12.0  # lines told apart by colour alone: clearly different, like Tol's qualitative schemes
VARIANT_DE = 8.0  # Adam variants also differ by dash pattern, so colour is a second cue
CATEGORICAL_DE = 15.0  # categories (steep/flat, ...) are told apart by colour alone
SEPARATE_DE = 15.0  # a categorical colour must not pass for an optimizer's (normal vision)


@pytest.fixture(autouse=True)
def _style():
    plots.setup()
    yield
    plt.close("all")


def _ucs(hex_colors, deficiency=None):
    rgb = np.array([mcolors.to_rgb(c) for c in hex_colors])
    if deficiency is not None:
        cvd = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
        rgb = np.clip(colorspacious.cspace_convert(rgb, cvd, "sRGB1"), 0, 1)
    return colorspacious.cspace_convert(rgb, "sRGB1", "CAM02-UCS")


def worst_distance(a, b):
    """Smallest ΔE between colours a and b for normal vision and each simulated deficiency."""
    return min(float(np.linalg.norm(np.subtract(*_ucs([a, b], d)))) for d in [None, *DEFICIENCIES])


def contrast_with_white(c):
    """WCAG 2.1 contrast ratio of colour c against white."""
    rgb = np.array(mcolors.to_rgb(c))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return 1.05 / (linear @ [0.2126, 0.7152, 0.0722] + 0.05)


def test_distance_and_contrast_helpers_can_fail():
    assert worst_distance("#CC3311", "#117733") < 12  # red vs green: close for a deuteranope
    assert worst_distance("#000000", "#FFFFFF") > 90
    assert contrast_with_white("#DDCC77") < plots.MIN_CONTRAST < contrast_with_white("#000000") == pytest.approx(21)


def test_no_pale_colours_on_white():
    ramp = [plots.RAMP(x) for x in np.linspace(0, 1, 11)]
    for c in [*plots.OPTIMIZER_COLORS.values(), *plots.CATEGORICAL, *ramp]:
        assert contrast_with_white(c) >= plots.MIN_CONTRAST, mcolors.to_hex(c)


def test_optimizer_colours_survive_colour_blindness():
    names = list(plots.OPTIMIZER_COLORS)
    for a, b in itertools.combinations(names, 2):
        d = worst_distance(plots.color(a), plots.color(b))
        same_dash = plots.linestyle(a) == plots.linestyle(b)
        assert d >= (SAME_STYLE_DE if same_dash else VARIANT_DE), (a, b, round(d, 1))


def test_adam_family_differs_by_line_style_too():
    family = ["Adam", "AMSGrad", "AdamW", "NAdam", "AdaMax"]
    dashes = [plots.style(name)["linestyle"] for name in family]
    assert len({str(d) for d in dashes}) == len(family)
    assert plots.style("AdamW, lr=0.01") == plots.style("adamw") == {"color": "#CD4BA5", "linestyle": "-."}
    assert plots.linestyle("SGD") == plots.linestyle("momentum") == "-"


def test_categorical_palette_is_separate_from_the_optimizers():
    assert not set(plots.CATEGORICAL) & set(plots.OPTIMIZER_COLORS.values())
    for a, b in itertools.combinations(plots.CATEGORICAL, 2):
        assert worst_distance(a, b) >= CATEGORICAL_DE, (a, b)
    optimizer_ucs = _ucs(list(plots.OPTIMIZER_COLORS.values()))
    for c, ucs in zip(plots.CATEGORICAL, _ucs(plots.CATEGORICAL), strict=True):
        assert np.linalg.norm(optimizer_ucs - ucs, axis=1).min() >= SEPARATE_DE, c
    for meaning in ("steep", "flat", "L1", "L2", "float16", "float32", "diverged", "converged"):
        assert plots.color(meaning) in plots.CATEGORICAL
    assert plots.color("steep") != plots.color("flat") and plots.color("float16") != plots.color("float32")
    assert plots.color("mystery") in plots.CATEGORICAL  # unknown names never borrow an optimizer colour


def test_ramp_lightness_rises_so_order_reads_for_everyone():
    samples = [plots.RAMP(x)[:3] for x in np.linspace(0, 1, 9)]
    for deficiency in [None, *DEFICIENCIES]:
        lightness = _ucs(samples, deficiency)[:, 0]
        assert np.all(np.diff(lightness) > 2), deficiency
    colors = plots.ramp([1e-3, 1e-2, 1e-1])
    assert colors[0] == plots.RAMP(0.0) and colors[-1] == plots.RAMP(1.0)
    assert plots.ramp([1e-3, 1e-2, 1e-1])[1] == pytest.approx(plots.RAMP(0.5))  # log-spaced values
    assert plots.ramp([0.0, 0.5, 0.9])[1] == pytest.approx(plots.RAMP(0.5 / 0.9))
    with pytest.raises(ValueError, match="finite"):
        plots.ramp([0.1, np.nan])
    with pytest.raises(ValueError, match="positive"):
        plots.ramp([0.0, 1.0], log=True)


def test_each_optimizer_has_its_own_colour_and_names_match_loosely():
    colours = list(plots.OPTIMIZER_COLORS.values())
    assert len(set(colours)) == len(colours)
    assert plots.color("Adam") == plots.color("adam (lr=0.1)") == plots.OPTIMIZER_COLORS["adam"]
    assert plots.color("AdamW") == plots.OPTIMIZER_COLORS["adamw"] != plots.color("Adam")
    assert plots.color("L-BFGS") == plots.OPTIMIZER_COLORS["l-bfgs"]
    assert plots.color("Adam-L2") == plots.color("Adam") and plots.color("SGD+momentum") == plots.color("SGD")


@pytest.mark.parametrize("context", ["laptop", "talk"])
def test_style_sheets_set_readable_text(context):
    plots.setup(context)
    rc = matplotlib.rcParams
    assert rc["figure.dpi"] == plots.DISPLAY_DPI
    sizes = {k: mcolors_size(rc[k]) for k in ("font.size", "xtick.labelsize", "ytick.labelsize", "legend.fontsize")}
    assert min(sizes.values()) >= plots.MIN_TEXT_PT
    assert mcolors_size(rc["axes.labelsize"]) > max(sizes.values())
    assert mcolors_size(rc["axes.titlesize"]) > mcolors_size(rc["axes.labelsize"])
    assert rc["figure.figsize"][0] <= plots.COLUMN_WIDTH_IN
    assert rc["lines.linewidth"] >= 2.0


def mcolors_size(value):
    from matplotlib.font_manager import FontProperties

    return FontProperties(size=value).get_size_in_points()


def test_talk_context_enlarges_everything_and_is_undone():
    plots.setup()
    laptop = dict(matplotlib.rcParams)
    with plots.talk():
        for key in ("font.size", "axes.labelsize", "legend.fontsize", "lines.linewidth", "lines.markersize"):
            assert mcolors_size(matplotlib.rcParams[key]) > mcolors_size(laptop[key]) * 1.2, key
    assert matplotlib.rcParams["font.size"] == laptop["font.size"]
    with pytest.raises(ValueError, match="context must be one of"):
        plots.setup("poster")


def test_style_sheets_ship_with_the_package():
    for context in plots.STYLES:
        assert plots.style_path(context).is_file()


def test_render_png_is_twice_the_displayed_size_and_audited():
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot([1, 2, 3], label="a line")
    data, meta = plots.render_png(fig)
    width, height = plots._png_size(data)
    assert width == pytest.approx(2 * meta["width"], abs=1) and height == pytest.approx(2 * meta["height"], abs=1)
    assert meta["width"] <= plots.COLUMN_WIDTH_IN * plots.DISPLAY_DPI
    assert meta["course"]["problems"] == [] and meta["course"]["min_text_pt"] >= plots.MIN_TEXT_PT


def test_render_png_audits_the_draw_it_shows():
    fig, ax = plt.subplots(figsize=(6, 3))
    x = np.arange(100)
    ax.plot(x, x, label="a line")
    ax.legend(loc="lower right")
    assert plots.render_png(fig)[1]["course"]["problems"] == []
    ax.plot([95], [5], "o")  # now a point sits under the legend
    assert plots.render_png(fig)[1]["course"]["problems"] == ["a legend covers 1 data points in 'axes 1'"]


def test_audit_names_each_broken_rule():
    fig, (ax, flat) = plt.subplots(1, 2, figsize=(13, 4))
    x = np.arange(100)
    ax.plot(x, np.exp(-x), label="decay")
    ax.set_yscale("log")  # 44 decades: mostly float floor
    ax.legend(loc="upper right", fontsize=8)
    ax.plot([97], [0.5], "o")  # a data point under the legend
    for k in range(9):
        flat.plot(x, 1 + 0.01 * k + 0.001 * x)
    flat.set_yscale("log")  # spans less than x2
    flat.plot(x, 1.05 + 0 * x, color=plots.CONTEXT_GREY)  # context lines do not count as spaghetti
    problems = "\n".join(plots.audit(fig)["problems"])
    assert "in wide" in problems
    assert "texts under 10 pt" in problems
    assert "a legend covers" in problems
    assert "9 coloured lines" in problems
    assert "spans only" in problems
    assert "decades" in problems


def test_audit_of_a_clean_figure_is_empty_and_legend_outside_stays_off_the_data():
    fig, ax = plt.subplots(figsize=(7, 3.5))
    x = np.arange(50)
    for name in ("GD", "Adam", "AdamW"):
        ax.plot(x, np.exp(-0.1 * x) * (1 + len(name)), label=name, **plots.style(name))
    ax.set_yscale("log")
    legend = plots.legend_outside(ax)
    report = plots.audit(fig)
    assert report["problems"] == []
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
    with pytest.raises(ValueError, match="where must be"):
        plots.legend_outside(ax, where="inside")


def test_label_lines_write_names_in_colour_without_overlap():
    fig, ax = plt.subplots(figsize=(6, 3))
    x = np.arange(10)
    lines = {n: ax.plot(x, x * 0 + y, color=plots.color(n))[0] for n, y in (("Adam", 1.0), ("AdamW", 1.01), ("GD", 5))}
    texts = plots.label_lines(ax, lines)
    assert [t.get_text() for t in texts] == ["Adam", "AdamW", "GD"]
    assert [t.get_color() for t in texts] == [plots.color(n) for n in ("Adam", "AdamW", "GD")]
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    assert not boxes[0].overlaps(boxes[1])
    assert boxes[0].x0 > ax.get_window_extent(renderer).x1  # right of the data


def test_log_limits_cut_float_floors_and_keep_at_least_a_decade():
    fig, ax = plt.subplots()
    lo, hi = plots.log_limits(ax, [1.0, 1e-3, 1e-30, 0.0, np.nan], decades=12)
    assert hi == pytest.approx(1.5) and lo == pytest.approx(1.5e-12)
    lo, hi = plots.log_limits(ax, [1.0, 2.0])
    assert hi / lo == pytest.approx(10) and lo < 1.0 and hi > 2.0
    with pytest.raises(ValueError, match="positive"):
        plots.log_limits(ax, [0.0, -1.0])


def test_smooth_is_a_moving_average_that_keeps_gaps():
    y = np.array([0.0, 3.0, 6.0, 3.0, np.nan, 3.0])
    s = plots.smooth(y, 3)
    np.testing.assert_allclose(s[:4], [1.5, 3.0, 4.0, 4.5])
    assert np.isnan(s[4]) and s[5] == 3.0
    with pytest.raises(ValueError, match="window"):
        plots.smooth(y, 0)
    fig, ax = plt.subplots()
    raw, line = plots.smoothed(ax, np.arange(6), y, 3, label="Adam")
    assert raw.get_alpha() < 0.5 and line.get_color() == plots.color("Adam")


def test_highlight_greys_out_the_rest():
    fig, ax = plt.subplots()
    curves = {f"lr={v}": np.linspace(1, v, 20) for v in (0.1, 0.2, 0.3, 0.4)}
    lines = plots.highlight(ax, curves, keep=["lr=0.2"], style_of=lambda name: {"color": plots.CATEGORICAL[0]})
    assert list(lines) == ["lr=0.2"]
    greys = [line for line in ax.get_lines() if line.get_color() == plots.CONTEXT_GREY]
    assert len(greys) == 3 and all(g.get_zorder() < lines["lr=0.2"].get_zorder() for g in greys)
    with pytest.raises(ValueError, match="cannot highlight"):
        plots.highlight(ax, curves, keep=["lr=9"])


def _runs(n, steps=20):
    fn = problems.rosenbrock()
    names = ["GD", "Momentum", "Adam", "AdamW", "RMSprop"][:n]
    return fn, {name: optimize(optim.adam(lr=0.01 * (i + 1)), fn, fn.start, steps) for i, name in enumerate(names)}


def test_trajectories_mark_start_and_end_and_keep_the_legend_outside():
    fn, runs = _runs(2)
    fig, ax = plt.subplots(figsize=(7, 4))
    _, lines = plots.trajectories(fn, runs, ax=ax)
    gd = lines["GD"]
    np.testing.assert_allclose(gd.get_xydata(), runs["GD"].params)
    np.testing.assert_allclose(gd.start.get_xydata(), runs["GD"].params[:1])
    np.testing.assert_allclose(gd.end.get_xydata(), runs["GD"].params[-1:])
    assert gd.get_color() == plots.color("GD") and lines["Momentum"].get_color() == plots.color("momentum")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["GD", "Momentum", "start", "end", "minimum"]
    assert plots.audit(fig)["problems"] == []
    plots.set_path(gd, runs["Momentum"].params)
    np.testing.assert_allclose(gd.end.get_xydata(), runs["Momentum"].params[-1:])


def test_more_than_four_paths_need_small_multiples():
    fn, runs = _runs(5)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="trajectory_grid"):
        plots.trajectories(fn, runs, ax=ax)
    fig, axes, lines = plots.trajectory_grid(fn, runs, ncols=3)
    assert axes.shape == (2, 3) and not axes[1, 2].get_visible()
    assert set(lines) == set(runs)
    first = axes[0, 0]
    assert sum(line.get_color() == plots.CONTEXT_GREY for line in first.get_lines()) == 4  # the others, in grey
    assert plots.audit(fig)["problems"] == []


def test_loss_curves_choose_the_scale_from_the_data():
    fn, runs = _runs(2, steps=20)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    _, curves = plots.loss_curves(runs, ax=a, legend="lines")
    np.testing.assert_allclose(curves["GD"].get_ydata(), runs["GD"].losses)
    plots.loss_curves({"Adam": np.geomspace(10, 1e-40, 30)}, ax=a, legend=False)
    assert a.get_yscale() == "log"
    assert a.get_ylim()[0] == pytest.approx(10 * 1.5 * 1e-12)  # not down to 1e-40
    plots.loss_curves({"flat": np.linspace(2.0, 1.5, 10)}, ax=b, legend=False)
    assert b.get_yscale() == "linear"  # a factor 1.3 is no job for a log axis


def test_heatmap_marks_best_and_checks_shape():
    fig, ax = plt.subplots()
    values = np.array([[1.0, np.nan, 3.0], [0.5, 2.0, 4.0]])
    _, mesh = plots.heatmap(values, np.array([1e-3, 1e-2, 1e-1]), np.array([0.0, 0.9]), ax=ax)
    assert mesh.get_array().mask.sum() == 1  # the diverged cell is masked (grey)
    star = [line for line in ax.get_lines() if line.get_marker() == "*"][0]
    assert star.get_xydata().tolist() == [[1e-3, 0.9]]
    with pytest.raises(ValueError, match="shape"):
        plots.heatmap(values.T, np.arange(3), np.arange(2), ax=ax)


def test_plots_explain_bad_runs():
    fn = problems.rosenbrock()
    batched = optimize(optim.adam(lr=np.array([[0.01], [0.1]])), fn, fn.start, 5)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"traj.params\[:, i\]"):
        plots.trajectories(fn, {"Adam": batched}, ax=ax)
    with pytest.raises(ValueError, match="no validation losses"):
        plots.loss_curves({"Adam": optimize(optim.adam(), fn, fn.start, 5)}, ax=ax, val=True)
