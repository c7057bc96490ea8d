"""inject_hyperparams: numeric hyperparameters in the state, to read, change, schedule and save.

An injected factory runs the very same update code as the plain factory, so the two must agree
*exactly* (no tolerance). Changes between steps are compared with torch.optim, whose
param_groups can be changed the same way: float64, ``rtol=1e-10, atol=1e-12`` (rounding order).
"""

import pickle

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import HyperparamsState, inject_hyperparams, set_hyperparams

# (library, dtype name): every optimizer must run unchanged on each of them
BACKENDS = [("numpy", "float64"), ("numpy", "float32"), ("torch", "float64"), ("torch", "float32")]

# parameter trees: leaves are shapes
STRUCTURES = {
    "array": (8, 5),
    "list": [(3, 4), (5,), (2, 3, 2)],
    "dict": {"w": (3, 4), "b": (5,)},
}

KWARGS = {  # every numeric hyperparameter away from its default, and a flag where there is one
    "sgd": dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01, nesterov=False),
    "adagrad": dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-8),
    "rmsprop": dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.01, momentum=0.5, centered=True),
    "adam": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True),
    "adamw": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "nadam": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, momentum_decay=0.01),
    "adamax": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
    "radam": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, decoupled_weight_decay=True),
    "adafactor": dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=1.5, weight_decay=0.01),
    "lion": dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1),
    "adabelief": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.01, decoupled_weight_decay=True),
    "lamb": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.01),
    "schedule_free_adamw": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, warmup_steps=3, r=1.0),
}
NUMERIC = {
    "sgd": {"lr", "momentum", "dampening", "weight_decay"},
    "adagrad": {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"},
    "rmsprop": {"lr", "alpha", "eps", "weight_decay", "momentum"},
    "adam": {"lr", "betas", "eps", "weight_decay"},
    "adamw": {"lr", "betas", "eps", "weight_decay"},
    "nadam": {"lr", "betas", "eps", "weight_decay", "momentum_decay"},
    "adamax": {"lr", "betas", "eps", "weight_decay"},
    "radam": {"lr", "betas", "eps", "weight_decay"},
    "adafactor": {"lr", "beta2_decay", "eps", "d", "weight_decay"},
    "lion": {"lr", "betas", "weight_decay"},
    "adabelief": {"lr", "betas", "eps", "weight_decay"},
    "lamb": {"lr", "betas", "eps", "weight_decay"},
    "schedule_free_adamw": {"lr", "betas", "eps", "weight_decay", "warmup_steps", "r", "weight_lr_power"},
}


@pytest.mark.parametrize("lib,dtype", BACKENDS)
@pytest.mark.parametrize("name", list(KWARGS))
def test_injected_factory_updates_exactly_like_the_factory(name, lib, dtype, problem, convert, run_ours):
    factory = getattr(optim, name)
    params, grads = problem(STRUCTURES["dict"], steps=20)
    params, grads = convert(params, lib, dtype), [convert(g, lib, dtype) for g in grads]
    expected, path = run_ours(factory(**KWARGS[name]), params, grads)
    injected = inject_hyperparams(factory)(**KWARGS[name])
    result, injected_path = run_ours(injected, params, grads)
    np.testing.assert_array_equal(injected_path, path)
    state = injected.init(params)
    assert isinstance(state, HyperparamsState) and state.t == 0
    assert set(state.hyperparams) == NUMERIC[name]
    assert all(state.hyperparams[k] == v for k, v in KWARGS[name].items() if k in NUMERIC[name])


def test_a_schedule_is_evaluated_at_every_step_and_shown_in_the_state(problem, run_ours):
    schedule = optim.schedules.cosine_decay(optim.schedules.linear_warmup(0.1, 5), 20)
    params, grads = problem(steps=20)
    opt = inject_hyperparams(optim.adam)(lr=schedule, betas=(0.9, 0.99))
    _, path = run_ours(opt, params, grads)
    _, expected = run_ours(optim.adam(lr=schedule, betas=(0.9, 0.99)), params, grads)
    np.testing.assert_array_equal(path, expected)
    state = opt.init(params)
    assert state.hyperparams["lr"] == schedule(1)  # before any step: the value the first step will use
    for t in range(1, 8):
        _, state = opt.update(grads[t - 1], state, params)
        assert state.t == t and state.hyperparams["lr"] == schedule(t)


def run_changing(opt, params, grads, changes, *, flat):
    """Our side: ``changes[t]`` is applied to the state before update t (0-based); ``flat`` is the fixture."""
    state = opt.init(params)
    path = []
    for t, g in enumerate(grads):
        if t in changes:
            state = set_hyperparams(state, **changes[t])
        updates, state = opt.update(g, state, params)
        params = optim.apply_updates(params, updates)
        path.append(flat(params))
    return np.stack(path)


def run_torch_changing(name, kwargs, params, grads, changes, *, torch_classes, default_dtype):
    """torch's side: the same changes made to ``opt.param_groups[0]`` (the two keywords are the fixtures)."""
    leaves = [torch.tensor(params, requires_grad=True)]
    with default_dtype(torch.float64):
        opt = getattr(torch.optim, torch_classes[name])(leaves, **kwargs)
        path = []
        for t, g in enumerate(grads):
            opt.param_groups[0].update(changes.get(t, {}))
            leaves[0].grad = torch.tensor(g)
            opt.step()
            path.append(leaves[0].detach().numpy().ravel().copy())
    return np.stack(path)


CHANGES = {
    "adam lr": ("adam", dict(lr=0.01), {5: {"lr": 0.05}, 10: {"lr": 0.001}}),
    "adam betas and eps": ("adam", dict(lr=0.01), {4: {"betas": (0.5, 0.9), "eps": 1e-3}}),
    "adam L2 appears and goes": ("adam", dict(lr=0.01), {3: {"weight_decay": 0.1}, 9: {"weight_decay": 0.0}}),
    "adamw decay": ("adamw", dict(lr=0.01), {6: {"weight_decay": 0.5}}),
    "sgd momentum appears": ("sgd", dict(lr=0.05), {4: {"momentum": 0.9}}),
    "sgd momentum goes": ("sgd", dict(lr=0.05, momentum=0.9), {4: {"momentum": 0.0}, 8: {"lr": 0.01}}),
    "rmsprop alpha": ("rmsprop", dict(lr=0.01), {5: {"alpha": 0.5, "lr": 0.02}}),
    "nadam momentum_decay": ("nadam", dict(lr=0.01), {5: {"momentum_decay": 0.1}}),
    "radam betas": ("radam", dict(lr=0.01), {7: {"betas": (0.8, 0.99), "lr": 0.05}}),
}


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("case", list(CHANGES))
def test_changes_between_steps_act_like_changing_torchs_param_groups(
    case, lib, problem, convert, flat, torch_classes, default_dtype
):
    name, kwargs, changes = CHANGES[case]
    params, grads = problem(steps=14)
    ours = run_changing(
        inject_hyperparams(getattr(optim, name))(**kwargs),
        convert(params, lib, "float64"),
        [convert(g, lib, "float64") for g in grads],
        changes,
        flat=flat,
    )
    theirs = run_torch_changing(
        name, kwargs, params, grads, changes, torch_classes=torch_classes, default_dtype=default_dtype
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    unchanged = run_changing(inject_hyperparams(getattr(optim, name))(**kwargs), params, grads, {}, flat=flat)
    assert np.abs(unchanged[-1] - ours[-1]).max() > 1e-6  # the change did something


@pytest.mark.parametrize("lib,dtype", [("numpy", "float64"), ("torch", "float32")])
def test_the_state_can_be_saved_and_the_run_continues_identically(lib, dtype, problem, convert, run_ours, flat):
    params, grads = problem(steps=12)
    params, grads = convert(params, lib, dtype), [convert(g, lib, dtype) for g in grads]
    opt = inject_hyperparams(optim.sgd)(lr=0.05, momentum=0.9)
    _, expected = run_ours(opt, params, grads)
    state = opt.init(params)
    p = params
    for g in grads[:6]:
        updates, state = opt.update(g, state, p)
        p = optim.apply_updates(p, updates)
    state = pickle.loads(pickle.dumps(state))  # numbers, arrays and NamedTuples only
    path = []
    for g in grads[6:]:
        updates, state = opt.update(g, state, p)
        p = optim.apply_updates(p, updates)
        path.append(flat(p))
    np.testing.assert_array_equal(np.stack(path), expected[6:])


def test_flags_and_static_args_stay_fixed():
    state = inject_hyperparams(optim.sgd, static_args=("momentum",))(lr=0.1, momentum=0.9, nesterov=True).init(
        np.zeros(3)
    )
    assert set(state.hyperparams) == {"lr", "dampening", "weight_decay"}
    state = inject_hyperparams(optim.adam)(amsgrad="corrected").init(np.zeros(3))
    assert "amsgrad" not in state.hyperparams


def test_batched_hyperparameters_and_building_blocks(run_ours):
    lrs = np.array([[0.1], [0.01]])
    params, grads = np.zeros((2, 3)), [np.ones((2, 3))] * 4
    _, path = run_ours(inject_hyperparams(optim.adam)(lr=lrs), params, grads)
    _, expected = run_ours(optim.adam(lr=lrs), params, grads)
    np.testing.assert_array_equal(path, expected)
    block = inject_hyperparams(optim.scale_by_adam)(betas=(0.5, 0.9))
    state = block.init(params)
    assert state.hyperparams == {"betas": (0.5, 0.9), "eps": 1e-8}
    state = set_hyperparams(state, betas=(0.0, 0.9))
    direction, _ = block.update(np.full((2, 3), 2.0), state, params)
    np.testing.assert_allclose(direction, 1.0, rtol=1e-7)  # beta1 = 0: m_hat = g, v_hat = g^2


def test_the_in_place_fast_path_still_applies():
    rng = np.random.default_rng(0)
    p = rng.standard_normal(1000)
    opt = inject_hyperparams(optim.adam)(lr=0.01)
    state = opt.init(p)
    g = rng.standard_normal(1000)
    slow_updates, slow_state = opt.update(g, state, p)
    new, fast_state = optim.step(opt, g, opt.init(p.copy()), q := p.copy())
    assert new is q  # written in place
    np.testing.assert_allclose(new, p + slow_updates, rtol=1e-12)
    assert fast_state.t == slow_state.t == 1


def test_clear_errors():
    with pytest.raises(TypeError, match=r"a factory such as optim.adam, not a transform"):
        inject_hyperparams(optim.adam())
    with pytest.raises(ValueError, match=r"static_args \['lrr'\]"):
        inject_hyperparams(optim.adam, static_args=("lrr",))
    with pytest.raises(ValueError, match="lr must be >= 0, got -1"):
        inject_hyperparams(optim.adam)(lr=-1.0)
    opt = inject_hyperparams(optim.adam)(lr=0.1)
    state = opt.init(np.zeros(2))
    with pytest.raises(ValueError, match=r"unknown hyperparameters \['momentum'\]"):
        set_hyperparams(state, momentum=0.9)
    with pytest.raises(ValueError, match=r"betas\[0\] \(beta1\) must be in \[0, 1\), got 1.5"):
        opt.update(np.ones(2), set_hyperparams(state, betas=(1.5, 0.9)), np.zeros(2))
    with pytest.raises(TypeError, match="needs the state of an inject_hyperparams transform"):
        set_hyperparams(optim.adam().init(np.zeros(2)), lr=0.1)
    broken = state._replace(hyperparams={**state.hyperparams, "momentum": 0.9})
    with pytest.raises(ValueError, match=r"got unknown \['momentum'\]"):
        opt.update(np.ones(2), broken, np.zeros(2))


def test_a_scheduled_hyperparameter_cannot_be_set_by_hand():
    # the schedule sets it at every update: a value set by hand would be silently replaced
    schedule = optim.schedules.cosine_decay(0.1, 10)
    opt = inject_hyperparams(optim.sgd)(lr=schedule, momentum=0.9)
    params = np.ones(3)
    state = opt.init(params)
    assert state.scheduled == {"lr"}
    with pytest.raises(ValueError, match="lr follows a schedule.*give the factory a number"):
        set_hyperparams(state, lr=1.0)
    state = set_hyperparams(state, momentum=0.5)  # the others can still be changed
    _, state = opt.update(np.ones(3), state, params)
    assert state.scheduled == {"lr"} and state.hyperparams == {"lr": schedule(1), "momentum": 0.5,
                                                                "dampening": 0.0, "weight_decay": 0.0}  # fmt: skip
    assert pickle.loads(pickle.dumps(state)).scheduled == {"lr"}
