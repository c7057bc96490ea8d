"""The tuning exercise (ex09): a configuration is judged by the validation loss it reaches.

A configuration is plain data, e.g. ``{"optimizer": "adam", "lr": 0.01, "batch_size": 64,
"schedule": "cosine"}``. The grader rebuilds the optimizer from it with
:mod:`course_utils.optim` and trains it itself, so the result cannot be faked; the same
function lets students try configurations in the notebook.
"""

from __future__ import annotations

import inspect
import math
import numbers

import numpy as np

from .questions import TUNING

OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "adamax")
SCHEDULES = ("constant", "cosine", "warmup_cosine", "inverse_sqrt")
_RESERVED = {"optimizer", "lr", "batch_size", "schedule", "warmup_steps"}


class ConfigError(ValueError):
    """The configuration cannot be used; the message says why."""


def _number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def target_of(target=None) -> dict:
    """A design question's budget and goal: a dict, a design question's name, or None (ex09's ``TUNING``)."""
    if target is None:
        return TUNING
    if isinstance(target, str):
        from .questions import QUESTIONS

        q = QUESTIONS.get(target)
        if q is None or q.kind != "design":
            raise ConfigError(f"there is no design question {target!r}")
        return q.target or TUNING
    return target


def build(config: dict, steps: int | None = None, target=None):
    """``(transform, batch_size)`` for a configuration; raises :class:`ConfigError` with a clear message."""
    from course_utils import optim
    from course_utils.optim import schedules

    target = target_of(target)
    steps = steps or target["steps"]
    if not isinstance(config, dict):
        raise ConfigError(f"the configuration must be a dict, got {type(config).__name__}")
    name = config.get("optimizer")
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")
    if "lr" not in config:
        raise ConfigError("the configuration needs a learning rate: 'lr'")
    lr = _number(config["lr"], "lr")
    if lr <= 0:
        raise ConfigError(f"lr must be positive, got {lr:g}")
    batch_size = config.get("batch_size")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= target["max_batch_size"]
    ):
        raise ConfigError(f"batch_size must be an integer from 1 to {target['max_batch_size']}, got {batch_size!r}")
    schedule = config.get("schedule", "constant")
    if schedule not in SCHEDULES:
        raise ConfigError(f"schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}")
    if schedule == "cosine":
        lr = schedules.cosine_decay(lr, steps)
    elif schedule == "warmup_cosine":
        warmup = config.get("warmup_steps", 20)
        if isinstance(warmup, bool) or not isinstance(warmup, int) or not 1 <= warmup < steps:
            raise ConfigError(f"warmup_steps must be an integer from 1 to {steps - 1}, got {warmup!r}")
        lr = schedules.linear_warmup(schedules.cosine_decay(lr, steps), warmup)
    elif schedule == "inverse_sqrt":
        lr = schedules.inverse_sqrt(lr)
    factory = getattr(optim, name)
    allowed = [p for p in inspect.signature(factory).parameters if p not in ("lr", "maximize")]
    kwargs = {}
    for key, value in config.items():
        if key in _RESERVED:
            continue
        if key not in allowed:
            raise ConfigError(f"{name} has no setting {key!r}; it accepts {', '.join(allowed)}")
        if isinstance(value, bool):
            kwargs[key] = value
        elif isinstance(value, (list, tuple)):
            kwargs[key] = tuple(_number(v, f"{key}[{i}]") for i, v in enumerate(value))
        else:
            kwargs[key] = _number(value, key)
    try:
        transform = factory(lr=lr, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"optim.{name} rejected the configuration: {exc}") from exc
    return transform, batch_size


_PROBLEM = {}


def problem(hidden: int | None = None):
    """The model to tune: the course's MLP on the digits (``hidden`` units; default: ex09's)."""
    hidden = int(TUNING["hidden"] if hidden is None else hidden)
    if hidden not in _PROBLEM:
        from course_utils import problems

        _PROBLEM[hidden] = problems.mlp(hidden=hidden)
    return _PROBLEM[hidden]


def evaluate_config(config: dict, seed: int = 0, target=None) -> float:
    """Validation loss after the step budget, from initial weights and minibatch order ``seed``.

    ``target``: the design question's budget (a dict, or the question's name); None for ex09's ``TUNING``.
    A run whose weights stop being finite counts as ``inf`` (diverged).
    """
    from course_utils.optim import apply_updates

    target = target_of(target)
    transform, batch_size = build(config, target=target)
    prob = problem(target["hidden"])
    w = prob.init(seed)
    state = transform.init(w)
    batches = prob.minibatches(batch_size, seed)
    with _one_thread(), np.errstate(all="ignore"):
        for _ in range(int(target["steps"])):
            updates, state = transform.update(prob.grad(w, next(batches)), state, w)
            w = apply_updates(w, updates)
            if not np.all(np.isfinite(w)):
                return math.inf
        loss = float(prob.loss(w, "val"))
    return loss if np.isfinite(loss) else math.inf


# The fingerprints config_mistake recognises, per optimizer: a peak rate at most the textbook default is too
# cautious, one at least TOO_LARGE_LR is beyond the sensible range, and a constant rate at least HIGH_END_LR ends
# the run too high. Adaptive methods step about lr per coordinate, SGD about lr times the gradient, hence SGD's
# larger values (on the digits MLP, SGD with a constant lr of 5 reaches 0.08 and one of 20 stalls near 0.45).
_ADAPTIVE = ("adagrad", "rmsprop", "adam", "adamw", "nadam", "adamax")
CAUTIOUS_LR = {"sgd": 1e-2, **dict.fromkeys(_ADAPTIVE, 1e-3)}
TOO_LARGE_LR = {"sgd": 20.0, **dict.fromkeys(_ADAPTIVE, 0.3)}
HIGH_END_LR = {"sgd": 2.0, **dict.fromkeys(_ADAPTIVE, 0.03)}
SMALL_BATCH = 32
GUESSING_LOSS = math.log(10)  # cross-entropy of a uniform guess among the ten digits (lecture 9's first sanity check)


def loss_band(loss: float) -> str:
    """The range a validation loss falls in, coarse enough to be the same on every machine.

    A run at a learning rate near or past the edge of stability is chaotic: the first digit of its final
    loss changes with the BLAS kernel and the thread count, while the range it ends in does not.

    >>> loss_band(0.09), loss_band(0.45), loss_band(1.5), loss_band(9.0), loss_band(float("nan"))
    ('below 0.2', '0.2 to 1', '1 to ln 10', 'above ln 10 = 2.30 (diverged)', 'above ln 10 = 2.30 (diverged)')
    """
    for top, name in ((0.2, "below 0.2"), (1.0, "0.2 to 1"), (GUESSING_LOSS, "1 to ln 10")):
        if loss < top:
            return name
    return f"above ln 10 = {GUESSING_LOSS:.2f} (diverged)"  # also NaN, which is below nothing


def config_mistake(config: dict, losses, target=None) -> str | None:
    """The fingerprint (a key of ``CONFIG_MISTAKES``) of a valid configuration whose runs did not all pass.

    ``losses``: the validation losses its runs reached (``inf`` for a diverged run). None when every run is below
    the target's threshold, or when no fingerprint fits. Checked in order: a run that diverged (not finite, or worse
    than guessing); a peak learning rate at or below the optimizer's default; one beyond its sensible range; a
    batch below 32; a constant schedule at a rate that is large for the optimizer.
    """
    target = target_of(target)
    losses = [float(x) for x in losses]
    if all(x < target["threshold"] for x in losses):
        return None
    if any(not x <= GUESSING_LOSS for x in losses):
        return "diverged"
    name, lr = config["optimizer"], float(config["lr"])
    if lr <= CAUTIOUS_LR[name]:
        return "too_cautious"
    if lr >= TOO_LARGE_LR[name]:
        return "too_large"
    if config["batch_size"] < SMALL_BATCH:
        return "small_batch"
    if config.get("schedule", "constant") == "constant" and lr >= HIGH_END_LR[name]:
        return "ends_high"
    return None


def _one_thread():
    """Small matrices: one BLAS thread is faster, and fair to a shared machine."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
