# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex03: minibatch SGD. What each question asks for (public: ships in the release)."""

from .record import Question

ASSIGNMENT = "ex03_minibatch_sgd"

QUESTIONS = (
    Question(
        name="minibatch_indices",
        assignment=ASSIGNMENT,
        kind="paper",
        level="core",
        points=3,
        title="one epoch of shuffled minibatch indices",
        function="minibatch_indices",
        params=("n", "batch_size", "seed"),
        returns=("batches",),
        output="batches",
        hints=(
            "One epoch visits every example exactly once, in a random order that the seed makes reproducible.",
            "Shuffle once with `np.random.default_rng(seed).permutation(n)`, then cut the order into consecutive slices.",
            "Worked example: n = 7, batch_size = 3. Suppose the seeded shuffle gives the order 4, 0, 6, 2, 5, 1, 3. "
            "The epoch is then three batches, [4, 0, 6], [2, 5, 1] and [3]: seven indices, each exactly once, and a last batch of 7 - 2·3 = 1. "
            "Dropping that short batch would skip example 3 this epoch; drawing indices independently would repeat some and miss others. "
            "The grader compares your batches with that exact generator's order, so do not reseed or reshuffle in between.",
        ),
        mistakes={
            "no_shuffle": "your batches are not shuffled: they come in the order 0, 1, 2, ... Shuffle with np.random.default_rng(seed).permutation(n).",
            "drop_last": "you dropped the last, smaller batch. Keep it: every example must be used once per epoch.",
            "replacement": "some indices appear twice and others never: you sampled with replacement. Cut one permutation into slices instead.",
            "other_shuffle": "your batches use every index once, but not in the order of np.random.default_rng(seed).permutation(n). Use exactly that generator so runs are reproducible.",
        },
    ),
    Question(
        name="sgd",
        assignment=ASSIGNMENT,
        kind="rule",
        level="core",
        points=3,
        title="minibatch SGD on the digits",
        function="sgd",
        params=("grad_fn", "w0", "lr", "batches"),
        returns=("w",),
        rtol=1e-6,
        hints=(
            "Take one step per batch, in the order given, each with the gradient on that batch only.",
            "Each step t uses the gradient of the loss on batch t only, evaluated at the current weights θ_{t-1}: θ_t = θ_{t-1} - η ∇f_B(θ_{t-1}).",
            "Worked example: with f_B(θ) = θ² on every batch, θ_0 = 1, η = 0.1 and three batches, the steps give 1 → 0.8 → 0.64 → 0.512 "
            "(each gradient 2θ is taken at the *latest* point, so three steps are not one step of three times the size). "
            "The answer is the weights after the last batch. Rebinding a name to a new array leaves the caller's w0 untouched; "
            "an in-place update would change it.",
        ),
        mistakes={
            "full_batch": "you ignored the batches and used the full-batch gradient. Pass each batch: grad_fn(w, batch).",
            "ascent": "you moved up the gradient (θ + η ∇f_B). SGD subtracts: θ - η ∇f_B.",
            "one_step": "you took only one step. Take one step per batch.",
            "mutates": "your function changed w0 in place (e.g. `w -= ...` on w0). Start from a copy, or write `w = w - ...`.",
        },
    ),
    Question(
        name="minibatch_noise",
        assignment=ASSIGNMENT,
        kind="derive",
        tolerance="a float64 sum of at most 60 x 6 squares: rounding is about 1e-15 relative, and an algebraically equivalent form such as E||g_i||^2 - ||mean||^2 loses at most (mean/spread)^2 ~ 1e2 times more in the public case with mean 10 (1e-13); rtol 1e-9 accepts both, while each known mistake changes the value by at least a factor (n - 1)/n >= 0.98, i.e. 2e-2.",
        points=3,
        title="derive the noise of a minibatch gradient drawn without replacement",
        function="minibatch_noise",
        params=("per_example_grads", "batch_size"),
        returns=("noise",),
        level="stretch",
        rtol=1e-9,
        hints=(
            "The quantity is an average over every possible batch of B distinct rows: E‖g_B - ∇f‖², where g_B is the mean of the batch's rows "
            "and ∇f the mean of all n rows. Reduce it to the spread σ² of the rows and a factor that depends on n and B.",
            "Write g_B - ∇f = (1/B) Σ_i z_i (δ_i - ∇f) with z_i = 1 if row i is in the batch. Expand the square: you need E[z_i] = B/n "
            "and, for i ≠ j, E[z_i z_j] = B(B-1)/(n(n-1)); the deviations δ_i - ∇f sum to zero, which turns the cross terms into minus the diagonal ones.",
            "Worked explanation: the diagonal terms give (1/B²)(B/n) Σ‖δ_i - ∇f‖² = σ²/B, with σ² = (1/n) Σ‖δ_i - ∇f‖² the mean squared "
            "distance of the rows from their mean (not the n-1 sample variance). The cross terms subtract a fraction (B-1)/(n-1) of it, "
            "which leaves σ²/B · (n-B)/(n-1). Check with n = 2 rows (1) and (-1), B = 1: σ² = 1 and the formula gives 1, "
            "right since either batch is 1 away from the mean 0; with B = 2 the batch is the whole set and both the formula and the truth give 0.",
        ),
        mistakes={
            "with_replacement": "you returned σ²/B, the noise of B rows drawn *with* replacement. Without replacement the same row cannot come twice: multiply by (n - B)/(n - 1), which is 0 for a full batch.",
            "fpc_over_n": "your correction factor is (n - B)/n. Expanding E[z_i z_j] = B(B - 1)/(n(n - 1)) gives (n - B)/(n - 1): check it with n = 2, B = 1.",
            "sample_variance": "your σ² divides by n - 1 (a sample variance). Here σ² is the mean over all n rows, (1/n) Σ‖g_i - ∇f‖²: the rows are the whole population, not a sample.",
            "no_centering": "you averaged ‖g_i‖² without subtracting the full gradient ∇f (the mean row). The noise is the spread *around* the mean: σ² = (1/n) Σ‖g_i - ∇f‖².",
            "per_coordinate": "you returned one number per coordinate. The noise E‖g_B - ∇f‖² is a squared *norm*: sum over the coordinates.",
        },
    ),
    Question(
        name="batch_size_noise",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="batch size and gradient noise",
        prompt="How does the batch size change the noise of the loss curve, and the cost of an epoch?",
    ),
)
