"""Any factory's transform as a real ``torch.optim.Optimizer``: parameter groups, schedulers, checkpoints.

``TorchOptimizer(model.parameters(), optim.adam(lr=1e-3))`` keeps torch.optim's contract:

* ``defaults`` and every entry of ``param_groups`` hold the factory's arguments under
  torch.optim's names (``lr``, ``betas``, ``eps``, ``weight_decay``, ``momentum``, ...), plus
  the switches of the matching torch class (``foreach``, ``fused``, ...). Groups may differ in
  any of them, and each step rebuilds every group's transform from the group's *current*
  values, so ``torch.optim.lr_scheduler`` and ``swa_utils.SWALR`` drive it as they drive
  ``torch.optim.Adam``.
* ``optimizer.state[p]`` holds each parameter's state under torch's names (``step``,
  ``exp_avg``, ``exp_avg_sq``, ``momentum_buffer``, ...). ``state_dict()`` therefore has torch's
  layout, and a checkpoint of ``torch.optim.Adam`` loads into ``TorchOptimizer(...,
  optim.adam())`` and the other way round.
* A parameter whose ``.grad`` is None is skipped and its state left alone; groups can be added
  at any time; the hooks of ``torch.optim.Optimizer`` (``register_step_pre_hook``, ...) work.
"""

from __future__ import annotations

import copy
import inspect
import numbers
from collections import OrderedDict
from collections.abc import Callable, Iterable

import torch

from .adabelief import AdaBeliefState, adabelief
from .adafactor import FactoredState, adafactor
from .adam import AdamaxState, AdamState, NadamState
from .adaptive import AdagradState, RMSState
from .aliases import adagrad, adam, adamax, adamw, nadam, rmsprop, sgd
from .core import ChainState, Transform
from .fused import step as fused_step
from .hyperparams import HyperparamsState, is_numeric
from .lamb import lamb
from .lion import LionState, lion
from .momentum import TraceState
from .muon import MomentumState, muon
from .quantized import Adam8bitState, adam_8bit
from .radam import RAdamState, radam
from .schedule_free import ScheduleFreeState, schedule_free_adamw
from .step_size import CountState

# For each factory: the torch.optim class it mirrors, and that class's switches. The switches
# choose *how* torch computes a step (for-loop, foreach, fused kernel, CUDA graphs), not *what*
# it computes, so they are accepted and change nothing here; they are kept so that
# ``param_groups`` and checkpoints have exactly torch's keys. Two are refused where it matters:
# ``differentiable=True`` (steps run under no_grad) and, whatever ``capturable`` says, a step
# inside CUDA graph capture (a replayed graph would repeat the step counts read at capture).
TORCH_CLASSES = {
    sgd: ("SGD", {"foreach": None, "differentiable": False, "fused": None}),
    adagrad: ("Adagrad", {"foreach": None, "differentiable": False, "fused": None}),
    rmsprop: ("RMSprop", {"capturable": False, "foreach": None, "differentiable": False}),
    adam: ("Adam", {"foreach": None, "capturable": False, "differentiable": False, "fused": None}),
    adamw: ("AdamW", {"foreach": None, "capturable": False, "differentiable": False, "fused": None,
                      "decoupled_weight_decay": True}),
    nadam: ("NAdam", {"foreach": None, "capturable": False, "differentiable": False}),
    adamax: ("Adamax", {"foreach": None, "capturable": False, "differentiable": False}),
    radam: ("RAdam", {"foreach": None, "capturable": False, "differentiable": False}),
    adafactor: ("Adafactor", {"foreach": None}),
    muon: ("Muon", {}),
    # no torch.optim class: no switches, and the state names of the authors' PyTorch code
    lion: (None, {}),
    adabelief: (None, {}),
    schedule_free_adamw: (None, {}),
    adam_8bit: (None, {}),
    lamb: (None, {}),
}  # fmt: skip

# torch's name for each field of our states; None: not stored (recomputed, see _decode)
STATE_NAMES = {
    AdamState: {"t": "step", "m": "exp_avg", "v": "exp_avg_sq", "v_max": "max_exp_avg_sq"},
    NadamState: {"t": "step", "m": "exp_avg", "v": "exp_avg_sq", "mu_product": "mu_product"},
    AdamaxState: {"t": "step", "m": "exp_avg", "u": "exp_inf"},
    RAdamState: {"t": "step", "m": "exp_avg", "v": "exp_avg_sq"},
    FactoredState: {"t": "step", "row_var": "row_var", "col_var": "col_var", "variance": "variance"},
    LionState: {"t": "step", "m": "exp_avg"},
    MomentumState: {"t": None, "b": "momentum_buffer"},
    Adam8bitState: {
        "t": "step",
        "m_codes": "exp_avg_codes",
        "m_absmax": "exp_avg_absmax",
        "v_codes": "exp_avg_sq_codes",
        "v_absmax": "exp_avg_sq_absmax",
    },
    AdaBeliefState: {"t": "step", "m": "exp_avg", "s": "exp_avg_var"},
    ScheduleFreeState: {
        "t": "step",
        "z": "z",
        "x": "x",
        "v": "exp_avg_sq",
        "lr_max": "lr_max",
        "weight_sum": "weight_sum",
    },
    AdagradState: {"t": "step", "s": "sum"},
    RMSState: {"t": "step", "v": "square_avg", "g_avg": "grad_avg"},
    TraceState: {"t": None, "b": "momentum_buffer"},
    CountState: {"t": None},
}

# every name each factory may keep (a buffer stays when, e.g., a scheduler sets momentum to 0)
KEPT = {
    sgd: {"momentum_buffer"},
    adagrad: {"step", "sum"},
    rmsprop: {"step", "square_avg", "grad_avg", "momentum_buffer"},
    adam: {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    adamw: {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    nadam: {"step", "exp_avg", "exp_avg_sq", "mu_product"},
    adamax: {"step", "exp_avg", "exp_inf"},
    radam: {"step", "exp_avg", "exp_avg_sq"},
    adafactor: {"step", "row_var", "col_var", "variance"},
    lion: {"step", "exp_avg"},
    muon: {"momentum_buffer"},
    lamb: {"step", "exp_avg", "exp_avg_sq"},
    adam_8bit: {"step", "exp_avg_codes", "exp_avg_absmax", "exp_avg_sq_codes", "exp_avg_sq_absmax"},
    adabelief: {"step", "exp_avg", "exp_avg_var"},
    schedule_free_adamw: {"step", "z", "x", "exp_avg_sq", "lr_max", "weight_sum"},
}

# what torch's schedulers write into param_groups for their own bookkeeping
SCHEDULER_KEYS = {"initial_lr", "max_lr", "min_lr", "base_momentum", "max_momentum", "swa_lr"}
SCALAR_NAMES = {"step", "mu_product", "lr_max", "weight_sum"}


class MissingHyperparameterError(KeyError):
    """``group[key]`` for a hyperparameter this optimizer does not have (a clear ``KeyError``)."""

    def __str__(self):
        return str(self.args[0])


class ParamGroup(dict):
    """A parameter group: a plain dict whose missing keys give an error that says what to do."""

    def __missing__(self, key):
        have = ", ".join(sorted(k for k in self if k not in ("params", "param_names"))) or "none"
        hint = ""
        if key in ("lr", "momentum", "betas"):
            hint = (
                f" A torch.optim.lr_scheduler needs {key!r}: give TorchOptimizer a transform made by a factory "
                "that has one (optim.sgd, optim.adam, ...), not a transform built by hand with optim.chain."
            )
        raise MissingHyperparameterError(f"this parameter group has no hyperparameter {key!r} (it has: {have}).{hint}")


def _scalar_dtype():
    # torch keeps 'step' in float32, or float64 when that is the default dtype
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class TorchOptimizer(torch.optim.Optimizer):
    """Wrap a :class:`~course_utils.optim.Transform` so that ``loss.backward(); opt.step()`` works.

    >>> opt = TorchOptimizer(model.parameters(), optim.adamw(lr=1e-3))          # doctest: +SKIP
    >>> opt = TorchOptimizer([{"params": weights},                              # doctest: +SKIP
    ...                       {"params": biases, "weight_decay": 0.0}], optim.adamw(lr=1e-3))
    >>> scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)  # doctest: +SKIP

    A parity check against ``torch.optim.Adam``:

    >>> import torch
    >>> from course_utils import optim
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(3, 1)
    >>> twin = torch.nn.Linear(3, 1)
    >>> twin.load_state_dict(model.state_dict())
    <All keys matched successfully>
    >>> ours = TorchOptimizer(model.parameters(), optim.adam(lr=1e-2))
    >>> theirs = torch.optim.Adam(twin.parameters(), lr=1e-2)
    >>> x, y = torch.randn(16, 3), torch.randn(16, 1)
    >>> for net, opt in ((model, ours), (twin, theirs)):
    ...     for _ in range(20):
    ...         opt.zero_grad()
    ...         torch.nn.functional.mse_loss(net(x), y).backward()
    ...         opt.step()
    >>> all(torch.allclose(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    True

    With a transform made by a factory (``optim.sgd``, ``optim.adam``, ...), the factory's
    arguments are the ``defaults``; a group's own values override them. A transform built by hand
    (``optim.chain(...)``) is used as it is for every group, and its groups have no
    hyperparameters. Either way each parameter's state is ``optimizer.state[p]``.
    """

    def __init__(self, params: Iterable[torch.Tensor] | Iterable[dict], transform: Transform) -> None:
        if not isinstance(transform, Transform):
            raise TypeError(f"transform must be a course_utils.optim.Transform, got {type(transform).__name__}")
        self.transform = transform
        recipe = transform.recipe
        self._factory = recipe.factory if recipe is not None and recipe.factory in TORCH_CLASSES else None
        if self._factory is None:
            if recipe is not None and _hyperparams_inside(transform):
                raise TypeError(
                    "TorchOptimizer keeps the hyperparameters in its param_groups already: pass the factory's "
                    "transform itself (optim.adam(lr=1e-3)), not an inject_hyperparams one"
                )
            defaults = {}
            self._arguments = ()
        else:
            schedules = [k for k, v in recipe.arguments.items() if callable(v) and not isinstance(v, torch.Tensor)]
            if schedules:
                raise TypeError(
                    f"{', '.join(schedules)} is a schedule (a function of the step). TorchOptimizer keeps torch's "
                    "contract: give it a number and drive it with a torch.optim.lr_scheduler, e.g. "
                    "LambdaLR(optimizer, lambda epoch: schedule(epoch + 1) / lr)"
                )
            self._arguments = tuple(recipe.arguments)
            defaults = {**recipe.arguments, **TORCH_CLASSES[self._factory][1]}
        super().__init__(params, defaults)

    # --- parameter groups --------------------------------------------------------------------

    def _name(self) -> str:
        return f"optim.{self._factory.__name__}" if self._factory is not None else "this transform"

    def _check_keys(self, group: dict, where: str) -> None:
        allowed = set(self.defaults) | {"params", "param_names"} | SCHEDULER_KEYS
        unknown = sorted(k for k in group if k not in allowed)
        if unknown:
            have = ", ".join(self.defaults) or "none (it was built by hand)"
            torch_name = TORCH_CLASSES[self._factory][0] if self._factory is not None else None
            also = f" It mirrors torch.optim.{torch_name}." if torch_name else ""
            raise ValueError(f"{where}: unknown hyperparameter(s) {unknown}; {self._name()} has: {have}.{also}")

    def add_param_group(self, param_group: dict) -> None:
        """As in torch.optim (at any time, also after steps), and unknown keys are an error."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        self._check_keys(param_group, f"parameter group {len(self.param_groups)}")
        super().add_param_group(param_group)
        group = ParamGroup(self.param_groups[-1])
        try:
            transform = self._transform_for(group, len(self.param_groups) - 1)
            for p in group["params"]:  # a parameter the transform cannot take (Muon: not 2-D) is refused now
                _template(transform, p)
        except Exception:
            self.param_groups.pop()  # nothing half-added
            raise
        self.param_groups[-1] = group
        if self._factory is adagrad:
            # as torch.optim.Adagrad, whose step expects it: every parameter has a state from the
            # start, so a checkpoint loads into torch's class even for parameters never stepped yet
            value = _plain(group["initial_accumulator_value"], "initial_accumulator_value")
            for p in group["params"]:
                if p not in self.state:
                    accumulator = torch.full_like(p.detach(), value, memory_format=torch.preserve_format)
                    self.state[p] = {"step": torch.tensor(0.0, dtype=_scalar_dtype()), "sum": accumulator}

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        self.param_groups = [g if isinstance(g, ParamGroup) else ParamGroup(g) for g in self.param_groups]
        for group in self.param_groups:  # as torch's classes do for checkpoints of older torch versions
            for key, value in _torch_defaults(getattr(self, "_factory", None)).items():
                group.setdefault(key, value)

    def __getstate__(self):
        return {**super().__getstate__(), "transform": self.transform, "_factory": self._factory,
                "_arguments": self._arguments}  # fmt: skip

    def _transform_for(self, group: dict, index: int) -> Transform:
        """The transform of this group's current hyperparameters (validated by the factory)."""
        if self._factory is None:
            return self.transform
        where = f"parameter group {index}"
        if group.get("differentiable"):
            raise ValueError(f"{where}: differentiable=True is not supported (TorchOptimizer steps under no_grad)")
        if "decoupled_weight_decay" in group and self._factory is adamw and not group["decoupled_weight_decay"]:
            raise ValueError(f"{where}: AdamW's weight decay is always decoupled; use optim.adam for L2")
        try:
            return self._factory(**{name: _plain(group[name], name) for name in self._arguments})
        except (TypeError, ValueError) as error:
            raise type(error)(f"{where}: {error}") from error

    # --- the step ----------------------------------------------------------------------------

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient, with its group's current values."""
        _refuse_graph_capture()
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        plans = []  # every group is checked before any parameter changes
        for index, group in enumerate(self.param_groups):
            active = [p for p in group["params"] if p.grad is not None]
            if not active:
                continue
            if any(p.grad.is_sparse for p in active):
                raise TypeError("TorchOptimizer needs dense gradients (use torch.optim.SparseAdam for sparse ones)")
            if any(p.is_complex() for p in active):
                raise TypeError(
                    "TorchOptimizer updates real parameters only; for a complex one, optimize "
                    "torch.view_as_real(p) as torch.optim does internally"
                )
            plans.append((active, self._transform_for(group, index)))
        for active, transform in plans:
            templates: dict = {}  # the state's layout may depend on the shape (Adafactor factors matrices)
            batches: dict = {}  # parameters whose states share their scalars (step, ...) are updated together
            for p in active:
                key = (tuple(p.shape), p.dtype)
                if key not in templates:
                    templates[key] = _template(transform, p)
                state = _decode(transform, templates[key], self.state[p], p)
                batches.setdefault(_scalars(state), []).append((p, state))
            for batch in batches.values():
                params = [p for p, _ in batch]
                values = [p.detach() for p in params]
                new_values, new_state = fused_step(
                    transform, [p.grad for p in params], _stack([s for _, s in batch]), values
                )
                if new_values is not values:  # the generic path returns new tensors; the fast path wrote in place
                    for p, new in zip(params, new_values, strict=True):
                        p.copy_(new)
                for i, p in enumerate(params):
                    _encode(_unstack(new_state, i), self.state[p])
        return loss

    # --- checkpoints -------------------------------------------------------------------------

    def state_dict(self):
        """torch's layout (state by parameter index, param_groups with index lists), as a snapshot."""
        saved = super().state_dict()
        saved["state"] = {k: {n: _clone(v) for n, v in s.items()} for k, s in saved["state"].items()}
        return saved

    def load_state_dict(self, state_dict) -> None:
        """Load a checkpoint of this class or of the matching torch.optim class, after checking it."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        self._check_loadable(state_dict)
        hooks, self._optimizer_load_state_dict_pre_hooks = self._optimizer_load_state_dict_pre_hooks, OrderedDict()
        try:  # torch's loader: maps indices to parameters, casts state to their dtype and device, runs post-hooks
            super().load_state_dict(state_dict)
        finally:
            self._optimizer_load_state_dict_pre_hooks = hooks

    def _check_loadable(self, state_dict) -> None:
        if "transform_state" in state_dict:
            raise ValueError(
                "this checkpoint was saved by an older TorchOptimizer (a flat 'transform_state'), whose layout "
                "cannot be loaded: start from the model weights with a fresh optimizer"
            )
        if set(state_dict) != {"state", "param_groups"}:
            raise ValueError(
                f"not an optimizer state_dict: expected the keys 'state' and 'param_groups', got {sorted(state_dict)}"
            )
        saved_groups = state_dict["param_groups"]
        if not isinstance(state_dict["state"], dict) or not isinstance(saved_groups, (list, tuple)):
            raise ValueError(
                "not an optimizer state_dict: 'state' must be a dict and 'param_groups' a list, got "
                f"{type(state_dict['state']).__name__} and {type(saved_groups).__name__}"
            )
        for i, saved in enumerate(saved_groups):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)):
                raise ValueError(f"parameter group {i} of the checkpoint is not a dict with a list 'params'")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"the checkpoint has {len(saved_groups)} parameter group(s), this optimizer {len(self.param_groups)}"
            )
        index_to_param = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"parameter group {i} of the checkpoint has {len(saved['params'])} parameters, "
                    f"this optimizer's has {len(group['params'])}"
                )
            self._check_keys(saved, f"parameter group {i} of the checkpoint")
            values = {**_torch_defaults(self._factory), **{k: v for k, v in saved.items() if k != "params"}}
            transform = self._transform_for(values, i)
            for index, p in zip(saved["params"], group["params"], strict=True):
                template = _template(transform, p)
                kept = KEPT[self._factory] if self._factory is not None else set(_names(template))
                blocks = [[name for _, value, name in _fields(block) if name and value is not None]
                          for block in _blocks(template)]  # fmt: skip
                shapes = {name: tuple(value.shape) for block in _blocks(template)
                          for _, value, name in _fields(block) if isinstance(value, torch.Tensor)}  # fmt: skip
                index_to_param[index] = (p, kept, blocks, shapes)
        for index, state in state_dict["state"].items():
            if index not in index_to_param:
                raise ValueError(f"the checkpoint has state for parameter {index!r}, which is in none of its groups")
            if not isinstance(state, dict):
                raise ValueError(f"the state of parameter {index} must be a dict, got {type(state).__name__}")
            p, kept, blocks, shapes = index_to_param[index]
            present = {name for name, value in state.items() if value is not None}
            for names in blocks:  # a block's state is all there or not at all (torch's step would fail)
                missing = [name for name in names if name not in present]
                if missing and len(missing) < len(names):
                    raise ValueError(
                        f"the state of parameter {index} lacks {missing} (it has {sorted(present)}): "
                        "the checkpoint is incomplete"
                    )
            step = state.get("step")
            if step is not None:
                step = step.item() if isinstance(step, torch.Tensor) and step.numel() == 1 else step
                if isinstance(step, bool) or not isinstance(step, numbers.Real) or step < 0 or step != int(step):
                    raise ValueError(f"the 'step' of parameter {index} must be a count (0, 1, 2, ...), got {step!r}")
            unknown = sorted(set(state) - kept)
            if unknown:
                raise ValueError(
                    f"the state of parameter {index} has {unknown}, which {self._name()} does not keep "
                    f"(it keeps {sorted(kept)}): the checkpoint was saved by another optimizer"
                )
            for name, value in state.items():
                if name not in SCALAR_NAMES and value is not None and not isinstance(value, torch.Tensor):
                    raise ValueError(
                        f"the checkpoint's {name!r} of parameter {index} must be a tensor, got {type(value).__name__}"
                    )
                if name in SCALAR_NAMES or not isinstance(value, torch.Tensor):
                    continue
                expected = shapes.get(name, tuple(p.shape))
                if tuple(value.shape) != expected:
                    raise ValueError(
                        f"the checkpoint's {name!r} of parameter {index} has shape {tuple(value.shape)}, "
                        f"but the parameter has shape {tuple(p.shape)} (so {name!r} must have shape {expected}): "
                        "it belongs to another model"
                    )


def _torch_defaults(factory) -> dict:
    """What a key missing from a saved group meant: the default of the torch class (and the factory).

    A checkpoint of an older torch version lacks the keys added since (``maximize``, ``foreach``,
    ``decoupled_weight_decay``, ...); torch's classes fill them in with their defaults on loading.
    """
    if factory is None:
        return {}
    signature = inspect.signature(factory)
    found = {name: p.default for name, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}
    return {**found, **TORCH_CLASSES[factory][1]}


def _capturing() -> bool:
    return torch.accelerator.current_stream().is_capturing()


def _refuse_graph_capture() -> None:
    """``capturable=True`` promises a step that a CUDA graph can record; ours cannot be recorded."""
    if torch.compiler.is_compiling():
        return
    accelerator = torch.accelerator.current_accelerator(check_available=True)
    if accelerator is not None and accelerator.type in ("cuda", "xpu") and _capturing():
        raise RuntimeError(
            "TorchOptimizer.step() cannot be recorded in a CUDA graph (it reads step counts on the host, so a "
            "replayed graph would repeat the captured step); run it outside the capture, or use the matching "
            "torch.optim class with capturable=True for graph capture"
        )


# --- per-parameter state: torch's names <-> the transform's NamedTuples ------------------------


def _hyperparams_inside(transform) -> bool:
    try:
        return isinstance(transform.init(torch.empty((), device="meta")), HyperparamsState)
    except Exception:  # noqa: BLE001 - a transform that cannot init on "meta" is not an injected one
        return False


def _plain(value, name):
    """A group value as the factory takes it: 1-element tensors become numbers (torch allows them)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a number or a 1-element tensor, got shape {tuple(value.shape)}")
        return value.item()
    if isinstance(value, (tuple, list)) and is_numeric(value):
        return tuple(_plain(v, f"{name}[{i}]") for i, v in enumerate(value))
    if not isinstance(value, (numbers.Number, str, tuple, list, type(None))) and is_numeric(value):
        raise TypeError(f"{name} must be a number in a TorchOptimizer group, got {type(value).__name__}")
    return value


def _template(transform, p=None):
    """The structure of one parameter's state, made without allocating memory (on torch's "meta" device).

    Made for ``p``'s shape and dtype when given: some states differ by shape (Adafactor keeps row
    and column statistics for matrices, the full second moment for vectors).
    """
    if p is None:
        return transform.init(torch.empty((), device="meta"))
    return transform.init(torch.empty(p.shape, dtype=p.dtype, device="meta"))


def _fields(state):
    """(field, value, torch name) for a NamedTuple state; unknown classes are named Class.field."""
    names = STATE_NAMES.get(type(state))
    for field, value in zip(state._fields, state, strict=True):
        yield field, value, (names[field] if names is not None else f"{type(state).__name__}.{field}")


def _blocks(state):
    if isinstance(state, ChainState):
        for s in state:
            yield from _blocks(s)
    elif isinstance(state, tuple) and hasattr(state, "_fields"):
        yield state
    elif state != ():
        raise TypeError(
            f"TorchOptimizer stores states made of NamedTuples (as course_utils' blocks), got {type(state).__name__}"
        )


def _names(template):
    return [name for block in _blocks(template) for _, value, name in _fields(block) if name and value is not None]


def _decode(transform, template, named: dict, p):
    """The transform's state for parameter ``p`` from ``optimizer.state[p]``."""
    needed = [name for block in _blocks(template) for _, value, name in _fields(block)
              if isinstance(value, torch.Tensor) and name not in SCALAR_NAMES]  # fmt: skip
    if any(named.get(name) is None for name in needed):
        template = transform.init(p.detach())  # first step (or a new buffer): fresh values from init
    step = int(named["step"]) if "step" in named else 0

    def block(state):
        values = []
        for _, value, name in _fields(state):
            if name is None:  # counters we do not store: the momentum buffer's, the lr's
                values.append((1 if "momentum_buffer" in named else 0) if isinstance(state, TraceState) else step)
            elif named.get(name) is not None and value is not None:
                saved = named[name]
                values.append(saved if isinstance(value, torch.Tensor) else type(value)(saved))
            else:
                values.append(value)
        return type(state)(*values)

    def walk(state):
        if isinstance(state, ChainState):
            return ChainState(walk(s) for s in state)
        return block(state) if state != () else state

    return walk(template)


def _encode(state, named: dict) -> None:
    """Write the transform's new state for one parameter into ``optimizer.state[p]``."""
    for block in _blocks(state):
        for _, value, name in _fields(block):
            if name is None or value is None:
                continue
            if isinstance(value, torch.Tensor):
                named[name] = value
            elif name in SCALAR_NAMES:
                dtype = _scalar_dtype() if name == "step" else torch.float64
                old = named.get(name)
                if isinstance(old, torch.Tensor) and old.dtype == dtype:
                    old.fill_(value)
                else:
                    named[name] = torch.tensor(float(value), dtype=dtype)
            else:
                named[name] = value


def _scalars(state):
    """The non-tensor parts of a state (step counts, NAdam's product): parameters with equal ones share a call."""
    values = [value for block in _blocks(state) for _, value, _ in _fields(block)]
    # a tensor field and an absent (None) one must not share a batch: _stack keeps the first's kind
    return tuple("tensor" if isinstance(value, torch.Tensor) else value for value in values)


def _stack(states):
    """Per-parameter states -> one state over the list of their parameters."""
    first = states[0]
    if isinstance(first, ChainState):
        return ChainState(_stack([s[i] for s in states]) for i in range(len(first)))
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(_stack([s[i] for s in states]) for i in range(len(first))))
    if isinstance(first, torch.Tensor):
        return [s for s in states]
    if first is None:  # a leaf the block keeps nothing for (Adafactor's row_var of a vector): one None per parameter
        return [None] * len(states)
    return first


def _unstack(state, i):
    if isinstance(state, ChainState):
        return ChainState(_unstack(s, i) for s in state)
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return type(state)(*(_unstack(s, i) for s in state))
    if isinstance(state, list):
        return state[i]
    return state


def _clone(x):
    return x.detach().clone() if isinstance(x, torch.Tensor) else copy.deepcopy(x)
