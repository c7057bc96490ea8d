"""Helpers for the course "Adam from first principles".

* :mod:`course_utils.optim`: optimizers as composable transforms (NumPy and torch).
* :mod:`course_utils.problems`: 2-D test functions and real-data models.
* :func:`optimize`: run an optimizer on a problem, batched over many configurations.
* :mod:`course_utils.plots`: contours, trajectories, loss curves and heatmaps in one palette.
* :func:`device`: CUDA, then MPS, then CPU.

Optimizers are pairs of functions with an explicit state, with torch.optim's names and defaults;
the same code runs on NumPy arrays and torch tensors. Minimize f(w) = ||w - 3||^2:

>>> import numpy as np
>>> from course_utils import optim
>>> params = {"w": np.zeros(2)}
>>> opt = optim.adam(lr=0.1)
>>> state = opt.init(params)
>>> for step in range(500):
...     grads = {"w": 2 * (params["w"] - 3.0)}
...     updates, state = opt.update(grads, state, params)
...     params = optim.apply_updates(params, updates)
>>> params["w"].round(2)
array([3., 3.])
"""

from . import optim, problems
from .devices import device
from .runner import Trajectory, optimize

__version__ = "0.1.0"
__all__ = ["Trajectory", "device", "optim", "optimize", "problems", "__version__"]
