"""The conventions around Adam that the lectures compare, each against a tiny NumPy reference
written out from ``reference/optimizer-semantics.md``: where eps goes, the three AMSGrad rules,
no bias correction, L2 vs decoupled weight decay, and Reddi et al.'s counterexample."""

import numpy as np
import pytest

from course_utils import optim
from course_utils.optim import schedules

BETAS = (0.9, 0.99)


def moments(grads, beta1=BETAS[0], beta2=BETAS[1]):
    """Kingma & Ba's m_t and v_t, step by step: the part every variant shares."""
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        yield t, m, v


def algorithm1(grads, eps=1e-8, beta1=BETAS[0], beta2=BETAS[1]):
    """Algorithm 1: m_hat / (sqrt(v_hat) + eps)."""
    return np.stack(
        [(m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps) for t, m, v in moments(grads, beta1, beta2)]
    )


def eps_inside(grads, eps=1e-8, beta1=BETAS[0], beta2=BETAS[1]):
    """m_hat / sqrt(v_hat + eps)."""
    return np.stack([(m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps) for t, m, v in moments(grads)])


def no_bias_correction(grads, eps=1e-8):
    """m / (sqrt(v) + eps)."""
    return np.stack([m / (np.sqrt(v) + eps) for _, m, v in moments(grads)])


def amsgrad_pytorch(grads, eps=1e-8, beta1=BETAS[0], beta2=BETAS[1]):
    """torch and Keras: the maximum of the raw v, divided by the *current* 1 - beta2^t."""
    v_max, out = 0.0, []
    for t, m, v in moments(grads):
        v_max = np.maximum(v_max, v)
        out.append((m / (1 - beta1**t)) / (np.sqrt(v_max) / np.sqrt(1 - beta2**t) + eps))
    return np.stack(out)


def amsgrad_corrected(grads, eps=1e-8, beta1=BETAS[0], beta2=BETAS[1]):
    """optax's default: the maximum of the bias-corrected v_hat."""
    v_hat_max, out = 0.0, []
    for t, m, v in moments(grads):
        v_hat_max = np.maximum(v_hat_max, v / (1 - beta2**t))
        out.append((m / (1 - beta1**t)) / (np.sqrt(v_hat_max) + eps))
    return np.stack(out)


def amsgrad_paper(grads, eps=1e-8):
    """Reddi, Kale & Kumar (2018) Algorithm 2: the maximum of the raw v, no bias correction at all."""
    v_max, out = 0.0, []
    for _, m, v in moments(grads):
        v_max = np.maximum(v_max, v)
        out.append(m / (np.sqrt(v_max) + eps))
    return np.stack(out)


def directions(transform, grads):
    """The transform's output for each gradient of the sequence (no params needed)."""
    state = transform.init(grads[0])
    out = []
    for g in grads:
        d, state = transform.update(g, state)
        out.append(d)
    return np.stack(out)


def grads_without_zeros(steps=40, shape=(6,)):
    return np.random.default_rng(1).standard_t(2, size=(steps, *shape))


TIGHT = {"rtol": 1e-12, "atol": 1e-15}


# --- where eps goes ----------------------------------------------------------------------------


def test_eps_hat_is_the_keras_efficient_form(problem, run_ours):
    """Kingma & Ba Section 2: alpha_t = lr sqrt(1-beta2^t)/(1-beta1^t), p -= alpha_t m/(sqrt(v)+eps_hat)."""
    lr, eps_hat = 1e-3, 1e-7
    params, grads = problem(scale=1e-6)  # gradients of size 1e-6: here eps is not negligible
    p, m, v, keras = params, 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = BETAS[0] * m + (1 - BETAS[0]) * g
        v = BETAS[1] * v + (1 - BETAS[1]) * g * g
        alpha_t = lr * np.sqrt(1 - BETAS[1] ** t) / (1 - BETAS[0] ** t)
        p = p - alpha_t * m / (np.sqrt(v) + eps_hat)
        keras.append(p.ravel())
    hat = optim.chain(optim.scale_by_adam(BETAS, eps=eps_hat, eps_placement="hat"), optim.scale_by_lr(lr))
    _, ours = run_ours(hat, params, grads)
    np.testing.assert_allclose(ours, np.stack(keras), **TIGHT)
    # and it is not Algorithm 1 with the same eps: the steps differ by more than 1%
    outside = optim.chain(optim.scale_by_adam(BETAS, eps=eps_hat), optim.scale_by_lr(lr))
    _, algorithm_1 = run_ours(outside, params, grads)
    steps_hat, steps_1 = ours - params.ravel(), algorithm_1 - params.ravel()
    assert np.max(np.abs(steps_hat - steps_1)) > 0.01 * np.max(np.abs(steps_1))


def test_eps_inside_the_square_root(problem):
    _, grads = problem(scale=1e-4)
    ours = directions(optim.scale_by_adam(BETAS, eps=1e-8, eps_placement="inside"), grads)
    np.testing.assert_allclose(ours, eps_inside(grads), **TIGHT)
    assert not np.allclose(ours, algorithm1(grads), rtol=1e-2)


def test_eps_outside_is_algorithm_1(problem):
    _, grads = problem(scale=1e-4)
    np.testing.assert_allclose(
        directions(optim.scale_by_adam(BETAS, eps=1e-6), grads), algorithm1(grads, 1e-6), **TIGHT
    )


@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("amsgrad", [False, True, "corrected", "paper"])
def test_with_eps_zero_its_placement_does_not_matter(amsgrad, bias_correction):
    grads = grads_without_zeros()
    results = [
        directions(
            optim.scale_by_adam(BETAS, 0.0, amsgrad=amsgrad, bias_correction=bias_correction, eps_placement=p), grads
        )
        for p in ("outside", "inside", "hat")
    ]
    np.testing.assert_allclose(results[1], results[0], **TIGHT)
    np.testing.assert_allclose(results[2], results[0], **TIGHT)


# --- the three AMSGrad rules -------------------------------------------------------------------

AMSGRAD_RULES = {
    True: amsgrad_pytorch,
    "pytorch": amsgrad_pytorch,
    "corrected": amsgrad_corrected,
    "paper": amsgrad_paper,
}


@pytest.mark.parametrize("amsgrad", list(AMSGRAD_RULES))
def test_amsgrad_variants_follow_their_rule(amsgrad, problem):
    _, grads = problem()
    ours = directions(optim.scale_by_adam(BETAS, amsgrad=amsgrad), grads)
    np.testing.assert_allclose(ours, AMSGRAD_RULES[amsgrad](grads), **TIGHT)


def test_the_three_amsgrad_rules_give_three_trajectories(problem, run_ours):
    params, grads = problem()
    finals = {}
    for rule in ["pytorch", "corrected", "paper"]:
        _, path = run_ours(optim.adam(lr=0.05, betas=BETAS, amsgrad=rule), params, grads)
        finals[rule] = path[-1]
    _, plain = run_ours(optim.adam(lr=0.05, betas=BETAS), params, grads)
    rules = list(finals)
    for i, a in enumerate(rules):
        assert np.max(np.abs(finals[a] - plain[-1])) > 1e-2, a
        for b in rules[i + 1 :]:
            assert np.max(np.abs(finals[a] - finals[b])) > 1e-2, (a, b)


def test_amsgrad_paper_is_amsgrad_without_bias_correction(problem):
    _, grads = problem()
    paper = directions(optim.scale_by_adam(BETAS, amsgrad="paper"), grads)
    np.testing.assert_array_equal(
        paper, directions(optim.scale_by_adam(BETAS, amsgrad=True, bias_correction=False), grads)
    )


def test_without_bias_correction(problem):
    _, grads = problem()
    ours = directions(optim.scale_by_adam(BETAS, bias_correction=False), grads)
    np.testing.assert_allclose(ours, no_bias_correction(grads), **TIGHT)
    # m and v are underestimated by different factors, 1 - beta1^t and 1 - beta2^t: the steps differ
    assert not np.allclose(ours, algorithm1(grads), rtol=1e-2)


def test_the_first_adam_step_has_size_lr_whatever_the_gradient_scale():
    g = np.array([1e-3, 5.0, -1e4])
    opt = optim.adam(lr=1e-3)
    updates, _ = opt.update(g, opt.init(g), g)
    np.testing.assert_allclose(updates, -1e-3 * np.sign(g), rtol=1e-4)


# --- L2 is not weight decay --------------------------------------------------------------------


def test_l2_and_decoupled_weight_decay_differ_and_each_matches_torch(problem, run_ours, run_torch):
    params, grads = problem()
    _, l2 = run_ours(optim.adam(lr=0.05, weight_decay=0.5), params, grads)
    _, decoupled = run_ours(optim.adamw(lr=0.05, weight_decay=0.5), params, grads)
    np.testing.assert_allclose(l2, run_torch("adam", {"lr": 0.05, "weight_decay": 0.5}, params, grads), rtol=1e-9)
    np.testing.assert_allclose(
        decoupled, run_torch("adamw", {"lr": 0.05, "weight_decay": 0.5}, params, grads), rtol=1e-9
    )
    assert np.max(np.abs(l2[-1] - decoupled[-1])) > 0.05
    _, also_decoupled = run_ours(optim.adam(lr=0.05, weight_decay=0.5, decoupled_weight_decay=True), params, grads)
    np.testing.assert_array_equal(also_decoupled, decoupled)


# --- Reddi, Kale & Kumar (2018), Section 3 -----------------------------------------------------


def reddi_counterexample(C, amsgrad, steps=3000, alpha=0.5):
    """f_t(x) = C x if t mod 3 == 1 else -x on [-1, 1]; the optimum is x = -1.

    Adam with beta1 = 0, beta2 = 1/(1+C^2), lr_t = alpha/sqrt(t), projected by clipping; three
    starting points at once. Returns the final x and the average regret R_T / T.
    """
    x = np.array([-1.0, 0.0, 1.0])
    opt = optim.adam(lr=schedules.inverse_sqrt(alpha), betas=(0.0, 1 / (1 + C**2)), amsgrad=amsgrad)
    state, regret = opt.init(x), np.zeros_like(x)
    for t in range(1, steps + 1):
        g = np.full_like(x, C if t % 3 == 1 else -1.0)
        regret += g * (x + 1)  # f_t(x_t) - f_t(-1)
        updates, state = opt.update(g, state, x)
        x = np.clip(optim.apply_updates(x, updates), -1.0, 1.0)
    return x, regret / steps


@pytest.mark.parametrize("C", [3.0, 10.0])
def test_reddi_counterexample_adam_goes_to_the_worst_point(C):
    x, average_regret = reddi_counterexample(C, amsgrad=False)
    np.testing.assert_array_equal(x, 1.0)
    # regret grows linearly: 2(C-2)/3 per step, the gap between x = +1 and the optimum
    np.testing.assert_allclose(average_regret, 2 * (C - 2) / 3, rtol=0.03)


@pytest.mark.parametrize("amsgrad", [True, "corrected", "paper"])
@pytest.mark.parametrize("C", [3.0, 10.0])
def test_reddi_counterexample_amsgrad_goes_to_the_optimum(C, amsgrad):
    x, average_regret = reddi_counterexample(C, amsgrad=amsgrad)
    assert np.all(x < -0.9), x
    assert np.all(average_regret < 0.1 * 2 * (C - 2) / 3), average_regret
