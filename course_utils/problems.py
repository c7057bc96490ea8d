"""Problems to optimize: 2-D test functions and small models on real data.

Every problem has ``f(x)`` and ``grad(x)`` that work on a whole batch of points at once: the
last axis of ``x`` holds the coordinates, any leading axes index independent runs. That is what
lets :func:`course_utils.optimize` run thousands of optimizer configurations in one go.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import backend


@dataclass(frozen=True)
class TestFunction:
    """A 2-D objective with its gradient, known minima and a good window to plot it in."""

    name: str
    f: Callable
    grad: Callable
    minima: np.ndarray  # shape (k, 2); empty for functions without a minimum
    bounds: tuple  # ((x_min, x_max), (y_min, y_max))
    start: np.ndarray  # a starting point that makes the function's lesson visible
    info: dict = field(default_factory=dict)

    __test__ = False  # not a pytest test class

    def __repr__(self):
        return f"TestFunction({self.name!r}, minima={self.minima.tolist()}, bounds={self.bounds})"


def _xy(x):
    if not backend.is_array(x):
        x = np.asarray(x, dtype=float)
    if x.shape[-1] != 2:
        raise ValueError(f"the last axis of x must hold the 2 coordinates, got shape {tuple(x.shape)}")
    return x[..., 0], x[..., 1]


def rosenbrock(a: float = 1.0, b: float = 100.0) -> TestFunction:
    r"""Rosenbrock's banana: :math:`f = (a-x)^2 + b(y-x^2)^2`, minimum at :math:`(a, a^2)`.

    A narrow curved valley: easy to find, slow to follow without momentum.

    >>> f = rosenbrock()
    >>> f.minima, float(f.f(np.array([1.0, 1.0]))), f.grad(np.array([0.0, 0.0]))
    (array([[1., 1.]]), 0.0, array([-2.,  0.]))
    """

    def f(x):
        x, y = _xy(x)
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def grad(x):
        x, y = _xy(x)
        return backend.stack([-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)])

    return TestFunction(
        "rosenbrock", f, grad, np.array([[a, a * a]]), ((-2.0, 2.0), (-1.0, 3.0)), np.array([-1.5, 2.0])
    )


def beale() -> TestFunction:
    r"""Beale's function: :math:`(1.5-x+xy)^2 + (2.25-x+xy^2)^2 + (2.625-x+xy^3)^2`, minimum (3, 0.5)."""
    c = (1.5, 2.25, 2.625)

    def f(x):
        x, y = _xy(x)
        return sum((ci - x + x * y ** (i + 1)) ** 2 for i, ci in enumerate(c))

    def grad(x):
        x, y = _xy(x)
        terms = [(ci - x + x * y ** (i + 1), i + 1) for i, ci in enumerate(c)]
        dx = sum(2 * r * (y**k - 1) for r, k in terms)
        dy = sum(2 * r * k * x * y ** (k - 1) for r, k in terms)
        return backend.stack([dx, dy])

    return TestFunction("beale", f, grad, np.array([[3.0, 0.5]]), ((-4.5, 4.5), (-4.5, 4.5)), np.array([1.0, 1.5]))


def himmelblau() -> TestFunction:
    r"""Himmelblau's function :math:`(x^2+y-11)^2 + (x+y^2-7)^2`: four minima, f = 0 at each.

    Which basin an optimizer ends in depends on its path (momentum can carry it to another)."""

    def f(x):
        x, y = _xy(x)
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def grad(x):
        x, y = _xy(x)
        a, b = x**2 + y - 11, x + y**2 - 7
        return backend.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b])

    minima = np.array(
        [[3.0, 2.0], [-2.805118086952745, 3.131312518250573], [-3.779310253377747, -3.283185991286170],
         [3.584428340330492, -1.848126526964404]]
    )  # fmt: skip
    return TestFunction("himmelblau", f, grad, minima, ((-5.0, 5.0), (-5.0, 5.0)), np.array([0.0, 0.0]))


def quadratic(kappa: float = 10.0, angle: float = 0.0) -> TestFunction:
    r"""The ill-conditioned bowl :math:`f = \tfrac12 x^\top A x`, :math:`A = R\,\mathrm{diag}(1, \kappa)R^\top`.

    ``kappa`` is the condition number (largest over smallest curvature) and ``angle`` (degrees)
    rotates the valley away from the axes. Gradient descent is stable for ``lr < 2 / kappa``
    (the 2/L bound, L = kappa). Adaptive methods rescale each *coordinate*, so they only help
    when the valley is aligned with the axes.
    """
    if isinstance(kappa, bool) or not isinstance(kappa, numbers.Real) or not isinstance(angle, numbers.Real):
        raise TypeError(f"kappa and angle must be numbers, got {kappa!r} and {angle!r}")
    if not np.isfinite(kappa) or kappa < 1:
        raise ValueError(f"kappa must be >= 1, got {kappa}")
    theta = np.deg2rad(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    A = rot @ np.diag([1.0, float(kappa)]) @ rot.T
    (a11, a12), (_, a22) = A

    def f(x):
        x, y = _xy(x)
        return 0.5 * (a11 * x * x + 2 * a12 * x * y + a22 * y * y)

    def grad(x):
        x, y = _xy(x)
        return backend.stack([a11 * x + a12 * y, a12 * x + a22 * y])

    info = {"hessian": A, "L": float(kappa), "mu": 1.0, "kappa": float(kappa), "angle": float(angle)}
    return TestFunction(
        f"quadratic(kappa={kappa:g}, angle={angle:g})", f, grad, np.zeros((1, 2)), ((-1.5, 1.5), (-1.5, 1.5)),
        np.array([-1.0, 0.6]), info,
    )  # fmt: skip


def saddle() -> TestFunction:
    r""":math:`f = x^2 - y^2`: a saddle point at the origin and no minimum (unbounded below).

    Started almost on the ridge, plain gradient descent lingers; sign-like normalized steps
    (RMSprop, Adam) escape fast because they amplify the tiny :math:`y` gradient."""

    def f(x):
        x, y = _xy(x)
        return x * x - y * y

    def grad(x):
        x, y = _xy(x)
        return backend.stack([2 * x, -2 * y])

    return TestFunction("saddle", f, grad, np.zeros((0, 2)), ((-1.5, 1.5), (-1.5, 1.5)), np.array([1.0, 1e-3]))


def scaled(problem: TestFunction, c: float) -> TestFunction:
    """The same test function with loss and gradient multiplied by ``c > 0``: same minima, same
    picture, gradients ``c`` times larger (Adam's scale invariance, and when ``eps`` matters)."""
    if isinstance(c, bool) or not isinstance(c, numbers.Real) or not c > 0:
        raise ValueError(f"c must be a positive number, got {c!r}")
    return TestFunction(
        f"{c:g} x {problem.name}",
        lambda x: c * problem.f(x),
        lambda x: c * problem.grad(x),
        problem.minima,
        problem.bounds,
        problem.start,
        problem.info,
    )


# --- real data ------------------------------------------------------------------------------


def load_digits_split(val_fraction=0.25, seed=0):
    """The handwritten digits of UCI/scikit-learn (1,797 8x8 images, 10 classes), split in two.

    The data ship inside scikit-learn: nothing is downloaded. Pixels are scaled to [0, 1] and
    centered with the *training* mean. Returns ``X_train, y_train, X_val, y_val``.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    val, train = order[:n_val], order[n_val:]
    mean = X[train].mean(axis=0)
    return X[train] - mean, y[train], X[val] - mean, y[val]


def _log_softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)  # shifted: exp cannot overflow
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _cross_entropy(logits, y):
    """Mean cross-entropy of the labels ``y``, batched over leading axes of ``logits``."""
    return -_log_softmax(logits)[..., np.arange(len(y)), y].mean(axis=-1)


def _cross_entropy_grad(logits, y):
    """d(mean cross-entropy)/d(logits) = (softmax - one_hot) / n."""
    dlogits = np.exp(_log_softmax(logits))
    dlogits[..., np.arange(len(y)), y] -= 1.0
    return dlogits / len(y)


class DatasetProblem:
    """A model with a flat parameter vector ``w`` (shape ``(..., dim)``) trained on real data.

    ``f(w)``/``grad(w)`` are the full-batch training loss and gradient; ``grad(w, batch)`` the
    gradient on the rows ``batch`` of the training set; ``loss(w, "val")`` and
    ``accuracy(w, split)`` evaluate. Everything is batched over leading axes of ``w``.

    ``model(w, X)`` returns the logits and a ``backward(dlogits)`` that turns d(loss)/d(logits)
    into the flat gradient d(loss)/dw: the loss (cross-entropy plus L2) is shared by all models.
    """

    def __init__(self, name, model, dim, init, X_train, y_train, X_val, y_val, l2=0.0):
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self.name, self._model, self.dim, self._init, self.l2 = name, model, dim, init, float(l2)
        self.X_train, self.y_train, self.X_val, self.y_val = X_train, y_train, X_val, y_val
        self.n_classes = int(y_train.max()) + 1

    def __repr__(self):
        return f"DatasetProblem({self.name!r}, dim={self.dim}, n_train={len(self.y_train)}, n_val={len(self.y_val)})"

    def _data(self, split, batch):
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        X, y = (self.X_train, self.y_train) if split == "train" else (self.X_val, self.y_val)
        return (X, y) if batch is None else (X[batch], y[batch])

    def _check(self, w):
        w = np.asarray(w, dtype=float)
        if w.shape[-1] != self.dim:
            raise ValueError(f"{self.name} has {self.dim} parameters, got w of shape {w.shape}")
        return w

    def loss(self, w, split="train", batch=None):
        w = self._check(w)
        X, y = self._data(split, batch)
        logits, _ = self._model(w, X)
        return _cross_entropy(logits, y) + 0.5 * self.l2 * (w * w).sum(axis=-1)

    def f(self, w):
        return self.loss(w, "train")

    def grad(self, w, batch=None):
        w = self._check(w)
        X, y = self._data("train", batch)
        logits, backward = self._model(w, X)
        return backward(_cross_entropy_grad(logits, y)) + self.l2 * w

    def logits(self, w, split="val"):
        X, _ = self._data(split, None)
        logits, _ = self._model(self._check(w), X)
        return logits

    def accuracy(self, w, split="val"):
        _, y = self._data(split, None)
        return (self.logits(w, split).argmax(axis=-1) == y).mean(axis=-1)

    def init(self, seed=0):
        """Seeded initial parameters of shape ``(dim,)``."""
        return self._init(np.random.default_rng(seed))

    def steps_per_epoch(self, batch_size):
        return int(np.ceil(len(self.y_train) / batch_size))

    def minibatches(self, batch_size, seed=0):
        """Endless row indices: each epoch is a fresh seeded shuffle cut into batches."""
        n = len(self.y_train)
        if not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size <= n:
            raise ValueError(f"batch_size must be an integer in [1, {n}], got {batch_size!r}")
        rng = np.random.default_rng(seed)
        while True:
            order = rng.permutation(n)
            for start in range(0, n, batch_size):
                yield order[start : start + batch_size]


def logistic_regression(l2: float = 0.0, val_fraction: float = 0.25, seed: int = 0) -> DatasetProblem:
    """Multinomial logistic regression on the digits (Kingma & Ba, Section 6.1, in miniature)."""
    X_train, y_train, X_val, y_val = load_digits_split(val_fraction, seed)
    d, k = X_train.shape[1], 10

    def model(w, X):
        W, b = w[..., : d * k].reshape(*w.shape[:-1], d, k), w[..., d * k :]

        def backward(dlogits):
            dW = X.T @ dlogits  # broadcasts over leading axes of w (much faster than einsum)
            return np.concatenate([dW.reshape(*w.shape[:-1], d * k), dlogits.sum(axis=-2)], axis=-1)

        return X @ W + b[..., None, :], backward

    return DatasetProblem("logistic regression (digits)", model, d * k + k, lambda rng: np.zeros(d * k + k),
                          X_train, y_train, X_val, y_val, l2)  # fmt: skip


def mlp(hidden: int = 32, l2: float = 0.0, val_fraction: float = 0.25, seed: int = 0) -> DatasetProblem:
    """A one-hidden-layer tanh network on the digits (Kingma & Ba, Section 6.2, in miniature)."""
    X_train, y_train, X_val, y_val = load_digits_split(val_fraction, seed)
    d, h, k = X_train.shape[1], hidden, 10
    sizes = [d * h, h, h * k, k]
    cuts = np.cumsum(sizes)[:-1]

    def unpack(w):
        W1, b1, W2, b2 = np.split(w, cuts, axis=-1)
        lead = w.shape[:-1]
        return W1.reshape(*lead, d, h), b1, W2.reshape(*lead, h, k), b2

    def model(w, X):
        W1, b1, W2, b2 = unpack(w)
        H = np.tanh(X @ W1 + b1[..., None, :])

        def backward(dlogits):
            dW2 = np.swapaxes(H, -1, -2) @ dlogits
            dZ = (dlogits @ np.swapaxes(W2, -1, -2)) * (1 - H * H)  # tanh' = 1 - tanh^2
            parts = [X.T @ dZ, dZ.sum(axis=-2), dW2, dlogits.sum(axis=-2)]
            return np.concatenate([p.reshape(*w.shape[:-1], -1) for p in parts], axis=-1)

        return H @ W2 + b2[..., None, :], backward

    def init(rng):
        W1 = rng.normal(0, 1 / np.sqrt(d), (d, h))
        W2 = rng.normal(0, 1 / np.sqrt(h), (h, k))
        return np.concatenate([W1.ravel(), np.zeros(h), W2.ravel(), np.zeros(k)])

    return DatasetProblem(f"MLP {d}-{h}-{k} (digits)", model, sum(sizes), init, X_train, y_train, X_val, y_val, l2)
