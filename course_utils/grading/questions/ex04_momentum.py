# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex04: momentum. What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex04_momentum"

_MOMENTUM_COMMON = {
    "sutskever": "your buffer is lr times torch's: that is Sutskever's convention (lr inside the buffer, "
    "v = mu v + lr g). This exercise uses torch's: buf = momentum * buf + grad, then params - lr * (...).",
    "dampened": "you wrote buf = momentum * buf + (1 - momentum) * grad, an exponential moving average. "
    "torch's momentum adds the whole gradient: buf = momentum * buf + grad.",
    "not_carried": NOT_CARRIED,
    "mutates": MUTATES,
}
QUESTIONS = (
    Question(
        name="momentum_step",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="heavy-ball momentum step (torch.optim.SGD)",
        function="momentum_step",
        params=("params", "grad", "buf", "lr", "momentum"),
        returns=("params", "buf"),
        state=("params", "buf"),
        grad_arg="grad",
        hints=(
            "The buffer is a leaky sum of past gradients; the step follows the buffer, not the raw gradient.",
            "torch.optim.SGD: buf = momentum * buf + grad, then params = params - lr * buf.",
            "`buf = momentum * buf + grad`; `return params - lr * buf, buf`.",
        ),
        mistakes={
            **_MOMENTUM_COMMON,
            "plain_gd": "your step ignores the buffer: params - lr * grad is plain gradient descent.",
        },
    ),
    Question(
        name="nesterov_step",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="Nesterov momentum step (torch.optim.SGD, nesterov=True)",
        function="nesterov_step",
        params=("params", "grad", "buf", "lr", "momentum"),
        returns=("params", "buf"),
        state=("params", "buf"),
        grad_arg="grad",
        hints=(
            "Nesterov updates the buffer exactly like heavy ball; only the direction of the step changes.",
            "torch: buf = momentum * buf + grad, then step along grad + momentum * buf (the *new* buffer).",
            "`buf = momentum * buf + grad`; `return params - lr * (grad + momentum * buf), buf`.",
        ),
        mistakes={
            **_MOMENTUM_COMMON,
            "heavy_ball": "you returned the heavy-ball step, params - lr * buf (the same as using the *old* buffer in the look-ahead). Nesterov steps along grad + momentum * buf_new.",
        },
    ),
    Question(
        name="momentum_window",
        assignment=ASSIGNMENT,
        kind="written",
        points=2,
        title="momentum's effective window",
        prompt="Why does momentum help in a narrow valley, and what is the effective averaging window for momentum 0.9?",
    ),
)
