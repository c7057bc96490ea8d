# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex03: minibatch SGD. What each question asks for (public: ships in the release)."""

from .record import Question

ASSIGNMENT = "ex03_minibatch_sgd"

QUESTIONS = (
    Question(
        name="minibatch_indices",
        assignment=ASSIGNMENT,
        kind="paper",
        points=3,
        title="one epoch of shuffled minibatch indices",
        function="minibatch_indices",
        params=("n", "batch_size", "seed"),
        returns=("batches",),
        output="batches",
        hints=(
            "One epoch visits every example exactly once, in a random order that the seed makes reproducible.",
            "Shuffle once with `np.random.default_rng(seed).permutation(n)`, then cut the order into consecutive slices.",
            "`order = np.random.default_rng(seed).permutation(n)`; return "
            "`[order[i:i + batch_size] for i in range(0, n, batch_size)]` (the last batch may be smaller).",
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
        kind="paper",
        points=3,
        title="minibatch SGD on the digits",
        function="sgd",
        params=("grad_fn", "w0", "lr", "batches"),
        returns=("w",),
        rtol=1e-6,
        hints=(
            "Take one step per batch, in the order given, each with the gradient on that batch only.",
            "For each batch: w = w - lr * grad_fn(w, batch). Start from w0 and return the last w.",
            "`w = w0.copy()` (or `w = w0`), then `for batch in batches: w = w - lr * grad_fn(w, batch)`; `return w`.",
        ),
        mistakes={
            "full_batch": "you ignored the batches and used the full-batch gradient. Pass each batch: grad_fn(w, batch).",
            "ascent": "you moved up the gradient: w + lr * grad. SGD subtracts.",
            "one_step": "you took only one step. Take one step per batch.",
            "mutates": "your function changed w0 in place (e.g. `w -= ...` on w0). Start from a copy, or write `w = w - ...`.",
        },
    ),
    Question(
        name="batch_size_noise",
        assignment=ASSIGNMENT,
        kind="written",
        points=2,
        title="batch size and gradient noise",
        prompt="How does the batch size change the noise of the loss curve, and the cost of an epoch?",
    ),
)
