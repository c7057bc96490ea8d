# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex02: gradient descent. What each question asks for (public: ships in the release)."""

from .record import MUTATES, Question

ASSIGNMENT = "ex02_gradient_descent"

QUESTIONS = (
    Question(
        name="gd_step",
        assignment=ASSIGNMENT,
        kind="rule",
        level="core",
        points=2,
        title="one gradient-descent step",
        function="gd_step",
        params=("x", "grad", "lr"),
        returns=("x",),
        hints=(
            "Gradient descent moves *against* the gradient, by a step proportional to the learning rate.",
            "The update is θ_t = θ_{t-1} - η ∇f(θ_{t-1}), coordinate by coordinate; array arithmetic does every coordinate at once, for any shape.",
            "Worked example: at θ = (1, -2) with gradient (0.5, 1) and η = 0.1 the step is -η times the gradient, (-0.05, -0.1), "
            "so the new point is (0.95, -2.1): each coordinate moves downhill, the steeper one further. "
            "Build the new point as a new array: an in-place update would also change the caller's copy of θ, which it may still need.",
        ),
        mistakes={
            "ascent": "you moved *up* the gradient (θ + η ∇f). Gradient descent subtracts: θ - η ∇f.",
            "no_lr": "the learning rate is missing: the step should be η ∇f (lr * grad), not the bare gradient.",
            "mutates": MUTATES,
        },
    ),
    Question(
        name="numerical_gradient",
        assignment=ASSIGNMENT,
        kind="paper",
        level="core",
        points=3,
        title="central-difference gradient",
        function="numerical_gradient",
        params=("f", "x", "h"),
        returns=("grad",),
        rtol=1e-6,
        hints=(
            "Estimate each partial derivative separately: nudge one coordinate, leave the others alone.",
            "Central difference for coordinate i: (f(θ + h e_i) - f(θ - h e_i)) / (2h), where e_i is the i-th unit vector.",
            "Worked example: for f(θ) = θ_1² + 3θ_2 at θ = (1, 0) with h = 0.1, nudging θ_1 gives (1.1² - 0.9²)/0.2 = 0.4/0.2 = 2, "
            "exactly ∂f/∂θ_1 = 2θ_1 (the h² errors cancel in the symmetric difference), and nudging θ_2 gives (0.3 - (-0.3))/0.2 = 3. "
            "So you need one pair of evaluations per coordinate, each on a perturbed *copy* of the point, and the results go into an array shaped like x.",
        ),
        mistakes={
            "forward": "you used a forward difference (f(θ + h e_i) - f(θ)) / h. Use the central difference (f(θ + h e_i) - f(θ - h e_i)) / (2h): its error is O(h^2) instead of O(h).",
            "no_half": "your gradient is twice too large: the central difference spans 2h, so divide by 2h, not h.",
            "all_at_once": "you perturbed all coordinates at once. Nudge one coordinate at a time (θ + h e_i) to get each partial derivative.",
            "mutates": "your function changed x in place (e.g. `x[i] += h`) and left it changed. Perturb a copy.",
        },
    ),
    Question(
        name="largest_stable_lr",
        assignment=ASSIGNMENT,
        kind="derive",
        tolerance="np.linalg.eigvalsh is backward stable: on these symmetric matrices (condition number up to 1e3) the largest eigenvalue comes out within a few 1e-16 relative, so rtol 1e-7 accepts any correct eigenvalue routine with a wide margin, while 1/L, the diagonal and the trace differ by factors of order 1.",
        level="core",
        points=2,
        title="largest stable learning rate 2/L of a quadratic",
        function="largest_stable_lr",
        params=("A",),
        returns=("lr",),
        hints=(
            "On f(θ) = θᵀAθ/2 the gradient is Aθ. Write one step θ_t = θ_{t-1} - η A θ_{t-1} as a matrix times θ_{t-1}, and look at what it does to an eigenvector of A.",
            "Along an eigenvector with eigenvalue λ_i, one step multiplies the error by (1 - η λ_i). The iteration is stable when every such factor has absolute value below 1.",
            "Worked example: for the diagonal matrix A with entries 1 and 10, the factors are 1 - η and 1 - 10η. At η = 0.15 they are 0.85 and -0.5: both shrink. "
            "At η = 0.25 the second is -1.5: that coordinate flips sign and grows by half at every step. "
            "The largest curvature λ_max = L = 10 sets the limit |1 - ηL| < 1, i.e. η < 2/10 = 0.2; "
            "when A is not diagonal the same holds for its eigenvalues (not its diagonal entries), which a symmetric eigenvalue routine gives you.",
        ),
        mistakes={
            "one_over_L": "you returned 1/L. That step size converges, but the stability limit is 2/L: "
            "|1 - η L| < 1 allows η up to 2/L.",
            "diag": "you used the largest *diagonal* entry of A. The bound needs the largest *eigenvalue*: the two differ as soon as the quadratic is rotated.",
            "mu": "you used the smallest eigenvalue. The largest eigenvalue L limits the step: above 2/L its direction blows up.",
            "trace": "you used the trace (the sum of the eigenvalues). Only the largest eigenvalue L matters: the limit is 2/L.",
        },
    ),
    Question(
        name="gd_zigzag",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="why gradient descent zig-zags",
        prompt="Why does gradient descent zig-zag on an ill-conditioned quadratic, and what happens just above lr = 2/L?",
    ),
    Question(
        name="worst_case_steps",
        assignment=ASSIGNMENT,
        kind="derive",
        level="stretch",
        points=2,
        title="how many gradient-descent steps a quadratic needs at a given learning rate",
        function="worst_case_steps",
        params=("A", "lr", "tol"),
        returns=("steps",),
        rtol=1e-12,
        tolerance="the answer is a whole number of steps, the ceiling of a ratio of two logarithms; the cases keep that ratio at least 1e-6 away from a whole number, so any correct float64 arrangement gives the same integer, while the known mistakes are off by several steps",
        hints=(
            "Lecture 2: along each eigenvector of A one step multiplies the error by its own factor (1 - η λ_i). After t steps the error in that direction has been multiplied by that factor to the power t. Which direction is the last to shrink below the tolerance, whatever the starting point?",
            "The worst case over starting points is set by the factor of largest absolute value, the spectral radius ρ = max over i of |1 - η λ_i|; at a given η that can be the flattest or the steepest direction. The distance to the minimizer is at most ρ to the power t times the starting distance. Find the smallest whole t with that factor at most tol.",
            "Worked example: curvatures 1 and 10 with η = 0.19. The factors are 1 - 0.19 = 0.81 and 1 - 1.9 = -0.9, so ρ = 0.9: here the steep direction is the slow one, because η is close to 2/L = 0.2. To shrink the distance 1000-fold, solve 0.9 to the power t ≤ 0.001: t ≥ ln(1000) / ln(1/0.9) = 6.908 / 0.1054 = 65.6, so 66 steps. With η = 0.15 the factors are 0.85 and -0.5, the flat direction is the slow one, and 43 steps are needed.",
        ),
        mistakes={
            "only_L": "you used only the steepest direction's factor |1 - η L|. At a small learning rate the flat direction, with factor 1 - η μ, is the slow one: take the largest |1 - η λ_i| over all eigenvalues.",
            "only_mu": "you used only the flattest direction's factor 1 - η μ. Near the stability limit 2/L the steep direction's factor |1 - η L| is larger: take the largest over all eigenvalues.",
            "loss_rate": "you counted the steps for the loss, which shrinks by ρ squared per step, not for the distance to the minimizer, which shrinks by ρ: your count is about half the right one.",
            "floor": "you rounded the ratio of logarithms down. After that many steps the factor is still slightly above tol: round up, to the first whole step at which ρ to the power t is at most tol.",
        },
    ),
)
