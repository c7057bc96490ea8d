# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex10: AMSGrad, AdamW and Reddi et al.'s counterexample. What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex10_amsgrad_adamw"

QUESTIONS = (
    Question(
        name="amsgrad_step",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="AMSGrad step (torch.optim.Adam, amsgrad=True)",
        function="amsgrad_step",
        params=("params", "grads", "m", "v", "v_max", "t", "lr", "betas", "eps"),
        returns=("params", "m", "v", "v_max"),
        state=("params", "m", "v", "v_max"),
        grad_arg="grads",
        t_arg="t",
        hints=(
            "AMSGrad is Adam whose denominator never shrinks: it keeps the running maximum of the second moment.",
            "torch: v_max = max(v_max, v) of the *raw* v (not v_hat), then divide by sqrt(v_max / (1 - b2^t)) + eps.",
            "After Adam's m and v updates: `v_max = np.maximum(v_max, v)` (torch.maximum for tensors), "
            "`denom = (v_max / (1 - b2**t)) ** 0.5 + eps`, `params - lr * (m / (1 - b1**t)) / denom`.",
        ),
        mistakes={
            "max_of_vhat": "you kept the maximum of the bias-corrected v_hat (optax's default). torch keeps the maximum of the raw v and bias-corrects afterwards.",
            "paper": "no bias correction: that is Reddi et al.'s Algorithm 2. torch's amsgrad=True bias-corrects m and the maximum.",
            "uses_v": "the denominator uses v, not v_max: the maximum must be what you divide by.",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="adamw_step",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="AdamW step: decoupled weight decay (torch.optim.AdamW)",
        function="adamw_step",
        params=("params", "grads", "m", "v", "t", "lr", "betas", "eps", "weight_decay"),
        returns=("params", "m", "v"),
        state=("params", "m", "v"),
        grad_arg="grads",
        t_arg="t",
        hints=(
            "Decoupled weight decay shrinks the parameters directly; it never enters m or v.",
            "torch.optim.AdamW: params = params * (1 - lr * weight_decay) first, then the ordinary Adam step on grads.",
            "`params = params * (1 - lr * weight_decay)`, then Adam exactly as in ex08 with the *unchanged* grads.",
        ),
        mistakes={
            "l2": "that is L2 regularization (grads + weight_decay * params fed into m and v), which is torch.optim.Adam's "
            "weight_decay. AdamW decays the parameters directly: params * (1 - lr * weight_decay).",
            "no_lr": "the decay is not multiplied by lr: torch shrinks by params * (1 - lr * weight_decay).",
            "decay_after": "you decayed the parameters after the Adam step. torch decays the old parameters first, then "
            "takes the Adam step.",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="reddi_trajectory",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="Reddi et al.'s counterexample",
        function="reddi_trajectory",
        params=("C", "steps", "alpha", "amsgrad"),
        returns=("x",),
        rtol=1e-6,
        hints=(
            "Follow the recipe in the question exactly: gradient C when t % 3 == 1 else -1, beta1 = 0, "
            "beta2 = 1 / (1 + C**2), step alpha / sqrt(t), then clip x to [-1, 1].",
            "With beta1 = 0, m_hat is just g. v is Adam's EMA of g**2; AMSGrad divides by the running maximum of v. "
            "Both bias-correct the second moment by 1 - beta2**t, as torch does.",
            "Loop t = 1..steps with Python floats; keep a list `xs = [0.0]` and append x after each clipped step; "
            "return `np.array(xs)` (length steps + 1).",
        ),
        mistakes={
            "no_clip": "x left [-1, 1]: project it back after every step with min(1, max(-1, x)).",
            "const_lr": "the step size must decay as alpha / sqrt(t).",
            "gradient_phase": "the large gradient C comes on steps t = 1, 4, 7, ... (t % 3 == 1, with t counted from 1).",
            "max_of_vhat": "you kept the maximum of the bias-corrected v_hat; keep the maximum of the raw v, then bias-correct.",
        },
    ),
    Question(
        name="why_adam_fails",
        assignment=ASSIGNMENT,
        kind="written",
        points=2,
        title="why Adam ends at the worst point",
        prompt="Explain why Adam drifts to x = +1 on this sequence, and how AMSGrad prevents it.",
    ),
)
