"""TorchOptimizer keeps torch.optim's contract: parameter groups, None gradients, checkpoints, hooks.

Schedulers are in test_optim_torch_schedulers.py, torch's own optimizer configurations in
test_optim_torch_configs.py. Tolerances: float64 runs compare to ``rtol=1e-10, atol=1e-12`` (our
chains and torch round in a different order, ~1e-16 per operation, over tens of steps); float32
runs of a trained model to ``rtol=1e-4, atol=1e-5`` (reference/optimizer-semantics.md, section 6).
"""

import copy
import io

import pytest
import torch
from optim_helpers import default_dtype
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from course_utils import optim
from course_utils.optim import TorchOptimizer

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)"
)
F64 = dict(rtol=1e-10, atol=1e-12)

# (ours, the torch.optim optimizer it must equal)
PAIRS = {
    "adam": (lambda: optim.adam(lr=1e-2), lambda params: torch.optim.Adam(params, lr=1e-2)),
    "adam-amsgrad-l2": (
        lambda: optim.adam(lr=1e-2, amsgrad=True, weight_decay=0.1),
        lambda params: torch.optim.Adam(params, lr=1e-2, amsgrad=True, weight_decay=0.1),
    ),
    "adamw": (
        lambda: optim.adamw(lr=1e-2, weight_decay=0.1),
        lambda params: torch.optim.AdamW(params, lr=1e-2, weight_decay=0.1),
    ),
    "sgd-nesterov": (
        lambda: optim.sgd(lr=0.1, momentum=0.9, nesterov=True),
        lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
    ),
}
FACTORIES = {
    "sgd": (optim.sgd, "SGD"),
    "adagrad": (optim.adagrad, "Adagrad"),
    "rmsprop": (optim.rmsprop, "RMSprop"),
    "adam": (optim.adam, "Adam"),
    "adamw": (optim.adamw, "AdamW"),
    "nadam": (optim.nadam, "NAdam"),
    "adamax": (optim.adamax, "Adamax"),
}


def make_model(seed=0, device="cpu", dtype=torch.float32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).to(device=device, dtype=dtype)


def make_data(device="cpu", dtype=torch.float32):
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(32, 3, generator=generator)
    y = torch.sin(x.sum(dim=1, keepdim=True)) + 0.1 * torch.randn(32, 1, generator=generator)
    return x.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


def train(model, opt, steps, data):
    x, y = data
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return model


def weights(model):
    return [p.detach().clone() for p in model.parameters()]


def assert_same_weights(a, b, **tolerance):
    for p, q in zip(weights(a), weights(b), strict=True):
        torch.testing.assert_close(p, q, **tolerance)


def leaves(seed=0, dtype=torch.float64, shapes=((4, 3), (3,), (2,))):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=dtype).requires_grad_() for s in shapes]


def gradients(params, steps, seed=1):
    """A fixed heavy-tailed gradient sequence (Student-t, 2 degrees of freedom) for open-loop runs."""
    gen = torch.Generator().manual_seed(seed)
    dist = lambda s: torch.randn(s, generator=gen, dtype=torch.float64) / torch.rand(s, generator=gen).sqrt()  # noqa: E731
    return [[dist(p.shape).to(p.dtype) for p in params] for _ in range(steps)]


def run_open_loop(opt, params, grads, *, present=None):
    """Feed ``grads``; ``present[t][i]`` False leaves parameter i without a gradient at step t."""
    path = []
    for t, gs in enumerate(grads):
        for i, (p, g) in enumerate(zip(params, gs, strict=True)):
            p.grad = None if present is not None and not present[t][i] else g.clone()
        opt.step()
        path.append([p.detach().clone() for p in params])
    return path


def assert_paths_close(ours, theirs, **tolerance):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        for p, q in zip(a, b, strict=True):
            torch.testing.assert_close(p, q, **tolerance)


def twins(seed=0, **kwargs):
    ours = leaves(seed, **kwargs)
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    return ours, theirs


# --- a model, as a student trains it -----------------------------------------------------------


def check_trains_like_torch(name, device):
    ours, theirs = PAIRS[name]
    data = make_data(device)
    model = make_model(device=device)
    start = weights(model)
    reference = copy.deepcopy(model)
    train(model, TorchOptimizer(model.parameters(), ours()), 20, data)
    train(reference, theirs(reference.parameters()), 20, data)
    assert_same_weights(model, reference, rtol=1e-4, atol=1e-5)
    assert max((p - q).abs().max().item() for p, q in zip(weights(model), start, strict=True)) > 1e-2  # it trained


@pytest.mark.parametrize("name", list(PAIRS))
def test_trains_a_model_like_torch_optim(name):
    check_trains_like_torch(name, "cpu")


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("name", list(PAIRS))
def test_trains_a_model_like_torch_optim_on_cuda(name):
    check_trains_like_torch(name, "cuda")


# --- defaults and param_groups under torch's names -----------------------------------------------


@pytest.mark.parametrize("name", list(FACTORIES))
def test_defaults_are_torch_defaults(name):
    factory, torch_name = FACTORIES[name]
    ours = TorchOptimizer([nn.Parameter(torch.ones(2))], factory())
    theirs = getattr(torch.optim, torch_name)([nn.Parameter(torch.ones(2))])
    assert ours.defaults == theirs.defaults  # same keys, same values
    assert {k: v for k, v in ours.param_groups[0].items() if k != "params"} == ours.defaults


def test_each_group_uses_its_own_learning_rate():
    # the example of issue 15: both parameters used to move with the transform's lr
    a, b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    opt = TorchOptimizer([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.01}], optim.sgd())
    a.grad, b.grad = torch.ones(1), torch.ones(1)
    opt.step()
    assert a.item() == pytest.approx(-0.1, rel=1e-7) and b.item() == pytest.approx(-0.01, rel=1e-7)


# groups that differ in every hyperparameter and flag of each factory (values inside torch's ranges)
GROUPS = {
    "sgd": [dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
            dict(lr=0.01, momentum=0.5, nesterov=True, maximize=True),
            dict(lr=0.02)],
    "adagrad": [dict(lr=0.05, lr_decay=0.01, eps=1e-6),  # initial_accumulator_value: see below
                dict(lr=0.02, weight_decay=0.1, maximize=True)],
    "rmsprop": [dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, eps=1e-6),
                dict(lr=0.003, weight_decay=0.1, maximize=True)],
    "adam": [dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, amsgrad=True),
             dict(lr=0.003, weight_decay=0.1, maximize=True),
             dict(lr=0.02, weight_decay=0.05, decoupled_weight_decay=True)],
    "adamw": [dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.0),
              dict(lr=0.003, weight_decay=0.1, amsgrad=True, maximize=True)],
    "nadam": [dict(lr=0.01, betas=(0.8, 0.99), momentum_decay=0.01),
              dict(lr=0.003, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)],
    "adamax": [dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
               dict(lr=0.003, weight_decay=0.1, maximize=True)],
}  # fmt: skip


@pytest.mark.parametrize("name", list(GROUPS))
def test_groups_may_differ_in_any_hyperparameter(name):
    factory, torch_name = FACTORIES[name]
    specs = GROUPS[name]
    ours, theirs = twins(shapes=[(3, 2)] * len(specs) + [(2,)] * len(specs))
    n = len(specs)

    def groups(params):
        return [{"params": [params[i], params[n + i]], **spec} for i, spec in enumerate(specs)]

    grads = gradients(ours, 25)
    with default_dtype(torch.float64):  # NAdam keeps mu_product in the default dtype
        path_ours = run_open_loop(TorchOptimizer(groups(ours), factory()), ours, grads)
        path_theirs = run_open_loop(getattr(torch.optim, torch_name)(groups(theirs)), theirs, grads)
    assert_paths_close(path_ours, path_theirs, **F64)
    # and the groups really differ: the first two parameters moved by different amounts
    moved = [(path_ours[-1][i] - path_ours[0][i]).abs().sum().item() for i in range(2)]
    assert abs(moved[0] - moved[1]) > 1e-3 * max(moved)


def test_adagrad_uses_each_groups_initial_accumulator_value():
    # torch.optim.Adagrad fills every group's accumulator with the constructor's value (it creates
    # its state in __init__); here each group's own value is used, so compare with one torch
    # optimizer per group
    ours = leaves(shapes=((3,), (2,)))
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    grads = gradients(ours, 10)
    opt = TorchOptimizer([{"params": [ours[0]], "initial_accumulator_value": 0.5}, {"params": [ours[1]]}],
                         optim.adagrad(lr=0.1))  # fmt: skip
    path = run_open_loop(opt, ours, grads)
    for i, value in enumerate([0.5, 0.0]):
        expected = run_open_loop(torch.optim.Adagrad([theirs[i]], lr=0.1, initial_accumulator_value=value),
                                 [theirs[i]], [[g[i]] for g in grads])  # fmt: skip
        assert_paths_close([[step[i]] for step in path], expected, **F64)


@pytest.mark.parametrize("name", ["adamw", "sgd"])
def test_changing_a_group_between_steps_is_used_at_the_next_step(name):
    factory, torch_name = FACTORIES[name]
    ours, theirs = twins()
    grads = gradients(ours, 12)
    changes = {  # step -> new values, as a scheduler or a student would write them
        3: {"lr": 0.05, "weight_decay": 0.1},
        6: {"betas": (0.5, 0.9)} if name == "adamw" else {"momentum": 0.9},  # momentum 0 -> 0.9: a fresh buffer
        9: {"weight_decay": 0.0} if name == "adamw" else {"momentum": 0.0, "lr": 0.01},
    }
    paths = []
    for opt, params in ((TorchOptimizer(ours, factory(lr=0.01)), ours),
                        (getattr(torch.optim, torch_name)(theirs, lr=0.01), theirs)):  # fmt: skip
        path = []
        for t, gs in enumerate(grads):
            opt.param_groups[0].update(changes.get(t, {}))
            path += run_open_loop(opt, params, [gs])
        paths.append(path)
    assert_paths_close(*paths, **F64)


# --- parameters without a gradient, groups added later --------------------------------------------


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "nadam", "adagrad"])
def test_parameters_without_gradient_are_skipped_and_keep_their_state(name):
    factory, torch_name = FACTORIES[name]
    kwargs = {"momentum": 0.9} if name == "sgd" else {}
    ours, theirs = twins()
    grads = gradients(ours, 15)
    gen = torch.Generator().manual_seed(5)
    present = (torch.rand(15, 3, generator=gen) < 0.6).tolist()
    present[0] = [True, True, False]  # the third starts late: its state is created at its first gradient
    opt_ours = TorchOptimizer(ours, factory(lr=0.01, **kwargs))
    opt_theirs = getattr(torch.optim, torch_name)(theirs, lr=0.01, **kwargs)
    with default_dtype(torch.float64):
        path_ours = run_open_loop(opt_ours, ours, grads, present=present)
        path_theirs = run_open_loop(opt_theirs, theirs, grads, present=present)
    assert_paths_close(path_ours, path_theirs, **F64)
    for p, q in zip(ours, theirs, strict=True):
        assert set(opt_ours.state[p]) == set(opt_theirs.state[q])
        if "step" in opt_theirs.state[q]:
            assert float(opt_ours.state[p]["step"]) == float(opt_theirs.state[q]["step"])
    assert len({float(opt_ours.state[p].get("step", 0)) for p in ours}) > 1 or name == "sgd"  # counts differ


def test_a_step_where_no_parameter_has_a_gradient_changes_nothing():
    model = make_model()
    opt = TorchOptimizer(model.parameters(), optim.adam(lr=1e-2))
    x, y = make_data()
    nn.functional.mse_loss(model(x), y).backward()
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    before = weights(model)
    assert opt.step() is None
    for p, q in zip(weights(model), before, strict=True):
        assert torch.equal(p, q)
    assert len(opt.state) == 0


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_groups_can_be_added_after_steps(name):
    factory, torch_name = FACTORIES[name]
    kwargs = {"momentum": 0.9} if name == "sgd" else {}
    ours, theirs = twins()
    grads = gradients(ours, 10)
    paths = []
    for opt_class, params in ((lambda ps, **kw: TorchOptimizer(ps, factory(**kw)), ours),
                              (getattr(torch.optim, torch_name), theirs)):  # fmt: skip
        opt = opt_class(params[:2], lr=0.01, **kwargs)
        path = []
        for t, gs in enumerate(grads):
            if t == 4:  # unfreeze the last parameter, with its own learning rate
                opt.add_param_group({"params": [params[2]], "lr": 0.05})
            present = [[True, True, t >= 4]]
            path += run_open_loop(opt, params, [gs], present=present)
        paths.append(path)
    assert_paths_close(*paths, **F64)


# --- checkpoints ---------------------------------------------------------------------------------


def save_and_load(state_dict):
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)  # the default, as a student would call it


@pytest.mark.parametrize("name", list(PAIRS))
def test_state_dict_round_trip_through_torch_save(name):
    ours, _ = PAIRS[name]
    data = make_data()
    uninterrupted = make_model()
    train(uninterrupted, TorchOptimizer(uninterrupted.parameters(), ours()), 10, data)

    model = make_model()
    opt = TorchOptimizer(model.parameters(), ours())
    train(model, opt, 5, data)
    checkpoint = save_and_load({"model": model.state_dict(), "optimizer": opt.state_dict()})

    resumed = make_model(seed=123)
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt = TorchOptimizer(resumed.parameters(), ours())
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    train(resumed, resumed_opt, 5, data)
    assert_same_weights(resumed, uninterrupted, rtol=0, atol=0)


def test_resuming_without_the_optimizer_state_is_different():
    # the round trips are real tests: restarting Adam's moments from zero changes the weights
    data = make_data()
    uninterrupted, restarted = make_model(), make_model()
    train(uninterrupted, TorchOptimizer(uninterrupted.parameters(), optim.adam(lr=1e-2)), 10, data)
    for _ in range(2):
        train(restarted, TorchOptimizer(restarted.parameters(), optim.adam(lr=1e-2)), 5, data)
    difference = max(
        (p - q).abs().max().item() for p, q in zip(weights(restarted), weights(uninterrupted), strict=True)
    )
    assert difference > 1e-3


@pytest.mark.parametrize("name", list(FACTORIES))
def test_state_dict_has_torchs_layout(name):
    factory, torch_name = FACTORIES[name]
    kwargs = {"momentum": 0.9} if name in ("sgd", "rmsprop") else {}
    ours, theirs = twins()
    groups = lambda ps: [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.05}]  # noqa: E731
    opt_ours = TorchOptimizer(groups(ours), factory(**kwargs))
    opt_theirs = getattr(torch.optim, torch_name)(groups(theirs), **kwargs)
    grads = gradients(ours, 3)
    run_open_loop(opt_ours, ours, grads)
    run_open_loop(opt_theirs, theirs, grads)
    a, b = opt_ours.state_dict(), opt_theirs.state_dict()
    assert a["param_groups"] == b["param_groups"]  # every key and value, 'params' index lists included
    assert set(a["state"]) == set(b["state"]) == {0, 1, 2}
    for index, state in b["state"].items():
        assert set(a["state"][index]) == set(state)
        for key, value in state.items():
            assert a["state"][index][key].shape == value.shape
            if key == "step":
                assert a["state"][index][key].dtype == value.dtype
            torch.testing.assert_close(a["state"][index][key].double(), value.double(), rtol=1e-6, atol=1e-12)


INTERCHANGE = {
    "adam": (lambda: optim.adam(lr=1e-2), lambda ps: torch.optim.Adam(ps, lr=1e-2)),
    "adam-amsgrad": (lambda: optim.adam(lr=1e-2, amsgrad=True), lambda ps: torch.optim.Adam(ps, lr=1e-2, amsgrad=True)),
    "adamw": (lambda: optim.adamw(lr=1e-2), lambda ps: torch.optim.AdamW(ps, lr=1e-2)),
    "sgd-momentum": (
        lambda: optim.sgd(lr=0.05, momentum=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
    ),
    "nadam": (lambda: optim.nadam(lr=1e-2), lambda ps: torch.optim.NAdam(ps, lr=1e-2)),
    "rmsprop-centered-momentum": (
        lambda: optim.rmsprop(lr=1e-2, centered=True, momentum=0.5),
        lambda ps: torch.optim.RMSprop(ps, lr=1e-2, centered=True, momentum=0.5),
    ),
    "adagrad": (
        lambda: optim.adagrad(lr=0.1, lr_decay=0.01),
        lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
    ),
    "adamax": (lambda: optim.adamax(lr=1e-2), lambda ps: torch.optim.Adamax(ps, lr=1e-2)),
}


@pytest.mark.parametrize("direction", ["torch->ours", "ours->torch"])
@pytest.mark.parametrize("name", list(INTERCHANGE))
def test_checkpoints_move_between_torch_optim_and_ours(name, direction):
    ours_factory, torch_factory = INTERCHANGE[name]
    first, second = (torch_factory, ours_factory) if direction == "torch->ours" else (ours_factory, torch_factory)
    make = lambda maker, ps: TorchOptimizer(ps, maker()) if maker is ours_factory else maker(ps)  # noqa: E731
    params = leaves()
    grads = gradients(params, 16)
    with default_dtype(torch.float64):
        uninterrupted = [p.detach().clone().requires_grad_() for p in params]
        expected = run_open_loop(make(first, uninterrupted), uninterrupted, grads)

        before = [p.detach().clone().requires_grad_() for p in params]
        opt = make(first, before)
        run_open_loop(opt, before, grads[:8])
        checkpoint = save_and_load(opt.state_dict())

        after = [p.detach().clone().requires_grad_() for p in before]
        resumed = make(second, after)
        resumed.load_state_dict(checkpoint)
        continued = run_open_loop(resumed, after, grads[8:])

        fresh = [p.detach().clone().requires_grad_() for p in before]
        restarted = run_open_loop(make(second, fresh), fresh, grads[8:])
    assert_paths_close(continued, expected[8:], **F64)
    gap = max((a - b).abs().max().item() for a, b in zip(restarted[-1], expected[-1], strict=True))
    assert gap > 1e-4  # without the loaded state the run would differ: the state was used


def test_a_state_dict_saved_before_the_first_step_loads():
    model = make_model()
    saved = save_and_load(TorchOptimizer(model.parameters(), optim.adam(lr=1e-2)).state_dict())
    assert saved["state"] == {}
    opt = TorchOptimizer(model.parameters(), optim.adam(lr=1e-2))
    opt.load_state_dict(saved)
    train(model, opt, 1, make_data())
    assert all(float(opt.state[p]["step"]) == 1 for p in model.parameters())


def test_state_dict_is_a_snapshot():
    model = make_model()
    opt = TorchOptimizer(model.parameters(), optim.adam(lr=1e-2))
    data = make_data()
    train(model, opt, 2, data)
    saved = opt.state_dict()
    frozen = copy.deepcopy(saved)
    train(model, opt, 2, data)
    tensors = [v for s in saved["state"].values() for v in s.values()]
    assert len(tensors) == 3 * 4
    for a, b in zip(tensors, [v for s in frozen["state"].values() for v in s.values()], strict=True):
        assert torch.equal(a, b)


def test_loaded_hyperparameters_replace_the_current_ones():
    ps = leaves()
    saved = TorchOptimizer(ps, optim.adam(lr=0.123, betas=(0.5, 0.6))).state_dict()
    opt = TorchOptimizer(ps, optim.adam())
    opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.123 and opt.param_groups[0]["betas"] == (0.5, 0.6)


def test_deepcopy_continues_identically():
    ours = leaves()
    opt = TorchOptimizer(ours, optim.adam(lr=1e-2))
    grads = gradients(ours, 6)
    run_open_loop(opt, ours, grads[:3])
    twin_params, twin = copy.deepcopy((ours, opt))  # one deepcopy: the twin's groups and state use twin_params
    assert float(twin.state[twin_params[0]]["step"]) == 3
    assert_paths_close(run_open_loop(twin, twin_params, grads[3:]), run_open_loop(opt, ours, grads[3:]), rtol=0, atol=0)


# --- clear errors --------------------------------------------------------------------------------


def test_unknown_group_keys_are_an_error_and_nothing_is_added():
    a, b = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match=r"parameter group 0: unknown hyperparameter\(s\) \['momentum'\]"):
        TorchOptimizer([{"params": [a], "momentum": 0.9}], optim.adam())
    opt = TorchOptimizer([a], optim.adam())
    with pytest.raises(ValueError, match=r"\['betas1'\].*optim.adam has: lr, betas.*torch.optim.Adam"):
        opt.add_param_group({"params": [b], "betas1": 0.9})
    with pytest.raises(ValueError, match="parameter group 1: lr must be >= 0, got -0.1"):
        opt.add_param_group({"params": [b], "lr": -0.1})
    with pytest.raises(ValueError, match=r"betas must be a pair"):
        opt.add_param_group({"params": [b], "betas": 0.9})
    assert len(opt.param_groups) == 1  # the failed additions left nothing behind
    opt.add_param_group({"params": [b], "lr": 0.1})
    assert len(opt.param_groups) == 2


def test_bad_values_set_between_steps_name_the_group():
    a = nn.Parameter(torch.ones(2))
    opt = TorchOptimizer([a], optim.sgd(lr=0.1))
    a.grad = torch.ones(2)
    opt.param_groups[0]["lr"] = float("nan")
    with pytest.raises(ValueError, match="parameter group 0: lr must be finite"):
        opt.step()
    opt.param_groups[0]["lr"] = lambda t: 0.1
    with pytest.raises(TypeError, match="lr must be a number in a TorchOptimizer group"):
        opt.step()
    assert torch.equal(a.detach(), torch.ones(2))


def test_switches_torch_has_are_accepted_and_differentiable_is_refused():
    a = nn.Parameter(torch.ones(2))
    opt = TorchOptimizer([{"params": [a], "foreach": True, "fused": False, "capturable": False}], optim.adam())
    assert opt.param_groups[0]["foreach"] is True
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        TorchOptimizer([{"params": [a], "differentiable": True}], optim.adam())
    with pytest.raises(ValueError, match="AdamW's weight decay is always decoupled"):
        TorchOptimizer([{"params": [a], "decoupled_weight_decay": False}], optim.adamw())


def test_a_scheduler_on_a_transform_without_lr_is_a_clear_error():
    a = nn.Parameter(torch.ones(2))
    opt = TorchOptimizer([a], optim.chain(optim.scale_by_adam(), optim.scale_by_lr(1e-2)))
    assert opt.defaults == {}
    with pytest.raises(KeyError, match=r"no hyperparameter 'lr'.*a factory that has one \(optim.sgd, optim.adam"):
        torch.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['lr'\]; this transform has: none"):
        opt.add_param_group({"params": [nn.Parameter(torch.ones(1))], "lr": 0.1})


def test_a_transform_built_by_hand_still_trains_and_names_its_state_like_torch():
    ours, theirs = twins()
    grads = gradients(ours, 10)
    opt = TorchOptimizer(ours, optim.chain(optim.scale_by_adam(), optim.scale_by_lr(1e-2)))
    path = run_open_loop(opt, ours, grads)
    assert_paths_close(path, run_open_loop(torch.optim.Adam(theirs, lr=1e-2), theirs, grads), **F64)
    assert set(opt.state[ours[0]]) == {"step", "exp_avg", "exp_avg_sq"}


def test_schedules_and_injected_transforms_are_refused_with_a_way_out():
    a = nn.Parameter(torch.ones(2))
    with pytest.raises(TypeError, match="lr is a schedule.*torch.optim.lr_scheduler"):
        TorchOptimizer([a], optim.adam(lr=optim.schedules.cosine_decay(1e-3, 100)))
    with pytest.raises(TypeError, match="param_groups already"):
        TorchOptimizer([a], optim.inject_hyperparams(optim.adam)(lr=1e-3))


def make_checkpoint(factory, params, **kwargs):
    opt = factory(params, **kwargs)
    flat = [p for g in params for p in g["params"]] if isinstance(params[0], dict) else params
    run_open_loop(opt, flat, gradients(flat, 2))
    return opt.state_dict()


def test_mismatched_state_dicts_are_clear_errors():
    ps = leaves()
    opt = TorchOptimizer(ps, optim.adam())
    with pytest.raises(ValueError, match=r"hyperparameter\(s\) \['dampening', 'momentum', 'nesterov'\].*optim.Adam"):
        opt.load_state_dict(make_checkpoint(torch.optim.SGD, leaves(), lr=0.1, momentum=0.9))
    with pytest.raises(ValueError, match=r"\['momentum_buffer'\], which optim.adam does not keep"):
        sgd_like = make_checkpoint(torch.optim.SGD, leaves(), lr=0.1, momentum=0.9)
        sgd_like["param_groups"] = opt.state_dict()["param_groups"]
        opt.load_state_dict(sgd_like)
    with pytest.raises(ValueError, match="2 parameter group"):
        opt.load_state_dict(make_checkpoint(torch.optim.Adam, [{"params": leaves()[:1]}, {"params": leaves()[1:]}]))
    with pytest.raises(ValueError, match="has 2 parameters, this optimizer's has 3"):
        opt.load_state_dict(make_checkpoint(torch.optim.Adam, leaves()[:2]))
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(5, 3\).*another model"):
        opt.load_state_dict(make_checkpoint(torch.optim.Adam, leaves(shapes=((5, 3), (3,), (2,)))))
    with pytest.raises(ValueError, match="not an optimizer state_dict"):
        opt.load_state_dict({"model": {}})
    with pytest.raises(ValueError, match="older TorchOptimizer"):
        opt.load_state_dict({"transform_state": [], "param_groups": []})
    # nothing was lost: the optimizer still works and has no state
    assert len(opt.state) == 0
    run_open_loop(opt, ps, gradients(ps, 1))


# --- hooks of torch.optim.Optimizer --------------------------------------------------------------


def test_torchs_optimizer_hooks_work():
    ps = leaves()
    opt = TorchOptimizer(ps, optim.adam(lr=1e-2))
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", float(o.state[ps[0]]["step"]))))
    handle = register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("global", o is opt)))
    try:
        run_open_loop(opt, ps, gradients(ps, 2))
    finally:
        handle.remove()
    assert calls == [("global", True), ("pre", True), ("post", 1.0), ("global", True), ("pre", True), ("post", 2.0)]

    opt.register_state_dict_post_hook(lambda o, sd: sd.update(note="saved"))
    assert opt.state_dict()["note"] == "saved"

    def adapt(o, sd):  # e.g. drop a key some other tool added, and halve the learning rate
        sd = dict(sd)
        sd.pop("note")
        sd["param_groups"] = [{**g, "lr": g["lr"] / 2} for g in sd["param_groups"]]
        return sd

    loaded = []
    opt.register_load_state_dict_pre_hook(adapt)
    opt.register_load_state_dict_post_hook(lambda o: loaded.append(o.param_groups[0]["lr"]))
    opt.load_state_dict(opt.state_dict())  # "note" would be refused without the pre-hook
    assert loaded == [5e-3]


# --- odds and ends -------------------------------------------------------------------------------


def test_step_with_a_closure_returns_the_loss():
    x, y = make_data()
    model = make_model()
    reference = copy.deepcopy(model)
    opt = TorchOptimizer(model.parameters(), optim.sgd(lr=0.1, momentum=0.9))
    torch_opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)

    def closure_for(net, optimizer):
        def closure():
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(net(x), y)
            loss.backward()
            return loss

        return closure

    for _ in range(3):
        expected_loss = nn.functional.mse_loss(model(x), y).item()
        loss = opt.step(closure_for(model, opt))
        assert isinstance(loss, torch.Tensor)
        assert loss.item() == pytest.approx(expected_loss)
        torch_loss = torch_opt.step(closure_for(reference, torch_opt))
        assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-5)
    assert_same_weights(model, reference, rtol=1e-5, atol=1e-6)


def test_sparse_gradients_are_refused():
    embedding = nn.Embedding(5, 2, sparse=True)
    opt = TorchOptimizer(embedding.parameters(), optim.adam())
    embedding(torch.tensor([1, 3])).sum().backward()
    with pytest.raises(TypeError, match="dense gradients"):
        opt.step()


def test_complex_parameters_are_refused_before_anything_changes():
    z = nn.Parameter(torch.ones(2, dtype=torch.complex64))
    opt = TorchOptimizer([z], optim.adam())
    z.grad = torch.ones_like(z)
    with pytest.raises(TypeError, match="real parameters only"):
        opt.step()
    assert torch.equal(z.detach(), torch.ones(2, dtype=torch.complex64)) and len(opt.state) == 0


def test_named_parameters_and_a_momentum_buffer_saved_as_none():
    model = make_model()
    opt = TorchOptimizer(model.named_parameters(), optim.sgd(lr=0.1, momentum=0.9))
    assert opt.param_groups[0]["param_names"] == [name for name, _ in model.named_parameters()]
    saved = opt.state_dict()
    saved["state"] = {0: {"momentum_buffer": None}}  # what a hand-made or older checkpoint may hold
    opt.load_state_dict(saved)
    train(model, opt, 2, make_data())
    assert all(opt.state[p]["momentum_buffer"].shape == p.shape for p in model.parameters())


def test_it_wants_a_transform():
    with pytest.raises(TypeError, match="transform must be a course_utils.optim.Transform, got Adam"):
        TorchOptimizer(make_model().parameters(), torch.optim.Adam(make_model().parameters()))


def test_float32_and_float64_parameters_in_one_optimizer():
    a32, b64 = leaves(dtype=torch.float32)[0], leaves(dtype=torch.float64)[1]
    ref32, ref64 = a32.detach().clone().requires_grad_(), b64.detach().clone().requires_grad_()
    grads = gradients([a32, b64], 8)
    path = run_open_loop(TorchOptimizer([a32, b64], optim.adam(lr=1e-2)), [a32, b64], grads)
    expected = run_open_loop(torch.optim.Adam([ref32, ref64], lr=1e-2), [ref32, ref64], grads)
    assert path[-1][0].dtype == torch.float32 and path[-1][1].dtype == torch.float64
    for (p32, p64), (q32, q64) in zip(path, expected, strict=True):
        torch.testing.assert_close(p32, q32, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(p64, q64, **F64)
