# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex11: beyond AdamW (the L^p family behind AdaMax, L-BFGS, saddles). What each question asks for (public: ships in the release)."""

from .record import Question

ASSIGNMENT = "ex11_beyond_adamw"

SADDLE_CHOICES = ("GD, momentum and Adam", "momentum and Adam", "Adam only", "none of them")

QUESTIONS = (
    Question(
        name="lp_norm_scale",
        assignment=ASSIGNMENT,
        kind="paper",
        level="core",
        points=3,
        title="Kingma & Ba's L^p-norm scale (Section 7.1), whose limit is AdaMax's u_t",
        function="lp_norm_scale",
        params=("grads", "beta2", "p"),
        returns=("scale",),
        hints=(
            "Read equation (6) of Section 7.1 in the description: the running quantity is a weighted average of |g|**p, started at 0, and the scale is its p-th root. Which decay factor does the paper use: beta2, or beta2**p?",
            "The decay is parameterised as beta2**p: the old value is multiplied by beta2**p and the new |g_i|**p by 1 - beta2**p. Take the absolute value before the power (p need not be even, nor an integer), and take the p-th root only once, at the end.",
            "Worked example: grads = [3, -1] (one coordinate), beta2 = 0.9, p = 2, so beta2**p = 0.81. v_1 = 0.19 * 9 = 1.71; v_2 = 0.81 * 1.71 + 0.19 * 1 = 1.5751; the scale is sqrt(1.5751) = 1.2550. For p = 8 the scale is 2.517, for p = 128 it is 2.69999997: it tends to max(0.9 * 3, 1) = 2.7, AdaMax's u_2 (equation 12).",
        ),
        mistakes={
            "decay_not_powered": "the decay is beta2, not beta2**p. Section 7.1 parameterises the decay as beta2**p (and the new term's weight as 1 - beta2**p), which is what makes the limit p -> infinity exist.",
            "new_weight_not_powered": "the new term's weight is 1 - beta2, not 1 - beta2**p: the two weights must add up to 1 with the decay beta2**p.",
            "no_root": "you returned v_t itself. The scale is its p-th root, v_t**(1/p), so that it has the units of a gradient.",
            "no_abs": "the power is taken of the signed gradient. The L^p norm uses |g|**p: take the absolute value first.",
            "running_max": "you returned AdaMax's running maximum u_t, the limit p -> infinity. For a finite p compute v_t from equation (6) and its p-th root.",
        },
    ),
    Question(
        name="adamax_step_bound",
        assignment=ASSIGNMENT,
        kind="derive",
        level="core",
        points=2,
        title="the largest possible AdaMax step at step t, as a multiple of eta",
        function="adamax_step_bound",
        params=("beta1", "beta2", "t"),
        returns=("bound",),
        rtol=1e-9,
        tolerance="a closed form and a loop that adds t <= 60 terms agree to a few times 1e-16 relative; 1e-9 leaves a wide margin and is still a thousand times smaller than the gap to the nearest wrong answer on the hidden cases (t from 2 to 60)",
        hints=(
            "Write the bias-corrected first moment as a weighted sum of the gradients g_1, ..., g_t, and bound each |g_i| by what the running maximum u_t says about it: u_t >= beta2**(t - i) |g_i|.",
            "That gives |m_hat_t| / u_t <= (1 - beta1) / (1 - beta1**t) * sum over k = 0 .. t-1 of (beta1 / beta2)**k, and the bound is reached when the gradient shrinks by exactly beta2 per step. Sum the geometric series in closed form: do not take t to infinity.",
            "Worked example, beta1 = 0.9, beta2 = 0.999, t = 3: the ratio r = 0.9 / 0.999 = 0.9009, the sum 1 + r + r**2 = 2.7125, the prefactor 0.1 / (1 - 0.729) = 0.3690, so the bound is 1.0009 eta. The limit t -> infinity, 0.1 / (1 - r) = 1.009, is only reached after many steps; at t = 1 the bound is exactly 1.",
        ),
        mistakes={
            "limit": "you returned the limit t -> infinity, (1 - beta1) / (1 - beta1 / beta2). At step t only t terms of the geometric series exist: sum them.",
            "no_bias_correction": "the prefactor 1 / (1 - beta1**t) of the bias-corrected moment is missing.",
            "adam_heuristic": "you returned Adam's heuristic (1 - beta1) / sqrt(1 - beta2) from Section 2.1. AdaMax divides by a running maximum, not by a root mean square: redo the bound with u_t.",
            "paper_statement": "you returned the paper's statement |step| <= eta. It is almost right, but not the exact bound: the worst case (gradients shrinking by beta2 per step) exceeds eta slightly.",
        },
    ),
    Question(
        name="saddle_prediction",
        assignment=ASSIGNMENT,
        kind="predict",
        level="core",
        points=1,
        title="predict which optimizers leave the saddle from y0 = 1e-12 within 400 steps",
        variable="PREDICTED_ESCAPERS",
        choices=SADDLE_CHOICES,
        hints=(
            "Use lecture 11's counts from y0 = 1e-3 and 1e-8 and ask how each one grows when the start moves four more orders of magnitude towards the ridge.",
            "Gradient descent and momentum escape geometrically: their count grows by ln(10**4) / ln(rate per step). An RMS-normalized method moves at a speed of order eta whatever the gradient's size, once the gradient is larger than eps.",
            "Worked reasoning for gradient descent alone: from 1e-8 it needs 931 steps, and each further factor of 10 costs ln(10) / ln(1.02) = 116 more steps, so from 1e-12 about 931 + 4 * 116 = 1395 steps: far more than 400. Do the same for momentum with its rate of about 1.107 per step, then think about Adam, where a gradient of 2e-12 is much smaller than eps = 1e-8.",
        ),
        mistakes={
            "gd_escapes": "gradient descent escapes only geometrically, by the factor 1 + 2 eta = 1.02 per step: from 1e-12 that takes about 1,400 steps.",
            "momentum_stuck": "momentum also escapes geometrically, but at about 1.107 per step, not 1.02: four more orders of magnitude cost it only about 90 more steps than from 1e-8.",
            "none_escape": "Adam's first steps are indeed tiny here (the gradient is far below eps), but once |y| is past about 1e-8 its steps are of size eta whatever the gradient, and momentum's geometric rate of 1.107 is fast enough too.",
        },
    ),
    Question(
        name="saddle_explained",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="explain the saddle result from y0 = 1e-12",
        prompt="Compare your prediction with the counts. Explain why gradient descent's and momentum's counts grow with ln(1/y0) while Adam's hardly changes, and what eps does to Adam's very first steps from y0 = 1e-12.",
    ),
    Question(
        name="lbfgs_two_loop",
        assignment=ASSIGNMENT,
        kind="paper",
        level="stretch",
        points=4,
        title="L-BFGS's two-loop recursion (Nocedal & Wright, Algorithm 7.4)",
        function="lbfgs_direction",
        params=("grad", "S", "Y"),
        returns=("r",),
        hints=(
            "The recursion computes the product of the implicit inverse-Hessian approximation with the gradient, without ever forming a matrix: one loop from the newest pair back to the oldest, a scaling, one loop forward again. Keep the coefficients of the first loop: the second loop needs them.",
            "Check three things against the pseudo-code: the first loop runs newest to oldest and the second oldest to newest; the initial matrix is a multiple of the identity whose factor comes from the newest pair (s^T y / y^T y); and the function returns the product H grad itself, not the search direction -H grad.",
            "Worked example, d = 2, one pair s = (1, 0), y = (2, 0) (a curvature of 2 along the first axis) and grad = (4, 6). First loop: c = 1 / (y^T s) = 1/2, a = c s^T q = 2, q = (4, 6) - 2 (2, 0) = (0, 6). Scaling: s^T y / y^T y = 2 / 4 = 1/2, so r = (0, 3). Second loop: b = c y^T r = 0, and r moves by (a - b) times s: (0, 3) + 2 (1, 0) gives (2, 3). Along the first axis the result is grad / curvature = 4 / 2, as Newton's step would be; along the unexplored second axis the scaling 1/2 is a guess. A check of your own: with grad equal to the newest y, the result must be the newest s (the secant equation).",
        ),
        mistakes={
            "no_scaling": "the initial matrix is the identity. Algorithm 7.4 starts from a multiple of it, with the factor s^T y / y^T y of the newest pair (Nocedal & Wright, equation 7.20).",
            "same_order": "both loops run in the same order. The first goes from the newest pair back to the oldest, the second from the oldest forward to the newest.",
            "oldest_scaling": "the scaling factor comes from the oldest pair. Use the newest pair, the most recent curvature information.",
            "negated": "you returned the search direction -H grad. The recursion's result is H grad itself; the minus sign belongs to the step, not to this function.",
            "mutates": "your function changed its input `grad` in place (e.g. `q = grad` followed by `q -= ...`). Start from a copy: `q = grad.copy()` or `q = grad - 0`.",
        },
    ),
)
