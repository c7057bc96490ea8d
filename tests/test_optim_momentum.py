"""Momentum: torch.optim's buffer convention against Sutskever et al.'s (lecture 4)."""

import numpy as np

from course_utils import optim
from course_utils.optim import schedules

MU = 0.9


def torch_convention(params, grads, lr, dampening=0.0):
    """b_1 = g_1 (undampened), b_t = mu b_{t-1} + (1 - dampening) g_t, p <- p - lr_t b_t."""
    p, b, path = params, None, []
    for t, g in enumerate(grads, start=1):
        b = g if b is None else MU * b + (1 - dampening) * g
        p = p - lr(t) * b
        path.append(p.ravel())
    return np.stack(path)


def sutskever(params, grads, lr):
    """Sutskever et al. (2013): v <- mu v - lr_t g, p <- p + v: the learning rate is inside the buffer."""
    p, v, path = params, 0.0, []
    for t, g in enumerate(grads, start=1):
        v = MU * v - lr(t) * g
        p = p + v
        path.append(p.ravel())
    return np.stack(path)


def test_sgd_momentum_is_the_torch_convention_with_an_undampened_first_buffer(problem, run_ours):
    params, grads = problem()
    lr = schedules.step_decay(0.05, step_size=10, gamma=0.3)
    _, ours = run_ours(optim.sgd(lr=lr, momentum=MU, dampening=0.5), params, grads)
    np.testing.assert_allclose(ours, torch_convention(params, grads, lr, dampening=0.5), rtol=1e-12, atol=1e-14)


def test_sutskever_momentum_equals_torch_momentum_for_a_constant_lr(problem, run_ours):
    params, grads = problem()
    _, torch_style = run_ours(optim.sgd(lr=0.05, momentum=MU), params, grads)
    _, lr_first = run_ours(optim.chain(optim.scale_by_lr(0.05), optim.trace(MU)), params, grads)
    np.testing.assert_allclose(lr_first, torch_style, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lr_first, sutskever(params, grads, lambda t: 0.05), rtol=1e-12, atol=1e-14)


def test_under_a_schedule_the_two_conventions_differ(problem, run_ours):
    params, grads = problem()
    lr = schedules.step_decay(0.05, step_size=10, gamma=0.1)
    _, torch_style = run_ours(optim.sgd(lr=lr, momentum=MU), params, grads)
    _, lr_first = run_ours(optim.chain(optim.scale_by_lr(lr), optim.trace(MU)), params, grads)
    np.testing.assert_allclose(torch_style, torch_convention(params, grads, lr), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(lr_first, sutskever(params, grads, lr), rtol=1e-12, atol=1e-14)
    # when lr drops, torch's buffer still carries the old gradients at the new (small) lr
    assert np.max(np.abs(torch_style[-1] - lr_first[-1])) > 0.1


def test_batched_zero_momentum_row_is_plain_sgd_even_with_dampening():
    import numpy as np

    from course_utils import optim

    rng = np.random.default_rng(0)
    grads = rng.standard_normal((20, 2, 3))
    p0 = rng.standard_normal((2, 3))
    batched = optim.sgd(lr=0.1, momentum=np.array([[0.0], [0.9]]), dampening=0.5)
    p, state = p0.copy(), batched.init(p0)
    for g in grads:
        u, state = batched.update(g, state, p)
        p = optim.apply_updates(p, u)
    for row, single in enumerate([optim.sgd(lr=0.1), optim.sgd(lr=0.1, momentum=0.9, dampening=0.5)]):
        q, s = p0[row].copy(), single.init(p0[row])
        for g in grads:
            u, s = single.update(g[row], s, q)
            q = optim.apply_updates(q, u)
        np.testing.assert_allclose(p[row], q, rtol=1e-12)
