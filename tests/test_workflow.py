"""A term's workflow through the command line: roster, late work, written answers, exports, similarity.

One small ex07 batch in the layouts an LMS downloads is graded once through
``python -m course_utils.grade`` (module fixture); each test then runs one workflow command on it
and checks the files that come out.
"""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow  # each test starts the grader (about 10 s on a busy 2-core machine)

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ex07_ema_bias_correction"
SCRIPT = "<script>alert('pwned')</script>"

ROSTER = (
    "student_id,name,email,canvas_id\n"
    's001,"Smith, Alice",alice@uni.edu,1001\n'
    "s002,Zoë Ångström,zoe@uni.edu,\n"
    "s003,Bob Jones,bob@uni.edu,\n"
    "s004,Çağrı Öztürk,cagri@uni.edu,\n"
)
POLICY = """\
deadline = 2025-03-14T23:59:00+01:00
grace_minutes = 15
penalty_per_day = 10
max_days = 5
[extensions]
s003 = 2
"""
TIMES = (
    "student_id,submitted_at\n"
    "s001,2025-03-15T10:00:00+01:00\n"  # 1 day late
    "s002,2025-03-14T20:00:00+01:00\n"  # on time
    "s003,2025-03-16T10:00:00+01:00\n"  # on time with a 2-day extension
)


def grade(*args, check=True, timeout=300):
    run = subprocess.run([sys.executable, "-m", "course_utils.grade", *map(str, args)],
                         capture_output=True, text=True, cwd=ROOT, timeout=timeout)  # fmt: skip
    if check:
        assert run.returncode == 0, run.stdout + run.stderr
    return run


def notebook(release="solutions", **replace):
    """ex07 with some functions' cells (or the written answer, key "written") replaced."""
    nb = nbformat.read(ROOT / release / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        for name, source in replace.items():
            if name == "written" and "<!-- answer:" in cell.source:
                cell.source = f"<!-- answer: why_bias_correction -->\n**Your answer:**\n\n{source}"
            elif cell.cell_type == "code" and f"def {name}(" in cell.source:
                cell.source = source
    return nb


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


# the same code as the solution, with other names, comments and layout: the similarity report must see it
RENAMED = {
    "ema_update": "def ema_update(a, value, b):\n    # the moving average\n    return b * a + (1 - b) * value\n",
    "debiased_ema": (
        "def debiased_ema(seq, b):\n"
        '    """my version"""\n'
        "    running = np.zeros_like(np.asarray(seq[0], dtype=float))\n"
        "    out = []\n"
        "    for step, item in enumerate(seq, start=1):\n"
        "        running = ema_update(running, item, b)  # update\n"
        "        out.append(running / (1 - b**step))\n"
        "    return np.stack(out)\n"
    ),
}


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("term")
    subs = tmp / "subs"
    write(notebook(), subs / f"smithalice_1001_555_{ASSIGNMENT}.ipynb")  # Canvas layout
    write(
        notebook(written=f"Bias towards zero. {SCRIPT} <img src=x onerror=alert(1)>", **RENAMED),
        subs / "s003" / "ex07.ipynb",
    )  # fmt: skip  (folder per student)
    write(notebook("exercises"), subs / "Zoë Ångström.ipynb")  # plain file named by the student
    write(notebook(ema_update="def ema_update(avg, x, beta):\n    return avg\n"), subs / "stranger.ipynb")
    for name, text in (("roster.csv", ROSTER), ("late.toml", POLICY), ("times.csv", TIMES)):
        (tmp / name).write_text(text, encoding="utf-8")
    out = tmp / "graded"
    run = grade(ASSIGNMENT, subs, "--out", out, "--seed", 5, "--timeout", 10, "--jobs", 2,
                "--roster", tmp / "roster.csv", "--late-policy", tmp / "late.toml",
                "--submission-times", tmp / "times.csv")  # fmt: skip
    return {"tmp": tmp, "subs": subs, "out": out, "stdout": run.stdout}


def rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["submission"]: r for r in csv.DictReader(fh)}


def test_roster_ids_in_grades_csv(term):
    got = rows(term["out"] / "grades.csv")
    assert set(got) == {"s001", "s002", "s003", "s004", "unmatched-stranger"}
    assert {r["student_id"] for r in got.values()} == {"s001", "s002", "s003", "s004", ""}
    assert got["s002"]["name"] == "Zoë Ångström"
    assert got["s004"]["flags"] == "no-submission" and got["s004"]["score"] == "0"
    assert got["unmatched-stranger"]["student_id"] == ""
    # max_score includes the written question (2 points) on top of the 9 auto-graded points
    assert {r["max_score"] for r in got.values()} == {"11"}
    assert got["s003"]["auto_score"] == "9" and got["s003"]["score"] == "9"  # written not graded yet
    report = rows_by(term["out"] / "roster_report.csv", "file")
    assert {r["status"] for r in report.values()} == {"matched", "unmatched", "no-submission"}
    assert "unmatched: " in term["stdout"] and "stranger.ipynb" in term["stdout"]


def rows_by(path, key):
    with open(path, newline="", encoding="utf-8") as fh:
        return {r[key]: r for r in csv.DictReader(fh)}


def test_finalize_is_idempotent(term, tmp_path):
    from course_utils.instructor import gradebook

    copy = tmp_path / "copy"
    shutil.copytree(term["out"], copy)
    first = (copy / "grades.csv").read_bytes()
    gradebook.finalize(copy)
    gradebook.finalize(copy)
    assert (copy / "grades.csv").read_bytes() == first


def test_late_penalty_and_time_source(term):
    got = rows(term["out"] / "grades.csv")
    late = (got["s001"]["late_days"], got["s001"]["late_penalty"], got["s001"]["score"])
    assert late == ("1", "0.9", "8.1")  # 10 % of the 9 auto-graded points
    assert got["s001"]["time_source"] == "the submissions CSV"
    assert got["s003"]["late_days"] == "0"  # the extension
    assert got["unmatched-stranger"]["time_source"] == "the file's modification time"


def test_duplicates_stop_before_grading_or_take_the_latest(term, tmp_path):
    subs = tmp_path / "subs"
    write(notebook("exercises"), subs / "s001.ipynb")
    write(notebook(), subs / f"smithalice_1001_9_{ASSIGNMENT}.ipynb")
    times = tmp_path / "times.csv"
    times.write_text(f"file,submitted_at\n{subs / 's001.ipynb'},2025-03-13T10:00:00+01:00\n"
                     f"{subs / f'smithalice_1001_9_{ASSIGNMENT}.ipynb'},2025-03-14T10:00:00+01:00\n")  # fmt: skip
    common = (ASSIGNMENT, subs, "--roster", term["tmp"] / "roster.csv", "--timeout", 10)
    run = grade(*common, "--out", tmp_path / "a", check=False)
    assert run.returncode == 2
    assert "several submissions for one student" in run.stderr and "s001.ipynb" in run.stderr
    assert not (tmp_path / "a" / "results").exists() and not (tmp_path / "a" / "grades.csv").exists()
    grade(*common, "--out", tmp_path / "b", "--duplicates", "latest", "--submission-times", times)
    got = rows(tmp_path / "b" / "grades.csv")
    assert got["s001"]["file"].endswith(f"smithalice_1001_9_{ASSIGNMENT}.ipynb")
    assert got["s001"]["auto_score"] == "9"


def test_written_round_trip(term, tmp_path):
    out, review = term["out"], tmp_path / "review"
    before = (out / "grades.csv").read_bytes()
    grade("written-export", out, "--question", "why_bias_correction", "--to", review)
    page = (review / "written-why_bias_correction.html").read_text(encoding="utf-8")
    table = (review / "written-why_bias_correction.csv").read_text(encoding="utf-8")
    assert SCRIPT not in page and "&lt;script&gt;" in page and "<img" not in page
    for secret in ("s001", "s003", "Alice", "Smith", "Zoë", "stranger", "smithalice", "bob@"):
        assert secret not in page and secret not in table, secret
    anon = list(csv.DictReader(table.splitlines()))
    assert len(anon) == 4 and {r["max_points"] for r in anon} == {"2"} and {r["points"] for r in anon} == {""}
    key = json.loads((out / "written" / "why_bias_correction.key.json").read_text())
    by_sid = {sid: a for a, sid in key.items()}
    assert set(by_sid) == {"s001", "s002", "s003", "unmatched-stranger"}

    # every kind of bad row is reported, and nothing changes
    bad = review / "bad.csv"
    bad.write_text(
        "question,anon_id,points,max_points,comment\n"
        f"why_bias_correction,{by_sid['s001']},2.5,2,\n"
        f"why_bias_correction,{by_sid['s002']},lots,2,\n"
        f"why_bias_correction,{by_sid['s003']},1,2,\n"
        f"why_bias_correction,{by_sid['s003']},2,2,\n"
        "why_bias_correction,A000000,1,2,\n"
        f"ema_update,{by_sid['s001']},1,2,\n"
        f"why_bias_correction,{by_sid['unmatched-stranger']},nan,2,\n"
    )
    run = grade("written-import", out, bad, check=False)
    assert run.returncode == 2
    for needle in ("line 2: points 2.5 out of range", "line 3: points 'lots' is not a number",
                   "line 5: " + by_sid["s003"] + " appears again", "line 6: unknown anonymous id 'A000000'",
                   "line 7: 'ema_update' is not a written question", "line 8: points nan out of range"):  # fmt: skip
        assert needle in run.stderr, (needle, run.stderr)
    assert (out / "grades.csv").read_bytes() == before
    assert not (out / "written" / "points.json").exists()

    filled = review / "filled.csv"
    points = {"s001": "2", "s002": "0", "s003": "1.5"}  # the unmatched one stays blank (not graded yet)
    filled.write_text(
        "question,anon_id,points,max_points,comment\n"
        + "".join(f"why_bias_correction,{by_sid[s]},{p},2,note <b>{s}</b>\n" for s, p in points.items())
        + f"why_bias_correction,{by_sid['unmatched-stranger']},,2,\n"
    )
    run = grade("written-import", out, filled)
    assert "imported 3 scores (1 rows left blank)" in run.stdout
    got = rows(out / "grades.csv")
    assert got["s001"]["written:why_bias_correction"] == "2"
    assert got["s001"]["written_score"] == "2"
    # 1 day late: 10 % of (9 auto + 2 written) = 1.1
    assert (got["s001"]["late_penalty"], got["s001"]["score"], got["s001"]["max_score"]) == ("1.1", "9.9", "11")
    assert (got["s003"]["score"], got["s002"]["score"]) == ("10.5", "0")
    assert got["unmatched-stranger"]["written:why_bias_correction"] == ""

    # exporting again keeps every anonymous id and pre-fills the points entered
    grade("written-export", out, "--question", "why_bias_correction", "--to", tmp_path / "again")
    assert json.loads((out / "written" / "why_bias_correction.key.json").read_text()) == key
    again = rows_by(tmp_path / "again" / "written-why_bias_correction.csv", "anon_id")
    assert again[by_sid["s003"]]["points"] == "1.5"

    run = grade("written-export", out, "--question", "ema_update", "--to", tmp_path / "x", check=False)
    assert run.returncode == 2 and "graded automatically" in run.stderr


def test_exports(term, tmp_path):
    dest = tmp_path / "export"
    run = grade("export", term["out"], "--to", dest, "--canvas-column", "Ex07 EMA (4242)")
    assert "not in canvas.csv (no student matched): unmatched-stranger" in run.stdout
    canvas = list(csv.reader((dest / "canvas.csv").read_text(encoding="utf-8").splitlines()))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Ex07 EMA (4242)"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "11"]
    by_sis = {r[2]: r for r in canvas[2:]}
    assert set(by_sis) == {"s001", "s002", "s003", "s004"}
    assert by_sis["s001"][:2] == ["Smith, Alice", "1001"]
    assert by_sis["s004"][5] == "0"
    plain = rows_by(dest / "grades.csv", "submission")
    assert plain["s002"]["email"] == "zoe@uni.edu" and plain["s002"]["name"] == "Zoë Ångström"
    assert set(plain) == {"s001", "s002", "s003", "s004", "unmatched-stranger"}

    names = sorted(p.name for p in (dest / "feedback").iterdir())
    assert names == sorted(f"{s}.{ext}" for s in ("s001", "s002", "s003", "s004", "unmatched-stranger")
                           for ext in ("md", "html"))  # fmt: skip
    md = (dest / "feedback" / "s001.md").read_text(encoding="utf-8")
    assert "taken from the submissions CSV" in md and "1 day late: -10%" in md
    assert "ema_update" in md and "hidden checks passed" in md
    s003 = (dest / "feedback" / "s003.html").read_text(encoding="utf-8")
    assert SCRIPT not in s003 and "<img" not in s003 and "&lt;script&gt;" in s003
    assert "your extended deadline" in (dest / "feedback" / "s003.md").read_text(encoding="utf-8")
    assert "No submission was received" in (dest / "feedback" / "s004.md").read_text(encoding="utf-8")
    for f in (dest / "feedback").iterdir():
        text = f.read_text(encoding="utf-8")
        assert "similar" not in text.lower() and str(term["tmp"]) not in text, f.name


def test_similarity_report(term):
    run = grade("similarity", term["out"], "--threshold", "0.95")
    assert "not a verdict" in run.stdout
    pairs = list(csv.DictReader((term["out"] / "instructor" / "similarity.csv").read_text().splitlines()))
    flagged = {(p["question"], p["submission_a"], p["submission_b"]) for p in pairs}
    # the renamed, re-commented copy of the solution is found in both questions
    assert ("ema_update", "s001", "s003") in flagged and ("debiased_ema", "s001", "s003") in flagged
    ema = next(p for p in pairs if p["question"] == "ema_update" and p["submission_a"] == "s001")
    assert ema["similarity"] == "1.000" and ema["same_normalized_code"] == "2"  # s001 and s003 share it
    assert ema["similarity_to_reference_a"] == "1.000"  # both are the reference answer, renamed
    assert all(float(p["similarity"]) >= 0.95 for p in pairs)
    # the untouched scaffold (s002) is never compared, so it is in no pair
    assert not any("s002" in (p["submission_a"], p["submission_b"]) for p in pairs)
    # the report stays in the instructor's folder, never in feedback
    assert not any("similar" in f.read_text(encoding="utf-8").lower() for f in (term["out"] / "feedback").iterdir())
    page = (term["out"] / "instructor" / "similarity.html").read_text()
    assert "never a verdict" in page


def test_workflow_commands_fail_clearly(tmp_path):
    run = grade("export", tmp_path, "--to", tmp_path / "x", check=False)
    assert run.returncode == 2 and "has no grades.csv" in run.stderr
    bad = tmp_path / "late.toml"
    bad.write_text("deadline = 2025-03-14T23:59:00\n")
    nb = write(notebook(), tmp_path / "a.ipynb")
    run = grade(ASSIGNMENT, nb, "--out", tmp_path / "o", "--late-policy", bad, check=False)
    assert run.returncode == 2 and "needs a UTC offset" in run.stderr
    assert not (tmp_path / "o" / "grades.csv").exists()
