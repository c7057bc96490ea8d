# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex02: gradient descent. What each question asks for (public: ships in the release)."""

from .record import MUTATES, Question

ASSIGNMENT = "ex02_gradient_descent"

QUESTIONS = (
    Question(
        name="gd_step",
        assignment=ASSIGNMENT,
        kind="paper",
        points=2,
        title="one gradient-descent step",
        function="gd_step",
        params=("x", "grad", "lr"),
        returns=("x",),
        hints=(
            "Gradient descent moves *against* the gradient, by a step proportional to the learning rate.",
            "The update is x_new = x - lr * grad. It works the same for arrays of any shape.",
            "One line: `return x - lr * grad` (do not write `x -= ...`: that would change the caller's array).",
        ),
        mistakes={
            "ascent": "you moved *up* the gradient (x + lr * grad). Gradient descent subtracts: x - lr * grad.",
            "no_lr": "the learning rate is missing: the step should be lr * grad, not grad.",
            "mutates": MUTATES,
        },
    ),
    Question(
        name="numerical_gradient",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="central-difference gradient",
        function="numerical_gradient",
        params=("f", "x", "h"),
        returns=("grad",),
        rtol=1e-6,
        hints=(
            "Estimate each partial derivative separately: nudge one coordinate, leave the others alone.",
            "Central difference for coordinate i: (f(x + h e_i) - f(x - h e_i)) / (2h), where e_i is the i-th unit vector.",
            "Loop over i: `e = np.zeros_like(x); e[i] = h; g[i] = (f(x + e) - f(x - e)) / (2 * h)`.",
        ),
        mistakes={
            "forward": "you used a forward difference (f(x+h) - f(x)) / h. Use the central difference (f(x+h) - f(x-h)) / (2h): its error is O(h^2) instead of O(h).",
            "no_half": "your gradient is twice too large: the central difference spans 2h, so divide by 2h, not h.",
            "all_at_once": "you perturbed all coordinates at once. Nudge one coordinate at a time (x + h e_i) to get each partial derivative.",
            "mutates": "your function changed x in place (e.g. `x[i] += h`) and left it changed. Perturb a copy.",
        },
    ),
    Question(
        name="largest_stable_lr",
        assignment=ASSIGNMENT,
        kind="paper",
        points=2,
        title="largest stable learning rate 2/L of a quadratic",
        function="largest_stable_lr",
        params=("A",),
        returns=("lr",),
        hints=(
            "On f(x) = x^T A x / 2, gradient descent multiplies each eigen-direction of A by (1 - lr * lambda) per step.",
            "Every factor |1 - lr * lambda| must stay below 1; the largest eigenvalue L is the tightest constraint.",
            "`L = np.linalg.eigvalsh(A).max()`, then return 2 / L.",
        ),
        mistakes={
            "one_over_L": "you returned 1/L. That step size converges, but the stability limit is 2/L: "
            "|1 - lr * L| < 1 allows lr up to 2/L.",
            "diag": "you used the largest *diagonal* entry of A. The bound needs the largest *eigenvalue*: the two differ as soon as the quadratic is rotated.",
            "mu": "you used the smallest eigenvalue. The largest eigenvalue L limits the step: above 2/L its direction blows up.",
            "trace": "you used the trace (the sum of the eigenvalues). Only the largest eigenvalue L matters: the limit is 2/L.",
        },
    ),
    Question(
        name="gd_zigzag",
        assignment=ASSIGNMENT,
        kind="written",
        points=2,
        title="why gradient descent zig-zags",
        prompt="Why does gradient descent zig-zag on an ill-conditioned quadratic, and what happens just above lr = 2/L?",
    ),
)
