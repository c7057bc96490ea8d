# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex07: exponential moving averages and bias correction. What each question asks for (public: ships in the release)."""

from .record import MUTATES, Question

ASSIGNMENT = "ex07_ema_bias_correction"

QUESTIONS = (
    Question(
        name="ema_update",
        assignment=ASSIGNMENT,
        kind="paper",
        level="core",
        points=2,
        title="one step of an exponential moving average",
        function="ema_update",
        params=("avg", "x", "beta"),
        returns=("avg",),
        hints=(
            "The new average keeps a fraction beta of the old average and mixes in the new value.",
            "a_t = β a_{t-1} + (1 - β) x_t: the weights β and 1 - β add up to 1, so a constant input stays constant.",
            "Worked example: β = 0.9, old average 10, new value 20. The new average is 0.9 · 10 + 0.1 · 20 = 11: "
            "it moves a tenth of the way towards the new value. Swapping the weights would give 19 (almost no memory); "
            "dropping the 1 - β would give 29 (the average grows without bound on a constant input).",
        ),
        mistakes={
            "swapped": "β and 1 - β are swapped: the *old average* is weighted by β, the new value by 1 - β.",
            "no_one_minus": "the (1 - β) factor is missing: a_t = β a_{t-1} + (1 - β) x_t.",
            "mutates": MUTATES,
        },
    ),
    Question(
        name="debiased_ema",
        assignment=ASSIGNMENT,
        kind="paper",
        level="core",
        points=3,
        title="bias-corrected EMA of a sequence",
        function="debiased_ema",
        params=("xs", "beta"),
        returns=("avgs",),
        hints=(
            "Run the EMA from a zero start over xs[0], xs[1], ...; after t values, divide by 1 - beta**t.",
            "t counts from 1: after the first value, divide by 1 - β. Correct only what you return, not the running average.",
            "Worked example: β = 0.5 and the constant input 4, 4, 4. The raw averages are 2, 3, 3.5 (the zero start drags them down); "
            "the weights on real data sum to 1 - 0.5^t = 0.5, 0.75, 0.875, and dividing by them gives 4, 4, 4: exact at every step. "
            "If the corrected value 4 were fed back into the recursion, the next raw average would be 0.5 · 4 + 0.5 · 4 = 4, and dividing it by 0.75 gives 5.33: "
            "the correction would be applied twice.",
        ),
        mistakes={
            "no_correction": "no bias correction: divide the average after t steps by 1 - β^t.",
            "off_by_one_plus": "bias correction off by one: after the first value (t = 1) divide by 1 - β, not 1 - β².",
            "off_by_one_minus": "bias correction off by one: with t counted from 0 the first correction divides by 1 - β⁰ = 0. Count t from 1.",
            "fed_back": "you fed the corrected average back into the recursion. Keep the raw average running; correct only the value you return.",
            "swapped": "β and 1 - β are swapped in the EMA: the old average gets β, the new value 1 - β.",
        },
    ),
    Question(
        name="ema_half_life",
        assignment=ASSIGNMENT,
        kind="derive",
        tolerance="log(beta) for beta as close to 1 as 1 - 1e-4 has relative error up to 1e-16/1e-4 = 1e-12 (whether written log(beta), log1p(beta - 1) or with log2), so rtol 1e-7 accepts every exact formula; the nearest mistake, ln 2/(1 - beta), differs by (1 - beta)/2 >= 5e-5 relative.",
        level="core",
        points=2,
        title="derive the half-life of an EMA",
        function="ema_half_life",
        params=("beta",),
        returns=("steps",),
        hints=(
            "The half-life is the age h (in steps, a real number) at which a value's weight in the average has fallen to half of the newest value's weight.",
            "Unroll a_t: the value seen k steps ago has weight (1 - β) β^k. Its weight relative to the newest is β^k. Solve β^h = 1/2 for h.",
            "Worked explanation: taking logarithms of β^h = 1/2 gives h times ln β on the left and −ln 2 on the right, so h = (ln 2)/(−ln β), positive because ln β < 0. "
            "For β = 0.5 that is exactly 1 step; for β = 0.9 it is 0.693/0.105 ≈ 6.58 steps, fewer than the window 1/(1 - β) = 10. "
            "For β close to 1, −ln β ≈ 1 - β, so h ≈ 0.69 · 1/(1 - β): the half-life is about 70 % of the window, and the two should never be confused.",
        ),
        mistakes={
            "window": "you returned the effective window 1/(1 - β), the number of steps the weights add up over. The half-life solves β^h = 1/2: h = ln 2 / (-ln β).",
            "approximation": "you used the approximation ln 2/(1 - β), which assumes -ln β ≈ 1 - β. It is good only for β close to 1; the exact half-life is ln 2 / (-ln β).",
            "new_weight": "you solved (1 - β)^h = 1/2, treating 1 - β as the decay. Each step multiplies an old value's weight by β: solve β^h = 1/2.",
            "inverted": "your answer is the reciprocal of the half-life: h = ln(1/2)/ln β = ln 2 / (-ln β), not ln β / ln(1/2).",
        },
    ),
    Question(
        name="why_bias_correction",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="why bias correction",
        prompt="Why is a zero-initialized EMA biased towards 0, and why does dividing by 1 - beta**t remove the bias?",
    ),
    Question(
        name="debiased_ema_variance",
        assignment=ASSIGNMENT,
        kind="derive",
        level="stretch",
        points=2,
        title="the variance of a bias-corrected EMA of independent noise after t steps",
        function="debiased_ema_variance",
        params=("sigma2", "beta", "t"),
        returns=("variance",),
        rtol=1e-10,
        tolerance="a closed form of a few powers, sums and quotients: float64 evaluates any correct arrangement to within about 1e-13 relative for beta up to 0.999 and t up to 2000 (the subtraction 1 - beta**t loses at most three digits); 1e-10 is generous and far below the gaps to the known mistakes",
        hints=(
            "Unroll the EMA from a_0 = 0: a_t is a weighted sum of x_1, ..., x_t with weights (1 - β) β to the power t - i. For independent values of variance σ², the variance of a weighted sum is σ² times the sum of the squared weights.",
            "The squared weights form a geometric series with ratio β²: their sum is (1 - β)² (1 - β^(2t)) / (1 - β²). The bias-corrected average divides a_t by 1 - β^t, so its variance divides by the square of that. Simplify with 1 - β² = (1 - β)(1 + β) and 1 - β^(2t) = (1 - β^t)(1 + β^t).",
            "Worked explanation: at t = 1 the corrected average is x_1 itself, so its variance is σ²: a check for any formula. With β = 0.9 the uncorrected a_1 is 0.1 x_1, of variance 0.01 σ²: far too small, because it is also far too close to zero. As t grows the corrected variance falls to the steady value σ² (1 - β) / (1 + β), 0.0526 σ² for β = 0.9: averaging over about 1/(1 - β) values. At t = 10 with β = 0.9, β^t = 0.349 and the variance is (0.1 / 1.9) (1.349 / 0.651) σ², about 0.109 σ²: twice the steady value. Early bias-corrected moments are noisy, which is one reason for a warm-up.",
        ),
        mistakes={
            "uncorrected": "you gave the variance of the uncorrected average a_t. The question asks for the corrected one, a_t / (1 - β^t): divide by the square of 1 - β^t. Check t = 1, where the corrected average is x_1 and its variance σ².",
            "corrected_once": "you divided by 1 - β^t once. Dividing a random quantity by a constant c divides its variance by c squared.",
            "steady_state": "you gave the steady value σ² (1 - β) / (1 + β), reached only when β^t is negligible. In the first steps the corrected average rests on few values and is much noisier: at t = 1 its variance is σ² itself.",
        },
    ),
)
