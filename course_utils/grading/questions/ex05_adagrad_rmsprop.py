# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex05: AdaGrad and RMSprop. What each question asks for (public: ships in the release)."""

from .record import MUTATES, NOT_CARRIED, Question

ASSIGNMENT = "ex05_adagrad_rmsprop"

QUESTIONS = (
    Question(
        name="adagrad_step",
        assignment=ASSIGNMENT,
        kind="rule",
        level="core",
        points=3,
        title="AdaGrad step (torch.optim.Adagrad)",
        function="adagrad_step",
        params=("params", "grad", "sum_sq", "lr", "eps"),
        returns=("params", "sum_sq"),
        state=("params", "sum_sq"),
        grad_arg="grad",
        hints=(
            "AdaGrad keeps, per coordinate, the sum of all squared gradients so far, and divides the step by its root.",
            "Order matters: first add this step's g_t² to the running sum s_t, then divide g_t by √s_t + ε (ε outside the root, as torch does).",
            "Worked example: η = 0.1 and a gradient of 2, then 2 again, from an empty sum. Step 1: s = 4, step 0.1 · 2/√4 = 0.1. "
            "Step 2: s = 8, step 0.1 · 2/√8 ≈ 0.071. The same gradient moves less each time: after t equal gradients the step is η/√t. "
            "Dividing by the old sum instead would divide 2 by √0 + ε on the first step, a step of about 2·10⁹. "
            "Return the new sum as well: it is the state the next call needs.",
        ),
        mistakes={
            "eps_inside": "eps is inside the square root. torch adds it outside: g_t / (√s_t + ε).",
            "old_sum": "you divided by the sum *before* adding this step's g_t². Add first, then divide.",
            "abs_sum": "you accumulated |g_t| instead of g_t².",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="rmsprop_step",
        assignment=ASSIGNMENT,
        kind="bug",
        level="core",
        points=3,
        title="find the bugs in an RMSprop step (torch.optim.RMSprop)",
        function="rmsprop_step",
        params=("params", "grad", "v", "lr", "alpha", "eps"),
        returns=("params", "v"),
        state=("params", "v"),
        grad_arg="grad",
        hints=(
            "Run the given code on a tiny case and compare it with torch.optim.RMSprop: call it twice with the same arrays and print v before and after each call.",
            "Two things differ from torch: where ε goes relative to the square root, and what happens to the caller's v (does the array you passed in still hold its old values after the call?).",
            "Worked explanation: torch divides by √v_t + ε. With v_t = 10⁻¹⁶ and ε = 10⁻⁸, √(v_t + ε) ≈ 10⁻⁴ but √v_t + ε = 2·10⁻⁸: "
            "ε inside the root damps tiny gradients 5000 times more (that is the TensorFlow/Keras convention, not torch's). "
            "And an in-place multiplication of v changes the array the caller still holds: if the caller keeps v to log it or to retry the step, "
            "it silently sees the new value. Write the update so that it builds new arrays and leaves its arguments as they were.",
        ),
        mistakes={
            "no_one_minus": "the (1 - β2) factor is missing (β2 is `alpha` in torch): v_t = β2 v_{t-1} + (1 - β2) g_t².",
            "eps_inside": "eps is inside the square root (the TensorFlow/Keras convention). torch adds it outside: g_t / (√v_t + ε).",
            "adagrad_sum": "you summed squared gradients like AdaGrad. RMSprop *averages* them: v_t = β2 v_{t-1} + (1 - β2) g_t².",
            "not_carried": NOT_CARRIED,
            "mutates": MUTATES,
        },
    ),
    Question(
        name="adagrad_decay",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="why AdaGrad's steps shrink too fast",
        prompt="Why do AdaGrad's step sizes keep shrinking, why does that suit sparse features, and how does RMSprop change it?",
    ),
    Question(
        name="rmsprop_alternating_step",
        assignment=ASSIGNMENT,
        kind="derive",
        level="stretch",
        points=2,
        title="RMSprop's steady step on a gradient that alternates between two sizes",
        function="rmsprop_alternating_step",
        params=("a", "b", "beta2", "lr"),
        returns=("step",),
        rtol=1e-10,
        tolerance="a closed form of a square root and a few products: float64 evaluates any correct arrangement to within about 1e-15 relative; 1e-10 is generous and far below the gaps to the known mistakes (a plain mean of a² and b², or the average before this step's a²)",
        hints=(
            "Far from the start the average v no longer depends on its initial value, but it does not settle to one number: it takes two values, one just after each a-step and one just after each b-step, and the steps repeat with period 2. Write one step of the EMA for each and ask that they close the cycle.",
            "Call v_a the average just after an a-step and v_b the one just after a b-step. Then v_a = β₂ v_b + (1 - β₂) a² and v_b = β₂ v_a + (1 - β₂) b². Substitute one into the other and solve for v_a; RMSprop updates v first and then divides, so the a-step has size η a / √v_a.",
            "Worked example: a = 3, b = 1, β₂ = 0.9, η = 0.01. Solving the pair, the average just after an a-step is (9 + 0.9 · 1)/1.9 = 5.21, so the a-step is 0.01 · 3/2.283 = 0.01314: larger than η, because the average still remembers the small b² of the step before. The plain mean (9 + 1)/2 = 5 would give 0.01342; dividing by the average before this step's a², (1 + 0.9 · 9)/1.9 = 4.79, would give 0.01371. As β₂ approaches 1 all three approach the mean.",
        ),
        mistakes={
            "mean_square": "you divided by the root of the plain mean (a² + b²)/2. That is the limit as β₂ goes to 1; at a finite β₂ the newest square weighs more: solve the two-step cycle of the EMA.",
            "old_average": "you divided by the average from before this step's a² was added. RMSprop (and torch.optim.RMSprop) updates v first and then divides, so the a-step sees v_a, which already holds a².",
            "no_memory": "you divided by |a| itself, as if the average held only the newest gradient (β₂ = 0): the step is then exactly η. The average also remembers the b² of the step before.",
            "unnormalized": "your average's weights do not sum to one: the cycle gives v_a = (a² + β₂ b²)/(1 + β₂); you left out the division by 1 + β₂.",
        },
    ),
)
