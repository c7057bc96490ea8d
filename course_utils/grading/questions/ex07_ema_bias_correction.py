# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex07: exponential moving averages and bias correction. What each question asks for (public: ships in the release)."""

from .record import MUTATES, Question

ASSIGNMENT = "ex07_ema_bias_correction"

QUESTIONS = (
    Question(
        name="ema_update",
        assignment=ASSIGNMENT,
        kind="paper",
        points=2,
        title="one step of an exponential moving average",
        function="ema_update",
        params=("avg", "x", "beta"),
        returns=("avg",),
        hints=(
            "The new average keeps a fraction beta of the old average and mixes in the new value.",
            "avg_new = beta * avg + (1 - beta) * x.",
            "`return beta * avg + (1 - beta) * x`.",
        ),
        mistakes={
            "swapped": "beta and 1 - beta are swapped: the *old average* is weighted by beta, the new value by 1 - beta.",
            "no_one_minus": "the (1 - beta) factor is missing: avg = beta * avg + (1 - beta) * x.",
            "mutates": MUTATES,
        },
    ),
    Question(
        name="debiased_ema",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="bias-corrected EMA of a sequence",
        function="debiased_ema",
        params=("xs", "beta"),
        returns=("avgs",),
        hints=(
            "Run the EMA from a zero start over xs[0], xs[1], ...; after t values, divide by 1 - beta**t.",
            "t counts from 1: after the first value, divide by 1 - beta. Correct only what you return, not the running average.",
            "`avg = np.zeros_like(xs[0])`; for t, x in enumerate(xs, start=1): `avg = beta * avg + (1 - beta) * x`, "
            "append `avg / (1 - beta**t)`; return `np.stack(out)`.",
        ),
        mistakes={
            "no_correction": "no bias correction: divide the average after t steps by 1 - beta**t.",
            "off_by_one_plus": "bias correction off by one: after the first value (t = 1) divide by 1 - beta, not 1 - beta**2.",
            "off_by_one_minus": "bias correction off by one: with t counted from 0 the first correction divides by 1 - beta**0 = 0. Count t from 1.",
            "fed_back": "you fed the corrected average back into the recursion. Keep the raw average running; correct only the value you return.",
            "swapped": "beta and 1 - beta are swapped in the EMA.",
        },
    ),
    Question(
        name="why_bias_correction",
        assignment=ASSIGNMENT,
        kind="written",
        points=2,
        title="why bias correction",
        prompt="Why is a zero-initialized EMA biased towards 0, and why does dividing by 1 - beta**t remove the bias?",
    ),
)
