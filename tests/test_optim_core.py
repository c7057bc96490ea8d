"""The optimizer algebra (chain, apply_updates), input checking, batched hyperparameters, dtypes."""

import math

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import schedules
from course_utils.tree import tree_leaves

FACTORIES = ["sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "adamax", "radam", "lion", "adabelief"]


# --- chain and apply_updates -------------------------------------------------------------------


def test_chain_pipes_updates_through_its_transforms_in_order():
    p = np.array([1.0, -2.0])
    g = np.array([0.5, 4.0])
    decay_then_scale = optim.chain(optim.add_decayed_weights(0.1), optim.scale_by_lr(0.5))
    scale_then_decay = optim.chain(optim.scale_by_lr(0.5), optim.add_decayed_weights(0.1))
    updates, state = decay_then_scale.update(g, decay_then_scale.init(p), p)
    np.testing.assert_allclose(updates, -0.5 * (g + 0.1 * p))
    assert state == optim.ChainState([(), optim.CountState(t=1)])
    updates, _ = scale_then_decay.update(g, scale_then_decay.init(p), p)
    np.testing.assert_allclose(updates, -0.5 * g + 0.1 * p)


def test_apply_updates_returns_a_new_tree_and_leaves_its_inputs_alone():
    params = {"w": np.ones(3), "b": [np.zeros(2)]}
    updates = {"w": np.full(3, 0.5), "b": [np.ones(2)]}
    new = optim.apply_updates(params, updates)
    np.testing.assert_array_equal(new["w"], 1.5)
    np.testing.assert_array_equal(new["b"][0], 1.0)
    np.testing.assert_array_equal(params["w"], 1.0)
    np.testing.assert_array_equal(params["b"][0], 0.0)


def test_the_state_is_not_mutated_by_update(problem):
    params, grads = problem(steps=3)
    opt = optim.adam(lr=0.1, amsgrad=True)
    _, state = opt.update(grads[0], opt.init(params), params)
    arrays = [x for x in tree_leaves(state) if isinstance(x, np.ndarray)]
    before = [np.copy(x) for x in arrays]
    opt.update(grads[1], state, params)
    assert len(arrays) == 3  # m, v and v_max
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_chain_rejects_what_is_not_a_transform():
    with pytest.raises(TypeError, match="argument 1 is function"):
        optim.chain(optim.scale_by_lr(0.1), lambda g: g)


def test_weight_decay_needs_the_params():
    opt = optim.adamw(lr=0.1)
    p = np.ones(3)
    with pytest.raises(ValueError, match="needs the current params"):
        opt.update(p, opt.init(p))


# --- gradients that do not match the parameters ------------------------------------------------

PARAMS = {"w": np.ones((2, 3)), "b": np.zeros(3)}
MISMATCHES = [
    (
        "shape",
        {"w": np.ones((3, 2)), "b": np.zeros(3)},
        ValueError,
        r"grads\['w'\] has shape \(3, 2\) .* shape \(2, 3\)",
    ),
    (
        "missing key",
        {"w": np.ones((2, 3))},
        TypeError,
        r"got a dict with keys \['w'\] for a dict with keys \['b', 'w'\]",
    ),
    ("list for dict", [np.ones((2, 3)), np.zeros(3)], TypeError, "got a list of length 2 for a dict"),
    (
        "torch for numpy",
        {"w": torch.ones(2, 3), "b": np.zeros(3)},
        TypeError,
        "is a torch tensor but the parameters are a NumPy",
    ),
    (
        "not an array",
        {"w": [[1.0] * 3] * 2, "b": np.zeros(3)},
        TypeError,
        r"grads\['w'\] must be a NumPy array or a torch tensor, got a list",
    ),
]


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("grads, error, message", [m[1:] for m in MISMATCHES], ids=[m[0] for m in MISMATCHES])
def test_update_rejects_gradients_unlike_the_params(name, grads, error, message):
    opt = getattr(optim, name)()
    with pytest.raises(error, match=message):
        opt.update(grads, opt.init(PARAMS), PARAMS)


@pytest.mark.parametrize(
    "params, grads, error, message",
    [
        ([np.ones(3), np.ones(2)], [np.ones(3)], TypeError, "a list of length 1 for a list of length 2"),
        ([np.ones(3), np.ones(2)], [np.ones(3), np.ones(3)], ValueError, r"grads\[1\] has shape \(3,\)"),
        (torch.ones(3), np.ones(3), TypeError, "is a NumPy array but the parameters are a torch tensor"),
        (np.ones(3), np.ones(4), ValueError, r"shape \(4,\) but the parameters have shape \(3,\)"),
    ],
)
def test_update_rejects_gradients_unlike_the_params_in_lists_and_single_arrays(params, grads, error, message):
    opt = optim.adam()
    with pytest.raises(error, match=message):
        opt.update(grads, opt.init(params), params)


def test_apply_updates_rejects_updates_unlike_the_params():
    with pytest.raises(ValueError, match=r"updates has shape \(2,\)"):
        optim.apply_updates(np.ones(3), np.ones(2))
    with pytest.raises(TypeError, match="updates"):
        optim.apply_updates([np.ones(3)], {"w": np.ones(3)})


# --- hyperparameters that make no sense --------------------------------------------------------

BAD_HYPERPARAMETERS = (
    [(name, {"lr": -0.1}, ValueError, ["lr", "-0.1"]) for name in FACTORIES]
    + [(name, {"weight_decay": -0.01}, ValueError, ["weight_decay", "-0.01"]) for name in FACTORIES]
    + [
        (name, {"betas": betas}, ValueError, ["betas", shown])
        for name in ["adam", "adamw", "nadam", "adamax"]
        for betas, shown in [
            ((0.9, 1.0), "beta2"),
            ((1.0, 0.999), "beta1"),
            ((-0.1, 0.999), "-0.1"),
            ((0.9, 1.5), "1.5"),
        ]
    ]
    + [
        (name, {"betas": (0.9, 0.99, 0.999)}, ValueError, ["betas", "(0.9, 0.99, 0.999)"])
        for name in ["adam", "adamw", "nadam", "adamax"]
    ]
    + [
        (name, {"eps": -1e-8}, ValueError, ["eps", "-1e-08"])
        for name in ["adagrad", "rmsprop", "adam", "adamw", "nadam", "adamax"]
    ]
    + [
        ("sgd", {"momentum": -0.9}, ValueError, ["momentum", "-0.9"]),
        ("rmsprop", {"momentum": -0.9}, ValueError, ["momentum", "-0.9"]),
        ("sgd", {"momentum": 0.9, "dampening": -0.1}, ValueError, ["dampening", "-0.1"]),
        ("sgd", {"nesterov": True}, ValueError, ["nesterov", "momentum=0"]),
        ("sgd", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError, ["nesterov", "dampening=0.1"]),
        ("rmsprop", {"alpha": 1.5}, ValueError, ["alpha", "1.5"]),
        ("rmsprop", {"alpha": -0.5}, ValueError, ["alpha", "-0.5"]),
        ("adagrad", {"lr_decay": -1.0}, ValueError, ["lr_decay", "-1"]),
        ("adagrad", {"initial_accumulator_value": -0.1}, ValueError, ["initial_accumulator_value", "-0.1"]),
        ("nadam", {"momentum_decay": -4e-3}, ValueError, ["momentum_decay", "-0.004"]),
        ("adam", {"amsgrad": "maybe"}, ValueError, ["amsgrad", "'maybe'"]),
        ("adamw", {"amsgrad": "yes"}, ValueError, ["amsgrad", "'yes'"]),
        ("adam", {"lr": float("nan")}, ValueError, ["lr", "nan"]),
        ("adam", {"lr": float("inf")}, ValueError, ["lr", "inf"]),
        ("adam", {"eps": float("nan")}, ValueError, ["eps", "nan"]),
        ("adam", {"lr": np.array([0.1, -0.2])}, ValueError, ["lr", "-0.2"]),
        ("adam", {"lr": "0.01"}, TypeError, ["lr", "'0.01'"]),
        ("sgd", {"lr": None}, TypeError, ["lr", "None"]),
        ("sgd", {"lr": [0.1, 0.01]}, TypeError, ["lr", "[0.1, 0.01]"]),
        ("adam", {"lr": True}, TypeError, ["lr", "True"]),
        ("adam", {"betas": (0.9, "0.999")}, TypeError, ["beta2", "'0.999'"]),
        ("adam", {"eps": lambda t: 1e-8}, TypeError, ["eps", "function"]),
    ]
)


@pytest.mark.parametrize(
    "name, kwargs, error, fragments",
    BAD_HYPERPARAMETERS,
    ids=[f"{name}-{'-'.join(fragments)}" for name, _, _, fragments in BAD_HYPERPARAMETERS],
)
def test_bad_hyperparameters_raise_errors_that_name_them(name, kwargs, error, fragments):
    with pytest.raises(error) as info:
        getattr(optim, name)(**kwargs)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


@pytest.mark.parametrize(
    "make, fragments",
    [
        (lambda: optim.scale_by_adam(eps_placement="middle"), ["eps_placement", "'middle'"]),
        (lambda: optim.scale_by_rms(eps_placement="under"), ["eps_placement", "'under'"]),
        (lambda: optim.scale_by_adagrad(eps_placement=None), ["eps_placement", "None"]),
        (lambda: optim.scale_by_adam(amsgrad="torch"), ["amsgrad", "'torch'"]),
        (lambda: optim.trace(momentum=-1.0), ["momentum", "-1"]),
        (lambda: optim.add_decayed_weights(-0.5), ["weight_decay", "-0.5"]),
        (lambda: optim.scale_by_lr(-1e-3), ["lr", "-0.001"]),
    ],
    ids=lambda case: "-".join(case) if isinstance(case, list) else None,
)
def test_bad_options_of_the_building_blocks(make, fragments):
    with pytest.raises(ValueError) as info:
        make()
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


# --- batched hyperparameters: K configurations in one run equal K separate runs ----------------

K = 3


def pick(values, k):
    """All K values as a column (a batched run, ``k=None``), or the k-th value alone."""
    return np.array(values, dtype=np.float64).reshape(-1, 1) if k is None else values[k]


BATCHED = {
    "sgd": lambda k: {
        "lr": pick([0.01, 0.05, 0.1], k),
        "momentum": pick([0.5, 0.9, 0.99], k),
        "dampening": pick([0.0, 0.1, 0.5], k),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
    },
    "sgd-nesterov": lambda k: {
        "lr": pick([0.01, 0.05, 0.1], k),
        "momentum": pick([0.5, 0.9, 0.8], k),
        "nesterov": True,
    },
    "adagrad": lambda k: {
        "lr": pick([0.1, 0.3, 0.01], k),
        "lr_decay": pick([0.0, 0.01, 0.1], k),
        "initial_accumulator_value": pick([0.0, 0.1, 1.0], k),
        "eps": pick([1e-10, 1e-3, 1e-6], k),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
    },
    "rmsprop": lambda k: {
        "lr": pick([0.01, 0.03, 0.001], k),
        "alpha": pick([0.99, 0.9, 0.5], k),
        "eps": pick([1e-8, 1e-3, 1e-6], k),
        "momentum": pick([0.5, 0.9, 0.0], k),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
        "centered": True,
    },
    "adam": lambda k: {
        "lr": pick([0.01, 0.05, 0.1], k),
        "betas": (pick([0.9, 0.5, 0.0], k), pick([0.999, 0.9, 0.99], k)),
        "eps": pick([1e-8, 1e-3, 1e-6], k),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
        "amsgrad": True,
    },
    "adamw": lambda k: {
        "lr": pick([0.01, 0.05, 0.1], k),
        "betas": (pick([0.9, 0.5, 0.0], k), pick([0.999, 0.9, 0.99], k)),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
    },
    "nadam": lambda k: {
        "lr": pick([0.01, 0.05, 0.1], k),
        "betas": (pick([0.9, 0.5, 0.0], k), pick([0.999, 0.9, 0.99], k)),
        "eps": pick([1e-8, 1e-3, 1e-6], k),
        "momentum_decay": pick([4e-3, 1e-2, 1.0], k),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
        "decoupled_weight_decay": True,
    },
    "adamax": lambda k: {
        "lr": pick([0.01, 0.05, 0.1], k),
        "betas": (pick([0.9, 0.5, 0.0], k), pick([0.999, 0.9, 0.99], k)),
        "eps": pick([1e-8, 1e-3, 1e-6], k),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
    },
    "radam": lambda k: {  # beta2 = 0.5 is never rectified (rho_inf = 3 <= 5), the others from step 6 on
        "lr": pick([0.01, 0.05, 0.1], k),
        "betas": (pick([0.9, 0.5, 0.0], k), pick([0.999, 0.9, 0.5], k)),
        "eps": pick([1e-8, 1e-3, 1e-6], k),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
    },
    "lion": lambda k: {
        "lr": pick([0.01, 0.05, 0.1], k),
        "betas": (pick([0.9, 0.5, 0.0], k), pick([0.99, 0.9, 0.5], k)),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
    },
    "adabelief": lambda k: {  # beta1 = 0 would make g - m_t = 0 and s_t = eps alone: steps of g / eps
        "lr": pick([0.01, 0.05, 0.1], k),
        "betas": (pick([0.9, 0.5, 0.8], k), pick([0.999, 0.9, 0.99], k)),
        "eps": pick([1e-16, 1e-3, 1e-8], k),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
    },
    "schedule_free_adamw": lambda k: {
        "lr": pick([0.01, 0.05, 0.1], k),
        "betas": (pick([0.9, 0.5, 0.0], k), pick([0.999, 0.9, 0.99], k)),
        "weight_decay": pick([0.0, 0.1, 0.01], k),
        "r": pick([0.0, 1.0, 2.0], k),
        "warmup_steps": 5,
    },
    "adam-step_decay": lambda k: {"lr": schedules.step_decay(pick([0.01, 0.05, 0.1], k), step_size=7, gamma=0.5)},
    "sgd-warmup_cosine": lambda k: {
        "lr": schedules.linear_warmup(schedules.cosine_decay(pick([0.01, 0.05, 0.1], k), total_steps=40), 10),
        "momentum": 0.9,
    },
}


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("config", list(BATCHED))
def test_batched_hyperparameters_equal_separate_runs(config, lib, problem, run_ours, convert, assert_like):
    factory = getattr(optim, config.split("-")[0])
    make_kwargs = BATCHED[config]
    params, grads = problem((K, 6), steps=50)
    final, batched = run_ours(
        factory(**make_kwargs(None)), convert(params, lib, "float64"), convert(grads, lib, "float64")
    )
    assert_like(final, lib, "float64")
    batched = batched.reshape(len(grads), K, 6)
    for k in range(K):
        _, alone = run_ours(
            factory(**make_kwargs(k)),
            convert(params[k], lib, "float64"),
            convert([g[k] for g in grads], lib, "float64"),
        )
        np.testing.assert_allclose(batched[:, k], alone, rtol=1e-12, atol=1e-15)
    # the configurations really differ, so the rows were not all given the same values
    assert np.abs(batched[-1, 0] - batched[-1, 1]).max() > 1e-3


def test_hyperparameters_may_be_torch_tensors(problem, run_ours):
    params, grads = problem((K, 6), steps=10)
    as_numpy = optim.adam(lr=np.array([[0.01], [0.05], [0.1]]), betas=(0.9, np.array([[0.999], [0.9], [0.99]])))
    as_torch = optim.adam(
        lr=torch.tensor([[0.01], [0.05], [0.1]], dtype=torch.float64),
        betas=(0.9, torch.tensor([[0.999], [0.9], [0.99]], dtype=torch.float64)),
    )
    _, expected = run_ours(as_numpy, params, grads)
    _, got = run_ours(as_torch, params, grads)
    np.testing.assert_array_equal(got, expected)


# --- dtypes and devices are kept ---------------------------------------------------------------

ALL_OPTIONS = {
    "sgd": {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1, "nesterov": True, "maximize": True},
    "adagrad": {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.1, "maximize": True},
    "rmsprop": {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1, "maximize": True},
    "adam": {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True},
    "adamw": {"lr": 0.05, "amsgrad": True, "maximize": True},
    "nadam": {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
    "adamax": {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    "radam": {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
    "lion": {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "maximize": True},
    "adabelief": {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
}


def as_float64_arrays(kwargs):
    """The same options with every number a float64 NumPy array (one value per batch row)."""

    def array(value):
        if isinstance(value, tuple):
            return tuple(map(array, value))
        if isinstance(value, float):
            return np.full((K, 1), value)
        return value

    return {key: array(value) for key, value in kwargs.items()}


def with_numpy_scalar_schedule(kwargs):
    # what a student writes: np.sqrt returns a float64 NumPy scalar, not a Python float
    return {**kwargs, "lr": lambda t: kwargs["lr"] / np.sqrt(t)}


@pytest.mark.parametrize("hyperparameters", ["numbers", "float64 arrays", "numpy-scalar schedule"])
@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("name", FACTORIES)
def test_float32_in_float32_out(name, lib, hyperparameters, problem, convert, assert_like):
    kwargs = {
        "numbers": dict,
        "float64 arrays": as_float64_arrays,
        "numpy-scalar schedule": with_numpy_scalar_schedule,
    }[hyperparameters](ALL_OPTIONS[name])
    params, grads = problem((K, 4), steps=4)
    params, grads = convert(params, lib, "float32"), convert(grads, lib, "float32")
    opt = getattr(optim, name)(**kwargs)
    state = opt.init(params)
    for g in grads:
        updates, state = opt.update(g, state, params)
        params = optim.apply_updates(params, updates)
    assert_like(params, lib, "float32")
    assert_like([x for x in tree_leaves(state) if hasattr(x, "shape") and tuple(x.shape) == (K, 4)], lib, "float32")
    assert np.all(np.isfinite(np.asarray(params)))


def test_scalar_hyperparameters_become_python_floats():
    # np.float64 scalars would upcast float32 NumPy arrays; validated hyperparameters never are
    opt = optim.sgd(lr=np.float64(0.1), momentum=np.float32(0.9))
    p = np.ones(3, dtype=np.float32)
    updates, _ = opt.update(p, opt.init(p), p)
    assert updates.dtype == np.float32
    assert math.isclose(float(updates[0]), -0.1, rel_tol=1e-6)


def test_state_for_other_parameters_is_refused_with_a_clear_message():
    import numpy as np

    from course_utils import optim

    opt = optim.sgd(lr=0.1, momentum=0.9)
    state = opt.init([np.zeros(2)])
    with pytest.raises(ValueError, match="init"):
        opt.update([np.ones(2), np.ones(2)], state)


def test_apply_updates_keeps_the_parameter_dtype():
    import numpy as np

    from course_utils import optim

    p = np.ones(3, dtype=np.float32)
    assert optim.apply_updates(p, np.full(3, 0.1)).dtype == np.float32
