"""Pick the fastest torch device on this machine."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def device() -> torch.device:
    """``torch.device`` for CUDA if available, else Apple's MPS, else the CPU.

    >>> device().type in ("cuda", "mps", "cpu")
    True
    """
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
