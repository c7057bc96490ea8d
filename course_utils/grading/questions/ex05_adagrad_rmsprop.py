# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex05: AdaGrad and RMSprop. What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex05_adagrad_rmsprop"

QUESTIONS = (
    Question(
        name="adagrad_step",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="AdaGrad step (torch.optim.Adagrad)",
        function="adagrad_step",
        params=("params", "grad", "sum_sq", "lr", "eps"),
        returns=("params", "sum_sq"),
        state=("params", "sum_sq"),
        grad_arg="grad",
        hints=(
            "AdaGrad keeps, per coordinate, the sum of all squared gradients so far, and divides the step by its root.",
            "sum_sq = sum_sq + grad**2 first; then params - lr * grad / (sqrt(sum_sq) + eps), with eps outside the root.",
            "`sum_sq = sum_sq + grad * grad`; `return params - lr * grad / (np.sqrt(sum_sq) + eps), sum_sq` "
            "(use `sum_sq ** 0.5` to work on torch tensors too).",
        ),
        mistakes={
            "eps_inside": "eps is inside the square root. torch adds it outside: grad / (sqrt(sum_sq) + eps).",
            "old_sum": "you divided by the accumulator *before* adding this step's grad**2. Add first, then divide.",
            "abs_sum": "you accumulated |grad| instead of grad**2.",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="rmsprop_step",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="RMSprop step (torch.optim.RMSprop)",
        function="rmsprop_step",
        params=("params", "grad", "v", "lr", "alpha", "eps"),
        returns=("params", "v"),
        state=("params", "v"),
        grad_arg="grad",
        hints=(
            "RMSprop replaces AdaGrad's growing sum by an exponential moving average of squared gradients.",
            "v = alpha * v + (1 - alpha) * grad**2; then params - lr * grad / (sqrt(v) + eps). No bias correction.",
            "`v = alpha * v + (1 - alpha) * grad * grad`; `return params - lr * grad / (v ** 0.5 + eps), v`.",
        ),
        mistakes={
            "no_one_minus": "the (1 - alpha) factor is missing: v = alpha * v + (1 - alpha) * grad**2.",
            "eps_inside": "eps is inside the square root. torch adds it outside: grad / (sqrt(v) + eps).",
            "adagrad_sum": "you summed squared gradients like AdaGrad. RMSprop *averages* them: v = alpha * v + (1 - alpha) * grad**2.",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="adagrad_decay",
        assignment=ASSIGNMENT,
        kind="written",
        points=2,
        title="why AdaGrad's steps shrink too fast",
        prompt="Why do AdaGrad's step sizes keep shrinking, why does that suit sparse features, and how does RMSprop change it?",
    ),
)
