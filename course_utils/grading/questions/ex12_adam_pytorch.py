# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex12: Adam in PyTorch (memory, precision, a real training step). What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex12_adam_pytorch"

BUFFERS = {
    "sgd": 0,
    "momentum": 1,
    "adagrad": 1,
    "rmsprop": 1,
    "adam": 2,
    "adamw": 2,
    "nadam": 2,
    "adamax": 2,
    "amsgrad": 3,
}

QUESTIONS = (
    Question(
        name="state_bytes",
        assignment=ASSIGNMENT,
        kind="derive",
        level="core",
        points=2,
        title="bytes of optimizer state for an MLP of given layer widths",
        function="state_bytes",
        params=("widths", "optimizer", "bytes_per_number"),
        returns=("bytes",),
        rtol=1e-12,
        tolerance="the answer is an integer count of bytes below 10**12, computed exactly in integer arithmetic; the smallest wrong answer (forgetting one bias of one layer) is off by at least bytes_per_number, far more than 1e-12 relative",
        hints=(
            "Two counts multiply: how many parameters the MLP has, and how many numbers of state each optimizer keeps per parameter (lecture 12, section 2). The parameters themselves and their gradients are not optimizer state.",
            "A dense layer from n_in to n_out units has an n_in x n_out weight matrix and n_out biases. The state per parameter is 0 numbers for plain SGD, 1 for momentum, AdaGrad and RMSprop, 2 for Adam, AdamW, NAdam and AdaMax, 3 for AMSGrad. Lower-case optimizer names as in this question's table.",
            "Worked example: widths [64, 64, 64, 10] (lecture 12's MLP) has 64*64 + 64 + 64*64 + 64 + 64*10 + 10 = 8,970 parameters. Adam keeps m and v, two float32 numbers of 4 bytes per parameter: 8,970 * 2 * 4 = 71,760 bytes. With AMSGrad's third buffer it is 107,640 bytes; in float16 state (2 bytes) Adam's would be 35,880. The whole training run in float32 (parameters and gradients too) would be 8,970 * 16 = 143,520 bytes, but that is not what is asked.",
        ),
        mistakes={
            "no_biases": "the biases are missing: each layer has n_out biases besides its n_in x n_out weights.",
            "whole_run": "you counted the parameters and their gradients as well. Optimizer state is only what the optimizer keeps between steps (m and v for Adam).",
            "bits": "you counted bits, not bytes: bytes_per_number is already in bytes (4 for float32).",
            "amsgrad_as_adam": "AMSGrad keeps a third buffer, the running maximum of v, besides m and v.",
        },
    ),
    Question(
        name="fix_adamw_torch",
        assignment=ASSIGNMENT,
        kind="bug",
        level="core",
        points=3,
        title="find and fix the two bugs of an AdamW step on torch tensors",
        function="adamw_step",
        params=("params", "grads", "m", "v", "t", "lr", "beta1", "beta2", "eps", "weight_decay"),
        returns=("params", "m", "v"),
        state=("params", "m", "v"),
        grad_arg="grads",
        t_arg="t",
        hints=(
            "Read the given code against torch.optim.AdamW's documented algorithm, and ask two questions: which gradient do m and v see, and which step number do the bias corrections use? Remember what the caller passes as t (1 at the first step).",
            "AdamW decouples the decay: the moments see the raw gradient, and the parameters shrink by the factor 1 - lr * weight_decay separately (Loshchilov & Hutter; lecture 10). And the caller already counts steps from 1: a function that adds 1 to t corrects as if one more step had happened.",
            "Worked example, one coordinate at t = 1: params = 1, grads = 0.1, m = v = 0, lr = 0.1, betas (0.9, 0.999), eps = 1e-8, weight_decay = 0.5. Correct: the parameter first shrinks to 1 * (1 - 0.05) = 0.95; m = 0.01, v = 1e-5, m_hat = 0.1, v_hat = 0.01, the Adam step is 0.1 * 0.1 / 0.1 = 0.1, and params = 0.85. The given code feeds 0.1 + 0.5 = 0.6 to the moments (L2), so the decay is divided away by the adaptive scaling, and it corrects with t = 2 (1 - 0.9**2 = 0.19 instead of 0.1, and 1 - 0.999**2 for v), which alone makes the first step 0.74 times its right size. Fix one bug at a time and watch check() name the other.",
        ),
        mistakes={
            "as_given": "this behaves exactly like the given code: both bugs are still there. Compare it, line by line, with the algorithm in torch.optim.AdamW's documentation.",
            "l2": "weight decay is still added to the gradient (L2), so the adaptive scaling divides it away. AdamW shrinks the parameters by the factor 1 - lr * weight_decay, separately from the moments.",
            "t_plus_one": "the bias corrections still use the step number plus one. The caller passes t = 1 at the first step: use t as given.",
            "wd_no_lr": "the decay is missing the learning rate: torch.optim.AdamW multiplies the parameters by 1 - lr * weight_decay.",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="bf16_prediction",
        assignment=ASSIGNMENT,
        kind="predict",
        level="core",
        points=1,
        title="predict a bfloat16 weight after 100 updates of -0.001",
        variable="PREDICTED_WEIGHT",
        hints=(
            "In exact arithmetic the answer is 0.9. The question is what bfloat16, which keeps 8 significant bits, does with each single update.",
            "Lecture 12 gives bfloat16's resolution near 1 (the gap between neighbouring numbers). Compare one update, 0.001, with half of that gap.",
            "Reason it through: each update is rounded to the nearest bfloat16 number right away, before the next one is added. Ask what the nearest bfloat16 number to 1 - 0.001 is, and what that means after the first update, the second, and the hundredth.",
        ),
        mistakes={
            "exact_arithmetic": "0.9 is what exact arithmetic gives. In bfloat16 each update of 0.001 is smaller than half the gap between 1 and its lower neighbour (2**-9, about 0.002), so every single subtraction rounds back to 1.",
            "partial_loss": "a value between 0.9 and 1 assumes that some updates survive the rounding. Every update is rounded on its own, and every one of them rounds back to exactly the same number.",
            "overshoot": "a value below 0.9 assumes that rounding makes each step larger. The nearest bfloat16 number to 0.999 is 1, not the lower neighbour 0.996.",
        },
    ),
    Question(
        name="bf16_explained",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="explain the bfloat16 result and the remedy",
        prompt="Compare your prediction with the result. Explain why the weight does not move, and how float32 master weights (mixed-precision training) fix it while the forward and backward passes stay in bfloat16.",
    ),
    Question(
        name="fp16_underflow_threshold",
        assignment=ASSIGNMENT,
        kind="derive",
        level="stretch",
        points=2,
        title="the gradient size below which Adam's first increment of v is 0 in float16",
        function="fp16_underflow_threshold",
        params=("beta2",),
        returns=("threshold",),
        rtol=1e-9,
        tolerance="a closed form of a power of two and a square root: float64 evaluates it to a few ulps (1e-15 relative); 1e-9 is generous and still a million times smaller than the gap to the wrong answers, which differ by factors of at least sqrt(2)",
        hints=(
            "The increment is (1 - beta2) g**2, computed exactly and then rounded once to float16. It is 0 when the exact value is closer to 0 than to the smallest positive float16 number. What is that number, and where is the midpoint?",
            "float16's smallest positive (subnormal) number is 2**-24. A value rounds to 0 if it is at most half of that, 2**-25 (a tie goes to the even neighbour, 0). Solve (1 - beta2) g**2 = 2**-25 for |g|.",
            "Worked example, beta2 = 0.999: 2**-25 = 2.98e-8, divided by 1 - beta2 = 1e-3 gives 2.98e-5, whose square root is 5.46e-3: lecture 12's '|g| below about 5e-3'. With 2**-24 (the smallest subnormal itself, not the midpoint) you would get 7.7e-3; with the smallest *normal* number 2**-14 you would get 0.25. Check your function against these numbers, then think about why the answer scales like 1/sqrt(1 - beta2).",
        ),
        mistakes={
            "no_half": "you used the smallest subnormal, 2**-24, as the threshold. Values round to the nearest float16 number: everything up to half of it, 2**-25, becomes 0.",
            "smallest_normal": "you used the smallest normal float16 number, 2**-14. Below it float16 still has subnormal numbers down to 2**-24; only values up to 2**-25 round to 0.",
            "no_beta": "the factor 1 - beta2 is missing: the increment is (1 - beta2) g**2, not g**2.",
            "float32": "that is float32's threshold. Redo it with float16's smallest subnormal, 2**-24.",
        },
    ),
)
