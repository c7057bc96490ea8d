"""Every ``torch.optim.lr_scheduler`` and ``swa_utils`` drive TorchOptimizer as they drive torch.optim.

Open loop, float64: the same gradients go to TorchOptimizer and to the torch optimizer, each with
its own scheduler. The scheduler code only reads and writes ``param_groups``, so the hyperparameter
sequences must be *identical*; the parameters agree to ``rtol=1e-10, atol=1e-12`` (our chains
round in a different order than torch's kernels: ~1e-16 per operation over 24 steps).
"""

import pytest
import torch
from torch.optim import lr_scheduler, swa_utils

from course_utils import optim
from course_utils.optim import TorchOptimizer

STEPS = 24
OPTIMIZERS = {  # name: (ours, torch's), each taking the parameter groups
    "Adam": (
        lambda groups: TorchOptimizer(groups, optim.adam(lr=1e-2)),
        lambda groups: torch.optim.Adam(groups, lr=1e-2),
    ),
    "AdamW": (
        lambda groups: TorchOptimizer(groups, optim.adamw(lr=1e-2, weight_decay=0.1)),
        lambda groups: torch.optim.AdamW(groups, lr=1e-2, weight_decay=0.1),
    ),
    "SGD-momentum": (
        lambda groups: TorchOptimizer(groups, optim.sgd(lr=0.05, momentum=0.9, nesterov=True)),
        lambda groups: torch.optim.SGD(groups, lr=0.05, momentum=0.9, nesterov=True),
    ),
}

SCHEDULERS = {  # name: scheduler of an optimizer (two groups, with base lr 1e-2 / 0.05 and 3e-3)
    "LambdaLR": lambda opt: lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (1 + 0.3 * epoch)),
    "MultiplicativeLR": lambda opt: lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.9),
    "StepLR": lambda opt: lr_scheduler.StepLR(opt, step_size=5, gamma=0.5),
    "MultiStepLR": lambda opt: lr_scheduler.MultiStepLR(opt, milestones=[4, 9, 15], gamma=0.3),
    "ConstantLR": lambda opt: lr_scheduler.ConstantLR(opt, factor=0.25, total_iters=6),
    "LinearLR": lambda opt: lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=8),
    "ExponentialLR": lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.9),
    "PolynomialLR": lambda opt: lr_scheduler.PolynomialLR(opt, total_iters=20, power=2.0),
    "CosineAnnealingLR": lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=1e-4),
    "CosineAnnealingWarmRestarts": lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2),
    "CyclicLR": lambda opt: lr_scheduler.CyclicLR(opt, base_lr=1e-3, max_lr=[2e-2, 5e-3], step_size_up=4),
    "CyclicLR-exp_range": lambda opt: lr_scheduler.CyclicLR(
        opt, base_lr=1e-3, max_lr=1e-2, step_size_up=3, mode="exp_range", gamma=0.9, cycle_momentum=False
    ),
    "OneCycleLR": lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=[3e-2, 1e-2], total_steps=STEPS),
    "OneCycleLR-linear": lambda opt: lr_scheduler.OneCycleLR(
        opt, max_lr=2e-2, total_steps=STEPS, anneal_strategy="linear", pct_start=0.4, three_phase=True
    ),
    "SequentialLR": lambda opt: lr_scheduler.SequentialLR(
        opt,
        [lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5), lr_scheduler.CosineAnnealingLR(opt, T_max=15)],
        milestones=[5],
    ),
    "ChainedScheduler": lambda opt: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ExponentialLR(opt, gamma=0.95), lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)]
    ),
    "ReduceLROnPlateau": lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1, threshold=0.0),
    "SWALR": lambda opt: swa_utils.SWALR(opt, swa_lr=[2e-3, 1e-3], anneal_epochs=5, anneal_strategy="cos"),
}

# ReduceLROnPlateau watches a metric: one that improves, then stalls in stretches
METRIC = [1.0 / (1 + t) if t < 6 else 0.2 - 0.001 * (t // 5) for t in range(STEPS)]


def hyperparameters(opt):
    keys = ("lr", "betas", "momentum", "weight_decay")
    return [tuple(group.get(k) for k in keys) for group in opt.param_groups]


def run(make_opt, make_scheduler):
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_() for s in ((4, 3), (3,), (2, 2))]
    grads = [[torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params] for _ in range(STEPS)]
    opt = make_opt([{"params": params[:2]}, {"params": params[2:], "lr": 3e-3}])
    scheduler = make_scheduler(opt)
    path, used = [], []
    for t, gs in enumerate(grads):
        used.append(hyperparameters(opt))
        for p, g in zip(params, gs, strict=True):
            p.grad = g.clone()
        opt.step()
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(METRIC[t])
        else:
            scheduler.step()
        path.append(torch.cat([p.detach().flatten() for p in params]))
    return torch.stack(path), used


@pytest.mark.parametrize("scheduler", list(SCHEDULERS))
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_scheduler_drives_ours_like_torch(optimizer, scheduler):
    ours, theirs = OPTIMIZERS[optimizer]
    path_ours, used_ours = run(ours, SCHEDULERS[scheduler])
    path_theirs, used_theirs = run(theirs, SCHEDULERS[scheduler])
    assert used_ours == used_theirs  # the very same floats, step by step
    assert len({u[0][0] for u in used_theirs}) > 1  # the scheduler did change the learning rate
    torch.testing.assert_close(path_ours, path_theirs, rtol=1e-10, atol=1e-12)


def test_every_scheduler_of_torch_is_covered():
    classes = {
        name
        for name in lr_scheduler.__all__
        if isinstance(getattr(lr_scheduler, name), type) and name not in ("LRScheduler", "_LRScheduler")
    }
    assert classes <= {name.split("-")[0] for name in SCHEDULERS}


@pytest.mark.parametrize("optimizer", ["Adam", "SGD-momentum"])
def test_one_cycle_cycles_beta1_or_momentum(optimizer):
    # cycle_momentum (the default) moves Adam's beta1 / SGD's momentum opposite to the lr
    _, used = run(OPTIMIZERS[optimizer][0], SCHEDULERS["OneCycleLR"])
    first = [u[0][1][0] if optimizer == "Adam" else u[0][2] for u in used]
    assert first[0] == pytest.approx(0.95) and min(first) == pytest.approx(0.85, abs=1e-3)


def test_cycling_momentum_needs_one_and_says_so():
    opt = TorchOptimizer([torch.zeros(2, requires_grad=True)], optim.adagrad())
    with pytest.raises(ValueError, match="momentum or beta1"):  # torch's own check, on our defaults
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)


def test_scheduler_state_dict_round_trip_with_ours():
    make = OPTIMIZERS["Adam"][0]
    full, _ = run(make, SCHEDULERS["OneCycleLR"])
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_() for s in ((4, 3), (3,), (2, 2))]
    grads = [[torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params] for _ in range(STEPS)]
    opt = make([{"params": params[:2]}, {"params": params[2:], "lr": 3e-3}])
    scheduler = SCHEDULERS["OneCycleLR"](opt)
    path = []
    for t, gs in enumerate(grads):
        if t == 10:  # save both, rebuild both, load both (optimizer after scheduler, as torch's docs say)
            saved = (opt.state_dict(), scheduler.state_dict())
            opt = make([{"params": params[:2]}, {"params": params[2:], "lr": 3e-3}])
            scheduler = SCHEDULERS["OneCycleLR"](opt)
            scheduler.load_state_dict(saved[1])
            opt.load_state_dict(saved[0])
        for p, g in zip(params, gs, strict=True):
            p.grad = g.clone()
        opt.step()
        scheduler.step()
        path.append(torch.cat([p.detach().flatten() for p in params]))
    torch.testing.assert_close(torch.stack(path), full, rtol=0, atol=0)


def test_swa_averaged_model_and_swalr_like_torch():
    def train(make_opt):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)).double()
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(64, 3, generator=gen, dtype=torch.float64)
        y = x.sum(dim=1, keepdim=True).sin()
        opt = make_opt(model.parameters())
        averaged = swa_utils.AveragedModel(model)
        ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
        swa_scheduler = swa_utils.SWALR(opt, swa_lr=5e-3, anneal_epochs=3)
        for step in range(20):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x[step % 4 :: 4]), y[step % 4 :: 4]).backward()
            opt.step()
            ema.update_parameters(model)
            if step >= 10:  # the SWA phase
                averaged.update_parameters(model)
                swa_scheduler.step()
        return [torch.cat([p.detach().flatten() for p in m.parameters()]) for m in (model, averaged, ema)]

    ours = train(lambda ps: TorchOptimizer(ps, optim.adam(lr=2e-2)))
    theirs = train(lambda ps: torch.optim.Adam(ps, lr=2e-2))
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)  # closed loop: rounding may grow a little
    assert not torch.allclose(ours[0], ours[1])  # the average is not the last iterate
