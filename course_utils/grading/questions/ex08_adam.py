# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex08: Adam. What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex08_adam"

_ADAM_MISTAKES = {
    "off_by_one_plus": "bias correction off by one: at step t divide by 1 - beta**t (t = 1 on the first step), not 1 - beta**(t + 1).",
    "off_by_one_minus": "bias correction off by one: you used beta**(t - 1), which divides by zero on the first step. Use 1 - beta**t.",
    "eps_inside": "eps is inside the square root. Kingma & Ba (and torch) add it after: m_hat / (sqrt(v_hat) + eps).",
    "no_one_minus": "the (1 - beta) factors are missing: m = beta1 * m + (1 - beta1) * g, v = beta2 * v + (1 - beta2) * g**2.",
    "only_m_corrected": "only m is bias-corrected. Correct v too: v_hat = v / (1 - beta2**t).",
    "no_correction": "no bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t.",
    "grad_not_squared": "v must average the *squared* gradients (g * g), not the gradients.",
    "no_eps": "eps is missing: with zero gradients you divide 0 by 0. Add eps after the square root.",
    "not_carried": NOT_CARRIED,
    "mutates": MUTATES,
}
_ADAM_HINTS = (
    "Adam = momentum's EMA of gradients (m) + RMSprop's EMA of squared gradients (v) + bias correction of both.",
    "m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; m_hat = m / (1-b1^t); v_hat = v / (1-b2^t); "
    "params - lr * m_hat / (sqrt(v_hat) + eps).",
    "Write it with + - * / and `v_hat ** 0.5` (not np.sqrt), so the same code runs on NumPy arrays and torch tensors; "
    "never use `*=` or `+=` on the inputs; return `(new_params, m, v)`.",
)
# Both questions grade the same function, once on NumPy arrays and once on torch tensors.
_ADAM_SIGNATURE = {
    "function": "adam_step",
    "params": ("params", "grads", "m", "v", "t", "lr", "betas", "eps"),
    "returns": ("params", "m", "v"),
    "state": ("params", "m", "v"),
    "grad_arg": "grads",
    "t_arg": "t",
}
QUESTIONS = (
    Question(
        name="adam_step",
        assignment=ASSIGNMENT,
        kind="paper",
        points=5,
        title="one Adam step (NumPy)",
        **_ADAM_SIGNATURE,
        hints=_ADAM_HINTS,
        mistakes=_ADAM_MISTAKES,
    ),
    Question(
        name="adam_step_torch",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="the same Adam step on torch tensors (any dtype, any device)",
        **_ADAM_SIGNATURE,
        hints=(
            "torch tensors support + - * / and ** just like NumPy arrays; np.sqrt and .numpy() do not keep them tensors.",
            "Return tensors of the same dtype and on the same device as the inputs. We test float32, float64 and torch's "
            "'meta' device, which has no data at all: any conversion to NumPy fails there.",
            "Replace `np.sqrt(v_hat)` by `v_hat ** 0.5`, avoid `np.zeros_like`/`np.array(...)` on the inputs, and do not "
            "create tensors on a fixed device.",
        ),
        mistakes={
            "mutates": "your function changed its input tensors in place (e.g. `m.mul_(beta1)` or `m *= beta1`). "
            "Build new tensors instead.",
            **{k: v for k, v in _ADAM_MISTAKES.items() if k != "mutates"},
        },
    ),
    Question(
        name="step_size_bound",
        assignment=ASSIGNMENT,
        kind="written",
        points=2,
        title="Adam's step size on the first step",
        prompt="On the first step (t = 1), how large is each coordinate's step, whatever the scale of the gradient? Why?",
    ),
)
