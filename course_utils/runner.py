"""Run an optimizer on a problem: one run, or thousands of configurations at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import backend
from .optim.core import Transform

if TYPE_CHECKING:
    import torch
    from numpy.typing import ArrayLike

    from .problems import DatasetProblem, TestFunction


@dataclass
class Trajectory:
    """What :func:`optimize` recorded.

    ``params`` has shape ``(steps + 1, *batch, dim)`` and ``losses`` ``(steps + 1, *batch)``;
    row 0 is the starting point. A run whose loss became non-finite is frozen at its last
    finite point: its ``diverged`` flag is set, ``diverged_at`` holds the step (-1 otherwise)
    and its later losses are NaN so that loss curves stop where the run broke.
    """

    params: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    val_losses: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return self.losses.shape[0] - 1

    @property
    def final_params(self) -> np.ndarray:
        return self.params[-1]

    @property
    def final_loss(self) -> np.ndarray:
        return self.losses[-1]

    def __repr__(self):
        batch = self.losses.shape[1:]
        where = f" x {batch} runs" if batch else ""
        finite = self.final_loss[np.isfinite(self.final_loss)]
        best = f"{finite.min():.4g}" if finite.size else "nan"
        return f"Trajectory({self.steps} steps{where}, best final loss {best}, diverged {int(self.diverged.sum())})"


def optimize(
    transform: Transform,
    problem: TestFunction | DatasetProblem,
    x0: ArrayLike | torch.Tensor,
    steps: int,
    *,
    batch_size: int | None = None,
    seed: int = 0,
    verbose: bool = True,
) -> Trajectory:
    """Run ``transform`` on ``problem`` for ``steps`` updates from ``x0``.

    ``x0`` has shape ``(*batch, dim)``: each leading index is an independent run. Hyperparameter
    arrays in the transform broadcast against it (``lr`` of shape ``(K, 1)`` with ``x0`` of shape
    ``(2,)`` runs K learning rates; ``x0`` is broadcast to ``(K, 2)``). With ``batch_size``,
    a :class:`~course_utils.problems.DatasetProblem` uses seeded minibatch gradients; the
    recorded loss is always the full training loss (and the validation loss, if there is one).

    >>> from course_utils import optim, problems
    >>> f = problems.rosenbrock()
    >>> run = optimize(optim.adam(lr=0.02), f, f.start, steps=3000, verbose=False)
    >>> run.params.shape, run.final_params.round(2)
    ((3001, 2), array([1., 1.]))

    Two learning rates at once: ``lr`` of shape ``(2, 1)`` gives two runs side by side.

    >>> runs = optimize(optim.adam(lr=np.array([[1e-3], [1e-2]])), f, f.start, steps=100, verbose=False)
    >>> runs.losses.shape, bool(runs.final_loss[1] < runs.final_loss[0])
    ((101, 2), True)
    """
    if not isinstance(transform, Transform):
        raise TypeError(f"transform must be a course_utils.optim.Transform, got {type(transform).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    x = np.array(x0, dtype=float) if not backend.is_array(x0) else backend.copy(x0)
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
        return _run(transform, problem, x, steps, batch_size, seed, verbose)


def _run(transform, problem, x, steps, batch_size, seed, verbose):
    batches = problem.minibatches(batch_size, seed) if batch_size is not None else None

    def gradient(x):
        return problem.grad(x, next(batches)) if batches is not None else problem.grad(x)

    batch = np.shape(backend.to_numpy(problem.f(x)))
    if batch != tuple(x.shape[:-1]):  # the problem itself is batched (its f returns one loss per run)
        x = backend.broadcast_to(x, (*np.broadcast_shapes(batch, tuple(x.shape[:-1])), x.shape[-1]))
    g = gradient(x)
    # Hyperparameter arrays widen the batch, some only from the second step on (momentum's
    # buffer starts as g_1): probe two updates, then start for real on the full batch shape.
    shape, probe = tuple(x.shape), transform.init(x)
    for _ in range(2):
        u, probe = transform.update(g, probe, x)
        shape = tuple(np.broadcast_shapes(shape, tuple(u.shape)))
    if shape != tuple(x.shape):
        x, g = backend.broadcast_to(x, shape), backend.broadcast_to(g, shape)
    state = transform.init(x)
    updates, state = transform.update(g, state, x)

    shape = tuple(x.shape)
    params = np.empty((steps + 1, *shape))
    losses = np.empty((steps + 1, *shape[:-1]))
    has_val = hasattr(problem, "loss") and hasattr(problem, "X_val")
    val_losses = np.empty_like(losses) if has_val else None
    params[0] = backend.to_numpy(x)
    losses[0] = backend.to_numpy(problem.f(x))
    if has_val:
        val_losses[0] = problem.loss(params[0], "val")
    alive = np.isfinite(losses[0])
    diverged_at = np.where(alive, -1, 0)
    nan_update = np.zeros(alive.shape, dtype=bool)  # diverged through 0/0 rather than overflow

    for k in range(1, steps + 1):
        if k > 1:
            updates, state = transform.update(gradient(x), state, x)
        x_new = x + updates
        loss = backend.to_numpy(problem.f(x_new))
        ok = np.isfinite(loss) & np.all(np.isfinite(backend.to_numpy(x_new)), axis=-1)
        diverged_at = np.where(alive & ~ok, k, diverged_at)
        nan_update |= alive & ~ok & np.any(np.isnan(backend.to_numpy(updates)), axis=-1)
        alive = alive & ok
        keep = alive[..., None]
        x = backend.where(keep, x_new, x)
        params[k] = backend.to_numpy(x)
        losses[k] = np.where(alive, loss, np.nan)
        if has_val:
            val_losses[k] = np.where(alive, problem.loss(params[k], "val"), np.nan)
        if not alive.any():
            params[k + 1 :], losses[k + 1 :] = params[k], np.nan
            if has_val:
                val_losses[k + 1 :] = np.nan
            break

    diverged = diverged_at >= 0
    if verbose and diverged.any():
        print(_divergence_message(diverged, diverged_at, nan_update))
    return Trajectory(params, losses, diverged, diverged_at, val_losses)


def _divergence_message(diverged, diverged_at, nan_update) -> str:
    if diverged.ndim == 0:
        return f"Diverged at step {int(diverged_at)}: the loss stopped being a finite number. " + (
            "The update itself was NaN (a 0/0, such as eps=0 with a zero gradient?); the run was frozen there."
            if nan_update
            else "The run was frozen at its last finite point (try a smaller learning rate)."
        )
    n, total = int(diverged.sum()), diverged.size
    first = int(diverged_at[diverged].min())
    return (
        f"{n} of {total} runs diverged (loss not finite, first at step {first}); they were frozen at their "
        "last finite point. See trajectory.diverged and trajectory.diverged_at."
    )
