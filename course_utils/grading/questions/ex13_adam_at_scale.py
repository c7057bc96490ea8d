# ruff: noqa: E501  (hints and messages are prose: one string per line reads better than wrapped fragments)
"""ex13: Adam at scale (sparse rows, ZeRO). What each question asks for (public: ships in the release)."""

from .record import MUTATES, Question

ASSIGNMENT = "ex13_adam_at_scale"

QUESTIONS = (
    Question(
        name="fix_lazy_adam",
        assignment=ASSIGNMENT,
        kind="bug",
        level="core",
        points=3,
        title="find and fix the two bugs of a lazy (SparseAdam-style) update of an embedding table",
        function="lazy_adam_step",
        params=("params", "rows", "row_grads", "m", "v", "t", "lr", "beta1", "beta2", "eps"),
        returns=("params", "m", "v"),
        hints=(
            "Two details of SparseAdam matter here, both stated in lecture 13, section 1: what happens when an id appears twice in one batch, and where eps enters relative to the bias corrections. Test the given code on a batch with a repeated id and a large eps.",
            "SparseAdam first coalesces the gradient: the gradient rows of a repeated id are added, and that row gets one Adam update with the sum (np.add.at does the adding). Its step is lr * sqrt(1 - beta2**t) / (1 - beta1**t) * m / (sqrt(v) + eps): eps is added to the uncorrected sqrt(v), before the correction factor.",
            "Worked example: one row looked up twice, gradients 0.3 and 0.1, m = v = 0, t = 1, lr = 0.1, betas (0.9, 0.999), eps = 1e-3. SparseAdam: G = 0.4, m = 0.04, v = 1.6e-4, sqrt(v) + eps = 0.01365, factor 0.1 * sqrt(0.001) / 0.1 = 0.03162, step -0.0927. The given code updates the row twice, first with 0.3 (m = 0.03) and then with 0.1 from the updated state, each time with eps after the corrections, so the row moves more than twice as far (-0.2164). Fix one bug at a time and watch check() name the other.",
        ),
        mistakes={
            "as_given": "this behaves exactly like the given code: both bugs are still there. Reread lecture 13, section 1, on repeated ids and on where SparseAdam adds eps.",
            "per_lookup": "a repeated id is still updated once per lookup. SparseAdam adds the gradients of a repeated id first and updates that row once, with the sum.",
            "adam_eps": "eps is still placed as torch.optim.Adam places it (after the bias corrections). SparseAdam adds eps to sqrt(v) first and multiplies by sqrt(1 - beta2**t) / (1 - beta1**t) afterwards.",
            "duplicates_overwrite": "an id that appears twice kept only one of its gradients. The gradient of a row is the sum over its lookups: add them up (np.add.at) before updating.",
            "dense": "rows that were not looked up changed too: that is dense Adam. The lazy update leaves every other row, and its m and v, exactly as they were.",
            "mutates": MUTATES,
        },
    ),
    Question(
        name="largest_model",
        assignment=ASSIGNMENT,
        kind="derive",
        level="core",
        points=2,
        title="the largest model whose training state fits in a GPU's memory under ZeRO",
        function="largest_model",
        params=("memory_bytes", "n_ranks", "stage"),
        returns=("n_params",),
        rtol=1e-12,
        tolerance="the answer is a whole number of parameters below 10**13; forgetting the rounding down or using another stage's bytes changes it by at least 1 part in 10**13 or by a large factor",
        hints=(
            "Lecture 12 counts 16 bytes per parameter for mixed-precision Adam: 2 (fp16 parameters) + 2 (fp16 gradients) + 12 (fp32 master copy, m and v). Lecture 13 says which of the three parts each ZeRO stage splits over the ranks.",
            "Stage 0 (plain data parallelism) keeps all 16 bytes on every GPU; stage 1 splits the 12 optimizer bytes, stage 2 also the 2 gradient bytes, stage 3 also the 2 parameter bytes. Write the bytes per parameter on one GPU, then divide the memory by it and round down: a fraction of a parameter does not exist.",
            "Worked example: 80 GB = 8e10 bytes, 8 ranks. Stage 0: 16 bytes, 5e9 parameters. Stage 1: 2 + 2 + 12/8 = 5.5 bytes, 14,545,454,545 parameters. Stage 2: 2 + 14/8 = 3.75 bytes, 21,333,333,333. Stage 3: 16/8 = 2 bytes, 4e10. Activations and buffers are ignored here; in practice they need room too.",
        ),
        mistakes={
            "replicated": "you used 16 bytes per parameter whatever the stage: ZeRO's stages split parts of those bytes over the ranks.",
            "all_sharded": "you split all 16 bytes over the ranks at every stage: only stage 3 does. Stage 1 splits the optimizer's 12 bytes, stage 2 also the gradients.",
            "stage_shift": "you used the bytes of the stage below: stage 1 already splits the optimizer state, stage 2 the gradients as well, stage 3 the parameters too.",
            "no_floor": "round down to a whole number of parameters: the model must fit entirely.",
        },
    ),
    Question(
        name="coasting_prediction",
        assignment=ASSIGNMENT,
        kind="predict",
        level="core",
        points=1,
        title="predict how far dense Adam moves a row that was looked up only once",
        variable="PREDICTED_DISTANCE",
        hints=(
            "SparseAdam moves the row once, by about lr. Dense Adam keeps updating it with gradient 0 afterwards: what happens to m and to v in those steps, and how fast?",
            "After the lookup, m shrinks by beta1 per step and v by beta2: v forgets a hundred times more slowly. So sqrt(v) stays large while m fades: the steps shrink roughly like beta1**k, but they do not stop at once.",
            "Estimate the sum: the first step is about lr; the following ones are roughly lr * beta1**k times a correction that is not far from 1 for small k. How large is the sum of a geometric series with ratio 0.9? Then remember the bias corrections at small t, and commit a number.",
        ),
        mistakes={
            "lazy_thinking": "about one lr is what SparseAdam moves the row. Dense Adam keeps moving it with gradient 0, because m is not 0 after the lookup.",
            "window_ten": "about 10 lr is the geometric series of beta1**k, sum 1/(1 - beta1) = 10, with every step at full size. The bias corrections make the first steps smaller relative to that, and v's slow decay does not keep them at lr.",
            "every_step": "a step of lr at each of the 200 steps assumes dense Adam moves every row at full speed. With gradient 0, m fades by beta1 per step, so the steps die out within a few dozen steps.",
        },
    ),
    Question(
        name="coasting_explained",
        assignment=ASSIGNMENT,
        kind="written",
        level="core",
        points=2,
        title="explain dense Adam's coasting",
        prompt="Compare your prediction with the measured distance. Explain why dense Adam keeps moving a row after its only lookup, why the movement dies out, and when this coasting helps or hurts compared with SparseAdam.",
    ),
    Question(
        name="fix_zero_owners",
        assignment=ASSIGNMENT,
        kind="bug",
        level="stretch",
        points=2,
        title="find and fix the two bugs of ZeRO-1's greedy assignment of tensors to ranks",
        function="zero_owners",
        params=("sizes", "n_ranks"),
        returns=("owners",),
        hints=(
            "Test the given code on the hint's small example by hand, and compare with lecture 13's rule: what is being balanced across the ranks, and in which order does the result list the tensors?",
            "The rule balances the number of *parameters* per rank (add each tensor's size to its rank's total), and the caller needs the owner of tensor i at position i, in the original order of sizes, although the tensors are visited largest first. Sort the indices, not the sizes.",
            "Worked example: sizes [10, 40, 40, 5], 2 ranks. Largest first: tensor 1 (40) goes to rank 0, tensor 2 (40) to rank 1, tensor 0 (10) to rank 0 (a tie goes to the lower rank), tensor 3 (5) to rank 1: totals 50 and 45, owners [0, 0, 1, 1] in the original order. The given code balances counts of tensors and lists owners in sorted order: it returns [0, 1, 0, 1], which puts the two large tensors on different ranks only by luck.",
        ),
        mistakes={
            "as_given": "this behaves exactly like the given code: both bugs are still there. Reread lecture 13, section 4: what does the rule balance, and whose owner is at position i of the result?",
            "sorted_order": "the owners are listed in the order the tensors were visited (largest first). The caller needs the owner of tensor i at position i: sort the indices and fill the result by index.",
            "count_tensors": "the ranks are still balanced by the number of tensors. The rule balances the number of parameters: add each tensor's size to its rank's total.",
            "no_sort": "you assigned the tensors in their original order. The rule takes them largest first.",
            "ties_highest": "ties between ranks went to the highest rank. The rule gives a tie to the lowest rank number.",
        },
    ),
)
