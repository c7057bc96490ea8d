"""Data-parallel Adam with ``torch.distributed``: a few CPU processes on one machine (lecture 13).

Data parallelism gives every process (a *rank*) the same model and its own shard of each batch.
After ``loss.backward()`` the ranks average their gradients with an all-reduce, so every rank
takes the same optimizer step and the replicas never drift apart. ZeRO stage 1 (Rajbhandari et
al. 2020) keeps that, but lets each rank hold the Adam state of only its share of the parameters.

The workers here are ordinary importable functions ``worker(rank, world_size, port, **config)``
that return a dict of results. :func:`launch` starts them as separate processes (start method
"spawn", so it works from a notebook), collects the results through files in a temporary
folder, and never waits forever: a hang past ``timeout`` kills every rank.

>>> results = launch(data_parallel_adam, world_size=2, X=X, y=y, steps=10)   # doctest: +SKIP

Torch is imported inside the functions, after ``OMP_NUM_THREADS=1`` is set, so that two ranks
on a small machine do not fight over its cores.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import socket
import tempfile
import time
import traceback
from pathlib import Path

HOST = "127.0.0.1"


def gloo_available() -> bool:
    """True when this torch build has ``torch.distributed`` with the CPU backend "gloo"."""
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch without distributed support
        return False
    return dist.is_available() and dist.is_gloo_available()


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now: bind to port 0 and let the OS choose one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def process_group(rank: int, world_size: int, port: int, timeout: float = 60.0, backend: str = "gloo"):
    """Join the process group of ``world_size`` ranks that meet at ``127.0.0.1:port``; leave it on exit.

    ``timeout`` bounds every collective call, so a rank whose partner died raises instead of hanging.
    """
    from datetime import timedelta

    import torch.distributed as dist

    os.environ["MASTER_ADDR"] = HOST
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group(backend, rank=rank, world_size=world_size, timeout=timedelta(seconds=timeout))
    try:
        yield
    finally:
        dist.destroy_process_group()


def launch(worker, world_size: int = 2, timeout: float = 60.0, **config) -> list:
    """Run ``worker(rank, world_size, port, **config)`` in ``world_size`` fresh processes.

    Returns the workers' return values, ordered by rank. Raises ``RuntimeError`` with the
    worker's traceback if a rank fails, and ``TimeoutError`` if the ranks are not all done
    after ``timeout`` seconds (start-up included); no process outlives the call either way.
    ``worker`` must be importable (defined in a module, not in a notebook cell), because
    "spawn" starts each rank in a new interpreter that imports it by name.
    """
    if not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive int, got {world_size!r}")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    ctx = multiprocessing.get_context("spawn")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="course_ddp_") as folder:
        out = Path(folder)
        procs = [
            ctx.Process(target=_run_rank, args=(worker, rank, world_size, port, str(out), config), daemon=True)
            for rank in range(world_size)
        ]
        deadline = time.monotonic() + timeout
        try:
            for p in procs:
                p.start()
            for p in procs:
                p.join(max(0.0, deadline - time.monotonic()))
        finally:
            _stop(procs)
        errors = sorted(out.glob("rank*.err"))
        if errors:
            raise RuntimeError("a distributed worker failed:\n" + errors[0].read_text())
        if any(p.exitcode != 0 for p in procs):
            codes = [p.exitcode for p in procs]
            if time.monotonic() >= deadline:
                raise TimeoutError(f"distributed workers not done after {timeout:g} s (exit codes {codes})")
            raise RuntimeError(f"distributed workers exited with codes {codes}")
        import torch

        return [torch.load(out / f"rank{rank}.pt", weights_only=True) for rank in range(world_size)]


def _stop(procs):
    """Terminate, then kill, any rank still running, and reap them all."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        if p.pid is not None:
            p.join(5)
        if p.is_alive():  # pragma: no cover - ignored SIGTERM
            p.kill()
            p.join()


def _run_rank(worker, rank, world_size, port, folder, config):
    """Body of each spawned process: one thread, run the worker, leave its result in ``folder``."""
    os.environ["OMP_NUM_THREADS"] = "1"
    out = Path(folder)
    try:
        import torch

        torch.set_num_threads(1)
        result = worker(rank, world_size, port, **config)
        tmp = out / f"rank{rank}.tmp"
        torch.save(result, tmp)
        os.replace(tmp, out / f"rank{rank}.pt")  # appears complete or not at all
    except BaseException:
        (out / f"rank{rank}.err").write_text(f"rank {rank}:\n{traceback.format_exc()}")
        raise SystemExit(1) from None


# --- the model, the data shards and the workers ----------------------------------------------


def make_mlp(n_in: int = 64, hidden: int = 64, n_out: int = 10, seed: int = 0):
    """A two-hidden-layer tanh MLP with a seeded initialization (the same on every rank)."""
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):  # seeded, without touching the caller's random stream
        torch.manual_seed(seed)
        layers = [nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, n_out)]
    return nn.Sequential(*layers)


def shard(X, y, rank: int, world_size: int):
    """Rank ``rank``'s rows of ``(X, y)``: every ``world_size``-th row, as float32/int64 tensors.

    Equal shard sizes make the average of the ranks' mean losses equal the full-batch mean loss.
    """
    import torch

    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    if len(y) % world_size:
        raise ValueError(f"the number of rows ({len(y)}) must be divisible by world_size ({world_size})")
    X = torch.as_tensor(X[rank::world_size], dtype=torch.float32)
    y = torch.as_tensor(y[rank::world_size], dtype=torch.int64)
    return X, y


def state_bytes(optimizer) -> int:
    """Bytes of an optimizer's per-parameter state tensors (scalars such as ``step`` not counted)."""
    import torch

    return sum(
        v.numel() * v.element_size()
        for s in optimizer.state.values()
        for v in s.values()
        if isinstance(v, torch.Tensor) and v.dim() > 0
    )


def _adam_state(optimizer, params) -> list:
    """Adam's ``(exp_avg, exp_avg_sq)`` per parameter, as copies; ``None`` where this rank keeps none."""
    out = []
    for p in params:
        s = optimizer.state.get(p)
        out.append(None if not s else {k: v.detach().clone() for k, v in s.items()})
    return out


def _train(model, optimizer, X, y, steps: int) -> list:
    import torch.nn.functional as F

    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()  # DDP all-reduces (averages) the gradients during this call
        optimizer.step()
        losses.append(loss.item())
    return losses


def train_single_process(X, y, *, steps: int = 20, lr: float = 1e-2, hidden: int = 64, seed: int = 0) -> dict:
    """The reference: the same model and Adam on the whole batch in this one process."""
    import torch

    X, y = shard(X, y, 0, 1)
    model = make_mlp(X.shape[1], hidden, int(y.max()) + 1, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = _train(model, optimizer, X, y, steps)
    params = list(model.parameters())
    return {
        "params": [p.detach().clone() for p in params],
        "state": _adam_state(optimizer, params),
        "losses": losses,
        "state_bytes": state_bytes(optimizer),
    }


def data_parallel_adam(
    rank: int, world_size: int, port: int, *, X, y, steps: int = 20, lr: float = 1e-2, hidden: int = 64,
    seed: int = 0, zero: bool = False, timeout: float = 60.0,
) -> dict:  # fmt: skip
    """One rank of data-parallel Adam: DDP on this rank's shard, with Adam or ZeRO-sharded Adam.

    Returns this rank's final ``params``, its Adam ``state`` (``None`` for parameters whose state
    another rank keeps, with ``zero=True``), its shard ``losses``, the ``state_bytes`` held here
    and ``local_params``, the number of parameters whose state lives on this rank.
    """
    with process_group(rank, world_size, port, timeout):
        return _data_parallel_run(rank, world_size, X, y, steps, lr, hidden, seed, zero)


def adam_and_zero(rank: int, world_size: int, port: int, **config) -> dict:
    """:func:`data_parallel_adam` twice in one process group, plain then ZeRO: ``{"adam": ..., "zero": ...}``.

    Starting processes and importing torch costs seconds; the training itself, milliseconds.
    """
    timeout = config.pop("timeout", 60.0)
    with process_group(rank, world_size, port, timeout):
        return {
            "adam": _data_parallel_run(rank, world_size, zero=False, **config),
            "zero": _data_parallel_run(rank, world_size, zero=True, **config),
        }


def _data_parallel_run(rank, world_size, X, y, steps=20, lr=1e-2, hidden=64, seed=0, zero=False) -> dict:
    import torch
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel

    X_rank, y_rank = shard(X, y, rank, world_size)
    n_out = int(max(y)) + 1
    model = DistributedDataParallel(make_mlp(X_rank.shape[1], hidden, n_out, seed))
    params = list(model.parameters())
    if zero:
        optimizer = ZeroRedundancyOptimizer(params, optimizer_class=torch.optim.Adam, lr=lr)
        local = optimizer.optim  # the plain Adam that owns this rank's partition
    else:
        optimizer = local = torch.optim.Adam(params, lr=lr)
    losses = _train(model, optimizer, X_rank, y_rank, steps)
    result = {
        "params": [p.detach().clone() for p in params],
        "state": _adam_state(local, params),
        "losses": losses,
        "state_bytes": state_bytes(local),
        "local_params": sum(p.numel() for g in local.param_groups for p in g["params"]),
    }
    # Free DDP (and its hold on the process group) while the group is alive: destroying the
    # group first can leave rank 0 hanging in DDP's destructor.
    del model, optimizer, local, params
    gc.collect()
    return result
