"""TorchOptimizer: our transforms inside an ordinary PyTorch training loop."""

import copy
import io

import pytest
import torch
from torch import nn

from course_utils import optim
from course_utils.optim import TorchOptimizer

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)"
)

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


def make_model(seed=0, device="cpu"):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).to(device)


def make_data(device="cpu"):
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(32, 3, generator=generator)
    y = torch.sin(x.sum(dim=1, keepdim=True)) + 0.1 * torch.randn(32, 1, generator=generator)
    return x.to(device), y.to(device)


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


@pytest.mark.parametrize("name", list(PAIRS))
def test_state_dict_round_trip_through_torch_save(name):
    ours, _ = PAIRS[name]
    data = make_data()
    uninterrupted = make_model()
    train(uninterrupted, TorchOptimizer(uninterrupted.parameters(), ours()), 10, data)

    model = make_model()
    opt = TorchOptimizer(model.parameters(), ours())
    train(model, opt, 5, data)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer)  # torch's default, weights_only=True, as a student would call it

    resumed = make_model(seed=123)
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt = TorchOptimizer(resumed.parameters(), ours())
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    train(resumed, resumed_opt, 5, data)
    assert_same_weights(resumed, uninterrupted, rtol=0, atol=0)


def test_resuming_without_the_optimizer_state_is_different():
    # the round trip above is a real test: restarting Adam's moments from zero changes the weights
    data = make_data()
    uninterrupted, restarted = make_model(), make_model()
    train(uninterrupted, TorchOptimizer(uninterrupted.parameters(), optim.adam(lr=1e-2)), 10, data)
    for _ in range(2):
        train(restarted, TorchOptimizer(restarted.parameters(), optim.adam(lr=1e-2)), 5, data)
    difference = max(
        (p - q).abs().max().item() for p, q in zip(weights(restarted), weights(uninterrupted), strict=True)
    )
    assert difference > 1e-3


def test_a_state_dict_saved_before_the_first_step_loads():
    model = make_model()
    saved = TorchOptimizer(model.parameters(), optim.adam(lr=1e-2)).state_dict()
    opt = TorchOptimizer(model.parameters(), optim.adam(lr=1e-2))
    opt.load_state_dict(saved)
    train(model, opt, 1, make_data())
    assert opt.transform_state is not None


def test_state_dict_is_a_snapshot():
    model = make_model()
    opt = TorchOptimizer(model.parameters(), optim.adam(lr=1e-2))
    data = make_data()
    train(model, opt, 2, data)
    saved = opt.state_dict()
    frozen = copy.deepcopy(saved)
    train(model, opt, 2, data)
    for a, b in zip(_tensors(saved), _tensors(frozen), strict=True):
        assert torch.equal(a, b)
    assert len(_tensors(saved)) > 0


def _tensors(tree):
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for value in tree.values() for t in _tensors(value)]
    if isinstance(tree, (list, tuple)):
        return [t for value in tree for t in _tensors(value)]
    return []


def test_load_state_dict_rejects_something_else():
    model = make_model()
    opt = TorchOptimizer(model.parameters(), optim.adam())
    with pytest.raises(ValueError, match="not a TorchOptimizer state_dict"):
        opt.load_state_dict(torch.optim.Adam(model.parameters()).state_dict())
    sgd = TorchOptimizer(model.parameters(), optim.sgd(lr=0.1, momentum=0.9))
    train(model, sgd, 1, make_data())
    with pytest.raises(ValueError, match="saved with another transform"):
        opt.load_state_dict(sgd.state_dict())


def test_zero_grad_clears_the_gradients_and_a_step_without_them_does_nothing():
    model = make_model()
    opt = TorchOptimizer(model.parameters(), optim.adam(lr=1e-2))
    x, y = make_data()
    nn.functional.mse_loss(model(x), y).backward()
    assert all(p.grad is not None for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    before = weights(model)
    assert opt.step() is None
    for p, q in zip(weights(model), before, strict=True):
        assert torch.equal(p, q)


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


def test_a_parameter_without_gradient_is_a_clear_error():
    model = make_model()
    unused = nn.Parameter(torch.ones(2))
    opt = TorchOptimizer([*model.parameters(), unused], optim.adam())
    x, y = make_data()
    nn.functional.mse_loss(model(x), y).backward()
    with pytest.raises(ValueError, match=r"parameters \[4\] have no gradient"):
        opt.step()


def test_sparse_gradients_are_refused():
    embedding = nn.Embedding(5, 2, sparse=True)
    opt = TorchOptimizer(embedding.parameters(), optim.adam())
    embedding(torch.tensor([1, 3])).sum().backward()
    with pytest.raises(TypeError, match="dense gradients"):
        opt.step()


def test_it_wants_a_transform():
    with pytest.raises(TypeError, match="transform must be a course_utils.optim.Transform, got Adam"):
        TorchOptimizer(make_model().parameters(), torch.optim.Adam(make_model().parameters()))


def test_new_parameter_groups_after_the_first_step_are_refused():
    import torch

    from course_utils import optim

    w = torch.nn.Parameter(torch.ones(2))
    opt = optim.TorchOptimizer([w], optim.adam(lr=0.1))
    opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))]})  # fine before any step
    for p in opt.param_groups[0]["params"] + opt.param_groups[1]["params"]:
        p.grad = torch.ones_like(p)
    opt.step()
    with pytest.raises(ValueError, match="first step"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(3))]})
