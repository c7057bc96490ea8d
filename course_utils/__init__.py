"""Helpers for the course "Adam from first principles".

* :mod:`course_utils.optim`: optimizers as composable transforms (NumPy and torch).
* :mod:`course_utils.problems`: 2-D test functions and real-data models.
* :func:`optimize`: run an optimizer on a problem, batched over many configurations.
* :mod:`course_utils.plots`: contours, trajectories, loss curves and heatmaps in one palette.
* :func:`device`: CUDA, then MPS, then CPU.
"""

from . import optim, problems
from .devices import device
from .runner import Trajectory, optimize

__version__ = "0.1.0"
__all__ = ["Trajectory", "device", "optim", "optimize", "problems", "__version__"]
