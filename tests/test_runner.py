import numpy as np
import pytest

from course_utils import optim, optimize, problems


def test_shapes_and_single_run_matches_a_hand_loop():
    fn = problems.rosenbrock()
    traj = optimize(optim.adam(lr=0.01), fn, fn.start, 50)
    assert traj.params.shape == (51, 2) and traj.losses.shape == (51,)
    t = optim.adam(lr=0.01)
    x, state = fn.start.astype(float), t.init(fn.start.astype(float))
    for _ in range(50):
        u, state = t.update(fn.grad(x), state, x)
        x = optim.apply_updates(x, u)
    np.testing.assert_allclose(traj.final_params, x)
    np.testing.assert_allclose(traj.losses[0], fn.f(fn.start))


def test_batched_hyperparameters_equal_separate_runs():
    fn = problems.beale()
    lrs = np.array([1e-3, 1e-2, 5e-2])
    traj = optimize(optim.adam(lr=lrs[:, None]), fn, fn.start, 100)  # x0 broadcast to (3, 2)
    assert traj.params.shape == (101, 3, 2) and traj.losses.shape == (101, 3)
    for k, lr in enumerate(lrs):
        single = optimize(optim.adam(lr=lr), fn, fn.start, 100)
        np.testing.assert_allclose(traj.params[:, k], single.params, rtol=1e-12)


def test_batched_start_points():
    fn = problems.himmelblau()
    x0 = np.array([[0.0, 0.0], [-1.0, 1.0], [1.0, -3.0]])
    traj = optimize(optim.sgd(lr=0.01), fn, x0, 20)
    for k in range(3):
        np.testing.assert_allclose(traj.params[:, k], optimize(optim.sgd(lr=0.01), fn, x0[k], 20).params)


def test_divergence_freezes_only_the_diverged_runs(capsys):
    fn = problems.quadratic(kappa=10)
    lrs = np.array([0.05, 0.19, 0.25, 1.0])[:, None]  # stable iff lr < 2/L = 0.2
    traj = optimize(optim.sgd(lr=lrs), fn, fn.start, 2000)
    np.testing.assert_array_equal(traj.diverged, [False, False, True, True])
    assert traj.diverged_at[0] == -1 and traj.diverged_at[3] > 0
    assert np.isfinite(traj.params).all()  # frozen at the last finite point
    k = traj.diverged_at[3]
    np.testing.assert_array_equal(traj.params[-1, 3], traj.params[k - 1, 3])
    assert np.isnan(traj.losses[k:, 3]).all() and np.isfinite(traj.losses[:k, 3]).all()
    assert traj.final_loss[0] < 1e-20  # the stable runs went on to converge
    out = capsys.readouterr().out
    assert "2 of 4 runs diverged" in out


def test_single_divergence_message(capsys):
    fn = problems.rosenbrock()
    traj = optimize(optim.sgd(lr=0.01), fn, fn.start, 100)
    assert traj.diverged and "Diverged at step" in capsys.readouterr().out
    optimize(optim.sgd(lr=0.01), fn, fn.start, 100, verbose=False)
    assert capsys.readouterr().out == ""


def test_minibatch_runs_are_seeded():
    p = problems.logistic_regression()
    a = optimize(optim.sgd(lr=0.1), p, p.init(), 20, batch_size=32, seed=1)
    b = optimize(optim.sgd(lr=0.1), p, p.init(), 20, batch_size=32, seed=1)
    c = optimize(optim.sgd(lr=0.1), p, p.init(), 20, batch_size=32, seed=2)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_torch_start_point():
    torch = pytest.importorskip("torch")
    fn = problems.rosenbrock()
    traj = optimize(optim.adam(lr=0.01), fn, torch.tensor(fn.start, dtype=torch.float64), 30)
    np.testing.assert_allclose(traj.params, optimize(optim.adam(lr=0.01), fn, fn.start, 30).params, rtol=1e-10)


def test_bad_arguments():
    fn = problems.rosenbrock()
    with pytest.raises(TypeError, match="Transform"):
        optimize(lambda g: g, fn, fn.start, 10)
    with pytest.raises(ValueError, match="steps"):
        optimize(optim.sgd(), fn, fn.start, -1)


def test_a_batched_problem_broadcasts_the_start_point():
    class Quadratics:  # f = 0.5 * kappa * |x|^2 for three kappas at once
        kappa = np.array([1.0, 10.0, 100.0])[:, None]

        def f(self, x):
            return 0.5 * (self.kappa * x * x).sum(-1)

        def grad(self, x):
            return self.kappa * x

    traj = optimize(optim.sgd(lr=0.01), Quadratics(), np.array([1.0, 1.0]), 10)
    assert traj.params.shape == (11, 3, 2)
    np.testing.assert_allclose(traj.final_params[:, 0], (1 - 0.01 * Quadratics.kappa[:, 0]) ** 10)


def test_momentum_arrays_widen_the_batch_from_the_second_step():
    fn = problems.quadratic(kappa=10)
    mus = np.array([0.0, 0.5, 0.9])
    traj = optimize(optim.sgd(lr=0.01, momentum=mus[:, None]), fn, fn.start, 20)
    assert traj.params.shape == (21, 3, 2)
    for k, mu in enumerate(mus):
        single = optimize(optim.sgd(lr=0.01, momentum=float(mu)), fn, fn.start, 20)
        np.testing.assert_allclose(traj.params[:, k], single.params, rtol=1e-12)


def test_a_nan_update_is_explained_as_0_over_0(capsys):
    fn = problems.quadratic(kappa=10)
    traj = optimize(optim.adam(lr=0.1, eps=0.0), fn, np.array([1.0, 0.0]), 5)
    assert traj.diverged and traj.diverged_at == 1
    assert "0/0" in capsys.readouterr().out
