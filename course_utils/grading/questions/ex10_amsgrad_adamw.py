# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex10: AMSGrad, AdamW and Reddi et al.'s counterexample. What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex10_amsgrad_adamw"

QUESTIONS = (
    Question(
        name="amsgrad_step",
        assignment=ASSIGNMENT,
        kind="paper",
        level="core",
        points=3,
        title="AMSGrad from Reddi et al.'s Algorithm 2, with torch's changes (torch.optim.Adam, amsgrad=True)",
        function="amsgrad_step",
        params=("params", "grads", "m", "v", "v_max", "t", "lr", "betas", "eps"),
        returns=("params", "m", "v", "v_max"),
        state=("params", "m", "v", "v_max"),
        grad_arg="grads",
        t_arg="t",
        hints=(
            "AMSGrad is Adam whose denominator never shrinks: it divides by the running maximum of the second moment instead of the second moment itself.",
            "Start from Reddi et al.'s Algorithm 2 as given in the question, then apply torch's three changes one at a time: bias correction of m, "
            "the maximum taken over the *raw* v and bias-corrected afterwards, ε added after the root.",
            "Worked example: β2 = 0.5, gradients 2 then 0. Then v_1 = 2 and v_2 = 1, so the maximum stays 2. At t = 2 torch divides m̂ by "
            "√(2/(1 - 0.25)) ≈ 1.63; Adam would divide by √(1/0.75) ≈ 1.15, a larger step after the gradient vanished. Taking the maximum of the "
            "corrected values instead (v̂_1 = 4, v̂_2 = 1.33) keeps 4 and divides by 2: a third, different method. "
            "Reddi et al.'s own algorithm divides the uncorrected m_2 by √2 ≈ 1.41. Carry v_max from call to call: it is the state that makes the method.",
        ),
        mistakes={
            "max_of_vhat": "you kept the maximum of the bias-corrected v̂ (optax's default). torch keeps the maximum of the raw v and bias-corrects afterwards.",
            "paper": "no bias correction: that is Reddi et al.'s Algorithm 2. torch's amsgrad=True bias-corrects m and the maximum.",
            "uses_v": "the denominator uses v_t, not the running maximum: the maximum must be what you divide by.",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="adamw_step",
        assignment=ASSIGNMENT,
        kind="bug",
        level="core",
        points=3,
        title="find the bug in an AdamW step: decoupled weight decay (torch.optim.AdamW)",
        function="adamw_step",
        params=("params", "grads", "m", "v", "t", "lr", "betas", "eps", "weight_decay"),
        returns=("params", "m", "v"),
        state=("params", "m", "v"),
        grad_arg="grads",
        t_arg="t",
        hints=(
            "Decoupled weight decay shrinks the parameters directly, by the same factor for every coordinate; it never enters m or v "
            "and is never divided by √v̂. Find the line of the given code where the decay meets the adaptive scaling.",
            "Loshchilov & Hutter's Algorithm 2 and torch.optim.AdamW both decay the *old* parameters θ_{t-1} by η λ θ_{t-1} and add the ordinary "
            "Adam step computed from the unchanged gradient.",
            "Worked example: two coordinates with θ = (1, 1), λ = 0.1, η = 0.1, and √v̂ = (0.01, 100) (a rarely and an often updated weight). "
            "Decoupled decay removes η λ θ = 0.01 from both. In the given code the decay term is divided by √v̂ + ε, so the first weight loses 1 "
            "(all of it) and the second 0.0001: the decay is strongest exactly where gradients are small, which is the coupling AdamW removes. "
            "Adam with L2 (the gradient plus λθ fed into m and v) couples them in a similar way.",
        ),
        mistakes={
            "l2": "that is L2 regularization (grads + weight_decay * params fed into m and v), which is torch.optim.Adam's "
            "weight_decay. AdamW decays the parameters directly: params * (1 - lr * weight_decay).",
            "no_lr": "the decay is not multiplied by lr: torch shrinks by params * (1 - lr * weight_decay).",
            "decay_after": "you decayed the parameters after the Adam step. torch decays the old parameters first, then "
            "takes the Adam step.",
            "scaled_decay": "the decay is still divided by the adaptive denominator (θ - η (m̂ + λθ)/(√v̂ + ε)), the bug of the given code. "
            "AdamW shrinks every coordinate by the same factor: θ (1 - η λ), outside the adaptive scaling.",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="reddi_trajectory",
        assignment=ASSIGNMENT,
        kind="paper",
        level="stretch",
        points=3,
        title="Reddi et al.'s counterexample",
        function="reddi_trajectory",
        params=("C", "steps", "lr", "amsgrad"),
        returns=("x",),
        rtol=1e-6,
        hints=(
            "Follow the recipe in the question exactly: gradient C when t mod 3 = 1 else -1 (t counted from 1), β1 = 0, "
            "β2 = 1/(1 + C²), learning rate η/√t, then project θ back onto [-1, 1].",
            "With β1 = 0, m̂_t is just g_t. v is Adam's EMA of g²; AMSGrad divides by the running maximum of v. "
            "Both bias-correct the second moment by 1 - β2^t, as torch does.",
            "Worked example: C = 3, η = 0.5, so β2 = 0.1. Step 1: g = 3, v_1 = 0.9 · 9 = 8.1, v̂_1 = 8.1/0.9 = 9, the step is 0.5 · 3/3 = 0.5, θ_1 = -0.5. "
            "Step 2: g = -1, v_2 = 0.81 + 0.9 = 1.71, v̂_2 = 1.71/0.99 ≈ 1.727, the step is 0.5/√2 · 1/1.314 ≈ 0.269, θ_2 ≈ -0.231. "
            "AMSGrad keeps v_max = 8.1 at step 2, v̂ = 8.1/0.99 ≈ 8.18, and moves only ≈ 0.124. The returned array starts with θ_0 = 0 "
            "and has steps + 1 entries.",
        ),
        mistakes={
            "no_clip": "θ left [-1, 1]: project it back after every step with min(1, max(-1, θ)).",
            "const_lr": "the learning rate must decay as η/√t.",
            "gradient_phase": "the large gradient C comes on steps t = 1, 4, 7, ... (t mod 3 = 1, with t counted from 1).",
            "max_of_vhat": "you kept the maximum of the bias-corrected v̂; keep the maximum of the raw v, then bias-correct.",
        },
    ),
    Question(
        name="why_adam_fails",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="why Adam ends at the worst point",
        prompt="Explain why Adam drifts to x = +1 on this sequence, and how AMSGrad prevents it.",
    ),
)
