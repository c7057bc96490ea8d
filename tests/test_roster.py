"""Roster parsing, stable ids and matching of LMS download layouts (no grading here; see test_workflow.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.instructor import roster

ROSTER = (
    "student_id,name,email,canvas_id\n"
    's001,"Smith, Alice",alice@uni.edu,1001\n'
    "s002,Zoë Ångström,zoe@uni.edu,\n"
    "s003,Bob Jones,bjones@uni.edu,\n"
    "s004,Çağrı Öztürk,cagri@uni.edu,\n"
    "s005,Bob Jonas,bob@uni.edu,\n"
)


@pytest.fixture
def students(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return roster.load_roster(path)


def test_slug_is_readable_stable_and_keeps_distinct_names_distinct():
    assert roster.slug("alice_smith") == "alice_smith"
    assert roster.slug("Alice Smith") == "Alice_Smith"
    zoe = roster.slug("Zoë Ångström")
    assert zoe.startswith("Zoe_Angstrom-") and len(zoe) == len("Zoe_Angstrom-") + 6
    assert roster.slug("Zoë Ångström") == zoe  # the same on every call ...
    assert roster.slug("Zoe\u0308 A\u030angstro\u0308m") == zoe  # ... and for the decomposed spelling (NFD)
    assert roster.slug("Zoe Angstrom") != zoe  # the ASCII spelling is another person
    assert roster.slug("李小龍").startswith("LiXiaoLong-")
    assert roster.slug("Зоя Иванова").startswith("Zoya_Ivanova-")
    assert roster.slug("../../etc/passwd").replace(".", "").replace("_", "").isalnum()
    assert "/" not in roster.slug("../../etc/passwd") and not roster.slug("../x").startswith(".")
    assert roster.slug("-rf *") == "rf" and roster.slug("=HYPERLINK(1)") == "HYPERLINK_1"


def test_slug_is_the_same_in_a_fresh_interpreter():
    code = "from course_utils.instructor.roster import slug; print(slug('Çağrı Öztürk'))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PYTHONHASHSEED": "123", "PATH": ""})  # fmt: skip
    assert run.stdout.strip() == roster.slug("Çağrı Öztürk")


def test_load_roster(students):
    assert [s.student_id for s in students] == ["s001", "s002", "s003", "s004", "s005"]
    assert students[0].name == "Smith, Alice" and students[0].canvas_id == "1001"
    assert {"smithalice", "alicesmith"} <= students[0].name_keys()


def test_canvas_gradebook_export_is_a_roster(tmp_path):
    path = tmp_path / "canvas.csv"
    path.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section,Ex08 (77)\n"
        "    Points Possible,,,,,10\n"
        '"Smith, Alice",1001,s001,asmith,A,\n'
        '"Student, Test",999,,,A,\n',
        encoding="utf-8",
    )
    (alice,) = roster.load_roster(path)
    assert (alice.student_id, alice.canvas_id, alice.login, alice.section) == ("s001", "1001", "asmith", "A")


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,email\nA,a@x\n", "no student id column"),
        ("student_id,email\ns1,a@x\n", "no name column"),
        ("student_id,name\ns1,A\ns1,B\n", "'s1' already used on line 2"),
        ("student_id,name\n,A\n", "line 2: 'A' has no student id"),
        ("student_id,name\n", "lists no students"),
        ("student_id,name\na b,A\na_b,B\n", "same file name"),
    ],
)
def test_bad_rosters_name_the_problem(tmp_path, text, message):
    path = tmp_path / "r.csv"
    path.write_text(text)
    with pytest.raises(roster.RosterError, match=message):
        roster.load_roster(path)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


@pytest.mark.parametrize(
    "rel, expected, how",
    [
        ("s003/ex08.ipynb", "s003", "folder name"),  # one folder per student, named by id
        ("bjones@uni.edu/ex08.ipynb", "s003", "folder name"),  # ... by email
        ("Bob Jones/submission.ipynb", "s003", "folder name = name"),  # ... by name
        ("smithalice_1001_4567_ex08_adam.ipynb", "s001", "Canvas file name (user id)"),
        ("smithalice_LATE_1001_4567_ex08_adam-1.ipynb", "s001", "Canvas file name (user id)"),
        ("oztrkagr_2002_4568_ex08.ipynb", None, None),  # Canvas name that is nobody's: reported, not guessed
        ("ozturkcagri_2002_4568_ex08.ipynb", "s004", "Canvas file name (name)"),
        ("Bob Jones_123456_assignsubmission_file_/ex08.ipynb", "s003", "Moodle folder"),
        ("Ex08_bjones_attempt_2025-03-14-23-59-01_ex08.ipynb", "s003", "Blackboard"),
        ("s002.ipynb", "s002", "file name = student id"),
        ("Zoë Ångström.ipynb", "s002", "file name = name"),
        ("zoe_angstrom.ipynb", "s002", "file name = name"),
        ("ex08_s005.ipynb", "s005", "student id inside the name"),
        ("stranger.ipynb", None, None),
    ],
)
def test_layouts(tmp_path, students, rel, expected, how):
    path = _touch(tmp_path / "subs" / rel)
    m = roster.match_one(path, students, tmp_path / "subs")
    assert (m.student.student_id if m.student else None) == expected, m
    if how:
        assert how in m.how
    if "attempt" in rel:
        assert m.lms_time == "2025-03-14-23-59-01"
    if "_LATE_" in rel:
        assert m.lms_late


def test_ambiguous_name_is_not_guessed(tmp_path, students):
    # "bob" is the local part of exactly one email (bob@uni.edu), so it is not ambiguous
    m = roster.match_one(_touch(tmp_path / "subs" / "bob.ipynb"), students, tmp_path / "subs")
    assert m.student.student_id == "s005"
    path = _touch(tmp_path / "subs" / "s003_s005.ipynb")
    m = roster.match_one(path, students, tmp_path / "subs")
    assert m.student is None and m.status == "ambiguous" and m.candidates == ["s003", "s005"]


def test_report_lists_duplicates_unmatched_and_missing(tmp_path, students):
    subs = tmp_path / "subs"
    paths = [_touch(subs / "s001.ipynb"), _touch(subs / "smithalice_1001_1_ex08.ipynb"), _touch(subs / "x.ipynb")]
    report = roster.match_submissions([(p, subs) for p in paths], students)
    assert list(report.duplicates) == ["s001"] and len(report.duplicates["s001"]) == 2
    assert [m.path.name for m in report.unmatched] == ["x.ipynb"]
    assert [s.student_id for s in report.missing] == ["s002", "s003", "s004", "s005"]
    roster.write_report(tmp_path / "report.csv", report)
    lines = (tmp_path / "report.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "status,file,student_id,name,how"
    assert sum(line.startswith("duplicate,") for line in lines) == 2
    assert sum(line.startswith("unmatched,") for line in lines) == 1
    assert sum(line.startswith("no-submission,") for line in lines) == 4


def test_the_name_a_student_chose_does_not_decide(tmp_path, students):
    # Canvas: the user id and name come from Canvas; "s002" is the original file name the student chose
    m = roster.match_one(_touch(tmp_path / "subs" / "nobody_4242_1_s002.ipynb"), students, tmp_path / "subs")
    assert m.student is None and m.status == "unmatched"
    # one folder per student: the folder (written by the LMS) decides, not the file name inside it
    m = roster.match_one(_touch(tmp_path / "subs" / "s003" / "s002.ipynb"), students, tmp_path / "subs")
    assert m.student.student_id == "s003"
