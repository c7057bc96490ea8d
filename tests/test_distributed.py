"""course_utils.distributed: two gloo ranks on 127.0.0.1 train identically, and ZeRO halves the state.

One launch (two spawned processes) serves all the numeric checks: starting processes and
importing torch costs seconds, the few training steps milliseconds.
"""

import socket

import numpy as np
import pytest

from course_utils import distributed

pytestmark = pytest.mark.skipif(not distributed.gloo_available(), reason="torch.distributed with gloo is unavailable")

STEPS = 5


def data(n=64, d=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, classes, n)
    return X, y


@pytest.fixture(scope="module")
def runs():
    X, y = data()
    config = dict(X=X, y=y, steps=STEPS, lr=1e-2, hidden=16, seed=0)
    ranks = distributed.launch(distributed.adam_and_zero, world_size=2, timeout=500, **config)  # liveness only
    single = distributed.train_single_process(**config)
    return ranks, single


def max_diff(a, b):
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


def test_ranks_end_with_identical_parameters_and_adam_states(runs):
    (r0, r1), _ = runs
    assert max_diff(r0["adam"]["params"], r1["adam"]["params"]) == 0.0
    for s0, s1 in zip(r0["adam"]["state"], r1["adam"]["state"], strict=True):
        assert set(s0) == {"step", "exp_avg", "exp_avg_sq"}
        for key in s0:
            assert float((s0[key] - s1[key]).abs().max()) == 0.0, key
        assert float(s0["step"]) == STEPS


def test_data_parallel_matches_single_process_full_batch(runs):
    (r0, _), single = runs
    for p, q in zip(r0["adam"]["params"], single["params"], strict=True):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-4, atol=1e-5)
    # the ranks' mean of shard losses is the full-batch loss
    shard_mean = np.mean([r["adam"]["losses"][0] for r in runs[0]])
    np.testing.assert_allclose(shard_mean, single["losses"][0], rtol=1e-6)


def test_zero_shards_adam_state_and_trains_identically(runs):
    (r0, r1), single = runs
    n_params = sum(p.numel() for p in single["params"])
    held = [r["zero"]["state_bytes"] for r in (r0, r1)]
    assert single["state_bytes"] == 8 * n_params == r0["adam"]["state_bytes"]
    assert sum(held) == 8 * n_params  # every parameter's m and v live on exactly one rank
    assert all(0.25 * sum(held) < h < 0.75 * sum(held) for h in held)
    assert [r["zero"]["local_params"] for r in (r0, r1)] == [h // 8 for h in held]
    owned = [[s is not None for s in r["zero"]["state"]] for r in (r0, r1)]
    assert all(a != b for a, b in zip(*owned, strict=True))  # each parameter's state on exactly one rank
    # ZeRO's step computes the same numbers: parameters equal plain data-parallel Adam's exactly
    assert max_diff(r0["zero"]["params"], r0["adam"]["params"]) == 0.0
    assert max_diff(r0["zero"]["params"], r1["zero"]["params"]) == 0.0


def test_free_port_can_be_bound():
    port = distributed.free_port()
    with socket.socket() as s:
        s.bind((distributed.HOST, port))


def test_shard_rejects_uneven_split():
    X, y = data(n=7)
    with pytest.raises(ValueError, match="divisible by world_size"):
        distributed.shard(X, y, 0, 2)


def test_launch_validates_arguments():
    with pytest.raises(ValueError, match="world_size"):
        distributed.launch(distributed.data_parallel_adam, world_size=0)
    with pytest.raises(ValueError, match="timeout"):
        distributed.launch(distributed.data_parallel_adam, timeout=0)


def test_a_hang_times_out_and_leaves_no_process():
    import multiprocessing

    X, y = data()
    with pytest.raises(TimeoutError, match="not done after"):
        distributed.launch(distributed.data_parallel_adam, world_size=2, timeout=0.2, X=X, y=y)
    assert multiprocessing.active_children() == []


def test_a_failing_rank_reports_its_traceback():
    X, y = data()
    with pytest.raises(RuntimeError, match="same number of rows"):
        distributed.launch(distributed.data_parallel_adam, world_size=1, timeout=500, X=X[:-1], y=y)
