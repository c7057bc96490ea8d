# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex04: momentum. What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex04_momentum"

_MOMENTUM_COMMON = {
    "sutskever": "your buffer is η times torch's: that is Sutskever et al.'s convention (the learning rate inside the buffer, "
    "v_t = β v_{t-1} + η g_t). This exercise uses torch's: b_t = β b_{t-1} + g_t, and η multiplies the step.",
    "dampened": "you wrote b_t = β b_{t-1} + (1 - β) g_t, an exponential moving average. "
    "torch's momentum adds the whole gradient: b_t = β b_{t-1} + g_t.",
    "not_carried": NOT_CARRIED,
    "mutates": MUTATES,
}
QUESTIONS = (
    Question(
        name="momentum_step",
        assignment=ASSIGNMENT,
        kind="rule",
        level="core",
        points=3,
        title="heavy-ball momentum step (torch.optim.SGD)",
        function="momentum_step",
        params=("params", "grad", "buf", "lr", "momentum"),
        returns=("params", "buf"),
        state=("params", "buf"),
        grad_arg="grad",
        hints=(
            "The buffer is a leaky sum of past gradients; the step follows the buffer, not the raw gradient.",
            "torch.optim.SGD: first the buffer, b_t = β b_{t-1} + g_t, then the step θ_t = θ_{t-1} - η b_t, with the *new* buffer. Return both: the next step needs b_t.",
            "Worked example: β = 0.9, η = 0.1, a constant gradient g = 1 and an empty buffer. The buffers are 1, 1.9, 2.71, ... "
            "tending to 1/(1 - β) = 10, so the steps grow from 0.1 towards 1: momentum amplifies a steady gradient tenfold. "
            "If the gradients alternate +1, -1 the buffer settles at ±1/(1 + β) ≈ ±0.53 and the steps shrink to about half: oscillations cancel. "
            "That is why the buffer, not the raw gradient, sets the step, and why it must be carried from one call to the next.",
        ),
        mistakes={
            **_MOMENTUM_COMMON,
            "plain_gd": "your step ignores the buffer: θ - η g_t is plain gradient descent.",
        },
    ),
    Question(
        name="nesterov_step",
        assignment=ASSIGNMENT,
        kind="paper",
        level="core",
        points=3,
        title="Nesterov momentum step (torch.optim.SGD, nesterov=True)",
        function="nesterov_step",
        params=("params", "grad", "buf", "lr", "momentum"),
        returns=("params", "buf"),
        state=("params", "buf"),
        grad_arg="grad",
        hints=(
            "Nesterov updates the buffer exactly like heavy ball; only the direction of the step changes.",
            "Nesterov's idea is to take the gradient where momentum is about to carry you. torch rewrites the look-ahead so that no second gradient is needed: "
            "the step direction mixes this step's gradient with β times the *new* buffer.",
            "Worked example: β = 0.9, η = 0.1, buffer 2 and gradient 1. The new buffer is 0.9 · 2 + 1 = 2.8. Heavy ball would step by η · 2.8 = 0.28; "
            "Nesterov steps by η (1 + 0.9 · 2.8) = 0.352, because it counts the gradient once now and once more through the look-ahead. "
            "If the gradient turns against the buffer, say -3, the new buffer is -1.2 and Nesterov's direction is -3 - 1.08 = -4.08 "
            "against heavy ball's -1.2: it reacts faster to a change of slope. The buffer itself is updated exactly as in heavy ball.",
        ),
        mistakes={
            **_MOMENTUM_COMMON,
            "heavy_ball": "you returned the heavy-ball step, θ - η b_t (the same as using the *old* buffer in the look-ahead). Nesterov steps along g_t + β b_t, with the new buffer.",
        },
    ),
    Question(
        name="polyak_momentum",
        assignment=ASSIGNMENT,
        kind="derive",
        tolerance="the eigenvalues are accurate to ~1e-16 relative and both formulas amplify input errors by at most sqrt(kappa) ~ 1e2 (kappa <= 1e4), so a correct answer is within ~1e-13; rtol 1e-7 (the default) leaves room for any order of operations, and every known mistake differs by far more than that.",
        level="stretch",
        points=3,
        title="derive Polyak's optimal learning rate and momentum for a quadratic",
        function="polyak_momentum",
        params=("A",),
        returns=("lr", "momentum"),
        hints=(
            "On f(θ) = θᵀAθ/2 the heavy ball acts on each eigen-direction separately. Only the extreme curvatures μ = λ_min(A) and L = λ_max(A) matter.",
            "Along an eigenvalue λ the error obeys e_t = (1 + β - ηλ) e_{t-1} - β e_{t-2}. When the two roots of that recursion are complex, "
            "both have modulus √β. Choose η and β so that the roots for λ = μ and for λ = L are both just complex (a double root): that balances the two ends.",
            "Worked explanation: a double root needs (1 + β - ηλ)² = 4β, i.e. 1 + β - ηλ = ±2√β. Taking + for μ and - for L and subtracting gives "
            "η(L - μ) = 4√β, adding gives 2(1 + β) = η(L + μ). Solving, √β = (√L - √μ)/(√L + √μ) and η = 4/(√L + √μ)². "
            "Check with the diagonal matrix A with entries 1 and 4: √β = (2 - 1)/(2 + 1) = 1/3, so β = 1/9 ≈ 0.111 and η = 4/9 ≈ 0.444, and the error shrinks by 1/3 per step, "
            "where the best plain gradient descent (η = 2/(L + μ) = 0.4) only reaches (κ - 1)/(κ + 1) = 0.6. Take the eigenvalues of A, not its diagonal: A may be rotated.",
        ),
        mistakes={
            "rate_not_beta": "your momentum is the *rate* (√κ - 1)/(√κ + 1), the factor by which the error shrinks per step. The momentum is its square: β = ((√κ - 1)/(√κ + 1))².",
            "gd_lr": "your learning rate is 2/(L + μ), the best step of plain gradient descent. With Polyak's momentum the best step is larger: η = 4/(√L + √μ)².",
            "diag": "you used the diagonal entries of A as its curvatures. The curvatures are the eigenvalues: the two differ as soon as the quadratic is rotated.",
            "kappa_not_root": "you used κ where √κ belongs: β = ((κ - 1)/(κ + 1))² is the gradient-descent rate squared. Polyak's momentum is ((√κ - 1)/(√κ + 1))².",
        },
    ),
    Question(
        name="momentum_window",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="momentum's effective window",
        prompt="Why does momentum help in a narrow valley, and what is the effective averaging window for momentum 0.9?",
    ),
)
