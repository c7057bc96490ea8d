"""Learning-rate schedules: functions of t = 1, 2, ... (the number of the update being made),
equal to torch.optim.lr_scheduler stepped once after every optimizer step."""

import math

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler

from course_utils import optim
from course_utils.optim import schedules

STEPS = 50

# (ours, the torch scheduler that produces the same learning rates)
SCHEDULES = {
    "step_decay": (
        lambda: schedules.step_decay(0.1, step_size=7, gamma=0.5),
        lambda opt: lr_scheduler.StepLR(opt, step_size=7, gamma=0.5),
    ),
    "exponential_decay": (
        lambda: schedules.exponential_decay(0.1, gamma=0.95),
        lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.95),
    ),
    "cosine_decay": (
        lambda: schedules.cosine_decay(0.1, total_steps=60, min_lr=0.01),
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=60, eta_min=0.01),
    ),
    "linear_warmup": (
        lambda: schedules.linear_warmup(0.1, warmup_steps=10),
        lambda opt: lr_scheduler.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=9),
    ),
    "inverse_sqrt": (
        lambda: schedules.inverse_sqrt(0.1),
        lambda opt: lr_scheduler.LambdaLR(opt, lambda epoch: 1 / math.sqrt(epoch + 1)),
    ),
    "inverse_time": (
        lambda: schedules.inverse_time(0.1, decay=0.05),
        lambda opt: lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (1 + 0.05 * epoch)),
    ),
    "constant": (lambda: schedules.constant(0.1), None),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_values_match_torch_lr_schedulers(name):
    make_ours, make_torch = SCHEDULES[name]
    schedule = make_ours()
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = make_torch(opt) if make_torch else None
    expected = []
    for _ in range(STEPS):
        expected.append(opt.param_groups[0]["lr"])  # the lr the next opt.step() uses
        opt.step()
        if scheduler:
            scheduler.step()
    np.testing.assert_allclose([schedule(t) for t in range(1, STEPS + 1)], expected, rtol=1e-10)


@pytest.mark.parametrize("factory, kwargs", [("sgd", {"momentum": 0.9}), ("adam", {})])
@pytest.mark.parametrize("name", ["step_decay", "cosine_decay", "linear_warmup"])
def test_optimizers_with_a_schedule_match_torch_with_its_scheduler(name, factory, kwargs, problem, run_ours, run_torch):
    make_ours, make_torch = SCHEDULES[name]
    params, grads = problem()
    _, ours = run_ours(getattr(optim, factory)(lr=make_ours(), **kwargs), params, grads)
    expected = run_torch(factory, {"lr": 0.1, **kwargs}, params, grads, scheduler=make_torch)
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)


def test_adagrad_lr_decay_applies_on_top_of_a_schedule(problem, run_ours, run_torch):
    params, grads = problem()
    _, ours = run_ours(optim.adagrad(lr=schedules.exponential_decay(0.1, 0.95), lr_decay=0.05), params, grads)
    expected = run_torch(
        "adagrad",
        {"lr": 0.1, "lr_decay": 0.05},
        params,
        grads,
        scheduler=lambda opt: lr_scheduler.ExponentialLR(opt, 0.95),
    )
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)


def test_t_counts_updates_from_one():
    schedule = schedules.step_decay(0.1, step_size=3, gamma=0.5)
    np.testing.assert_allclose([schedule(t) for t in range(1, 8)], [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])
    # and scale_by_lr calls it with t = 1 for the first update
    seen = []
    opt = optim.sgd(lr=lambda t: seen.append(t) or 0.1)
    p = np.zeros(2)
    state = opt.init(p)
    for _ in range(3):
        _, state = opt.update(np.ones(2), state, p)
    assert seen == [1, 2, 3]


def test_cosine_decay_stays_at_min_lr_after_total_steps():
    schedule = schedules.cosine_decay(0.1, total_steps=10, min_lr=0.01)
    assert schedule(1) == pytest.approx(0.1)
    assert schedule(6) == pytest.approx(0.055)
    assert [schedule(t) for t in (11, 12, 100)] == pytest.approx([0.01] * 3)


def test_warmup_then_cosine():
    schedule = schedules.linear_warmup(schedules.cosine_decay(0.1, total_steps=20), warmup_steps=5)
    cosine = schedules.cosine_decay(0.1, total_steps=20)
    assert [schedule(t) for t in range(1, 6)] == pytest.approx([cosine(t) * t / 5 for t in range(1, 6)])
    assert [schedule(t) for t in range(5, 25)] == pytest.approx([cosine(t) for t in range(5, 25)])


def test_schedules_accept_an_array_of_base_learning_rates():
    lrs = np.array([[0.1], [0.01]])
    for make in [
        lambda lr: schedules.step_decay(lr, 4, 0.5),
        lambda lr: schedules.exponential_decay(lr, 0.9),
        lambda lr: schedules.cosine_decay(lr, 30, 0.001),
        lambda lr: schedules.inverse_sqrt(lr),
        lambda lr: schedules.inverse_time(lr, 0.1),
        lambda lr: schedules.linear_warmup(lr, 5),
    ]:
        batched, first, second = make(lrs), make(0.1), make(0.01)
        for t in (1, 3, 9, 40):
            np.testing.assert_allclose(batched(t), [[first(t)], [second(t)]], rtol=1e-14)


@pytest.mark.parametrize(
    "make, error, fragments",
    [
        (lambda: schedules.constant(-0.1), ValueError, ["lr", "-0.1"]),
        (lambda: schedules.constant(float("nan")), ValueError, ["lr", "nan"]),
        (lambda: schedules.constant("0.1"), TypeError, ["lr", "'0.1'"]),
        (lambda: schedules.step_decay(0.1, step_size=0), ValueError, ["step_size", "0"]),
        (lambda: schedules.step_decay(0.1, step_size=2.5), ValueError, ["step_size", "2.5"]),
        (lambda: schedules.step_decay(0.1, step_size=True), ValueError, ["step_size", "True"]),
        (lambda: schedules.step_decay(0.1, step_size=5, gamma=1.5), ValueError, ["gamma", "1.5"]),
        (lambda: schedules.step_decay(0.1, step_size=5, gamma=-0.5), ValueError, ["gamma", "-0.5"]),
        (lambda: schedules.step_decay(-0.1, step_size=5), ValueError, ["lr", "-0.1"]),
        (lambda: schedules.exponential_decay(0.1, gamma=2.0), ValueError, ["gamma", "2"]),
        (lambda: schedules.cosine_decay(0.1, total_steps=0), ValueError, ["total_steps", "0"]),
        (lambda: schedules.cosine_decay(0.1, total_steps=10, min_lr=-1e-3), ValueError, ["min_lr", "-0.001"]),
        (lambda: schedules.inverse_sqrt(-1.0), ValueError, ["lr", "-1"]),
        (lambda: schedules.inverse_time(0.1, decay=-0.5), ValueError, ["lr_decay", "-0.5"]),
        (lambda: schedules.linear_warmup(0.1, warmup_steps=-3), ValueError, ["warmup_steps", "-3"]),
    ],
    ids=lambda case: "-".join(case) if isinstance(case, list) else None,
)
def test_schedules_reject_bad_arguments(make, error, fragments):
    with pytest.raises(error) as info:
        make()
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))
