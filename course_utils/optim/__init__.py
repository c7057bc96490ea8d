"""Composable optimizers on NumPy arrays and torch tensors (see :mod:`.core` for the idea).

Building blocks, one per lecture idea: :func:`scale_by_lr`, :func:`negate`, :func:`trace`
(momentum), :func:`scale_by_adagrad`, :func:`scale_by_rms`, :func:`scale_by_adam`,
:func:`scale_by_nadam`, :func:`scale_by_adamax`, :func:`add_decayed_weights`, and
:mod:`schedules`. Factories with torch.optim's names: :func:`sgd`, :func:`adagrad`,
:func:`rmsprop`, :func:`adam`, :func:`adamw`, :func:`nadam`, :func:`adamax`. After Adam, one
module each (transform and factory): :func:`radam`, :func:`adafactor`, :func:`lion`,
:func:`adabelief`, :func:`schedule_free_adamw` (evaluate at
:func:`schedule_free.eval_params`), :func:`muon` (2-D parameters),
:func:`adam_8bit` (m and v in 8 bits, :mod:`.quantized`), :func:`lamb`. Hyperparameters as state:
:func:`inject_hyperparams`. In a PyTorch training loop: :class:`TorchOptimizer`.
"""

from . import quantized, schedule_free, schedules
from .adabelief import AdaBeliefState, adabelief, scale_by_belief
from .adafactor import (
    FactoredState,
    adafactor,
    clip_by_block_rms,
    decay_weights_by_lr,
    scale_by_factored_rms,
    scale_by_param_scale,
    scale_by_relative_lr,
)
from .adam import AdamaxState, AdamState, NadamState, scale_by_adam, scale_by_adamax, scale_by_nadam
from .adaptive import AdagradState, RMSState, rms_denominator, scale_by_adagrad, scale_by_rms
from .aliases import adagrad, adam, adamax, adamw, nadam, rmsprop, sgd
from .core import ChainState, Transform, apply_updates, chain
from .ema import bias_correction, debias, ema
from .fused import step
from .hyperparams import HyperparamsState, Recipe, inject_hyperparams, set_hyperparams
from .lamb import lamb, scale_by_trust_ratio
from .lion import LionState, lion, scale_by_lion
from .momentum import TraceState, trace
from .muon import MomentumState, ema_momentum, muon, newton_schulz, orthogonalize
from .quantized import Adam8bitState, adam_8bit, scale_by_adam_8bit
from .radam import RAdamState, radam, scale_by_radam
from .schedule_free import ScheduleFreeState, scale_by_schedule_free_adamw, schedule_free_adamw
from .step_size import CountState, negate, scale_by_lr
from .weight_decay import add_decayed_weights

__all__ = [
    "AdamState", "AdamaxState", "AdagradState", "ChainState", "CountState", "HyperparamsState", "NadamState",
    "RMSState", "Recipe", "TorchOptimizer", "TraceState", "Transform", "adagrad", "adam", "adamax", "adamw",
    "add_decayed_weights", "apply_updates", "bias_correction", "chain", "debias", "ema", "inject_hyperparams",
    "nadam", "negate", "rms_denominator", "rmsprop", "scale_by_adagrad", "scale_by_adam", "scale_by_adamax",
    "scale_by_lr", "scale_by_nadam", "scale_by_rms", "schedules", "set_hyperparams", "sgd", "step", "trace",
    # after Adam
    "RAdamState", "radam", "scale_by_radam",
    "FactoredState", "adafactor", "clip_by_block_rms", "decay_weights_by_lr", "scale_by_factored_rms",
    "scale_by_param_scale", "scale_by_relative_lr",
    "LionState", "lion", "scale_by_lion", "AdaBeliefState", "adabelief", "scale_by_belief",
    "ScheduleFreeState", "scale_by_schedule_free_adamw", "schedule_free", "schedule_free_adamw",
    "MomentumState", "ema_momentum", "muon", "newton_schulz", "orthogonalize",
    "Adam8bitState", "adam_8bit", "quantized", "scale_by_adam_8bit", "lamb", "scale_by_trust_ratio",
]  # fmt: skip


def __getattr__(name):
    # TorchOptimizer subclasses torch.optim.Optimizer: import torch only when it is asked for.
    if name == "TorchOptimizer":
        from .torch_optimizer import TorchOptimizer

        return TorchOptimizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
