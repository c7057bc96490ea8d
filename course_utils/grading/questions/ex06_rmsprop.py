# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex06: RMSprop. What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex06_rmsprop"

QUESTIONS = (
    Question(
        name="settle_steps",
        assignment=ASSIGNMENT,
        kind="derive",
        level="core",
        points=2,
        title="steps until RMSprop's step on a constant gradient is within a factor 1 + tol of eta",
        function="settle_steps",
        params=("beta2", "tol"),
        returns=("t",),
        rtol=1e-12,
        tolerance="the answer is an integer (a number of steps) of at most about 10**5 here: any wrong integer differs by at least 1e-5 relative, and a right one is exact",
        hints=(
            "Start from what lecture 6 shows for a constant gradient g: v_t = (1 - beta2**t) g**2. Write the step size |theta_t - theta_{t-1}| as a function of t (ignore eps), then ask when it first drops to (1 + tol) eta or below.",
            "The step is eta / sqrt(1 - beta2**t). The condition eta / sqrt(1 - beta2**t) <= (1 + tol) eta is an inequality on beta2**t: square both sides before you take logarithms, and remember that ln(beta2) < 0 flips the inequality. The answer is the smallest integer t >= 1 that satisfies it.",
            "Worked example, beta2 = 0.9 and tol = 0.1. The step must satisfy 1 / sqrt(1 - 0.9**t) <= 1.1, that is 1 - 0.9**t >= 1 / 1.21 = 0.8264, that is 0.9**t <= 0.1736. Taking logs, t >= ln(0.1736) / ln(0.9) = 16.6, so t = 17: at t = 16 the step is 1.105 eta, at t = 17 it is 1.094 eta. Forgetting the square at the first step gives 0.9**t <= 0.0909, t = 23; the rule of thumb 1/(1 - beta2) gives 10. Both are wrong for different reasons.",
        ),
        mistakes={
            "no_square": "you compared 1 / (1 - beta2**t) with 1 + tol: the step is eta / sqrt(1 - beta2**t), so square (1 + tol) before you solve for beta2**t.",
            "window": "you returned the window 1 / (1 - beta2), a rule of thumb for how long the average remembers, not the step at which this step-size condition first holds: it ignores tol.",
            "floor": "off by one: at the step you returned the step is still a little larger than (1 + tol) eta. The answer is the smallest integer t that satisfies the inequality: round up, not down.",
            "half_life": "you returned the half-life ln 2 / ln(1/beta2) of the average: that says when half the weight is on recent gradients, not when the step has settled within tol.",
        },
    ),
    Question(
        name="fix_rmsprop_momentum",
        assignment=ASSIGNMENT,
        kind="bug",
        level="core",
        points=3,
        title="find and fix the two bugs of an RMSprop step with momentum and weight decay",
        function="rmsprop_momentum_step",
        params=("params", "grad", "v", "b", "lr", "alpha", "eps", "momentum", "weight_decay"),
        returns=("params", "v", "b"),
        state=("params", "v", "b"),
        grad_arg="grad",
        hints=(
            "Compare the code with what torch.optim.RMSprop does, line by line, in this order: what gradient does it use once weight_decay > 0, which quantity does the moving average v see, and where does eps go?",
            "In torch.optim.RMSprop, weight_decay is an L2 penalty: the gradient is replaced by grad + weight_decay * params *before* anything else, so v averages the squares of that penalized gradient too. And torch adds eps outside the square root (lecture 6, section 4).",
            "Worked example with one coordinate: params = 2, grad = 0.001, v = b = 0, lr = 0.1, alpha = 0.99, eps = 1e-4, momentum = 0.9, weight_decay = 0.01. The penalized gradient is 0.001 + 0.02 = 0.021, so v = 0.01 * 0.021**2 = 4.41e-6 and sqrt(v) + eps = 2.2e-3; b = 0.021 / 2.2e-3 = 9.55 and params becomes 2 - 0.955 = 1.045. The given code averages only 0.001**2 (v = 1e-8) and puts eps under the root (sqrt(1.0001e-4) = 0.0100), so its b is 2.1 and its step five times smaller. Check each bug separately: with weight_decay = 0 only the eps bug remains; with a large gradient only the weight-decay bug shows.",
        ),
        mistakes={
            "as_given": "this behaves exactly like the given code: both bugs are still there. Compare it, line by line, with the algorithm in torch.optim.RMSprop's documentation.",
            "eps_inside": "eps is still inside the square root. torch.optim.RMSprop divides by sqrt(v) + eps: with eps = 1e-4 and tiny gradients the two differ a lot.",
            "decay_not_in_v": "the weight-decay term is added to the step but not to the gradient that v averages. torch replaces grad by grad + weight_decay * params first, so v sees the penalized gradient too.",
            "decoupled": "you applied weight decay as a separate shrink of the parameters (decoupled, as AdamW does). torch.optim.RMSprop's weight_decay is an L2 term added to the gradient before v and the momentum buffer see it.",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="saddle_escape_prediction",
        assignment=ASSIGNMENT,
        kind="predict",
        level="core",
        points=1,
        title="predict how many steps RMSprop needs to leave the saddle of x**2 - y**2",
        variable="PREDICTED_STEPS",
        hints=(
            "Gradient descent at eta = 0.01 needs 349 steps. Think about the size of RMSprop's y-steps, not of the gradient: how large is the very first step, and does it shrink or grow while |y| grows?",
            "Your prediction is graded on a generous band around the true count, and only if it was committed before you ran the experiment. The explanation below matters more than the number.",
            "Reason it through: RMSprop's first step in y is eta / sqrt(1 - beta2) whatever the size of the gradient (lecture 6, section 6), and while |y| grows the gradient grows faster than its running RMS catches up. Estimate how far y gets in the first few steps before you commit a number.",
        ),
        mistakes={
            "as_slow_as_gd": "a count close to gradient descent's assumes that normalization does not change how fast a tiny gradient component grows. RMSprop divides that tiny component by its own tiny RMS.",
            "one_giant_leap": "a handful of steps assumes the normalized step jumps far at once. No y-step of RMSprop here is larger than eta / sqrt(1 - beta2) = 0.1, so covering the distance 1 takes at least ten steps.",
            "one_eta_per_step": "about 1/eta = 100 steps assumes every y-step has size exactly eta. RMSprop's first steps are about 10 eta (no bias correction, beta2 = 0.99), and the gradient keeps growing faster than its average.",
        },
    ),
    Question(
        name="saddle_escape_explained",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="explain the saddle-escape result",
        prompt="Compare your prediction with the count the experiment printed. Explain, with the size of RMSprop's first steps and the way its y-steps change while |y| grows, why it escapes so much faster than gradient descent, and what would change with bias correction.",
    ),
    Question(
        name="graves_step",
        assignment=ASSIGNMENT,
        kind="paper",
        level="stretch",
        points=3,
        title="RMSprop as Graves (2013) wrote it: centered, momentum on the update, eps inside the root",
        function="graves_step",
        params=("params", "grad", "n", "gbar", "delta", "lr", "decay", "momentum", "eps"),
        returns=("params", "n", "gbar", "delta"),
        state=("params", "n", "gbar", "delta"),
        grad_arg="grad",
        hints=(
            "Keep the paper's order: first refresh both running averages with the new derivative, then form the new update from the *refreshed* averages, then add the update to the weights.",
            "The quantity under the root is (average of squares) minus (square of the average) plus the constant: a variance estimate plus eps, all inside the root. The update carries the learning rate inside it, and its sign: it is what gets *added* to the weights.",
            "Worked example with one weight, decay = 0.95, momentum = 0.9, lr = 1e-4, eps = 1e-4, all state zero and derivative 1: n = 0.05, gbar = 0.05, n - gbar**2 + eps = 0.05 - 0.0025 + 0.0001 = 0.0476, whose root is 0.2182; delta = 0.9 * 0 - 1e-4 * 1 / 0.2182 = -4.58e-4, and the weight moves by -4.58e-4. With torch's centered RMSprop (eps outside the root) the denominator would be 0.2179 + 1e-4: close here, very different when the variance is tiny.",
        ),
        mistakes={
            "eps_outside": "eps is outside the square root: that is torch's centered RMSprop. Graves adds the constant under the root, to the variance estimate.",
            "uncentered": "the denominator uses the average of squares alone. Graves subtracts the square of the averaged derivative: the root of a variance, not of a mean square.",
            "stale_gbar": "the update uses the averages from before this step's refresh. Refresh both averages with the new derivative first, then form the update from them.",
            "torch_buffer": "the returned delta is a momentum buffer without the learning rate and with the opposite sign (torch's convention). In Graves's form the update itself carries -lr and is added to the weights.",
            "mutates": MUTATES,
        },
    ),
)
