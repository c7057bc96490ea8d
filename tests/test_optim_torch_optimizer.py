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
    "radam": (optim.radam, "RAdam"),
    "adafactor": (optim.adafactor, "Adafactor"),
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
    "radam": [dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
              dict(lr=0.003, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)],
    "adafactor": [dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=1.5),
                  dict(lr=0.003, weight_decay=0.1, maximize=True)],
}  # fmt: skip


@pytest.mark.parametrize("name", list(GROUPS))
def test_groups_may_differ_in_any_hyperparameter(name, default_dtype):
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
def test_parameters_without_gradient_are_skipped_and_keep_their_state(name, default_dtype):
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
    "radam": (lambda: optim.radam(lr=1e-2), lambda ps: torch.optim.RAdam(ps, lr=1e-2)),
    "adafactor": (lambda: optim.adafactor(lr=0.05), lambda ps: torch.optim.Adafactor(ps, lr=0.05)),
}


@pytest.mark.parametrize("direction", ["torch->ours", "ours->torch"])
@pytest.mark.parametrize("name", list(INTERCHANGE))
def test_checkpoints_move_between_torch_optim_and_ours(name, direction, default_dtype):
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
    b = nn.Parameter(torch.ones(2))
    opt.add_param_group({"params": [b], "momentum": 0.9})
    b.grad = torch.ones(2)
    opt.param_groups[1]["lr"] = -1.0
    with pytest.raises(ValueError, match="parameter group 1: lr must be >= 0, got -1"):
        opt.step()
    assert torch.equal(a.detach(), torch.ones(2)) and len(opt.state) == 0  # group 0 did not step either
    opt.param_groups[1]["lr"] = 0.1
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


def test_a_grad_scaler_drives_it_like_torch_optim():
    # mixed-precision loops call scaler.step(optimizer): unscale the gradients, skip the step on inf
    x, y = make_data()
    weights_after = []
    for make in (lambda ps: TorchOptimizer(ps, optim.adam(lr=1e-2)), lambda ps: torch.optim.Adam(ps, lr=1e-2)):
        model = make_model()
        opt = make(model.parameters())
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
        for step in range(6):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y) * (float("inf") if step == 2 else 1.0)  # one skipped step
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        weights_after.append(weights(model))
        assert scaler.get_scale() < 2.0**10  # the inf step halved the scale ...
        assert {float(s["step"]) for s in opt.state.values()} == {5.0}  # ... and was skipped
    for p, q in zip(*weights_after, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


# --- a training loop as a PyTorch user writes it -------------------------------------------------


class Block(nn.Module):
    """Biases, a LayerNorm, a frozen embedding and a branch that only some batches use."""

    def __init__(self):
        super().__init__()
        self.frozen = nn.Linear(6, 6)
        self.frozen.requires_grad_(False)
        self.body = nn.Linear(6, 16)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 3)
        self.aux = nn.Linear(16, 3)  # used on even steps only: its .grad is None on odd ones

    def forward(self, x, use_aux):
        h = self.norm(torch.relu(self.body(self.frozen(x))))
        return self.head(h) + (self.aux(h) if use_aux else 0.0)


def adamw_recipe(model):
    """The usual AdamW recipe: decay on the weight matrices, none on biases and norm gains."""
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [{"params": [p for _, p in trainable if p.dim() >= 2], "weight_decay": 0.1},
            {"params": [p for _, p in trainable if p.dim() < 2], "weight_decay": 0.0}]  # fmt: skip


def training_loop(model, opt, scheduler, steps, *, autocast=False):
    gen = torch.Generator().manual_seed(2)
    x, y = torch.randn(64, 6, generator=gen), torch.randint(0, 3, (64,), generator=gen)
    for step in steps:
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            logits = model(x[step % 4 :: 4], use_aux=step % 2 == 0)
        nn.functional.cross_entropy(logits.float(), y[step % 4 :: 4]).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        opt.step()
        scheduler.step()


def one_cycle(opt):
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-2, total_steps=24)


def make_block():
    torch.manual_seed(0)
    return Block()


@pytest.mark.parametrize("autocast", [False, True], ids=["float32", "autocast-bf16"])
def test_a_training_loop_with_groups_clipping_and_one_cycle_like_torch_adamw(autocast):
    # Tolerance: float32 as above. Under bf16 autocast the forward rounds the (float32) weights to
    # bf16 (8 significant bits); when ours and torch's weights differ by their float32 rounding
    # (~1e-7), a weight may fall on the other side of a bf16 rounding boundary, which changes a
    # gradient entry by ~2^-8 relative; Adam then moves that weight by at most ~lr_max * 2^-8
    # = 1.2e-4 in one step; atol 5e-4 allows a few such flips, which the agreement asserted below
    # (a nonzero trained change of ~1e-1) is far above.
    tolerance = dict(rtol=0, atol=5e-4) if autocast else dict(rtol=1e-4, atol=1e-5)
    trained = []
    for make in (lambda groups: TorchOptimizer(groups, optim.adamw(lr=1e-3)),
                 lambda groups: torch.optim.AdamW(groups, lr=1e-3)):  # fmt: skip
        model = make_block()
        opt = make(adamw_recipe(model))
        training_loop(model, opt, one_cycle(opt), range(24), autocast=autocast)
        trained.append(model)
    assert_same_weights(*trained, **tolerance)
    start = make_block()
    assert torch.equal(trained[0].frozen.weight, start.frozen.weight)  # frozen: never touched
    assert (trained[0].body.weight - start.body.weight).abs().max() > 5e-2  # it trained


@pytest.mark.parametrize("direction", ["ours->torch", "torch->ours"])
def test_a_training_loop_resumes_from_a_checkpoint_of_the_other_optimizer(direction):
    # train 12 steps, save model + optimizer + scheduler with torch.save, resume with the other class
    ours = lambda groups: TorchOptimizer(groups, optim.adamw(lr=1e-3))  # noqa: E731
    theirs = lambda groups: torch.optim.AdamW(groups, lr=1e-3)  # noqa: E731
    first, second = (ours, theirs) if direction == "ours->torch" else (theirs, ours)
    uninterrupted = make_block()
    opt = first(adamw_recipe(uninterrupted))
    training_loop(uninterrupted, opt, one_cycle(opt), range(24))

    model = make_block()
    opt = first(adamw_recipe(model))
    scheduler = one_cycle(opt)
    training_loop(model, opt, scheduler, range(12))
    assert model.aux.weight in opt.state and model.frozen.weight not in opt.state
    checkpoint = save_and_load(
        {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()}
    )
    resumed = make_block()
    resumed.load_state_dict(checkpoint["model"])
    opt = second(adamw_recipe(resumed))
    scheduler = one_cycle(opt)
    opt.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    training_loop(resumed, opt, scheduler, range(12, 24))
    assert_same_weights(resumed, uninterrupted, rtol=1e-4, atol=1e-5)


def test_repr_is_torchs():
    model = make_block()
    ours = TorchOptimizer(adamw_recipe(model), optim.adamw(lr=1e-3))
    theirs = torch.optim.AdamW(adamw_recipe(model), lr=1e-3)
    assert repr(ours).startswith("TorchOptimizer (\nParameter Group 0\n")
    assert repr(ours).replace("TorchOptimizer", "AdamW", 1) == repr(theirs)


@pytest.mark.parametrize("flags", [{"foreach": True}, {"foreach": False}, {"fused": True}, {"maximize": True}])
def test_torchs_switches_in_a_group_compute_what_torch_computes(flags):
    ours, theirs = twins()
    grads = gradients(ours, 10)
    path = run_open_loop(TorchOptimizer([{"params": ours, **flags}], optim.adam(lr=1e-2)), ours, grads)
    assert_paths_close(path, run_open_loop(torch.optim.Adam([{"params": theirs, **flags}], lr=1e-2), theirs, grads),
                       **F64)  # fmt: skip


def test_a_step_inside_cuda_graph_capture_is_refused(monkeypatch):
    # capturable=True is accepted (eager steps are the same), but a graph cannot record our step:
    # simulate a capture on a CUDA machine, as torch.optim's own check sees it
    class Capturing:
        def is_capturing(self):
            return True

    a = nn.Parameter(torch.ones(2))
    opt = TorchOptimizer([{"params": [a], "capturable": True}], optim.adam(lr=0.1))
    a.grad = torch.ones(2)
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda check_available=False: torch.device("cuda"))
    monkeypatch.setattr(torch.accelerator, "current_stream", lambda device=None: Capturing())
    with pytest.raises(RuntimeError, match="cannot be recorded in a CUDA graph.*capturable=True"):
        opt.step()
    assert torch.equal(a.detach(), torch.ones(2)) and len(opt.state) == 0
    monkeypatch.undo()
    opt.step()
    assert not torch.equal(a.detach(), torch.ones(2))


@pytest.mark.parametrize("saved_dtype,dtype", [(torch.float64, torch.float32), (torch.float32, torch.float64)])
def test_a_checkpoint_of_another_dtype_loads_as_into_torch(saved_dtype, dtype):
    # torch's loader casts each state tensor to its parameter's dtype ('step' stays as saved):
    # ours and torch.optim.Adam load the same checkpoint and continue alike
    source = leaves(dtype=saved_dtype)
    opt = torch.optim.Adam(source, lr=1e-2)
    grads = gradients(source, 10)
    run_open_loop(opt, source, grads[:5])
    saved = opt.state_dict()
    ours, theirs = ([p.detach().to(dtype).requires_grad_() for p in source] for _ in range(2))
    opt_ours, opt_theirs = TorchOptimizer(ours, optim.adam(lr=1e-2)), torch.optim.Adam(theirs, lr=1e-2)
    opt_ours.load_state_dict(save_and_load(saved))  # one copy each: torch's loader keeps 'step' as loaded,
    opt_theirs.load_state_dict(save_and_load(saved))  # so two optimizers loading one dict would share it
    for p, q in zip(ours, theirs, strict=True):
        dtypes = [{k: v.dtype for k, v in o.state[x].items()} for o, x in ((opt_ours, p), (opt_theirs, q))]
        assert dtypes[0] == dtypes[1]
        assert opt_ours.state[p]["exp_avg"].dtype == dtype
    rest = [[g.to(dtype) for g in gs] for gs in grads[5:]]
    tolerance = F64 if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    assert_paths_close(run_open_loop(opt_ours, ours, rest), run_open_loop(opt_theirs, theirs, rest), **tolerance)


def test_adagrad_checkpoints_load_into_torch_before_every_parameter_has_stepped():
    # torch.optim.Adagrad creates every parameter's state in __init__ and its step expects it there:
    # so does ours, or a parameter without a gradient so far would break torch's step after loading
    ours = leaves()
    fresh = TorchOptimizer(ours, optim.adagrad(lr=0.1, initial_accumulator_value=0.2))
    theirs_fresh = torch.optim.Adagrad(leaves(), lr=0.1, initial_accumulator_value=0.2)
    a, b = fresh.state_dict(), theirs_fresh.state_dict()
    assert a["param_groups"] == b["param_groups"] and set(a["state"]) == set(b["state"]) == {0, 1, 2}
    for index in b["state"]:
        for key in ("step", "sum"):
            assert torch.equal(a["state"][index][key], b["state"][index][key])

    grads = gradients(ours, 10)
    present = [[True, True, t >= 7] for t in range(10)]  # the last parameter waits for step 7
    uninterrupted = [p.detach().clone().requires_grad_() for p in ours]
    opt = TorchOptimizer(uninterrupted, optim.adagrad(lr=0.1, initial_accumulator_value=0.2))
    expected = run_open_loop(opt, uninterrupted, grads, present=present)
    opt = TorchOptimizer(ours, optim.adagrad(lr=0.1, initial_accumulator_value=0.2))
    run_open_loop(opt, ours, grads[:4], present=present[:4])
    after = [p.detach().clone().requires_grad_() for p in ours]
    resumed = torch.optim.Adagrad(after, lr=0.1, initial_accumulator_value=0.2)
    resumed.load_state_dict(save_and_load(opt.state_dict()))
    assert_paths_close(run_open_loop(resumed, after, grads[4:], present=present[4:]), expected[4:], **F64)


def test_malformed_and_incomplete_checkpoints_are_clear_errors_and_change_nothing():
    ps = leaves()
    opt = TorchOptimizer(ps, optim.adam(lr=1e-2))
    run_open_loop(opt, ps, gradients(ps, 2))
    good = save_and_load(opt.state_dict())

    def broken(edit):
        saved = save_and_load(good)
        edit(saved)
        return saved

    cases = [  # (edit, message)
        (lambda sd: sd.update(state=[]), "'state' must be a dict and 'param_groups' a list, got list"),
        (lambda sd: sd["param_groups"][0].pop("params"), "group 0 of the checkpoint is not a dict with a list"),
        (lambda sd: sd["state"].update({0: sd["state"][0]["exp_avg"]}), "state of parameter 0 must be a dict"),
        (lambda sd: sd["state"][1].pop("exp_avg"), r"parameter 1 lacks \['exp_avg'\].*incomplete"),
        (lambda sd: sd["state"][2].pop("step"), r"parameter 2 lacks \['step'\]"),
        (lambda sd: sd["state"][0].update(step=torch.tensor(-1.0)), r"'step' of parameter 0 must be a count"),
        (lambda sd: sd["state"][0].update(step=torch.tensor(1.5)), r"'step' of parameter 0 must be a count"),
        (lambda sd: sd["state"][0].update(exp_avg=sd["state"][0]["exp_avg"].numpy()), "must be a tensor, got ndarray"),
    ]
    for edit, message in cases:
        with pytest.raises(ValueError, match=message):
            opt.load_state_dict(broken(edit))
    after = opt.state_dict()
    for index, state in good["state"].items():
        for key, value in state.items():
            assert torch.equal(after["state"][index][key], value)
    opt.load_state_dict(broken(lambda sd: sd["state"][0].update(step=2)))  # a plain number, as older torch saved
    run_open_loop(opt, ps, gradients(ps, 1))
    assert float(opt.state[ps[0]]["step"]) == 3


@pytest.mark.parametrize("name", ["adam", "sgd-momentum", "adamw"])
def test_a_checkpoint_of_an_older_torch_without_the_newer_group_keys_loads(name):
    # torch 1.x saved no 'maximize', 'foreach', ...; 'decoupled_weight_decay' and 'fused' came later.
    # torch's classes fill missing keys with their defaults when loading, and so does ours
    ours_factory, torch_factory = INTERCHANGE[name]
    params = leaves()
    grads = gradients(params, 8)
    opt = torch_factory(params)
    run_open_loop(opt, params, grads[:4])
    saved = opt.state_dict()
    newer = {"maximize", "foreach", "differentiable", "capturable", "fused", "decoupled_weight_decay"}
    saved["param_groups"] = [{k: v for k, v in g.items() if k not in newer} for g in saved["param_groups"]]
    paths = []
    for make in (lambda ps: TorchOptimizer(ps, ours_factory()), torch_factory):
        resumed = [p.detach().clone().requires_grad_() for p in params]
        opt = make(resumed)
        opt.load_state_dict(save_and_load(saved))
        assert set(opt.param_groups[0]) == set(opt.defaults) | {"params"}
        paths.append(run_open_loop(opt, resumed, grads[4:]))
    assert_paths_close(*paths, **F64)
