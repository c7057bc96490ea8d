"""The question registry: one module per assignment on each side, checked when it is imported.

Every rejection below is exercised on a record or a module that differs from a real one in one
place only, so each test fails if that check is removed.
"""

import dataclasses
import subprocess
import sys
import types
from pathlib import Path

import pytest

from course_utils.grading import questions
from course_utils.grading.questions import build_registry
from course_utils.instructor import hidden
from course_utils.instructor.hidden import record

ROOT = Path(__file__).resolve().parents[1]
GD = questions.QUESTIONS["gd_step"]
GD_GRADING = hidden.GRADINGS["gd_step"]


def _module(assignment, records, attr="QUESTIONS"):
    return types.SimpleNamespace(__name__=f"fake_{assignment}", ASSIGNMENT=assignment, **{attr: tuple(records)})


# --- the points table --------------------------------------------------------------------------------


def test_instructors_points_table_is_in_sync_with_the_registry():
    text = (ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")
    assert questions.with_points_table(text) == text, "regenerate it: make points-table"
    block = text.split(questions.POINTS_TABLE_BEGIN, 1)[1].split(questions.POINTS_TABLE_END, 1)[0]
    for name, q in questions.QUESTIONS.items():
        assert f"| `{name}` | {q.kind} | {q.level} |" in block and f"| {q.points:g} | {q.title} |" in block


def test_write_points_table_replaces_only_the_generated_block(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{questions.POINTS_TABLE_BEGIN}\nold table\n{questions.POINTS_TABLE_END}\noutro\n")
    assert questions.write_points_table(doc) is True
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "old table" not in text
    assert questions.points_table() in text
    assert questions.write_points_table(doc) is False and doc.read_text() == text  # idempotent


def test_the_points_table_tool_reports_a_stale_table(tmp_path):
    doc = tmp_path / "INSTRUCTORS.md"
    doc.write_text(f"{questions.POINTS_TABLE_BEGIN}\n| stale |\n{questions.POINTS_TABLE_END}\n")
    tool = [sys.executable, str(ROOT / "tools" / "points_table.py")]
    check = subprocess.run([*tool, "--check", str(doc)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "out of date" in check.stderr
    assert subprocess.run([*tool, str(doc)], capture_output=True, timeout=120).returncode == 0
    assert subprocess.run([*tool, "--check", str(doc)], capture_output=True, timeout=120).returncode == 0
    assert questions.points_table() in doc.read_text()


def test_the_table_needs_its_markers_exactly_once():
    with pytest.raises(ValueError, match="exactly once"):
        questions.with_points_table("no markers here")


# --- the public side: questions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "implement"}, "kind must be one of"),
        ({"level": "bonus"}, "level must be one of"),
        ({"points": 0}, "points must be a positive number"),
        ({"name": "gd step"}, "must be a Python identifier"),
        ({"mistakes": {"ascent": ""}}, "non-empty messages"),
        ({"function": None}, "needs the name of the student's function"),
        ({"grad_arg": "gradient"}, "must name arguments"),
        ({"output": "tensor"}, "output must be one of"),
    ],
)
def test_a_malformed_question_is_rejected(change, message):
    dataclasses.replace(GD)  # the unchanged record is accepted
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(GD, **change)


def test_kinds_and_levels_are_closed_sets():
    assert questions.KINDS == ("rule", "paper", "derive", "predict", "bug", "design", "written")
    assert questions.LEVELS == ("core", "stretch")
    assert set(questions.GRADED_BY) == set(questions.KINDS)
    assert set(questions.GRADED_BY.values()) == {"function", "config", "prediction", "written"}
    assert {q.kind for q in questions.QUESTIONS.values()} == set(questions.KINDS)  # every kind is in use
    assert dataclasses.replace(GD, level="stretch").level == "stretch"
    assert dataclasses.replace(GD, kind="bug").graded_by == "function"


PREDICT = dataclasses.replace(
    GD, name="guess", kind="predict", function=None, params=(), returns=(), mistakes={}, variable="GUESS"
)


@pytest.mark.parametrize(
    ("base", "change", "message"),
    [
        (GD, {"kind": "function"}, "kind must be one of"),  # the old mechanism names are not kinds any more
        (GD, {"kind": "derive"}, "says why its tolerance"),
        (GD, {"kind": "derive", "tolerance": "  "}, "says why its tolerance"),
        (GD, {"variable": "GUESS"}, "only a predict question has a variable"),
        (GD, {"choices": ("a", "b")}, "only a predict question has a variable or choices"),
        (PREDICT, {"variable": None}, "names its top-level variable"),
        (PREDICT, {"variable": "not a name"}, "names its top-level variable"),
        (PREDICT, {"function": "gd_step"}, "and no function"),
        (PREDICT, {"choices": ("only",)}, "at least two distinct"),
        (PREDICT, {"choices": ("a", "a")}, "at least two distinct"),
        (PREDICT, {"choices": ("a", "")}, "non-empty strings"),
    ],
)
def test_a_malformed_derive_or_predict_question_is_rejected(base, change, message):
    dataclasses.replace(base)  # the unchanged record is accepted
    dataclasses.replace(GD, kind="derive", tolerance="float64 rounding of a few operations: 1e-12 is ample")
    dataclasses.replace(PREDICT, choices=("a", "b"))
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(base, **change)


def test_a_predict_question_must_be_followed_by_its_written_explanation():
    written = dataclasses.replace(questions.QUESTIONS["gd_zigzag"], name="guess_why")
    assert build_registry([_module("ex02_gradient_descent", [GD, PREDICT, written])])[1] == {
        "ex02_gradient_descent": ["gd_step", "guess", "guess_why"]
    }
    with pytest.raises(ValueError, match="'guess' must be followed by the written question"):
        build_registry([_module("ex02_gradient_descent", [GD, PREDICT])])
    with pytest.raises(ValueError, match="'guess' must be followed by the written question"):
        build_registry([_module("ex02_gradient_descent", [PREDICT, GD, written])])


def test_a_written_question_has_a_prompt_and_nothing_to_run():
    written = questions.QUESTIONS["gd_zigzag"]
    with pytest.raises(ValueError, match="written question"):
        dataclasses.replace(written, prompt="")
    with pytest.raises(ValueError, match="written question"):
        dataclasses.replace(written, function="gd_step")


def test_the_public_registry_rejects_duplicates_and_misfiled_questions():
    a = _module("ex02_gradient_descent", [GD])
    assert build_registry([a])[0] == {"gd_step": GD}
    with pytest.raises(ValueError, match="duplicate question id 'gd_step'"):
        build_registry([a, _module("ex99_other", [dataclasses.replace(GD, assignment="ex99_other")])])
    with pytest.raises(ValueError, match="defined twice"):
        build_registry([a, _module("ex02_gradient_descent", [dataclasses.replace(GD, name="gd_step_2")])])
    with pytest.raises(ValueError, match="says assignment 'ex02_gradient_descent', not 'ex99_other'"):
        build_registry([_module("ex99_other", [GD])])
    with pytest.raises(ValueError, match="must define ASSIGNMENT"):
        build_registry([_module("ex99_other", [])])
    with pytest.raises(TypeError, match="not a Question"):
        build_registry([_module("ex02_gradient_descent", [{"name": "gd_step"}])])


def test_every_assignment_is_one_module_on_each_side():
    public = {m.ASSIGNMENT: m for m in questions.MODULES}
    private = {m.ASSIGNMENT: m for m in hidden.MODULES}
    assert sorted(public) == sorted(private) == sorted(questions.ASSIGNMENTS)
    for assignment, module in public.items():
        assert module.__name__ == f"course_utils.grading.questions.{assignment}"
        assert private[assignment].__name__ == f"course_utils.instructor.hidden.{assignment}"
        assert [q.name for q in module.QUESTIONS] == questions.ASSIGNMENTS[assignment]
        graded = [n for n in questions.ASSIGNMENTS[assignment] if questions.QUESTIONS[n].kind != "written"]
        assert [g.question for g in private[assignment].GRADING] == graded


# --- the instructor side: gradings -------------------------------------------------------------------


def test_an_unknown_mistake_key_is_rejected():
    with pytest.raises(ValueError, match=r"gd_step: wrong variants \['ascnet'\] have no message"):
        dataclasses.replace(GD_GRADING, mistakes={**GD_GRADING.mistakes, "ascnet": lambda x, g, lr: x})


def test_a_message_without_an_implementation_is_rejected():
    mistakes = {k: v for k, v in GD_GRADING.mistakes.items() if k != "no_lr"}
    with pytest.raises(ValueError, match=r"gd_step: mistake messages \['no_lr'\] have no wrong implementation"):
        dataclasses.replace(GD_GRADING, mistakes=mistakes)


def test_an_unknown_or_written_question_is_rejected():
    dataclasses.replace(GD_GRADING)  # the unchanged record is accepted
    with pytest.raises(ValueError, match="unknown question 'gd_stp'"):
        dataclasses.replace(GD_GRADING, question="gd_stp")
    with pytest.raises(ValueError, match="graded by hand"):
        dataclasses.replace(GD_GRADING, question="gd_zigzag", mistakes={})
    with pytest.raises(TypeError, match="reference must be callable"):
        dataclasses.replace(GD_GRADING, reference=None)


def test_the_instructor_registry_rejects_duplicates_misfiled_and_missing_gradings():
    one = {"gd_step": GD}
    assert record.build_registry([_module("ex02_gradient_descent", [GD_GRADING], "GRADING")], one) == {
        "gd_step": GD_GRADING
    }
    with pytest.raises(ValueError, match="graded twice"):
        record.build_registry([_module("ex02_gradient_descent", [GD_GRADING, GD_GRADING], "GRADING")], one)
    with pytest.raises(ValueError, match="belongs to ex02_gradient_descent, not ex99_other"):
        record.build_registry([_module("ex99_other", [GD_GRADING], "GRADING")], one)
    with pytest.raises(ValueError, match=r"without a reference implementation: \['gd_step'\]"):
        record.build_registry([_module("ex02_gradient_descent", [], "GRADING")], one)


def test_the_registry_is_checked_when_the_package_is_imported():
    code = (
        "import course_utils.grading.questions as q\n"
        "import dataclasses\n"
        "q.QUESTIONS['gd_step'] = dataclasses.replace(q.QUESTIONS['gd_step'], mistakes={'ascent': 'x'})\n"
        "import course_utils.instructor.hidden\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode != 0 and "have no message in the question's mistakes" in run.stderr
    ok = subprocess.run([sys.executable, "-c", code.replace("mistakes={'ascent': 'x'}", "")], capture_output=True,
                        text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert ok.returncode == 0, ok.stderr


def test_the_derived_views_come_from_the_records():
    assert hidden.REFERENCES["gd_step"] is GD_GRADING.reference
    assert hidden.VARIANTS["gd_step"] == GD_GRADING.mistakes
    assert hidden.public_cases("gd_step")[0]["label"] == "a vector"
    assert set(hidden.VARIANTS) == {
        n for n, g in hidden.GRADINGS.items() if g.mistakes and g.public.graded_by == "function"
    }
    assert set(hidden.WRONG_CONFIGS) == {n for n, q in questions.QUESTIONS.items() if q.kind == "design"}
    assert set(hidden.MISCONCEPTIONS) == {n for n, g in hidden.GRADINGS.items() if g.accept is not None}


def test_a_predict_grading_has_accept_and_nothing_to_run(monkeypatch):
    written = dataclasses.replace(questions.QUESTIONS["gd_zigzag"], name="guess_why")
    monkeypatch.setitem(questions.QUESTIONS, "guess", PREDICT)
    monkeypatch.setitem(questions.QUESTIONS, "guess_why", written)
    accept = lambda value: 0.1 <= value <= 0.2  # noqa: E731
    record.Grading("guess", accept=accept)  # accepted
    with pytest.raises(TypeError, match="needs accept"):
        record.Grading("guess")
    with pytest.raises(ValueError, match="read, never run"):
        record.Grading("guess", accept=accept, reference=GD_GRADING.reference)
    with pytest.raises(ValueError, match="only a predict question has accept"):
        dataclasses.replace(GD_GRADING, accept=accept)
    with pytest.raises(ValueError, match=r"wrong variants \['halved'\] have no message"):
        record.Grading("guess", accept=accept, mistakes={"halved": lambda value: value < 0.1})


def test_a_design_target_is_checked_and_used():
    capstone = questions.QUESTIONS["capstone_config"]
    target = dict(capstone.target)
    dataclasses.replace(capstone)  # accepted
    with pytest.raises(ValueError, match="only a design question has a target"):
        dataclasses.replace(GD, target=target)
    with pytest.raises(ValueError, match="only a design question has a target"):
        dataclasses.replace(capstone, target={**target, "epochs": 3})
    with pytest.raises(ValueError, match="positive numbers"):
        dataclasses.replace(capstone, target={**target, "threshold": 0})
    from course_utils.grading import tuning

    assert tuning.target_of("capstone_config") == target != tuning.target_of(None) == questions.TUNING
    with pytest.raises(tuning.ConfigError, match="no design question"):
        tuning.target_of("gd_step")
    with pytest.raises(ValueError, match="a design question's mistakes are fingerprints"):
        dataclasses.replace(capstone, mistakes={"typo": "a message"})


NEW_ASSIGNMENTS = ("ex01_start_here", "ex06_rmsprop", "ex09_tuning", "ex11_beyond_adamw", "ex12_adam_pytorch",
                   "ex13_adam_at_scale", "ex14_capstone")  # fmt: skip


@pytest.mark.parametrize("assignment", NEW_ASSIGNMENTS)
def test_the_new_assignments_meet_the_quality_bar(assignment):
    qs = questions.questions_of(assignment)
    assert len({q.kind for q in qs}) >= 3 and {q.level for q in qs} == set(questions.LEVELS)
    for q in qs:
        if q.graded_by != "written":  # a design question's mistakes are the fingerprints of a failed run
            named = [m for m in q.mistakes if m not in ("mutates", "not_carried")]
            assert len(named) >= 3, (q.name, named)
        if q.graded_by != "written":
            assert len(q.hints) == 3, q.name
