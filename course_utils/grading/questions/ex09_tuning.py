# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex09: tuning Adam. What each question asks for (public: ships in the release)."""

from .record import CONFIG_MISTAKES, Question

ASSIGNMENT = "ex09_tuning"

TUNING = {"problem": "mlp", "hidden": 32, "steps": 300, "threshold": 0.12, "max_batch_size": 128}

BEST_LR_CHOICES = ("0.001", "0.03", "0.3", "3")

QUESTIONS = (
    Question(
        name="best_lr_prediction",
        assignment=ASSIGNMENT,
        kind="predict",
        level="core",
        points=1,
        title="predict which of four learning rates ends lowest after 300 steps of Adam",
        variable="PREDICTED_BEST_LR",
        choices=BEST_LR_CHOICES,
        hints=(
            "Lecture 9, section 1: the range test on this network found the loss lowest near lr = 0.19, and the rule of thumb takes about a tenth of that. Where does each of the four candidates sit relative to it?",
            "Adam moves each weight by about lr per step whatever the gradient's size (lecture 8). Ask, for each candidate, how far 300 such steps can carry a weight, and whether steps of that size can still settle near a minimum.",
            "Worked explanation: 300 steps of about 0.001 move a weight by at most about 0.3 in total, less than the distance the weights of a trained layer travel, so the run stops early on the way down. Steps of 0.3 or 3 per weight rewrite the weights every few steps (the update-to-weight ratio of section 1 would be near 1 instead of about 0.01), so the loss jumps instead of settling. The range test's suggestion, a tenth of its minimum near 0.19, is about 0.02: the candidate closest to it is in the flat bottom of lecture 9's sweep.",
        ),
        mistakes={
            "default_safe": "the default 1e-3 is tuned for long trainings. Adam moves each weight by about lr per step, so 300 steps of 0.001 move it by at most about 0.3 in all: the run is still on its way down when the budget ends.",
            "range_minimum": "the range test's minimum (about 0.19) marks where the loss is about to blow up, not the best rate to train with: fastai's rule takes about a tenth of it. At 0.3 each step changes the weights too much for the loss to settle.",
            "normalized_any_lr": "Adam normalizes the gradient's scale, not the step's: the step is about lr per weight whatever the gradient, so lr = 3 moves every weight by about 3 per step and the network never learns. Normalization makes the right lr independent of the loss's scale, not arbitrary.",
        },
    ),
    Question(
        name="best_lr_explained",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="explain which learning rate won",
        prompt="Compare your prediction with the losses. Explain why the winner wins and why each neighbour loses, using Adam's step size of about lr per weight and the range test of lecture 9.",
    ),
    Question(
        name="choose_hyperparameters",
        assignment=ASSIGNMENT,
        kind="design",
        level="core",
        points=6,
        title=f"reach a validation loss below {TUNING['threshold']} within {TUNING['steps']} steps",
        function="choose_hyperparameters",
        params=(),
        returns=("config",),
        mistakes=dict(CONFIG_MISTAKES),
        hints=(
            "Start from Adam and sweep the learning rate on a log grid (1e-3 ... 1e-1): with this step budget the "
            "default 1e-3 is far too cautious.",
            'A larger batch (up to 128) makes each step less noisy; a cosine schedule ("schedule": "cosine") lets '
            "you start with a large step and end with a small one.",
            "Worked explanation: the grade runs your configuration on hidden seeds, so a configuration that reaches 0.11 on one seed "
            "and 0.13 on another earns half the points. Suppose three learning rates give mean validation losses 0.20, 0.10 and 0.105 over "
            "seeds 0-3, with the middle one ranging 0.09-0.13 and the last 0.10-0.11: the last is the better choice, since its worst seed still passes. "
            "Judge each candidate by its worst seed and keep a margin below the threshold; the seeds you tried are not the ones that grade you.",
        ),
    ),
    Question(
        name="tuning_method",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="how you searched",
        prompt="Describe your search (grid or random, which ranges), what mattered most, and how you avoided overfitting "
        "the validation set.",
    ),
    Question(
        name="random_search_hit",
        assignment=ASSIGNMENT,
        kind="derive",
        level="stretch",
        points=2,
        title="the probability that a random log-scale search lands in the good band of learning rates",
        function="random_search_hit",
        params=("n", "lr_min", "lr_max", "good_min", "good_max"),
        returns=("probability",),
        rtol=1e-10,
        tolerance="a closed form of two logarithms, a power and a subtraction: float64 evaluates any correct arrangement to within about 1e-14 relative for these inputs (probabilities from about 0.1 to 1); 1e-10 is generous and far below the gaps to the known mistakes",
        hints=(
            "Lecture 9, section 7: random search draws each learning rate log-uniformly, that is, its logarithm is uniform on [ln lr_min, ln lr_max]. Start with the chance that one draw lands in the good band.",
            "One draw lands in [good_min, good_max] with probability (ln good_max - ln good_min) / (ln lr_max - ln lr_min): lengths measured in logarithms. The n draws are independent. It is easier to compute the chance that all of them miss.",
            "Worked explanation, with the lecture's range: learning rates from 0.001 to 10 span four decades; a good band from 0.02 to 0.2 spans one, so one log-uniform draw lands in it with probability 1/4 and misses with 3/4. Nine independent draws all miss with probability (3/4) to the power 9, about 0.075, so at least one lands in the band with probability about 0.925. Measured on a linear scale instead, the band would be only 0.18 of the 10 units, under 2 %: the reason to search on a log scale.",
        ),
        mistakes={
            "linear_scale": "you measured the band on a linear scale, (good_max - good_min) / (lr_max - lr_min). The draws are log-uniform: measure lengths in logarithms, ln(good_max / good_min) / ln(lr_max / lr_min).",
            "union_bound": "n times the chance of one hit counts twice the runs in which two draws land in the band (and can exceed 1). Use the complement: at least one hit is one minus the chance that all n draws miss.",
            "all_hit": "p to the power n is the chance that every draw lands in the band. The search succeeds when at least one does: one minus the chance that all miss.",
            "all_miss": "(1 - p) to the power n is the chance that every draw misses the band. The search succeeds with the complement of that.",
        },
    ),
)
