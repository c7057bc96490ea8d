import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import optim, optimize, plots, problems  # noqa: E402


def test_each_optimizer_has_its_own_colour_and_names_match_loosely():
    colours = list(plots.OPTIMIZER_COLORS.values())
    assert len(set(colours)) == len(colours)
    assert plots.color("Adam") == plots.color("adam (lr=0.1)") == plots.OPTIMIZER_COLORS["adam"]
    assert plots.color("AdamW") == plots.OPTIMIZER_COLORS["adamw"] != plots.color("Adam")
    assert plots.color("L-BFGS") == plots.OPTIMIZER_COLORS["l-bfgs"]
    assert plots.color("something else") == plots.color("something else")


def test_trajectories_and_loss_curves_draw_what_they_are_given():
    fn = problems.rosenbrock()
    runs = {
        "GD": optimize(optim.sgd(lr=1e-3), fn, fn.start, 20),
        "Adam": optimize(optim.adam(lr=0.05), fn, fn.start, 20),
    }
    fig, (a, b) = plt.subplots(1, 2)
    _, lines = plots.trajectories(fn, runs, ax=a)
    np.testing.assert_allclose(lines["Adam"].get_xydata(), runs["Adam"].params)
    assert lines["GD"].get_color() == plots.color("GD")
    _, curves = plots.loss_curves(runs, ax=b)
    assert b.get_yscale() == "log"
    np.testing.assert_allclose(curves["GD"].get_ydata(), runs["GD"].losses)
    plt.close(fig)


def test_heatmap_marks_best_and_checks_shape():
    fig, ax = plt.subplots()
    values = np.array([[1.0, np.nan, 3.0], [0.5, 2.0, 4.0]])
    _, mesh = plots.heatmap(values, np.array([1e-3, 1e-2, 1e-1]), np.array([0.0, 0.9]), ax=ax)
    assert mesh.get_array().mask.sum() == 1  # the diverged cell is masked (grey)
    star = [line for line in ax.get_lines() if line.get_marker() == "*"][0]
    assert star.get_xydata().tolist() == [[1e-3, 0.9]]
    with pytest.raises(ValueError, match="shape"):
        plots.heatmap(values.T, np.arange(3), np.arange(2), ax=ax)
    plt.close(fig)


def test_plots_explain_bad_runs():
    fn = problems.rosenbrock()
    batched = optimize(optim.adam(lr=np.array([[0.01], [0.1]])), fn, fn.start, 5)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"traj.params\[:, i\]"):
        plots.trajectories(fn, {"Adam": batched}, ax=ax)
    with pytest.raises(ValueError, match="no validation losses"):
        plots.loss_curves({"Adam": optimize(optim.adam(), fn, fn.start, 5)}, ax=ax, val=True)
    plt.close(fig)
    assert plots.color("Adam-L2") == plots.color("Adam") and plots.color("SGD+momentum") == plots.color("SGD")
    assert plots.color("mystery") not in plots.OPTIMIZER_COLORS.values()
