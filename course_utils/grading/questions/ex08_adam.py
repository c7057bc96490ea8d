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
    "Adam = momentum's EMA of gradients (m) + RMSprop's EMA of squared gradients (v) + bias correction of both, then a step of η m̂/(√v̂ + ε).",
    "Order: update m and v with this step's gradient, correct both with the step number t (t = 1 on the first call), then step. "
    "Use only + - * / and ** so that the same lines run on NumPy arrays and on torch tensors.",
    "Worked example, first step: g = 2, β1 = 0.9, β2 = 0.999, η = 0.1, m_0 = v_0 = 0. Then m_1 = 0.1 · 2 = 0.2 and v_1 = 0.001 · 4 = 0.004; "
    "the corrections divide by 1 - 0.9 = 0.1 and 1 - 0.999 = 0.001, giving m̂ = 2 and v̂ = 4, so the step is 0.1 · 2/(2 + ε) ≈ 0.1 = η. "
    "With g = 2000 the step is the same: on the first step every coordinate moves by about η, whatever its scale. "
    "Without the corrections the step would be 0.1 · 0.2/√0.004 ≈ 0.32; with t + 1 in the corrections it would be about 0.1 · 1.05/1.41 ≈ 0.075. "
    "Return the *raw* m and v: the next step corrects them again with its own t.",
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
        level="core",
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
        level="stretch",
        points=3,
        title="the same Adam step on torch tensors (any dtype, any device)",
        **_ADAM_SIGNATURE,
        hints=(
            "torch tensors support + - * / and ** just like NumPy arrays; np.sqrt and .numpy() do not keep them tensors.",
            "Return tensors of the same dtype and on the same device as the inputs. We test float32, float64 and torch's "
            "'meta' device, which has no data at all: any conversion to NumPy fails there.",
            "Worked explanation: a NumPy function given a tensor either converts it to a NumPy array (impossible on the 'meta' device and on a GPU) "
            "or returns a NumPy array, so the dtype and the device are lost. The power operator ** 0.5 and the arithmetic operators dispatch on the type of "
            "their operands: on float32 tensors they give float32 tensors on the same device, on NumPy arrays NumPy arrays. "
            "For example 4.0 ** 0.5 = 2.0 and a float32 tensor [4.0] ** 0.5 is the float32 tensor [2.0], on the tensor's device. "
            "Python numbers such as β1 or 1 - β2^t mix with either kind without changing it.",
        ),
        mistakes={
            "mutates": "your function changed its input tensors in place (e.g. `m.mul_(beta1)` or `m *= beta1`). "
            "Build new tensors instead.",
            **{k: v for k, v in _ADAM_MISTAKES.items() if k != "mutates"},
        },
    ),
    Question(
        name="fixed_adam_step",
        assignment=ASSIGNMENT,
        kind="bug",
        level="core",
        points=3,
        title="find the two bugs in a colleague's Adam step",
        function="fixed_adam_step",
        **{k: v for k, v in _ADAM_SIGNATURE.items() if k != "function"},
        hints=(
            "The code is written in Kingma & Ba's 'efficient' form (their Section 2): one scalar step size α_t absorbs both bias corrections. "
            "That form is fine. Compare its first step with torch.optim.Adam on a tiny case, then on tiny gradients (10⁻⁸).",
            "Look at two things: which step number the corrections use (the caller passes t = 1 on the first step, as in adam_step), "
            "and where ε sits relative to the square root.",
            "Worked explanation: Algorithm 1 divides by √v̂_t + ε = (√v_t + ε √(1 - β2^t))/√(1 - β2^t). In the efficient form ε therefore becomes "
            "ε √(1 - β2^t), added *after* the root of the raw v_t. ε inside the root damps tiny gradients: for g = 10⁻⁸ at t = 1, √v̂ + ε = 2·10⁻⁸, so "
            "torch's step is η/2, while a root taken *after* adding ε is at least √ε = 10⁻⁴, which makes the step thousands of times smaller. "
            "Counting t one step ahead makes the first corrections 1 - β1² = 0.19 instead of 0.1 and 1 - β2² ≈ 0.002 instead of 0.001: "
            "the first step becomes about 0.74 η instead of η. "
            "Both bugs change the result only slightly on ordinary gradients, which is why they survive casual testing.",
        ),
        mistakes={
            "as_given": "this is the given code's behaviour: both bugs are still there. Compare its first step with torch.optim.Adam, "
            "then its step on tiny gradients (10⁻⁸).",
            "t_still_shifted": "the step number is still shifted: the caller already passes t = 1 on the first step, so do not add 1 to it. "
            "The corrections at the first step are 1 - β1 and 1 - β2.",
            "eps_still_inside": "eps is still inside the square root. Kingma & Ba add it after the root of v̂_t; in this efficient form that is "
            "√v_t + ε √(1 - β2^t).",
            "eps_hat": "you add a constant ε to √v_t in the efficient form: that is Kingma & Ba's ε̂ (Keras's convention), a different method. "
            "To match Algorithm 1 and torch, the term added to √v_t is ε √(1 - β2^t).",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="adam_state_bytes",
        assignment=ASSIGNMENT,
        kind="derive",
        tolerance="an integer count below 2**53, exact in float64; rtol 1e-12 only absorbs a conversion to float, while every known mistake is off by a whole factor or a whole bias vector.",
        points=2,
        title="derive the memory of Adam's state for a multilayer perceptron",
        function="adam_state_bytes",
        params=("layer_sizes", "bytes_per_value", "amsgrad"),
        returns=("bytes",),
        level="stretch",
        rtol=1e-12,
        hints=(
            "Count the parameters first: a fully connected layer from n_in to n_out units has a weight matrix and a bias vector. "
            "Then count how many numbers Adam stores for each parameter.",
            "Adam's state is m and v, one number each per parameter (plus one step counter per tensor, which you can neglect here). "
            "AMSGrad keeps a third array, the running maximum of v. The parameters and gradients themselves are not optimizer state.",
            "Worked explanation: layer sizes (3, 4, 2) mean two layers, 3·4 + 4 = 16 and 4·2 + 2 = 10 parameters, 26 in all. "
            "Adam keeps 2 · 26 = 52 numbers, which in float32 (4 bytes each) is 208 bytes; with AMSGrad 3 · 26 · 4 = 312 bytes. "
            "The whole training state with parameters and gradients would be 4 · 26 · 4 = 416 bytes, but that is not what is asked.",
        ),
        mistakes={
            "no_bias": "you counted only the weight matrices. Each layer also has a bias vector of n_out parameters, and Adam keeps m and v for those too.",
            "one_moment": "you counted one number per parameter. Adam keeps two, m and v (three with AMSGrad).",
            "with_params": "you also counted the parameters and the gradients. They exist for any optimizer; the question asks for the optimizer's own state (m and v).",
            "amsgrad_ignored": "AMSGrad keeps a third array, the running maximum of v, as large as v: three numbers per parameter.",
        },
    ),
    Question(
        name="step_size_bound",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="Adam's step size on the first step",
        prompt="On the first step (t = 1), how large is each coordinate's step, whatever the scale of the gradient? Why?",
    ),
)
