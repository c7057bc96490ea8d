"""Any transform as a real ``torch.optim.Optimizer``, for ordinary PyTorch training loops."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import torch

from ..tree import tree_leaves, tree_map
from .core import Transform
from .fused import step as fused_step


class TorchOptimizer(torch.optim.Optimizer):
    """Wrap a :class:`~course_utils.optim.Transform` so that ``loss.backward(); opt.step()`` works.

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

    ``zero_grad``, ``step(closure)``, ``state_dict`` and ``load_state_dict`` behave as in
    torch.optim. The transform's state lives in ``optimizer.transform_state`` (on the
    parameters' device); all parameters are updated together, so each needs a gradient.

    Hyperparameters live in the transform, not in ``param_groups``: use a schedule from
    :mod:`course_utils.optim.schedules` as ``lr`` instead of a ``torch.optim.lr_scheduler``, and
    add parameter groups only before the first step.
    """

    def __init__(self, params: Iterable[torch.Tensor] | Iterable[dict], transform: Transform) -> None:
        if not isinstance(transform, Transform):
            raise TypeError(f"transform must be a course_utils.optim.Transform, got {type(transform).__name__}")
        super().__init__(params, defaults={})
        self.transform = transform
        self.transform_state = None

    def add_param_group(self, param_group):
        if getattr(self, "transform_state", None) is not None:
            raise ValueError(
                "TorchOptimizer cannot take new parameters after its first step: its state was made for the "
                "old ones. Create a new TorchOptimizer with all parameters instead."
            )
        super().add_param_group(param_group)

    def _params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        params = self._params()
        missing = [i for i, p in enumerate(params) if p.grad is None]
        if len(missing) == len(params):
            return loss  # nothing was backpropagated: like torch.optim, do nothing
        if missing:
            raise ValueError(
                f"parameters {missing} have no gradient: TorchOptimizer updates all its parameters together, "
                "so give it only the parameters that take part in the loss"
            )
        if any(p.grad.is_sparse for p in params):
            raise TypeError("TorchOptimizer needs dense gradients (use torch.optim.SparseAdam for sparse ones)")
        values = [p.detach() for p in params]
        if self.transform_state is None:
            self.transform_state = self.transform.init(values)
        grads = [p.grad for p in params]
        new_values, self.transform_state = fused_step(self.transform, grads, self.transform_state, values)
        if new_values is not values:  # the generic path returns new tensors; the fast path wrote in place
            for p, new in zip(params, new_values, strict=True):
                p.copy_(new)
        return loss

    def state_dict(self) -> dict:
        # a flat list of tensors and numbers, no classes of ours: torch.load's default
        # (weights_only=True) accepts it, and load_state_dict rebuilds the structure from init
        saved = None if self.transform_state is None else [_clone(x) for x in tree_leaves(self.transform_state)]
        return {
            "transform_state": saved,
            "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if set(state_dict) != {"transform_state", "param_groups"}:
            raise ValueError("not a TorchOptimizer state_dict (expected keys 'transform_state' and 'param_groups')")
        saved = state_dict["transform_state"]
        if saved is None:  # saved before the first step
            self.transform_state = None
            return
        values = [p.detach() for p in self._params()]
        template = self.transform.init(values)
        if len(tree_leaves(template)) != len(saved):
            raise ValueError(
                f"the saved state has {len(saved)} entries but this optimizer's has {len(tree_leaves(template))}: "
                "it was saved with another transform or other parameters"
            )
        device = values[0].device if values else None
        leaves = iter(saved)
        self.transform_state = tree_map(lambda _: _to(next(leaves), device), template)


def _clone(x):
    return x.detach().clone() if isinstance(x, torch.Tensor) else copy.deepcopy(x)


def _to(x, device):
    return x.detach().clone().to(device) if isinstance(x, torch.Tensor) else copy.deepcopy(x)
