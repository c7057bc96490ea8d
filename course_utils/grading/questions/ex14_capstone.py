# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex14: the capstone. What each question asks for (public: ships in the release)."""

from .record import CONFIG_MISTAKES, Question

ASSIGNMENT = "ex14_capstone"

CAPSTONE = {"hidden": 32, "steps": 100, "threshold": 0.15, "max_batch_size": 128}

ROTATION_CHOICES = (
    "Adam slows down, momentum is unchanged",
    "momentum slows down, Adam is unchanged",
    "both slow down",
    "neither changes",
)

QUESTIONS = (
    Question(
        name="polyak_settings",
        assignment=ASSIGNMENT,
        kind="derive",
        level="core",
        points=2,
        title="Polyak's optimal heavy-ball learning rate and momentum for given L and mu",
        function="polyak_settings",
        params=("L", "mu"),
        returns=("lr", "momentum"),
        rtol=1e-10,
        tolerance="two closed forms of a few square roots and divisions: float64 evaluates any correct arrangement to within about 1e-15 relative; 1e-10 is generous and far below the gaps to the known mistakes (a square, or sqrt(kappa) against kappa)",
        hints=(
            "Lecture 4 analysed heavy ball on a quadratic: the error evolves by a 2 x 2 matrix per curvature, and the best settings make the rate the same for the smallest curvature mu and the largest L. Write the rate as a function of the momentum first.",
            "At the optimum both eigenvalues of every curvature's 2 x 2 matrix have size sqrt(momentum), and the learning rate puts the extreme curvatures at the two edges: (1 + momentum - lr mu) and (1 + momentum - lr L) are +2 sqrt(momentum) and -2 sqrt(momentum). Solve these two equations for lr and momentum.",
            "Worked example, L = 100 and mu = 1 (kappa = 100): sqrt(L) = 10, sqrt(mu) = 1. The learning rate is 4 / (10 + 1)**2 = 0.0331 and the momentum ((10 - 1) / (10 + 1))**2 = 0.669, so the rate is sqrt(0.669) = 0.818 per step, against (kappa - 1) / (kappa + 1) = 0.980 for the best plain gradient descent: about 10 times fewer steps per digit of accuracy.",
        ),
        mistakes={
            "unsquared": "your momentum is the rate (sqrt(kappa) - 1) / (sqrt(kappa) + 1) itself. The momentum is its square: the rate is sqrt(momentum).",
            "kappa_not_sqrt": "you used kappa where its square root belongs: the optimal momentum is ((sqrt(L) - sqrt(mu)) / (sqrt(L) + sqrt(mu)))**2.",
            "gd_settings": "you returned plain gradient descent's best settings (lr = 2 / (L + mu), no momentum). Heavy ball uses a larger learning rate together with momentum.",
            "lr_over_L": "the learning rate 1/L is the safe choice for gradient descent. Polyak's optimum is 4 / (sqrt(L) + sqrt(mu))**2, which puts both extreme curvatures at the edge of the same rate.",
        },
    ),
    Question(
        name="rotation_prediction",
        assignment=ASSIGNMENT,
        kind="predict",
        level="core",
        points=1,
        title="predict what rotating an ill-conditioned quadratic does to Adam and to momentum",
        variable="PREDICTED_ROTATION",
        choices=ROTATION_CHOICES,
        hints=(
            "Ask for each method whether its update treats the coordinate axes specially. What would happen to its iterates if you rotated the problem and the starting point together?",
            "Heavy ball's update is a linear combination of the gradient and the previous step: it commutes with a rotation. Adam divides each coordinate by its own running RMS: a diagonal rescaling in the original axes.",
            "Reason it through on the axis-aligned quadratic first: each of Adam's coordinates sees only one curvature, and the diagonal rescaling undoes the conditioning. After a rotation every coordinate mixes both curvatures: can one number per coordinate still undo it? A number to try: curvatures 1 and 100 rotated by 45 degrees give a Hessian whose diagonal entries are both (1 + 100)/2 = 50.5 and whose off-diagonal entry is (100 - 1)/2 = 49.5 in size.",
        ),
        mistakes={
            "momentum_slows": "momentum's update is a linear combination of gradients and past steps: rotating the problem and the start together rotates its whole path and changes no distance or count.",
            "both_slow": "only a method that treats the axes specially can notice a rotation. Heavy ball does not: its iterates rotate with the problem.",
            "neither": "Adam's per-coordinate scaling is a diagonal preconditioner: on the axis-aligned quadratic it undoes the conditioning, after the rotation it cannot, because every coordinate mixes the two curvatures.",
        },
    ),
    Question(
        name="rotation_explained",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="explain the rotation result",
        prompt="Compare your prediction with the counts. Explain why momentum's count does not change under the rotation while Adam's does, and what this says about when Adam's per-coordinate scaling helps.",
    ),
    Question(
        name="capstone_config",
        assignment=ASSIGNMENT,
        kind="design",
        level="core",
        points=3,
        title=f"reach a validation loss below {CAPSTONE['threshold']} within {CAPSTONE['steps']} steps on the digits MLP",
        function="choose_capstone_config",
        params=(),
        returns=("config",),
        target=CAPSTONE,
        mistakes=dict(CONFIG_MISTAKES),
        hints=(
            f"The budget is a third of exercise 9's ({CAPSTONE['steps']} steps): the settings that were comfortable there may now be too cautious. Sweep the learning rate on a log grid for two or three optimizers.",
            'Larger batches (up to 128) give less noisy steps, and a schedule that starts large and ends small ("cosine", "warmup_cosine") uses a short budget well. Use `evaluate_config(config, seed, target="capstone_config")` to measure.',
            "A configuration passes only if it is below the threshold for every hidden seed: compare the worst of seeds 0 to 9, not the average, and keep a margin of about 10 % below the threshold.",
        ),
    ),
    Question(
        name="which_optimizer",
        assignment=ASSIGNMENT,
        kind="written",
        level="stretch",
        points=3,
        title="which optimizer for which problem",
        prompt="For each of three problems, choose an optimizer and justify it from the course: (a) full-batch logistic regression with 500 parameters; (b) a transformer trained on minibatches with a large embedding table; (c) a small network where only the final test accuracy matters and the tuning budget is large.",
    ),
)
