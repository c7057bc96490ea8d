"""The student-facing check()/hint(): honest reports, never a crash, known mistakes named exactly.

Every known wrong variant (course_utils/instructor/hidden/<assignment>.py) is fed to check() and the
diagnostic message is pinned: literally for the Adam family, and for the others against the
message in course_utils/grading/questions/<assignment>.py (one source for the wording).
"""

import re
import time

import numpy as np
import pytest

from course_utils.grading import QUESTIONS, check, evaluate, hint
from course_utils.grading import feedback as fb
from course_utils.instructor import hidden

AUTO = [n for n, q in QUESTIONS.items() if q.graded_by == "function"]
VARIANT_CASES = [(q, v) for q in AUTO for v in hidden.VARIANTS.get(q, {})]


@pytest.mark.parametrize("name", AUTO)
def test_reference_passes_every_public_check(name):
    result = evaluate(name, hidden.REFERENCES[name])
    assert result.status == "passed", str(result)
    assert str(result).endswith("Public checks passed: this is not your grade; hidden randomized checks grade it.")


@pytest.mark.parametrize(("name", "variant"), VARIANT_CASES, ids=[f"{q}-{v}" for q, v in VARIANT_CASES])
def test_each_wrong_variant_fails_and_is_named(name, variant):
    result = evaluate(name, hidden.VARIANTS[name][variant])
    assert result.status == "failed", str(result)
    assert result.diagnosis == QUESTIONS[name].mistakes[variant]
    assert f"Likely mistake: {result.diagnosis}" in str(result)


ADAM_MESSAGES = {
    "off_by_one_plus": "bias correction off by one: at step t divide by 1 - beta**t (t = 1 on the first step), "
    "not 1 - beta**(t + 1).",
    "off_by_one_minus": "bias correction off by one: you used beta**(t - 1), which divides by zero on the first "
    "step. Use 1 - beta**t.",
    "eps_inside": "eps is inside the square root. Kingma & Ba (and torch) add it after: m_hat / (sqrt(v_hat) + eps).",
    "no_one_minus": "the (1 - beta) factors are missing: m = beta1 * m + (1 - beta1) * g, "
    "v = beta2 * v + (1 - beta2) * g**2.",
    "only_m_corrected": "only m is bias-corrected. Correct v too: v_hat = v / (1 - beta2**t).",
    "no_correction": "no bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t.",
    "not_carried": "the state is not carried over: you ignored the incoming state (or restarted it from zero). "
    "Use the arguments you receive and return the updated state.",
    "mutates": "your function changed its input arrays in place (e.g. `m *= beta1` or `params -= ...`). Build new "
    "arrays instead (`m = beta1 * m + ...`): the caller may still need the old values.",
}


@pytest.mark.parametrize("variant", sorted(ADAM_MESSAGES))
def test_adam_diagnostics_pinned(variant):
    assert evaluate("adam_step", hidden.VARIANTS["adam_step"][variant]).diagnosis == ADAM_MESSAGES[variant]


def test_l2_instead_of_decoupled_decay_is_named():
    result = evaluate("adamw_step", hidden.VARIANTS["adamw_step"]["l2"])
    assert result.diagnosis == (
        "that is L2 regularization (grads + weight_decay * params fed into m and v), which is torch.optim.Adam's "
        "weight_decay. AdamW decays the parameters directly: params * (1 - lr * weight_decay)."
    )


def test_full_report_for_eps_inside_is_pinned(capsys):
    check("adam_step", hidden.VARIANTS["adam_step"]["eps_inside"])
    assert capsys.readouterr().out == (
        "adam_step (one Adam step (NumPy)): 4 of 7 public checks passed.\n"
        "  ✗ first step (t = 1): the step (new params - params) differs from the expected value "
        "(largest difference 4.0e-10)\n"
        "  ✓ zero gradients at t = 1\n"
        "  ✗ zero gradients with earlier state (t = 5): the step (new params - params) differs from the expected "
        "value (largest difference 2.8e-11)\n"
        "  ✗ tiny gradients (1e-8) at t = 1: `params` differs from the expected value (largest difference 6.7e-04)\n"
        "  ✓ huge gradients (1e8) at t = 1\n"
        "  ✓ t = 10, matrix parameters, betas = (0.8, 0.99), lr = 0.01\n"
        "  ✓ 5 steps in a row, state carried over\n"
        f"Likely mistake: {ADAM_MESSAGES['eps_inside']}\n"
        'Need help? hint("adam_step") gives a hint; call it again for a more detailed one.\n'
    )


def test_torch_version_must_not_use_numpy():
    def numpy_adam(params, grads, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        b1, b2 = betas
        m = b1 * m + (1 - b1) * grads
        v = b2 * v + (1 - b2) * grads**2
        return params - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps), m, v

    assert evaluate("adam_step", numpy_adam).passed
    result = evaluate("adam_step_torch", numpy_adam)
    assert not result.passed
    assert "meta" in str(result) and "can't convert meta device type tensor to numpy" in str(result)


def test_not_implemented_is_reported_plainly(capsys):
    def adam_step(*args):
        raise NotImplementedError

    check("adam_step", adam_step)
    assert capsys.readouterr().out == (
        "adam_step (one Adam step (NumPy)): not implemented yet. Write your answer in the function above, run its "
        "cell, then run this check again.\n"
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (lambda x, grad, lr: None, "`x` is None: did you forget to `return` it?"),
        (lambda x, grad, lr: (x, x), "`x` has shape (2, 3); expected (3,)"),
        (lambda x, grad, lr: "x", "`x` must be an array or a number, got str"),
        (lambda x, grad, lr: 1 / 0, "raised ZeroDivisionError: division by zero"),
        (lambda x, grad, lr: exec("raise SystemExit(3)"), "raised SystemExit: 3"),
        (lambda x: x, "raised TypeError"),
        (lambda x, grad, lr: x[:1] - lr * grad[:1], "`x` has shape (1,); expected (3,)"),
        (lambda x, grad, lr: x - lr * grad + np.nan, "`x` contains NaN or inf"),
    ],
)
def test_broken_answers_never_crash_the_notebook(answer, expected):
    result = evaluate("gd_step", answer)
    assert result.status == "failed"
    assert expected in str(result)


def test_infinite_loop_is_stopped_by_the_time_limit():
    def gd_step(x, grad, lr):
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # a student's catch-all must not swallow the time limit
                pass

    start = time.perf_counter()
    result = evaluate("gd_step", gd_step, time_limit=0.3)
    # only a bound against hanging: 200x the limit, so that a loaded machine cannot fail it
    assert time.perf_counter() - start < 60
    assert result.status == "timeout"
    assert "Stopped after 0.3 s: is there an infinite loop, or a very slow one?" in str(result)


def test_wrong_argument_kinds_are_explained(capsys):
    check("gd_step", 3.0)
    check("no_such_question", print)
    check("gd_zigzag", print)
    out = capsys.readouterr().out
    assert "pass the function itself, e.g. check('gd_step', gd_step), not its result (got float)." in out
    assert "there is no question 'no_such_question'." in out
    assert "written answers are graded by hand" in out


def test_hints_come_in_three_levels(capsys):
    fb._hint_levels.clear()
    for _ in range(4):
        hint("adam_step")
    hint("adam_step", level=1)
    out = capsys.readouterr().out
    assert out.count("Hint 1 of 3 for adam_step") == 2
    assert out.count("Hint 2 of 3 for adam_step") == 1
    assert out.count("Hint 3 of 3 for adam_step (the last one)") == 2
    assert QUESTIONS["adam_step"].hints[2] in out


def test_every_auto_question_has_three_hints_and_points():
    for name, q in QUESTIONS.items():
        assert q.points > 0
        if q.graded_by != "written":
            assert len(q.hints) == 3, name


def test_tuning_check_trains_and_reports(capsys):
    check("choose_hyperparameters", hidden.REFERENCES["choose_hyperparameters"])
    check("choose_hyperparameters", lambda: {"optimizer": "lbfgs", "lr": 1.0, "batch_size": 8})
    check("choose_hyperparameters", lambda: {"optimizer": "adam", "lr": 1e-3, "batch_size": 64})
    out = capsys.readouterr().out.split("choose_hyperparameters (")
    assert "✓ seed 0: validation loss after 300 steps = 0.0998 (must be below 0.12)" in out[1]
    assert "optimizer must be one of sgd, adagrad, rmsprop, adam, adamw, nadam, adamax; got 'lbfgs'" in out[2]
    assert "✗ seed 0: validation loss after 300 steps = 0.4487 (must be below 0.12): above the threshold" in out[3]


# The last rung of every hint ladder is a worked explanation (why, with a small numeric example), never
# the answer's code. Code is recognised by what an explanation in words and numbers does not need: the
# keyword `return`, a loop header, a NumPy or torch call, an in-place operator, or an assignment whose
# right-hand side combines variables (`buf = momentum * buf + grad`, `v_max = max(v_max, v)`), in
# backticks or not; the right-hand side ends at a sentence's end or a closing parenthesis. A worked
# equation between numbers and symbols (`m_1 = 0.1 · 2 = 0.2`, `u = max(0.999 · 0, 0.5)`) is allowed.
_CODE_SIGNS = {
    "a return statement": re.compile(r"\breturn\b"),
    "a loop header": re.compile(r"\bfor\s+\w+(\s*,\s*\w+)*\s+in\b"),
    "a NumPy or torch call": re.compile(r"\b(np|numpy|torch)\.\w+"),
    "an in-place operator": re.compile(r"[-+*/]=(?!=)"),
    "an assignment of an expression in variables": re.compile(
        r"(?<![\w.=!<>])[A-Za-z_]\w*(\[[^\]]*\])?\s*=(?!=)(?:[^=,;:.)]|\.(?=\S))*?"
        r"(\b[A-Za-z_]\w*(\s*[-+*/]|[(.[][A-Za-z_])|[-+*/]\s*[A-Za-z_]\w*\b)"
    ),
}


def code_in_hint(text):
    """The kinds of answer code found in a hint (an empty list for a worked explanation)."""
    return [label for label, rx in _CODE_SIGNS.items() if rx.search(text)]


def test_code_in_a_hint_is_recognised():
    code = [
        "`buf = momentum * buf + grad`; `return params - lr * buf, buf`.",
        "One line: return x - lr * grad",
        "`avg = np.zeros_like(xs[0])`, then loop.",
        "for t, x in enumerate(xs, start=1): append the corrected value",
        "never write m *= beta1",
        "v_max = max(v_max, v), then divide",
        "`L = np.linalg.eigvalsh(A).max()`, then return 2 / L.",
        "`order[i:i + batch_size]` with order = rng.permutation(n)",
        "Second loop: r = r + s (a - b) = (2, 3).",
    ]
    assert [bool(code_in_hint(s)) for s in code] == [True] * len(code)
    words = [
        "Worked example: m_1 = 0.1 · 2 = 0.2 and v_1 = 0.001 · 4 = 0.004, so the step is 0.1 · 2/(2 + ε) ≈ 0.1 = η.",
        "At t = 1 the factor is 1 - β = 0.1; for β = 0.9 the window is 1/(1 - β) = 10 steps.",
        "η < 2/10 = 0.2, and θ = (1, -2) moves to (0.95, -2.1).",
        "With tol = 0.1. The step must satisfy 1 / sqrt(1 - 0.9**t) <= 1.1, and u = max(0.999 * 0, 0.5) = 0.5.",
    ]
    assert [code_in_hint(s) for s in words] == [[]] * len(words)


@pytest.mark.parametrize("name", [n for n, q in QUESTIONS.items() if q.hints])
def test_the_last_hint_is_a_worked_explanation_not_the_answer_code(name):
    last = QUESTIONS[name].hints[-1]
    assert code_in_hint(last) == [], last
    assert any(ch.isdigit() for ch in last), "the worked explanation has a small numeric example"


# A design question's named mistakes are fingerprints of a failed run (tuning.config_mistake): each comes with a
# configuration that shows it, and check() must name exactly that one on seed 0.
CONFIG_CASES = [(q, v) for q, wrong in hidden.WRONG_CONFIGS.items() for v in wrong]


@pytest.mark.parametrize(("name", "variant"), CONFIG_CASES, ids=[f"{q}-{v}" for q, v in CONFIG_CASES])
def test_each_wrong_configuration_is_named(name, variant):
    result = evaluate(name, hidden.WRONG_CONFIGS[name][variant])
    assert result.status == "failed"
    assert result.diagnosis == QUESTIONS[name].mistakes[variant]


def test_design_questions_name_at_least_three_fingerprints_and_none_for_a_pass():
    from course_utils.grading import tuning

    for name in hidden.WRONG_CONFIGS:
        assert len(QUESTIONS[name].mistakes) >= 3, name
        assert evaluate(name, hidden.REFERENCES[name]).diagnosis is None
    adam = {"optimizer": "adam", "lr": 1e-3, "batch_size": 8}
    assert tuning.config_mistake(adam, [0.05, 0.11]) is None  # every run passed: nothing to name
    assert tuning.config_mistake(adam, [0.05, 0.5]) == "too_cautious"  # checked before the small batch
    assert tuning.config_mistake({**adam, "lr": 0.01}, [float("inf")]) == "diverged"
    assert tuning.config_mistake({**adam, "lr": 0.01}, [2.4]) == "diverged"  # worse than guessing (ln 10)
    assert tuning.config_mistake({**adam, "lr": 0.01, "batch_size": 64}, [0.2]) is None  # no fingerprint fits
    assert tuning.config_mistake({"optimizer": "sgd", "lr": 5.0, "batch_size": 64}, [0.2]) == "ends_high"
    assert tuning.config_mistake({"optimizer": "sgd", "lr": 1.0, "batch_size": 64}, [0.2]) is None
