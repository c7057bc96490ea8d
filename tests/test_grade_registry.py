"""The question registry: INSTRUCTORS.md's points table is generated from it, and bad keys fail at import."""

import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.grading import questions
from course_utils.instructor import hidden

ROOT = Path(__file__).resolve().parents[1]


def test_instructors_points_table_is_in_sync_with_the_registry():
    text = (ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")
    block = text.split(questions.POINTS_TABLE_BEGIN, 1)[1].split(questions.POINTS_TABLE_END, 1)[0]
    assert block.strip() == questions.points_table(), (
        'regenerate it: python -c "from course_utils.grading.questions import write_points_table; '
        "write_points_table('INSTRUCTORS.md')\""
    )
    for name, q in questions.QUESTIONS.items():
        assert f"`{name}` ({q.points:g})" in block


def test_write_points_table_replaces_only_the_generated_block(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{questions.POINTS_TABLE_BEGIN}\nold table\n{questions.POINTS_TABLE_END}\noutro\n")
    questions.write_points_table(doc)
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "old table" not in text
    assert questions.points_table() in text


def test_an_unknown_mistake_key_is_rejected(monkeypatch):
    monkeypatch.setitem(hidden.VARIANTS, "gd_step", {**hidden.VARIANTS["gd_step"], "ascnet": lambda x, g, lr: x})
    with pytest.raises(ValueError, match=r"gd_step: wrong variants \['ascnet'\] have no message"):
        hidden.check_registry()


def test_the_registry_is_checked_when_the_module_is_imported():
    code = (
        "import course_utils.grading.questions as q\n"
        "import dataclasses\n"
        "q.QUESTIONS['gd_step'] = dataclasses.replace(q.QUESTIONS['gd_step'], mistakes={'ascent': 'x'})\n"
        "import course_utils.instructor.hidden\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode != 0 and "have no message" in run.stderr
