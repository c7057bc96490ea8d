# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex01: start here (losses, gradients, iterative improvement, stopping). What each question asks for (public)."""

from .record import Question

ASSIGNMENT = "ex01_start_here"

BEHAVIOURS = (
    "converges without overshooting",
    "converges, overshooting back and forth",
    "oscillates forever with the same size",
    "diverges",
)

QUESTIONS = (
    Question(
        name="ridge_line_grad",
        assignment=ASSIGNMENT,
        kind="derive",
        level="core",
        points=2,
        title="the gradient of a line fit's loss with a penalty on the slope",
        function="ridge_line_grad",
        params=("theta", "x", "y", "lam"),
        returns=("grad",),
        rtol=1e-9,
        tolerance="a mean of n <= 200 products computed in another order differs by at most about n * 1e-16 relative to the sum of magnitudes; 1e-9 leaves a wide margin and is far below the factor-of-2 or 1/n gaps of the known mistakes",
        hints=(
            "Differentiate term by term with the chain rule. The loss is a mean of squares of the residuals r_i = w x_i + b - y_i, plus a penalty that involves w only.",
            "d/dw of (1/2) r_i**2 is r_i * x_i and d/db is r_i. The mean keeps its 1/n; the penalty (lam/2) w**2 adds lam * w to the w-component only: the intercept b is not penalized.",
            "Worked example: x = (0, 1, 2), y = (1, 2, 2), theta = (w, b) = (1, 0), lam = 0.5. The residuals are 0*1 + 0 - 1 = -1, 1 - 2 = -1 and 2 - 2 = 0. The w-component is mean(r * x) + lam * w = (0 - 1 + 0) / 3 + 0.5 = 0.1667, the b-component is mean(r) = -2/3. A check of your own: a central difference (f(theta + h e_j) - f(theta - h e_j)) / 2h with h = 1e-6 should agree to about 1e-9.",
        ),
        mistakes={
            "no_half": "your gradient is twice the right one: the 1/2 in the loss cancels the 2 from differentiating the square.",
            "sum_not_mean": "you summed over the examples instead of averaging: the loss has a 1/n (mean), and so does its gradient.",
            "decays_bias": "the penalty is (lam/2) w**2: it adds lam * w to the slope's component only, nothing to the intercept's.",
            "no_x": "the slope's component is missing the factor x_i: by the chain rule, d r_i / d w = x_i.",
        },
    ),
    Question(
        name="steps_to_tolerance",
        assignment=ASSIGNMENT,
        kind="derive",
        level="core",
        points=2,
        title="steps until the gradient-norm test fires on a parabola",
        function="steps_to_tolerance",
        params=("a", "lr", "x0", "grad_tol"),
        returns=("t",),
        rtol=1e-12,
        tolerance="the answer is a whole number of steps below 10**6 on the hidden cases; any wrong count differs by at least 1e-6 relative, and a right one is exact",
        hints=(
            "Lecture 1, section 6: on f(x) = a x**2 / 2 gradient descent gives x_t = (1 - lr a)**t x0. Write the size of the gradient after t steps, then the condition of the gradient-norm test.",
            "The test fires when |a x_t| = a |1 - lr a|**t |x0| <= grad_tol. Take logarithms; ln|1 - lr a| is negative, which flips the inequality, and the absolute value matters when lr a > 1 (the iterates change sign, their size still shrinks). The answer is the smallest whole t that satisfies it (lr a = 1 reaches the minimum in one step).",
            "Worked example: a = 2, lr = 0.75 (the product of lr and a is 1.5, and |1 - 1.5| = 0.5), x0 = 3, grad_tol = 0.01. The gradient after t steps is 2 * 0.5**t * 3 = 6 * 0.5**t, which is at most 0.01 once 0.5**t <= 1/600, t >= ln(600) / ln(2) = 9.23: the answer is 10 (at t = 9 the gradient is 0.0117, at t = 10 it is 0.0059). Testing the iterate |x_t| <= 0.01 instead would give 9 and is a different test.",
        ),
        mistakes={
            "iterate_not_gradient": "you tested the iterate |x_t| against grad_tol. The gradient is a x_t: its size is a |x_t|.",
            "floor": "off by one: at the step you returned the gradient is still a little larger than grad_tol. The answer is the smallest whole t that satisfies the test: round up.",
            "no_abs": "for lr a > 1 the factor 1 - lr a is negative: its logarithm is undefined. The iterates change sign but shrink in size: use |1 - lr a|.",
            "one_step_late": "you counted one step too many: t = 0 is the start, and after t steps the gradient is a (1 - lr a)**t x0.",
        },
    ),
    Question(
        name="large_lr_prediction",
        assignment=ASSIGNMENT,
        kind="predict",
        level="core",
        points=1,
        title="predict what gradient descent does on a parabola with lr a = 1.9",
        variable="PREDICTED_BEHAVIOUR",
        choices=BEHAVIOURS,
        hints=(
            "Each step multiplies x by the same factor 1 - lr a. Compute that factor for lr a = 1.9 before you choose.",
            "Two things about a factor decide everything: its sign (does x change sign each step?) and its size (does |x| shrink, stay, or grow?).",
            "Reason it through with numbers: with the factor you computed, write x_1, x_2 and x_3 from x0 = 2. Is the sign alternating? Is |x_t| going down? Which threshold of lr a would make |1 - lr a| equal to 1?",
        ),
        mistakes={
            "diverges": "lr a = 1.9 is above 1, so each step overshoots, but the factor 1 - lr a = -0.9 has size below 1: |x| shrinks by 10 % per step. Divergence starts only at lr a > 2.",
            "monotone": "the factor 1 - lr a = -0.9 is negative: x changes sign at every step, overshooting the minimum back and forth.",
            "oscillates_forever": "the size of the factor is 0.9, not 1: the oscillation dies out slowly. It would keep the same size only at lr a = 2 exactly.",
        },
    ),
    Question(
        name="large_lr_explained",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="explain the behaviour at lr a = 1.9",
        prompt="Compare your prediction with the run. Explain, with the factor 1 - lr a, why the iterates overshoot and why they still converge, how many steps it takes the gap to shrink tenfold, and where the boundary to divergence lies.",
    ),
    Question(
        name="early_stopping",
        assignment=ASSIGNMENT,
        kind="paper",
        level="stretch",
        points=3,
        title="early stopping with patience and a minimum improvement, from a precise description",
        function="early_stopping",
        params=("val_losses", "patience", "min_delta"),
        returns=("stop", "best"),
        hints=(
            "Walk through the validation losses once, keeping three things: the best loss so far, where it was, and how many checks in a row have not improved on it.",
            "A check improves only if its loss is below the best so far by *more than* min_delta: a smaller decrease, an equal loss or a larger one all count as no improvement, and they leave the best unchanged. Stop at the first check at which the counter reaches patience; if that never happens, stop at the last check. The best index is the best up to and including the stopping check.",
            "Worked example, val_losses = [5, 3, 2.95, 4, 2, 6, 6], patience = 2, min_delta = 0.1. Check 0: best 5 at 0. Check 1: 3 < 5 - 0.1, best 3 at 1, counter 0. Check 2: 2.95 is lower, but not by more than 0.1: counter 1, best still 3 at 1. Check 3: 4, counter 2 = patience: stop at 3 with best 1. Ignoring min_delta would make check 2 an improvement, and the run would go on to check 6 and report best 4.",
        ),
        mistakes={
            "no_min_delta": "any decrease counted as an improvement. A check improves only if it is below the best by more than min_delta.",
            "best_overall": "the best index is taken over the whole list, including checks after the stop. The run never saw those: take the best up to and including the stopping check.",
            "patience_plus_one": "you stopped one check late: stop at the first check at which the counter of non-improving checks *reaches* patience.",
            "stop_at_best": "you returned the best check as the stopping check. The run stops later, when patience runs out; return both indices.",
        },
    ),
)
