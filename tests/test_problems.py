import numpy as np
import pytest

from course_utils import problems

FUNCTIONS = [
    problems.rosenbrock(),
    problems.beale(),
    problems.himmelblau(),
    problems.quadratic(kappa=20, angle=30),
    problems.quadratic(kappa=1),
    problems.saddle(),
]


def numerical_grad(f, x, h=1e-6):
    return np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.shape[-1])], axis=-1)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda fn: fn.name)
def test_gradient_matches_finite_differences_batched(fn):
    x = np.random.default_rng(0).uniform(-2, 2, size=(4, 3, 2))
    np.testing.assert_allclose(fn.grad(x), numerical_grad(fn.f, x), rtol=1e-6, atol=1e-5)
    assert fn.f(x).shape == (4, 3)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda fn: fn.name)
def test_known_minima_are_stationary_with_zero_loss(fn):
    for m in fn.minima:
        np.testing.assert_allclose(fn.grad(m), 0.0, atol=1e-10)
        np.testing.assert_allclose(fn.f(m), 0.0, atol=1e-20)
    (x0, x1), (y0, y1) = fn.bounds
    assert x0 < fn.start[0] < x1 and y0 < fn.start[1] < y1


def test_functions_work_on_torch_tensors():
    torch = pytest.importorskip("torch")
    fn = problems.rosenbrock()
    x = torch.tensor([[0.3, -0.2], [1.0, 1.0]], dtype=torch.float32)
    g = fn.grad(x)
    assert isinstance(g, torch.Tensor) and g.dtype == torch.float32
    np.testing.assert_allclose(g.numpy(), fn.grad(x.double().numpy()), rtol=1e-5)


def test_rotation_keeps_eigenvalues_and_rotates_the_hessian():
    q = problems.quadratic(kappa=50, angle=45)
    np.testing.assert_allclose(np.linalg.eigvalsh(q.info["hessian"]), [1, 50])
    assert abs(q.info["hessian"][0, 1]) > 1  # rotated: the axes are no longer eigenvectors
    assert problems.quadratic(kappa=50).info["hessian"][0, 1] == 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="kappa"):
        problems.quadratic(kappa=0.5)
    with pytest.raises(ValueError, match="2 coordinates"):
        problems.rosenbrock().f(np.zeros(3))


@pytest.fixture(scope="module", params=["logistic", "mlp"])
def dataset_problem(request):
    return problems.logistic_regression(l2=1e-3) if request.param == "logistic" else problems.mlp(hidden=8, l2=1e-3)


def test_dataset_gradient_matches_finite_differences(dataset_problem):
    p = dataset_problem
    rng = np.random.default_rng(1)
    w = p.init(0) + 0.1 * rng.standard_normal(p.dim)
    w = np.stack([w, 0.5 * w])  # batched over a leading axis
    g = p.grad(w)
    assert g.shape == w.shape
    for i in rng.choice(p.dim, 6, replace=False):
        e = np.zeros(p.dim)
        e[i] = 1e-6
        np.testing.assert_allclose((p.f(w + e) - p.f(w - e)) / 2e-6, g[:, i], rtol=1e-4, atol=1e-8)


def test_dataset_minibatch_gradient_is_the_batch_mean(dataset_problem):
    p = dataset_problem
    w = p.init(3)
    batch = np.arange(10)
    g_batch = p.grad(w, batch)
    singles = np.mean([p.grad(w, batch[i : i + 1]) for i in range(10)], axis=0)
    np.testing.assert_allclose(g_batch, singles, rtol=1e-10, atol=1e-12)


def test_digits_split_is_real_seeded_and_disjoint():
    Xa, ya, Xv, yv = problems.load_digits_split(seed=0)
    Xb, _, _, _ = problems.load_digits_split(seed=0)
    Xc, _, _, _ = problems.load_digits_split(seed=1)
    assert len(ya) + len(yv) == 1797 and set(ya) == set(range(10))
    np.testing.assert_array_equal(Xa, Xb)
    assert not np.array_equal(Xa, Xc)
    np.testing.assert_allclose(Xa.mean(axis=0), 0, atol=1e-12)  # centered with the training mean


def test_minibatches_cover_each_epoch_once_and_are_seeded():
    p = problems.logistic_regression()
    n = len(p.y_train)
    it = p.minibatches(100, seed=5)
    epoch = np.concatenate([next(it) for _ in range(p.steps_per_epoch(100))])
    assert sorted(epoch) == list(range(n))
    again = p.minibatches(100, seed=5)
    np.testing.assert_array_equal(next(again), next(p.minibatches(100, seed=5)))
    with pytest.raises(ValueError, match="batch_size"):
        next(p.minibatches(0))


def test_training_improves_accuracy():
    from course_utils import optim, optimize

    p = problems.logistic_regression()
    traj = optimize(optim.adam(lr=1e-2), p, p.init(), 200, batch_size=64)
    assert p.accuracy(traj.final_params) > 0.9
    assert traj.val_losses[-1] < traj.val_losses[0]


def test_scaled_multiplies_loss_and_gradient():
    fn = problems.rosenbrock()
    big = problems.scaled(fn, 1e3)
    x = np.array([[0.3, -0.2], [1.5, 2.0]])
    np.testing.assert_allclose(big.f(x), 1e3 * fn.f(x))
    np.testing.assert_allclose(big.grad(x), 1e3 * fn.grad(x))
    np.testing.assert_array_equal(big.minima, fn.minima)
    assert big.name == "1000 x rosenbrock"
    with pytest.raises(ValueError, match="positive"):
        problems.scaled(fn, -1.0)
