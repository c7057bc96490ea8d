# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex05: AdaGrad and RMSprop. What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex05_adagrad_rmsprop"

QUESTIONS = (
    Question(
        name="adagrad_step",
        assignment=ASSIGNMENT,
        kind="paper",
        level="core",
        points=3,
        title="AdaGrad step (torch.optim.Adagrad)",
        function="adagrad_step",
        params=("params", "grad", "sum_sq", "lr", "eps"),
        returns=("params", "sum_sq"),
        state=("params", "sum_sq"),
        grad_arg="grad",
        hints=(
            "AdaGrad keeps, per coordinate, the sum of all squared gradients so far, and divides the step by its root.",
            "Order matters: first add this step's g_t² to the running sum s_t, then divide g_t by √s_t + ε (ε outside the root, as torch does).",
            "Worked example: η = 0.1 and a gradient of 2, then 2 again, from an empty sum. Step 1: s = 4, step 0.1 · 2/√4 = 0.1. "
            "Step 2: s = 8, step 0.1 · 2/√8 ≈ 0.071. The same gradient moves less each time: after t equal gradients the step is η/√t. "
            "Dividing by the old sum instead would divide 2 by √0 + ε on the first step, a step of about 2·10⁹. "
            "Return the new sum as well: it is the state the next call needs.",
        ),
        mistakes={
            "eps_inside": "eps is inside the square root. torch adds it outside: g_t / (√s_t + ε).",
            "old_sum": "you divided by the sum *before* adding this step's g_t². Add first, then divide.",
            "abs_sum": "you accumulated |g_t| instead of g_t².",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="rmsprop_step",
        assignment=ASSIGNMENT,
        kind="bug",
        level="core",
        points=3,
        title="find the bugs in an RMSprop step (torch.optim.RMSprop)",
        function="rmsprop_step",
        params=("params", "grad", "v", "lr", "alpha", "eps"),
        returns=("params", "v"),
        state=("params", "v"),
        grad_arg="grad",
        hints=(
            "Run the given code on a tiny case and compare it with torch.optim.RMSprop: call it twice with the same arrays and print v before and after each call.",
            "Two things differ from torch: where ε goes relative to the square root, and what happens to the caller's v (does the array you passed in still hold its old values after the call?).",
            "Worked explanation: torch divides by √v_t + ε. With v_t = 10⁻¹⁶ and ε = 10⁻⁸, √(v_t + ε) ≈ 10⁻⁴ but √v_t + ε = 2·10⁻⁸: "
            "ε inside the root damps tiny gradients 5000 times more (that is the TensorFlow/Keras convention, not torch's). "
            "And an in-place multiplication of v changes the array the caller still holds: if the caller keeps v to log it or to retry the step, "
            "it silently sees the new value. Write the update so that it builds new arrays and leaves its arguments as they were.",
        ),
        mistakes={
            "no_one_minus": "the (1 - β2) factor is missing (β2 is `alpha` in torch): v_t = β2 v_{t-1} + (1 - β2) g_t².",
            "eps_inside": "eps is inside the square root (the TensorFlow/Keras convention). torch adds it outside: g_t / (√v_t + ε).",
            "adagrad_sum": "you summed squared gradients like AdaGrad. RMSprop *averages* them: v_t = β2 v_{t-1} + (1 - β2) g_t².",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="adagrad_decay",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="why AdaGrad's steps shrink too fast",
        prompt="Why do AdaGrad's step sizes keep shrinking, why does that suit sparse features, and how does RMSprop change it?",
    ),
)
