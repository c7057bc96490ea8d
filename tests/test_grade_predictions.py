"""Predict, then run: the committed prediction is read from the saved notebook, never run.

Each test starts from the honest notebook (prediction cell, then the experiment cell that read it
and printed the receipt) and changes one thing, so each check in ``predictions.committed`` has a
test that fails if the check is removed.
"""

import dataclasses
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import QUESTIONS, commit
from course_utils.grading.extract import read_submission
from course_utils.grading.predictions import RECEIPT, committed

NUMBER = dataclasses.replace(
    QUESTIONS["gd_step"], name="guess", kind="predict", function=None, params=(), returns=(), mistakes={},
    variable="GUESS",
)  # fmt: skip
CHOICE = dataclasses.replace(NUMBER, choices=("faster", "slower"))


def _notebook(tmp_path, prediction="GUESS = 0.25", experiment='commit("guess", GUESS)\nprint(1 + 1)',
              printed=None, counts=(1, 2), extra=()):  # fmt: skip
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell(prediction)
    second = nbformat.v4.new_code_cell(experiment)
    first.execution_count, second.execution_count = counts
    text = RECEIPT.format(name="guess", value=0.25) + "\n2\n" if printed is None else printed
    if text:
        second.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Predict"), first, second]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in extra]
    path = tmp_path / "sub.ipynb"
    nbformat.write(nb, path)
    return read_submission(path)


def test_an_honest_prediction_is_committed(tmp_path):
    found = committed(_notebook(tmp_path), NUMBER)
    assert found.ok and found.value == 0.25, found.problems


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"experiment": "print(1 + 1)"}, "no experiment cell calls commit"),
        ({"experiment": 'commit("guess", 0.25)'}, "must read the prediction"),
        ({"extra": ['commit("guess", GUESS)']}, "is called in 2 places"),
        ({"prediction": "x = 1"}, "is not set in a cell above the experiment"),
        ({"extra": ["GUESS = 0.5"]}, "is set more than once"),
        ({"prediction": "GUESS = measured / 2"}, "must be set to a literal"),
        ({"prediction": "GUESS = None"}, "must be a finite number"),
        ({"prediction": "GUESS = True"}, "must be a finite number"),
        ({"prediction": "GUESS = 0.5"}, "the prediction was changed after the experiment"),
        ({"printed": ""}, "has no receipt"),
        ({"counts": (3, 2)}, "was run after the experiment"),
    ],
)
def test_a_prediction_that_was_not_committed_before_the_experiment_is_refused(tmp_path, change, problem):
    found = committed(_notebook(tmp_path, **change), NUMBER)
    assert not found.ok and problem in " ".join(found.problems), found.problems


def test_the_experiment_may_run_under_if_commit(tmp_path):
    guarded = 'if commit("guess", GUESS):\n    print(1 + 1)'
    assert committed(_notebook(tmp_path, experiment=guarded), NUMBER).ok
    inside_a_loop = 'for _ in range(1):\n    commit("guess", GUESS)'
    found = committed(_notebook(tmp_path, experiment=inside_a_loop), NUMBER)
    assert "no experiment cell calls commit" in found.problems[0]


def test_missing_execution_counts_are_not_held_against_the_student(tmp_path):
    assert committed(_notebook(tmp_path, counts=(None, None)), NUMBER).ok


def test_a_choice_must_be_one_of_the_choices(tmp_path):
    receipt = RECEIPT.format(name="guess", value="faster") + "\n"
    assert committed(_notebook(tmp_path, prediction='GUESS = "faster"', printed=receipt), CHOICE).ok
    found = committed(_notebook(tmp_path, prediction='GUESS = "quicker"', printed=receipt), CHOICE)
    assert "must be one of 'faster', 'slower'" in found.problems[0]


def test_commit_prints_a_receipt_only_for_a_well_formed_prediction(capsys, monkeypatch):
    monkeypatch.setitem(QUESTIONS, "guess", NUMBER)
    assert commit("guess", 0.25) is True
    assert commit("guess", float("nan")) is False
    assert commit("no_such_question", 1) is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Prediction committed for guess: 0.25"
    assert out[1].startswith("guess: the prediction must be a finite number") and "GUESS = ..." in out[1]
    assert out[2].startswith("There is no prediction question 'no_such_question'")


# --- the registered predict questions, graded as the batch grader grades them ----------------------------

PREDICT_QUESTIONS = [n for n, q in QUESTIONS.items() if q.kind == "predict"]


@pytest.mark.parametrize("name", PREDICT_QUESTIONS)
def test_the_solution_prediction_scores_and_the_student_release_does_not(name):
    from course_utils.instructor import grader

    q = QUESTIONS[name]
    root = Path(__file__).resolve().parents[1]
    solution = grader.grade_prediction(q, read_submission(root / "solutions" / f"{q.assignment}.ipynb"))
    assert solution.status == "ok" and solution.points == q.points, solution
    exercise = grader.grade_prediction(q, read_submission(root / "exercises" / f"{q.assignment}.ipynb"))
    assert exercise.status == "not-committed" and exercise.points == 0, exercise


def _candidates(q):
    return list(q.choices) or [v / 4 for v in range(0, 4 * 2000)] + [10.0**k for k in range(-12, 13)]


@pytest.mark.parametrize("name", PREDICT_QUESTIONS)
def test_each_misconception_of_a_prediction_is_named_and_never_accepted(name, tmp_path):
    from course_utils.instructor import grader, hidden

    q, g = QUESTIONS[name], hidden.GRADINGS[name]
    assert any(g.accept(v) for v in _candidates(q)), "no answer is accepted"
    assert len(q.mistakes) >= 3, "the quality bar: at least three named misconceptions"
    for vid, matches in hidden.MISCONCEPTIONS[name].items():
        hits = [v for v in _candidates(q) if matches(v)]
        assert hits and not any(g.accept(v) for v in hits), vid
        value = hits[len(hits) // 2]
        receipt = RECEIPT.format(name=name, value=value) + "\n"
        source = f"{q.variable} = {value!r}"
        sub = _notebook(tmp_path, prediction=source, experiment=f'commit("{name}", {q.variable})', printed=receipt)
        entry = grader.grade_prediction(q, sub)
        assert entry.points == 0 and entry.diagnosis == q.mistakes[vid], (vid, entry)
