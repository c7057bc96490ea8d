"""Scores the parent decides are fair: stable across secret seeds, and nothing for non-answers.

Everything here runs in the grading process (no sandbox): the plan (hidden cases, expected values,
case weights) and the scoring are the parent's, and that is what these properties are about.
"""

import copy

import numpy as np
import pytest

from course_utils.grading.compare import compare_case
from course_utils.grading.questions import ASSIGNMENTS, QUESTIONS
from course_utils.instructor import grader, hidden

SEEDS = range(40)
GRADED = sorted(a for a in ASSIGNMENTS if any(QUESTIONS[n].graded_by == "function" for n in ASSIGNMENTS[a]))


def _points(q, qplan, fn):
    passed = []
    for case, expected in zip(qplan["cases"], qplan["expected"], strict=True):
        mine = copy.deepcopy(case)  # a variant may change its inputs in place; the plan must not change
        passed.append(compare_case(grader._run_safely(fn, q, mine), expected, q, mine)[0])
    return grader.score(q, qplan, passed)


def _non_answer_points(q, qplan):
    worst = 0.0
    for kind in ("inputs", "zeros"):
        passed = []
        for case, expected in zip(qplan["cases"], qplan["expected"], strict=True):
            fn = grader.non_answers(q, case, expected).get(kind)
            if fn is None:
                passed.append(False)
                continue
            mine = copy.deepcopy(case)
            passed.append(compare_case(grader._run_safely(fn, q, mine), expected, q, mine)[0])
        worst = max(worst, grader.score(q, qplan, passed))
    return worst


@pytest.mark.timeout(900)
@pytest.mark.parametrize("assignment", GRADED)
def test_known_mistakes_score_the_same_under_every_seed_and_non_answers_score_zero(assignment):
    scores = {}  # (question, mistake) -> points per seed
    for seed in SEEDS:
        plan = grader.make_plan(grader.Settings(assignment, seed))
        for name, qplan in plan["questions"].items():
            q = QUESTIONS[name]
            if qplan["kind"] != "function":
                continue
            assert _points(q, qplan, hidden.REFERENCES[name]) == q.points, (name, seed)
            assert _non_answer_points(q, qplan) == 0, (name, seed)
            for vid, fn in hidden.VARIANTS.get(name, {}).items():
                scores.setdefault((name, vid), []).append(_points(q, qplan, fn))
    assert scores, "no known mistakes registered"
    for (name, vid), points in scores.items():
        spread = max(points) - min(points)
        assert spread <= 0.1 * QUESTIONS[name].points, (name, vid, sorted(set(points)))


def test_returning_the_inputs_earns_nothing_on_adam():
    """The issue's example: returning the inputs unchanged used to earn 1.8 of ex08's 8 points."""
    plan = grader.make_plan(grader.Settings("ex08_adam", 12345))
    for name in ("adam_step", "adam_step_torch"):
        q, qplan = QUESTIONS[name], plan["questions"][name]
        assert _non_answer_points(q, qplan) == 0
        zero_weight = [c["label"] for c, w in zip(qplan["cases"], qplan["weights"], strict=True) if not w]
        assert zero_weight  # e.g. zero gradients at t = 1: the correct answer is the input itself
        assert len(zero_weight) < len(qplan["cases"])


def test_slot_profiles_are_fixed_by_the_code_not_the_seed():
    a = grader.make_plan(grader.Settings("ex07_ema_bias_correction", 1))["questions"]["debiased_ema"]
    b = grader.make_plan(grader.Settings("ex07_ema_bias_correction", 2))["questions"]["debiased_ema"]
    assert a["weights"] == b["weights"] and a["unmatched_slots"] == b["unmatched_slots"] == 0
    assert not all(
        np.array_equal(x["args"]["xs"], y["args"]["xs"]) for x, y in zip(a["cases"], b["cases"], strict=True)
    )
