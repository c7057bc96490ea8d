"""Reference answers, known wrong variants and hidden randomized cases (instructor only).

Nothing here ships to students. The public cases' *inputs* are defined here too; the build
turns them into ``course_utils/grading/public_data/*.json`` (inputs, expected outputs, and the
outputs of each wrong variant), which is all the student-side ``check`` needs.

Every reference is written with ``+ - * / **`` so it runs on NumPy arrays and torch tensors
(on any device, including torch's data-less "meta" device).
"""

from __future__ import annotations

import math

import numpy as np

from course_utils.grading.questions import QUESTIONS


def _maximum(a, b):
    if type(a).__module__.startswith("torch"):
        import torch

        return torch.maximum(a, b)
    return np.maximum(a, b)


# ============================== ex02: gradient descent ==========================================


def gd_step(x, grad, lr):
    return x - lr * grad


def _gd_mutates(x, grad, lr):
    x -= lr * grad
    return x


def numerical_gradient(f, x, h=1e-5):
    g = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        e = np.zeros_like(x, dtype=float)
        e.flat[i] = h
        g.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _ng_forward(f, x, h=1e-5):
    g = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        e = np.zeros_like(x, dtype=float)
        e.flat[i] = h
        g.flat[i] = (f(x + e) - f(x)) / h
    return g


def _ng_no_half(f, x, h=1e-5):
    return 2 * numerical_gradient(f, x, h)


def _ng_all_at_once(f, x, h=1e-5):
    return np.full_like(x, (f(x + h) - f(x - h)) / (2 * h), dtype=float)


def _ng_mutates(f, x, h=1e-5):
    g = np.zeros_like(x, dtype=float)
    for i in range(x.size):
        x.flat[i] += h
        fp = f(x)
        x.flat[i] -= 2 * h
        g.flat[i] = (fp - f(x)) / (2 * h)
    return g


def largest_stable_lr(A):
    return 2.0 / float(np.linalg.eigvalsh(A).max())


# ============================== ex03: minibatch SGD =============================================


def minibatch_indices(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _mb_no_shuffle(n, batch_size, seed):
    order = np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _mb_drop_last(n, batch_size, seed):
    order = np.random.default_rng(seed).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


def _mb_replacement(n, batch_size, seed):
    order = np.random.default_rng(seed).integers(0, n, size=n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _mb_other_shuffle(n, batch_size, seed):
    order = np.random.RandomState(seed).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def sgd(grad_fn, w0, lr, batches):
    w = w0
    for batch in batches:
        w = w - lr * grad_fn(w, batch)
    return w


def _sgd_full(grad_fn, w0, lr, batches):
    w = w0
    for _ in batches:
        w = w - lr * grad_fn(w)
    return w


def _sgd_ascent(grad_fn, w0, lr, batches):
    w = w0
    for batch in batches:
        w = w + lr * grad_fn(w, batch)
    return w


def _sgd_one_step(grad_fn, w0, lr, batches):
    return w0 - lr * grad_fn(w0, batches[0])


def _sgd_mutates(grad_fn, w0, lr, batches):
    w = w0
    for batch in batches:
        w -= lr * grad_fn(w, batch)
    return w


# ============================== ex04: momentum ==================================================


def momentum_step(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + grad
    return params - lr * buf, buf


def nesterov_step(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + grad
    return params - lr * (grad + momentum * buf), buf


def _mom_sutskever(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + lr * grad
    return params - buf, buf


def _mom_dampened(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + (1 - momentum) * grad
    return params - lr * buf, buf


def _mom_not_carried(params, grad, buf, lr, momentum=0.9):
    buf = grad
    return params - lr * buf, buf


def _mom_plain(params, grad, buf, lr, momentum=0.9):
    return params - lr * grad, momentum * buf + grad


def _mom_mutates(params, grad, buf, lr, momentum=0.9):
    buf *= momentum
    buf += grad
    params -= lr * buf
    return params, buf


def _nes_heavy_ball(params, grad, buf, lr, momentum=0.9):
    return momentum_step(params, grad, buf, lr, momentum)


def _nes_sutskever(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + lr * grad
    return params - (lr * grad + momentum * buf), buf


def _nes_dampened(params, grad, buf, lr, momentum=0.9):
    buf = momentum * buf + (1 - momentum) * grad
    return params - lr * (grad + momentum * buf), buf


def _nes_not_carried(params, grad, buf, lr, momentum=0.9):
    buf = grad
    return params - lr * (grad + momentum * buf), buf


def _nes_mutates(params, grad, buf, lr, momentum=0.9):
    buf *= momentum
    buf += grad
    params -= lr * (grad + momentum * buf)
    return params, buf


# ============================== ex05: AdaGrad, RMSprop ==========================================


def adagrad_step(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq = sum_sq + grad * grad
    return params - lr * grad / (sum_sq**0.5 + eps), sum_sq


def _ada_eps_inside(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq = sum_sq + grad * grad
    return params - lr * grad / (sum_sq + eps) ** 0.5, sum_sq


def _ada_old_sum(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    new = sum_sq + grad * grad
    return params - lr * grad / (sum_sq**0.5 + eps), new


def _ada_abs_sum(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq = sum_sq + abs(grad)
    return params - lr * grad / (sum_sq**0.5 + eps), sum_sq


def _ada_not_carried(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq = grad * grad
    return params - lr * grad / (sum_sq**0.5 + eps), sum_sq


def _ada_mutates(params, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq += grad * grad
    params -= lr * grad / (sum_sq**0.5 + eps)
    return params, sum_sq


def rmsprop_step(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * grad * grad
    return params - lr * grad / (v**0.5 + eps), v


def _rms_no_one_minus(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * v + grad * grad
    return params - lr * grad / (v**0.5 + eps), v


def _rms_eps_inside(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = alpha * v + (1 - alpha) * grad * grad
    return params - lr * grad / (v + eps) ** 0.5, v


def _rms_adagrad(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = v + grad * grad
    return params - lr * grad / (v**0.5 + eps), v


def _rms_not_carried(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v = (1 - alpha) * grad * grad
    return params - lr * grad / (v**0.5 + eps), v


def _rms_mutates(params, grad, v, lr=1e-2, alpha=0.99, eps=1e-8):
    v *= alpha
    v += (1 - alpha) * grad * grad
    params -= lr * grad / (v**0.5 + eps)
    return params, v


# ============================== ex07: EMA and bias correction ===================================


def ema_update(avg, x, beta):
    return beta * avg + (1 - beta) * x


def _ema_swapped(avg, x, beta):
    return (1 - beta) * avg + beta * x


def _ema_no_one_minus(avg, x, beta):
    return beta * avg + x


def _ema_mutates(avg, x, beta):
    avg *= beta
    avg += (1 - beta) * x
    return avg


def _debiased(xs, beta, power_shift=0, correct=True, feed_back=False, swapped=False):
    xs = np.asarray(xs, dtype=float)
    avg = np.zeros_like(xs[0])
    out = []
    for t, x in enumerate(xs, start=1):
        avg = (1 - beta) * avg + beta * x if swapped else beta * avg + (1 - beta) * x
        corrected = avg / (1 - beta ** (t + power_shift)) if correct else avg
        if feed_back:
            avg = corrected
        out.append(corrected)
    return np.stack(out)


def debiased_ema(xs, beta):
    return _debiased(xs, beta)


# ============================== ex08: Adam ======================================================


def _adam(
    params,
    grads,
    m,
    v,
    t,
    lr,
    betas,
    eps,
    *,
    shift=0,
    eps_inside=False,
    one_minus=True,
    correct_m=True,
    correct_v=True,
    square=True,
    use_eps=True,
):
    b1, b2 = betas
    m = b1 * m + ((1 - b1) if one_minus else 1) * grads
    v = b2 * v + ((1 - b2) if one_minus else 1) * (grads * grads if square else grads)
    m_hat = m / (1 - b1 ** (t + shift)) if correct_m else m
    v_hat = v / (1 - b2 ** (t + shift)) if correct_v else v
    if not use_eps:
        denom = v_hat**0.5
    elif eps_inside:
        denom = (v_hat + eps) ** 0.5
    else:
        denom = v_hat**0.5 + eps
    return params - lr * m_hat / denom, m, v


def adam_step(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return _adam(params, grads, m, v, t, lr, betas, eps)


def _adam_variant(**options):
    def fn(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        return _adam(params, grads, m, v, t, lr, betas, eps, **options)

    return fn


def _adam_not_carried(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return _adam(params, grads, 0 * m, 0 * v, t, lr, betas, eps)


def _adam_mutates(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m *= b1
    m += (1 - b1) * grads
    v *= b2
    v += (1 - b2) * grads * grads
    params -= lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)) ** 0.5 + eps)
    return params, m, v


_ADAM_VARIANTS = {
    "off_by_one_plus": _adam_variant(shift=1),
    "off_by_one_minus": _adam_variant(shift=-1),
    "eps_inside": _adam_variant(eps_inside=True),
    "no_one_minus": _adam_variant(one_minus=False),
    "only_m_corrected": _adam_variant(correct_v=False),
    "no_correction": _adam_variant(correct_m=False, correct_v=False),
    "grad_not_squared": _adam_variant(square=False),
    "no_eps": _adam_variant(use_eps=False),
    "not_carried": _adam_not_carried,
    "mutates": _adam_mutates,
}


# ============================== ex10: AMSGrad, AdamW, Reddi =====================================


def amsgrad_step(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    v_max = _maximum(v_max, v)
    denom = (v_max / (1 - b2**t)) ** 0.5 + eps
    return params - lr * (m / (1 - b1**t)) / denom, m, v, v_max


def _ams_max_of_vhat(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    v_max = _maximum(v_max, v / (1 - b2**t))
    return params - lr * (m / (1 - b1**t)) / (v_max**0.5 + eps), m, v, v_max


def _ams_paper(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    v_max = _maximum(v_max, v)
    return params - lr * m / (v_max**0.5 + eps), m, v, v_max


def _ams_uses_v(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads * grads
    v_max = _maximum(v_max, v)
    return params - lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)) ** 0.5 + eps), m, v, v_max


def _ams_not_carried(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return amsgrad_step(params, grads, 0 * m, 0 * v, 0 * v_max, t, lr, betas, eps)


def _ams_mutates(params, grads, m, v, v_max, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    new_params, m2, v2, vmax2 = amsgrad_step(params, grads, m, v, v_max, t, lr, betas, eps)
    m[...] = m2
    v[...] = v2
    v_max[...] = vmax2
    return new_params, m, v, v_max


def adamw_step(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    params = params * (1 - lr * weight_decay)
    return adam_step(params, grads, m, v, t, lr, betas, eps)


def _adamw_l2(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return adam_step(params, grads + weight_decay * params, m, v, t, lr, betas, eps)


def _adamw_no_lr(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return adam_step(params * (1 - weight_decay), grads, m, v, t, lr, betas, eps)


def _adamw_after(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    p, m, v = adam_step(params, grads, m, v, t, lr, betas, eps)
    return p * (1 - lr * weight_decay), m, v


def _adamw_not_carried(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return adamw_step(params, grads, 0 * m, 0 * v, t, lr, betas, eps, weight_decay)


def _adamw_mutates(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    params *= 1 - lr * weight_decay
    return _adam_mutates(params, grads, m, v, t, lr, betas, eps)


def _reddi(C, steps, alpha, amsgrad, *, clip=True, decay=True, phase=1, max_of_vhat=False, eps=1e-8):
    beta2 = 1.0 / (1.0 + C * C)
    x, v, v_max = 0.0, 0.0, 0.0
    xs = [x]
    for t in range(1, int(steps) + 1):
        g = C if t % 3 == phase % 3 else -1.0
        v = beta2 * v + (1 - beta2) * g * g
        if max_of_vhat:
            v_max = max(v_max, v / (1 - beta2**t))
            v_hat = v_max if amsgrad else v / (1 - beta2**t)
        else:
            v_max = max(v_max, v)
            v_hat = (v_max if amsgrad else v) / (1 - beta2**t)
        step = alpha / math.sqrt(t) if decay else alpha
        x = x - step * g / (math.sqrt(v_hat) + eps)
        if clip:
            x = min(1.0, max(-1.0, x))
        xs.append(x)
    return np.array(xs)


def reddi_trajectory(C, steps, alpha, amsgrad):
    return _reddi(C, steps, alpha, amsgrad)


# ============================== ex09: tuning ====================================================


def choose_hyperparameters():
    return {"optimizer": "adam", "lr": 0.02, "schedule": "cosine", "batch_size": 128}


# ============================== registry ========================================================

REFERENCES = {
    "gd_step": gd_step,
    "numerical_gradient": numerical_gradient,
    "largest_stable_lr": largest_stable_lr,
    "minibatch_indices": minibatch_indices,
    "sgd": sgd,
    "momentum_step": momentum_step,
    "nesterov_step": nesterov_step,
    "adagrad_step": adagrad_step,
    "rmsprop_step": rmsprop_step,
    "ema_update": ema_update,
    "debiased_ema": debiased_ema,
    "adam_step": adam_step,
    "adam_step_torch": adam_step,
    "amsgrad_step": amsgrad_step,
    "adamw_step": adamw_step,
    "reddi_trajectory": reddi_trajectory,
    "choose_hyperparameters": choose_hyperparameters,
}

VARIANTS = {
    "gd_step": {
        "ascent": lambda x, grad, lr: x + lr * grad,
        "no_lr": lambda x, grad, lr: x - grad,
        "mutates": _gd_mutates,
    },
    "numerical_gradient": {
        "forward": _ng_forward,
        "no_half": _ng_no_half,
        "all_at_once": _ng_all_at_once,
        "mutates": _ng_mutates,
    },
    "largest_stable_lr": {
        "one_over_L": lambda A: 1.0 / float(np.linalg.eigvalsh(A).max()),
        "diag": lambda A: 2.0 / float(np.max(np.diag(A))),
        "mu": lambda A: 2.0 / float(np.linalg.eigvalsh(A).min()),
        "trace": lambda A: 2.0 / float(np.trace(A)),
    },
    "minibatch_indices": {
        "no_shuffle": _mb_no_shuffle,
        "drop_last": _mb_drop_last,
        "replacement": _mb_replacement,
        "other_shuffle": _mb_other_shuffle,
    },
    "sgd": {"full_batch": _sgd_full, "ascent": _sgd_ascent, "one_step": _sgd_one_step, "mutates": _sgd_mutates},
    "momentum_step": {
        "sutskever": _mom_sutskever,
        "dampened": _mom_dampened,
        "not_carried": _mom_not_carried,
        "plain_gd": _mom_plain,
        "mutates": _mom_mutates,
    },
    "nesterov_step": {
        "sutskever": _nes_sutskever,
        "dampened": _nes_dampened,
        "not_carried": _nes_not_carried,
        "heavy_ball": _nes_heavy_ball,
        "mutates": _nes_mutates,
    },
    "adagrad_step": {
        "eps_inside": _ada_eps_inside,
        "old_sum": _ada_old_sum,
        "abs_sum": _ada_abs_sum,
        "not_carried": _ada_not_carried,
        "mutates": _ada_mutates,
    },
    "rmsprop_step": {
        "no_one_minus": _rms_no_one_minus,
        "eps_inside": _rms_eps_inside,
        "adagrad_sum": _rms_adagrad,
        "not_carried": _rms_not_carried,
        "mutates": _rms_mutates,
    },
    "ema_update": {"swapped": _ema_swapped, "no_one_minus": _ema_no_one_minus, "mutates": _ema_mutates},
    "debiased_ema": {
        "no_correction": lambda xs, beta: _debiased(xs, beta, correct=False),
        "off_by_one_plus": lambda xs, beta: _debiased(xs, beta, power_shift=1),
        "off_by_one_minus": lambda xs, beta: _debiased(xs, beta, power_shift=-1),
        "fed_back": lambda xs, beta: _debiased(xs, beta, feed_back=True),
        "swapped": lambda xs, beta: _debiased(xs, beta, swapped=True),
    },
    "adam_step": _ADAM_VARIANTS,
    "adam_step_torch": _ADAM_VARIANTS,
    "amsgrad_step": {
        "max_of_vhat": _ams_max_of_vhat,
        "paper": _ams_paper,
        "uses_v": _ams_uses_v,
        "not_carried": _ams_not_carried,
        "mutates": _ams_mutates,
    },
    "adamw_step": {
        "l2": _adamw_l2,
        "no_lr": _adamw_no_lr,
        "decay_after": _adamw_after,
        "not_carried": _adamw_not_carried,
        "mutates": _adamw_mutates,
    },
    "reddi_trajectory": {
        "no_clip": lambda C, steps, alpha, amsgrad: _reddi(C, steps, alpha, amsgrad, clip=False),
        "const_lr": lambda C, steps, alpha, amsgrad: _reddi(C, steps, alpha, amsgrad, decay=False),
        "gradient_phase": lambda C, steps, alpha, amsgrad: _reddi(C, steps, alpha, amsgrad, phase=0),
        "max_of_vhat": lambda C, steps, alpha, amsgrad: _reddi(C, steps, alpha, amsgrad, max_of_vhat=True),
    },
}


# ============================== public cases (fixed inputs) =====================================


def _a(*values):
    return np.array(values, dtype=float)


def _case(label, mode="call", **kw):
    return {"label": label, "mode": mode, **kw}


def _rotated(kappa, degrees):
    th = np.deg2rad(degrees)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return R @ np.diag([1.0, kappa]) @ R.T


def _adam_args(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return {"params": params, "grads": grads, "m": m, "v": v, "t": t, "lr": lr, "betas": tuple(betas), "eps": eps}


def public_cases(name: str) -> list[dict]:
    """The fixed inputs of the public checks (the notebook's ``check`` runs these)."""
    rng = np.random.default_rng(20240)
    z3 = np.zeros(3)
    if name == "gd_step":
        return [
            _case("a vector", args={"x": _a(1.0, -2.0, 0.5), "grad": _a(0.5, 1.0, -3.0), "lr": 0.1}),
            _case(
                "a matrix of parameters",
                args={"x": rng.normal(size=(2, 3)), "grad": rng.normal(size=(2, 3)), "lr": 0.01},
            ),
            _case("zero gradient: nothing moves", args={"x": _a(3.0, 4.0), "grad": _a(0.0, 0.0), "lr": 0.5}),
            _case("huge gradient (1e8), tiny lr", args={"x": _a(1.0, 2.0), "grad": _a(1e8, -2e8), "lr": 1e-9}),
        ]
    if name == "numerical_gradient":
        A = _rotated(10.0, 30.0)
        W = rng.normal(size=(5, 4))
        return [
            _case(
                "quadratic bowl, h = 1e-3",
                args={
                    "f": {"__fn__": "quadratic", "args": {"A": A, "b": _a(1.0, -1.0)}},
                    "x": _a(0.3, -0.7),
                    "h": 1e-3,
                },
            ),
            _case(
                "Rosenbrock at (-1.2, 1), h = 1e-4", args={"f": {"__fn__": "rosenbrock"}, "x": _a(-1.2, 1.0), "h": 1e-4}
            ),
            _case(
                "log-sum-exp in 4 dimensions, h = 1e-5",
                args={
                    "f": {"__fn__": "logsumexp", "args": {"W": W, "c": rng.normal(size=5)}},
                    "x": rng.normal(size=4),
                    "h": 1e-5,
                },
            ),
        ]
    if name == "largest_stable_lr":
        M = rng.normal(size=(4, 4))
        return [
            _case("axis-aligned bowl, curvatures 1 and 10", args={"A": np.diag([1.0, 10.0])}),
            _case("the same bowl rotated by 45 degrees", args={"A": _rotated(10.0, 45.0)}),
            _case("a 4 x 4 positive definite matrix", args={"A": M @ M.T + 0.5 * np.eye(4)}),
        ]
    if name == "minibatch_indices":
        return [
            _case("n = 10, batch_size = 3, seed = 0", args={"n": 10, "batch_size": 3, "seed": 0}),
            _case("n = 100, batch_size = 32, seed = 1", args={"n": 100, "batch_size": 32, "seed": 1}),
            _case("one batch holds everything: n = 7, batch_size = 7", args={"n": 7, "batch_size": 7, "seed": 5}),
            _case("batches of one: n = 6, batch_size = 1", args={"n": 6, "batch_size": 1, "seed": 2}),
        ]
    if name == "sgd":
        batches = [np.sort(b) for b in minibatch_indices(80, 16, 3)]
        return [
            _case(
                "5 batches of 16 digits, lr = 0.5, l2 = 1e-3",
                args={
                    "grad_fn": {"__fn__": "digits_grad", "args": {"l2": 1e-3}},
                    "w0": 0.01 * rng.normal(size=650),
                    "lr": 0.5,
                    "batches": batches,
                },
            ),
            _case(
                "one batch of 64, lr = 0.1",
                args={
                    "grad_fn": {"__fn__": "digits_grad", "args": {"l2": 0.0}},
                    "w0": np.zeros(650),
                    "lr": 0.1,
                    "batches": [np.arange(64)],
                },
            ),
        ]
    if name in ("momentum_step", "nesterov_step"):
        return [
            _case(
                "first step, empty buffer",
                args={"params": _a(1.0, -1.0, 0.5), "grad": _a(0.2, -0.4, 1.0), "buf": z3, "lr": 0.1, "momentum": 0.9},
            ),
            _case(
                "buffer from earlier steps",
                args={
                    "params": _a(1.0, -1.0, 0.5),
                    "grad": _a(0.2, -0.4, 1.0),
                    "buf": _a(1.5, 0.5, -2.0),
                    "lr": 0.05,
                    "momentum": 0.8,
                },
            ),
            _case(
                "zero gradient: the buffer keeps moving",
                args={"params": _a(0.0, 1.0), "grad": _a(0.0, 0.0), "buf": _a(1.0, -1.0), "lr": 0.1, "momentum": 0.9},
            ),
            _case(
                "5 steps in a row, state carried over",
                mode="rollout",
                args={"params": _a(1.0, 2.0, -1.0, 0.5), "buf": np.zeros(4), "lr": 0.01, "momentum": 0.9},
                grads=rng.normal(size=(5, 4)),
            ),
        ]
    if name == "adagrad_step":
        return [
            _case(
                "first step",
                args={"params": _a(1.0, -1.0, 0.5), "grad": _a(0.2, -0.4, 1.0), "sum_sq": z3, "lr": 0.1, "eps": 1e-10},
            ),
            _case(
                "accumulator from earlier steps",
                args={
                    "params": _a(1.0, -1.0, 0.5),
                    "grad": _a(0.2, -0.4, 1.0),
                    "sum_sq": _a(0.5, 2.0, 0.01),
                    "lr": 0.1,
                    "eps": 1e-10,
                },
            ),
            _case(
                "tiny gradients (1e-8), eps = 1e-8",
                args={"params": _a(1.0, 2.0), "grad": _a(1e-8, -3e-8), "sum_sq": _a(0.0, 0.0), "lr": 0.1, "eps": 1e-8},
            ),
            _case(
                "5 steps in a row, state carried over",
                mode="rollout",
                args={"params": _a(1.0, 2.0, -1.0), "sum_sq": z3, "lr": 0.5, "eps": 1e-10},
                grads=rng.normal(size=(5, 3)),
            ),
        ]
    if name == "rmsprop_step":
        return [
            _case(
                "first step",
                args={
                    "params": _a(1.0, -1.0, 0.5),
                    "grad": _a(0.2, -0.4, 1.0),
                    "v": z3,
                    "lr": 0.01,
                    "alpha": 0.99,
                    "eps": 1e-8,
                },
            ),
            _case(
                "average from earlier steps, alpha = 0.9",
                args={
                    "params": _a(1.0, -1.0, 0.5),
                    "grad": _a(0.2, -0.4, 1.0),
                    "v": _a(0.5, 2.0, 0.01),
                    "lr": 0.01,
                    "alpha": 0.9,
                    "eps": 1e-8,
                },
            ),
            _case(
                "tiny gradients (1e-8)",
                args={
                    "params": _a(1.0, 2.0),
                    "grad": _a(1e-8, -3e-8),
                    "v": _a(0.0, 0.0),
                    "lr": 0.01,
                    "alpha": 0.99,
                    "eps": 1e-8,
                },
            ),
            _case(
                "5 steps in a row, state carried over",
                mode="rollout",
                args={"params": _a(1.0, 2.0, -1.0), "v": z3, "lr": 0.01, "alpha": 0.9, "eps": 1e-8},
                grads=rng.normal(size=(5, 3)),
            ),
        ]
    if name == "ema_update":
        return [
            _case("scalar-like array, beta = 0.9", args={"avg": _a(0.0), "x": _a(1.0), "beta": 0.9}),
            _case("a vector, beta = 0.5", args={"avg": _a(1.0, 2.0, 3.0), "x": _a(3.0, 2.0, 1.0), "beta": 0.5}),
            _case("beta = 0.999", args={"avg": _a(0.2, -0.2), "x": _a(10.0, -10.0), "beta": 0.999}),
        ]
    if name == "debiased_ema":
        return [
            _case("constant input 1: the corrected average is exactly 1", args={"xs": np.ones(5), "beta": 0.9}),
            _case(
                "a noisy sequence of vectors, beta = 0.99",
                args={"xs": rng.normal(1.0, 1.0, size=(10, 3)), "beta": 0.99},
            ),
            _case("three values, beta = 0.999", args={"xs": _a(2.0, 4.0, 6.0), "beta": 0.999}),
        ]
    if name == "adam_step":
        p3 = _a(0.5, -1.0, 2.0)
        g3 = _a(0.1, -0.2, 0.3)
        return [
            _case("first step (t = 1)", args=_adam_args(p3, g3, z3, z3, 1)),
            _case("zero gradients at t = 1", args=_adam_args(p3, z3, z3, z3, 1)),
            _case(
                "zero gradients with earlier state (t = 5)",
                args=_adam_args(p3, z3, _a(0.05, -0.02, 0.01), _a(1e-3, 2e-3, 1e-4), 5),
            ),
            _case("tiny gradients (1e-8) at t = 1", args=_adam_args(p3, _a(1e-8, -2e-8, 5e-9), z3, z3, 1)),
            _case("huge gradients (1e8) at t = 1", args=_adam_args(p3, _a(1e8, -3e8, 2e8), z3, z3, 1)),
            _case(
                "t = 10, matrix parameters, betas = (0.8, 0.99), lr = 0.01",
                args=_adam_args(
                    rng.normal(size=(2, 3)),
                    rng.normal(size=(2, 3)),
                    0.1 * rng.normal(size=(2, 3)),
                    0.1 * rng.random((2, 3)),
                    10,
                    0.01,
                    (0.8, 0.99),
                ),
            ),
            _case(
                "5 steps in a row, state carried over",
                mode="rollout",
                args=_adam_args(_a(1.0, 2.0, -1.0, 0.5), None, np.zeros(4), np.zeros(4), 1, 0.1),
                grads=rng.normal(size=(5, 4)),
            ),
        ]
    if name == "adam_step_torch":
        p3 = _a(0.5, -1.0, 2.0)
        g3 = _a(0.1, -0.2, 0.3)
        return [
            _case(
                "torch float64 on the CPU, t = 1", args=_adam_args(p3, g3, z3, z3, 1), backend="torch", dtype="float64"
            ),
            _case(
                "torch float32 on the CPU, t = 3",
                args=_adam_args(p3, g3, _a(0.01, -0.02, 0.03), _a(1e-3, 2e-3, 3e-3), 3),
                backend="torch",
                dtype="float32",
            ),
            _case(
                "torch float64, zero gradients at t = 1",
                args=_adam_args(p3, z3, z3, z3, 1),
                backend="torch",
                dtype="float64",
            ),
            _case(
                "torch float32 on the 'meta' device (no data: no NumPy allowed)",
                args=_adam_args(p3, g3, z3, z3, 2),
                backend="torch",
                dtype="float32",
                device="meta",
            ),
            _case(
                "torch float32, 3 steps in a row",
                mode="rollout",
                args=_adam_args(_a(1.0, 2.0, -1.0, 0.5), None, np.zeros(4), np.zeros(4), 1, 0.1),
                grads=rng.normal(size=(3, 4)),
                backend="torch",
                dtype="float32",
            ),
        ]
    if name == "amsgrad_step":
        p3 = _a(0.5, -1.0, 2.0)
        g3 = _a(0.1, -0.2, 0.3)
        return [
            _case("first step (t = 1)", args={**_adam_args(p3, g3, z3, z3, 1), "v_max": z3}),
            _case(
                "t = 4, the maximum is larger than v",
                args={
                    **_adam_args(p3, g3, _a(0.05, -0.1, 0.1), _a(0.01, 0.04, 0.05), 4),
                    "v_max": _a(0.02, 0.05, 0.02),
                },
            ),
            _case(
                "6 steps in a row, state carried over",
                mode="rollout",
                args={**_adam_args(_a(1.0, 2.0, -1.0), None, z3, z3, 1, 0.1), "v_max": z3},
                grads=np.array([[3.0, -1.0, 0.5]] * 2 + [[0.1, -0.1, 0.05]] * 4),
            ),
        ]
    if name == "adamw_step":
        p3 = _a(0.5, -1.0, 2.0)
        g3 = _a(0.1, -0.2, 0.3)
        return [
            _case("first step, weight_decay = 0.01", args={**_adam_args(p3, g3, z3, z3, 1), "weight_decay": 0.01}),
            _case(
                "zero gradients: only the decay acts (lr = 0.1, weight_decay = 0.1)",
                args={**_adam_args(p3, z3, z3, z3, 1, 0.1), "weight_decay": 0.1},
            ),
            _case(
                "t = 3, lr = 0.1, weight_decay = 0.1",
                args={**_adam_args(p3, g3, _a(0.05, -0.1, 0.1), _a(0.01, 0.04, 0.05), 3, 0.1), "weight_decay": 0.1},
            ),
            _case(
                "4 steps in a row, state carried over",
                mode="rollout",
                args={**_adam_args(_a(1.0, 2.0, -1.0), None, z3, z3, 1, 0.05), "weight_decay": 0.2},
                grads=rng.normal(size=(4, 3)),
            ),
        ]
    if name == "reddi_trajectory":
        return [
            _case(
                "Adam, C = 3, 1500 steps, alpha = 0.5", args={"C": 3.0, "steps": 1500, "alpha": 0.5, "amsgrad": False}
            ),
            _case(
                "AMSGrad, C = 3, 1500 steps, alpha = 0.5", args={"C": 3.0, "steps": 1500, "alpha": 0.5, "amsgrad": True}
            ),
        ]
    if name == "choose_hyperparameters":
        return []
    raise KeyError(name)


# ============================== hidden randomized cases =========================================


def _shape(rng):
    return tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 3))))


def _values(rng, shape, scale=None):
    scale = 10.0 ** rng.uniform(-3, 3) if scale is None else scale
    return scale * rng.normal(size=shape)


def _scales(rng, k):
    """Gradient scales for k hidden cases: ordinary ones plus the extremes 1e-8 and 1e8."""
    extremes = [1e-8, 1e8]
    return [extremes[i] if i < 2 else 10.0 ** rng.uniform(-3, 3) for i in range(k)]


def _t(rng, i):
    return 1 if i % 3 == 0 else int(rng.integers(2, 2000))


def hidden_cases(name: str, rng: np.random.Generator) -> list[dict]:
    """Randomized cases for the batch grader, drawn from ``rng`` (seeded from the grading seed)."""
    if name == "gd_step":
        cases = []
        for s in _scales(rng, 6):
            shape = _shape(rng)
            cases.append(
                _case(
                    f"random {shape} array, gradient scale {s:.0e}",
                    args={
                        "x": _values(rng, shape, 1.0),
                        "grad": _values(rng, shape, s),
                        "lr": float(10 ** rng.uniform(-4, 0)) / max(s, 1.0),
                    },
                )
            )
        return cases
    if name == "numerical_gradient":
        cases = []
        for _ in range(2):
            M = rng.normal(size=(3, 3))
            cases.append(
                _case(
                    "random quadratic in 3-D, h = 1e-3",
                    args={
                        "f": {"__fn__": "quadratic", "args": {"A": M @ M.T + np.eye(3), "b": rng.normal(size=3)}},
                        "x": rng.normal(size=3),
                        "h": 1e-3,
                    },
                )
            )
        cases.append(
            _case(
                "Rosenbrock at a random point, h = 1e-4",
                args={"f": {"__fn__": "rosenbrock"}, "x": rng.uniform(-1.5, 1.5, size=2), "h": 1e-4},
            )
        )
        n = int(rng.integers(2, 6))
        cases.append(
            _case(
                f"log-sum-exp in {n}-D, h = 1e-5",
                args={
                    "f": {"__fn__": "logsumexp", "args": {"W": rng.normal(size=(4, n)), "c": rng.normal(size=4)}},
                    "x": rng.normal(size=n),
                    "h": 1e-5,
                },
            )
        )
        return cases
    if name == "largest_stable_lr":
        cases = []
        for _ in range(2):
            kappa, angle = float(10 ** rng.uniform(0.5, 3)), float(rng.uniform(5, 85))
            cases.append(
                _case("rotated 2-D bowl", args={"A": float(10 ** rng.uniform(-1, 1)) * _rotated(kappa, angle)})
            )
        n = int(rng.integers(3, 7))
        M = rng.normal(size=(n, n))
        cases.append(_case(f"random {n} x {n} positive definite matrix", args={"A": M @ M.T + 0.1 * np.eye(n)}))
        cases.append(_case("diagonal matrix", args={"A": np.diag(10 ** rng.uniform(-2, 2, size=4))}))
        return cases
    if name == "minibatch_indices":
        cases = []
        for _ in range(4):
            n = int(rng.integers(5, 300))
            bs = int(rng.integers(1, n + 1))
            cases.append(
                _case(
                    "random n, batch_size and seed",
                    args={"n": n, "batch_size": bs, "seed": int(rng.integers(0, 2**31))},
                )
            )
        n = int(rng.integers(2, 50)) * 4
        cases.append(
            _case("n divisible by batch_size", args={"n": n, "batch_size": 4, "seed": int(rng.integers(0, 999))})
        )
        return cases
    if name == "sgd":
        cases = []
        for _ in range(2):
            k, bs = int(rng.integers(2, 6)), int(rng.integers(8, 40))
            batches = [np.sort(rng.choice(1347, size=bs, replace=False)) for _ in range(k)]
            cases.append(
                _case(
                    f"{k} random batches of {bs}",
                    args={
                        "grad_fn": {"__fn__": "digits_grad", "args": {"l2": float(rng.choice([0.0, 1e-3, 1e-2]))}},
                        "w0": 0.01 * rng.normal(size=650),
                        "lr": float(10 ** rng.uniform(-2, 0)),
                        "batches": batches,
                    },
                )
            )
        return cases
    if name in ("momentum_step", "nesterov_step"):
        cases = []
        for i, s in enumerate(_scales(rng, 5)):
            shape = _shape(rng)
            buf = np.zeros(shape) if i == 2 else _values(rng, shape, s)
            cases.append(
                _case(
                    f"random {shape} arrays, gradient scale {s:.0e}",
                    args={
                        "params": _values(rng, shape, 1.0),
                        "grad": _values(rng, shape, s),
                        "buf": buf,
                        "lr": float(10 ** rng.uniform(-3, -1)),
                        "momentum": float(rng.uniform(0.5, 0.99)),
                    },
                )
            )
        shape = _shape(rng)
        cases.append(
            _case(
                "6 steps in a row",
                mode="rollout",
                args={
                    "params": _values(rng, shape, 1.0),
                    "buf": np.zeros(shape),
                    "lr": 0.01,
                    "momentum": float(rng.uniform(0.5, 0.99)),
                },
                grads=rng.normal(size=(6, *shape)),
            )
        )
        return cases
    if name in ("adagrad_step", "rmsprop_step"):
        cases = []
        state = "sum_sq" if name == "adagrad_step" else "v"
        for i, s in enumerate(_scales(rng, 5)):
            shape = _shape(rng)
            args = {
                "params": _values(rng, shape, 1.0),
                "grad": _values(rng, shape, s),
                state: np.zeros(shape) if i % 2 == 0 else np.abs(_values(rng, shape, s * s)),
                "lr": float(10 ** rng.uniform(-3, -1)),
            }
            if name == "rmsprop_step":
                args["alpha"] = float(rng.uniform(0.8, 0.999))
            args["eps"] = float(10 ** rng.uniform(-10, -6))
            cases.append(_case(f"random {shape} arrays, gradient scale {s:.0e}", args=args))
        shape = _shape(rng)
        args = {"params": _values(rng, shape, 1.0), state: np.zeros(shape), "lr": 0.05}
        if name == "rmsprop_step":
            args["alpha"] = 0.9
        args["eps"] = 1e-8
        cases.append(_case("6 steps in a row", mode="rollout", args=args, grads=rng.normal(size=(6, *shape))))
        return cases
    if name == "ema_update":
        return [
            _case(
                "random arrays",
                args={
                    "avg": _values(rng, sh, 1.0),
                    "x": _values(rng, sh, 1.0),
                    "beta": float(rng.uniform(0.05, 0.999)),
                },
            )
            for sh in (_shape(rng), _shape(rng), _shape(rng))
        ]
    if name == "debiased_ema":
        cases = []
        for _ in range(3):
            T, n = int(rng.integers(2, 30)), int(rng.integers(1, 4))
            cases.append(
                _case(
                    f"random sequence of {T} vectors",
                    args={"xs": rng.normal(1.0, 2.0, size=(T, n)), "beta": float(rng.uniform(0.5, 0.999))},
                )
            )
        return cases
    if name in ("adam_step", "adamw_step", "amsgrad_step"):
        cases = []
        for i, s in enumerate(_scales(rng, 7)):
            shape = _shape(rng)
            t = _t(rng, i)
            b1, b2 = float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.9999))
            zero_state = t == 1
            m = np.zeros(shape) if zero_state else _values(rng, shape, s)
            v = np.zeros(shape) if zero_state else np.abs(_values(rng, shape, s * s))
            grads = np.zeros(shape) if i == 3 else _values(rng, shape, s)
            args = _adam_args(
                _values(rng, shape, 1.0),
                grads,
                m,
                v,
                t,
                float(10 ** rng.uniform(-4, -1)),
                (b1, b2),
                float(10 ** rng.uniform(-10, -6)),
            )
            if name == "amsgrad_step":
                args["v_max"] = v if zero_state else v * rng.uniform(0.5, 2.0, size=shape)
            if name == "adamw_step":
                args["weight_decay"] = float(10 ** rng.uniform(-3, -0.5))
            label = f"random {shape} arrays, t = {t}" + (", zero gradients" if i == 3 else f", gradient scale {s:.0e}")
            cases.append(_case(label, args=args))
        shape = _shape(rng)
        args = _adam_args(_values(rng, shape, 1.0), None, np.zeros(shape), np.zeros(shape), 1, 0.05)
        if name == "amsgrad_step":
            args["v_max"] = np.zeros(shape)
        if name == "adamw_step":
            args["weight_decay"] = 0.1
        scale = np.where(np.arange(8) < 2, 5.0, 0.2).reshape(8, *([1] * len(shape)))  # big, then small gradients
        cases.append(
            _case(
                "8 steps in a row, state carried over",
                mode="rollout",
                args=args,
                grads=scale * rng.normal(size=(8, *shape)),
            )
        )
        return cases
    if name == "adam_step_torch":
        cases = []
        for dtype, device in (("float64", "cpu"), ("float32", "cpu"), ("float32", "meta"), ("float64", "meta")):
            shape = _shape(rng)
            t = int(rng.integers(1, 50))
            args = _adam_args(
                _values(rng, shape, 1.0),
                _values(rng, shape, 1.0),
                _values(rng, shape, 0.1),
                np.abs(_values(rng, shape, 0.01)),
                t,
                1e-2,
            )
            cases.append(
                _case(f"torch {dtype} on {device}, t = {t}", args=args, backend="torch", dtype=dtype, device=device)
            )
        shape = _shape(rng)
        cases.append(
            _case(
                "torch float32, 4 steps in a row",
                mode="rollout",
                args=_adam_args(_values(rng, shape, 1.0), None, np.zeros(shape), np.zeros(shape), 1, 0.05),
                grads=rng.normal(size=(4, *shape)),
                backend="torch",
                dtype="float32",
            )
        )
        return cases
    if name == "reddi_trajectory":
        C = float(rng.uniform(3, 10))
        alpha = float(rng.uniform(0.2, 1.0))
        steps = int(rng.integers(600, 1200))
        return [
            _case(
                f"{'AMSGrad' if ams else 'Adam'}, random C, alpha and length",
                args={"C": C, "steps": steps, "alpha": alpha, "amsgrad": ams},
            )
            for ams in (False, True)
        ]
    if name == "choose_hyperparameters":
        return [
            {"label": f"training run {i + 1} (random initial weights and batch order)", "seed": int(s)}
            for i, s in enumerate(rng.integers(1, 10**6, size=4))
        ]
    raise KeyError(name)


def check_registry():
    """Every auto-graded question has a reference, and every wrong variant a message; raises ValueError."""
    for name, q in QUESTIONS.items():
        if q.kind == "written":
            continue
        if name not in REFERENCES:
            raise ValueError(f"question {name!r} has no reference implementation")
    for name, variants in VARIANTS.items():
        if name not in QUESTIONS:
            raise ValueError(f"wrong variants registered for unknown question {name!r}")
        unknown = sorted(set(variants) - set(QUESTIONS[name].mistakes))
        if unknown:
            raise ValueError(
                f"{name}: wrong variants {unknown} have no message in the question's mistakes "
                f"(known: {sorted(QUESTIONS[name].mistakes)})"
            )


check_registry()  # at import: a typo in a mistake key fails loudly, before anything is graded
