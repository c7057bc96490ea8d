"""The configurations of PyTorch's own optimizer tests, run through TorchOptimizer.

``torch/testing/_internal/common_optimizers.py`` lists, for every optimizer, the keyword
arguments its test suite tries (``optim_inputs_func_adam`` and friends). Importing that module
needs PyTorch's test dependencies, so the lists are read from the installed file's source: each
``OptimizerInput(params=None, kwargs={...}, desc=...)`` literal is evaluated with only ``torch``
in scope. The configurations that torch's tests run only on CUDA (``cuda_supported_configs``:
``capturable``, tensor ``lr`` and ``betas``) become CUDA tests, skipped without a GPU.

Each configuration is given to TorchOptimizer as the values of its one parameter group, on top
of the factory's defaults, and compared with the torch class built from the same kwargs, open
loop on a fixed heavy-tailed gradient sequence (tolerances of reference/optimizer-semantics.md,
section 6: rounding only in float64; ~1/8 of the bound observed in float32).
"""

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.optim import TorchOptimizer

SOURCE = Path(torch.__file__).parent / "testing" / "_internal" / "common_optimizers.py"
CLASSES = {"adam": "Adam", "adamw": "AdamW", "nadam": "NAdam", "adamax": "Adamax", "adagrad": "Adagrad",
           "rmsprop": "RMSprop", "sgd": "SGD", "radam": "RAdam",
           "adafactor": "Adafactor"}  # fmt: skip

# float64: rounding only; float32: observed worst case is about 1/8 of this bound
TOLERANCES = {"float64": {"rtol": 1e-9, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}


def _functions(tree):
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _calls_assigned_to(fn, prefix):
    """The source of every call inside ``<name starting with prefix> = [...]`` statements of ``fn``."""
    return {
        ast.unparse(call)
        for statement in fn.body
        if isinstance(statement, ast.Assign) and any(getattr(t, "id", "").startswith(prefix) for t in statement.targets)
        for call in ast.walk(statement.value)
        if isinstance(call, ast.Call)
    }


def _inputs(fn):
    """(kwargs source, desc, source of the whole call) of every OptimizerInput literal in a function."""
    found = []
    for call in ast.walk(fn):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "OptimizerInput":
            keywords = {k.arg: k.value for k in call.keywords}
            desc = ast.literal_eval(keywords["desc"]) if "desc" in keywords else ""
            found.append((ast.unparse(keywords["kwargs"]), desc, ast.unparse(call)))
    return found


def torch_configs():
    functions = _functions(ast.parse(SOURCE.read_text(encoding="utf-8")))
    configs = []
    for name in CLASSES:
        fn = functions[f"optim_inputs_func_{name}"]
        if not _inputs(fn):
            fn = functions[fn.body[-1].value.func.id]  # adamw: "return optim_inputs_func_adam(device, dtype)"
        cuda, mps = _calls_assigned_to(fn, "cuda"), _calls_assigned_to(fn, "mps")
        for kwargs, desc, call in _inputs(fn):
            if call not in mps:  # configurations for Apple's MPS only
                configs.append((name, kwargs, desc, call in cuda))
    return configs


CONFIGS = torch_configs()


def test_the_configurations_were_found():
    per_class = {name: sum(1 for c in CONFIGS if c[0] == name and not c[3]) for name in CLASSES}
    assert all(n >= 5 for n in per_class.values()), per_class  # torch 2.13 has 5 to 9 per class on CPU
    assert sum(1 for c in CONFIGS if c[3]) >= 15


def run_both(name, kwargs_source, dtype, device, heavy_tailed):
    """Our path and torch's (``heavy_tailed`` is the fixture that makes the gradients)."""
    kwargs = eval(kwargs_source, {"torch": torch})  # a dict literal from torch's own test file
    torch_dtype = getattr(torch, dtype)
    rng = np.random.default_rng(0)
    shapes = [(6, 4), (4,), (3, 2, 2)]
    values = [rng.normal(size=s) for s in shapes]
    grads = [heavy_tailed(rng, s, 25) for s in shapes]
    paths = []
    for ours in (True, False):
        params = [torch.tensor(v, dtype=torch_dtype, device=device, requires_grad=True) for v in values]
        group_kwargs = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}
        if ours:
            opt = TorchOptimizer([{"params": params, **group_kwargs}], getattr(optim, name)())
        else:
            opt = getattr(torch.optim, CLASSES[name])(params, **group_kwargs)
        path = []
        for t in range(25):
            for p, g in zip(params, grads, strict=True):
                p.grad = torch.tensor(g[t], dtype=torch_dtype, device=device)
            opt.step()
            path.append(torch.cat([p.detach().flatten().double().cpu() for p in params]))
        paths.append(torch.stack(path))
    return paths


def ids(config):
    return f"{config[0]}-{config[2] or config[1]}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", [c for c in CONFIGS if not c[3]], ids=ids)
def test_torch_optimizer_test_configurations_on_cpu(config, dtype, default_dtype, heavy_tailed):
    name, kwargs, _, _ = config
    with default_dtype(torch.float64 if dtype == "float64" else torch.float32):  # NAdam's mu_product
        ours, theirs = run_both(name, kwargs, dtype, "cpu", heavy_tailed)
    torch.testing.assert_close(ours, theirs, **TOLERANCES[dtype])
    assert (ours[-1] - ours[0]).abs().max() > 1e-4  # it moved


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", CONFIGS, ids=ids)
def test_torch_optimizer_test_configurations_on_cuda(config, dtype, default_dtype, heavy_tailed):
    name, kwargs, _, _ = config
    with default_dtype(torch.float64 if dtype == "float64" else torch.float32):
        ours, theirs = run_both(name, kwargs, dtype, "cuda", heavy_tailed)
    torch.testing.assert_close(ours, theirs, **TOLERANCES[dtype])
