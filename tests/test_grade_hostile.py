"""A hostile class: one submission per attack an informed student could try, graded with two honest classmates.

Every attack sits in ``gd_step`` of an otherwise correct ex02 notebook (the other questions are worth
all but gd_step's 2 points). For each attack class the tests assert the outcome the issue asks for:

* points obtained <= points deserved (all the auto-graded points when the attack's own answer is right, else
  all but gd_step's 2);
* every classmate's score is the one they get when graded without the attackers, also after a
  resumed run and after a detached process has had time to act;
* nothing changed outside the output folder (submissions, the course package, solutions, sources);
* no process left behind, and the batch finishes (pytest-timeout guards against a hang).
"""

import hashlib
import json
import os
import secrets
import stat
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from course_utils.grading.questions import questions_of
from course_utils.instructor import grader, sandbox

ROOT = Path(__file__).resolve().parents[1]
NO_SANDBOX = sandbox.bwrap_problem()  # None where bubblewrap works
LIMITS = sandbox.Limits(wall_seconds=6, cpu_seconds=6, memory_mb=1024, file_mb=4, processes=24, tmpfs_mb=32)
SEED = 4242
MARKER = f"hostile-{secrets.token_hex(4)}"
ASSIGNMENT = "ex02_gradient_descent"
FULL = sum(q.points for q in questions_of(ASSIGNMENT) if q.graded_by != "written")  # auto-graded points; gd_step has 2
RIGHT = "    return x - lr * grad\n"

pytestmark = [
    pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox here: {NO_SANDBOX}"),
    pytest.mark.timeout(900),
]


def _attacks(subs: Path, out: Path) -> dict:
    """name -> (gd_step source, points deserved for the whole notebook)."""
    hidden = ROOT / "course_utils" / "instructor" / "hidden" / "ex02_gradient_descent.py"
    solution = ROOT / "solutions" / f"{ASSIGNMENT}.ipynb"
    steal = (
        "    import json\n"
        "    cells = json.load(open(path))['cells']\n"
        "    src = next(''.join(c['source']) for c in cells if 'def gd_step(' in ''.join(c['source']))\n"
        "    ns = {}\n"
        "    exec(src, ns)\n"
        "    return ns['gd_step'](x, grad, lr)\n"
    )
    return {
        "load_instructor_by_path": (
            "def gd_step(x, grad, lr):\n    import re\n    try:\n"  # the reference's source, run on its own
            f"        src = open({str(hidden)!r}).read()\n"
            "        ns = {}\n        exec(re.search(r'^def gd_step\\(.*?(?=^\\S)', src, re.S | re.M).group(0), ns)\n"
            "        return ns['gd_step'](x, grad, lr)\n"
            "    except Exception:\n        return x\n",
            FULL - 2,
        ),
        "run_solution_notebook": (
            f"def gd_step(x, grad, lr):\n    path = {str(solution)!r}\n    try:\n"
            + steal.replace("    ", "        ", 1).replace("\n    ", "\n        ")
            + "    except Exception:\n        return x\n",
            FULL - 2,
        ),
        "read_classmate": (
            "def gd_step(x, grad, lr):\n    import glob\n"
            f"    for path in glob.glob({str(subs / '*.ipynb')!r}) + glob.glob('/**/alice*.ipynb', recursive=True):\n"
            "        try:\n"
            + steal.replace("    ", "            ", 1).replace("\n    ", "\n            ")
            + "        except Exception:\n            pass\n    return x\n",
            FULL - 2,
        ),
        "brute_force_seed": (
            "def gd_step(x, grad, lr):\n    import json\n    try:\n"
            f"        seed = json.load(open({str(out / 'manifest.json')!r}))['seed']\n"
            "    except Exception:\n        seed = None\n"
            "    try:\n        from course_utils.instructor import hidden\n"
            "        for s in range(200):\n            hidden.hidden_cases('gd_step', s)\n"
            "    except Exception:\n        pass\n"
            "    return x if seed is None else x - lr * grad\n",
            FULL - 2,
        ),
        "detached_rewriter": (
            "import os, time\n\ndef gd_step(x, grad, lr):\n    if os.fork() == 0:\n        os.setsid()\n"
            "        if os.fork() == 0:\n            time.sleep(3)\n"
            f"            for name in ('grades.csv', 'results/alice.json', 'results/bob.json'):\n"
            "                try:\n"
            f"                    open(os.path.join({str(out)!r}, name), 'w').write('forged')\n"
            "                except OSError:\n                    pass\n"
            "        os._exit(0)\n" + RIGHT,
            FULL,
        ),
        "append_course_module": (
            "import course_utils.grading.compare as cmp\n\ndef gd_step(x, grad, lr):\n"
            f"    for path in (cmp.__file__, {str(ROOT / 'course_utils' / 'grading' / 'compare.py')!r}):\n"
            "        try:\n"
            "            open(path, 'a').write('\\ncompare_case = lambda *a, **k: (True, \"ok\")\\n')\n"
            "        except OSError:\n            pass\n" + RIGHT,
            FULL,
        ),
        "overwrite_classmate": (
            "import glob, os\n\ndef gd_step(x, grad, lr):\n"
            f"    for path in glob.glob({str(subs / '*.ipynb')!r}):\n"
            "        if 'overwrite' not in path:\n"
            "            try:\n                open(path, 'w').write('{}')\n                os.remove(path)\n"
            "            except OSError:\n                pass\n" + RIGHT,
            FULL,
        ),
        "fork_bomb": (
            "import os\n\ndef gd_step(x, grad, lr):\n    while True:\n        try:\n            os.fork()\n"
            "        except OSError:\n            pass\n",
            FULL - 2,
        ),
        "many_processes_big_memory": (
            "import subprocess, os\n\ndef gd_step(x, grad, lr):\n    for _ in range(300):\n        try:\n"
            f"            subprocess.Popen(['sleep', '120', '{MARKER}'])\n"
            "        except OSError:\n            break\n"
            "    for _ in range(8):\n        try:\n            if os.fork() == 0:\n"
            "                try:\n                    hog = bytearray(3 << 30)\n"
            "                except MemoryError:\n                    pass\n                os._exit(0)\n"
            "        except OSError:\n            break\n"
            "    hog = bytearray(3 << 30)\n    return x\n",
            FULL - 2,
        ),
        "odd_return_values": (
            "import numpy as np\nCALLS = []\n\nclass Evil:\n    def __array__(self, *a, **k):\n"
            "        raise RuntimeError('no')\n\n"
            "class Weird(float):\n    def __eq__(self, other):\n        return True\n"
            "def gd_step(x, grad, lr):\n    CALLS.append(1)\n    deep = []\n    for _ in range(100000):\n"
            "        deep = [deep]\n"
            "    odd = [Evil(), Weird(1.0), deep, np.array([object()]), 10 ** 400, (v for v in x.ravel()),\n"
            "           {'x': x}, 'x', x + 1j, np.full(x.shape, np.nan)]\n"
            "    return odd[len(CALLS) % len(odd)]\n",
            FULL - 2,
        ),
        "patch_checks": (
            "import numpy as np\nimport course_utils.grading.compare as cmp\n"
            "import course_utils.grading.drivers as drv\n\n"
            "def gd_step(x, grad, lr):\n    drv._mutated = lambda *a, **k: []\n    drv._snapshot = lambda *a, **k: {}\n"
            "    cmp.compare_case = lambda *a, **k: (True, 'ok')\n    np.array_equal = lambda *a, **k: True\n"
            "    x -= lr * grad\n    return x\n",
            FULL - 2,
        ),
        "kill_the_sandbox": (
            "import os, signal\n\ndef gd_step(x, grad, lr):\n    os.kill(os.getppid(), signal.SIGKILL)\n"
            "    os.kill(-1, signal.SIGKILL)\n    return x\n",
            FULL - 2,
        ),
        "forge_the_channel": (
            "import os, json, struct\n\ndef gd_step(x, grad, lr):\n"
            "    body = json.dumps({'status': 'done', 'rc': 0, 'result': json.dumps({'status': 'ok', 'cases': []}),"
            " 'inputs_after': []}).encode()\n"
            "    for fd in range(0, 64):\n        try:\n            os.write(fd, struct.pack('>Q', len(body)) + body)\n"
            "        except OSError:\n            pass\n    return x\n",
            FULL - 2,
        ),
    }


def _snapshot(*folders) -> dict:
    """Path -> (type, content hash) for everything under ``folders``, never opening a FIFO."""
    found = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            if "__pycache__" in p.parts:
                continue
            st = os.lstat(p)
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else ""
            found[str(p)] = (stat.S_IFMT(st.st_mode), digest)
    return found


def _marked(stages) -> list:
    """Processes an attack started (they carry MARKER) and zygotes of this batch's sandboxes, machine-wide.

    A zygote is told apart by the staged package it mounts (``stages``: the paths staged during this
    batch), not by the repository path: the other pytest worker grades from the same repository at the
    same time, and its live zygotes are not leftovers of this batch.
    """
    hits = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            line = " ".join(proc.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if MARKER in line or ("zygote.py" in line and any(stage in line for stage in stages)):
            hits.append((proc.pid, line[:120]))
    return hits


def _solution():
    return nbformat.read(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb", as_version=4)


def _with_gd_step(source):
    nb = _solution()
    i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "def gd_step(" in c.source)
    nb.cells[i].source = source
    return nb


def _scores(records) -> dict:
    return {r["id"]: r["score"] for r in records}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    subs, out, baseline_out = tmp / "subs", tmp / "graded", tmp / "baseline"
    subs.mkdir()
    nbformat.write(_solution(), subs / "alice.ipynb")
    bob = _solution()
    k = next(i for i, c in enumerate(bob.cells) if c.cell_type == "code" and "def largest_stable_lr(" in c.source)
    bob.cells[k].source = "import numpy as np\n\ndef largest_stable_lr(A):\n    return 2.0 / float(np.max(np.diag(A)))"
    nbformat.write(bob, subs / "bob.ipynb")
    classmates = [subs / "alice.ipynb", subs / "bob.ipynb"]
    baseline = _scores(grader.grade_batch(classmates, baseline_out, grader.Settings(ASSIGNMENT, SEED, LIMITS),
                                          log=lambda s: None))  # fmt: skip

    attacks = _attacks(subs, out)
    probe = sandbox.Sandbox(sandbox.stage_course(tmp / "stage" / "course"), LIMITS)
    probe.start()
    enforceable = probe.process_limit != "none"
    probe.close()
    if not enforceable:  # root without a writable pids cgroup: a fork bomb would hit the whole machine
        attacks.pop("fork_bomb")
    for name, (source, _) in attacks.items():
        nbformat.write(_with_gd_step(source), subs / f"{name}.ipynb")
    os.mkfifo(subs / "fifo_student.ipynb")
    (subs / "link_student.ipynb").symlink_to(subs / "alice.ipynb")
    with open(subs / "huge_student.ipynb", "wb") as fh:
        fh.truncate(grader.MAX_NOTEBOOK_BYTES + 1)
    paths = sorted(subs.iterdir())

    watched = (subs, ROOT / "course_utils", ROOT / "solutions", ROOT / "assignments")
    before = _snapshot(*watched)
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    stages = []
    stage_course = sandbox.stage_course

    def recording(*args, **kwargs):  # the staged package of each sandbox of this batch
        stage = stage_course(*args, **kwargs)
        stages.append(str(stage))
        return stage

    start = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sandbox, "stage_course", recording)
        records = grader.grade_batch(paths, out, grader.Settings(ASSIGNMENT, SEED, LIMITS), jobs=2, log=lambda s: None)
    elapsed = time.monotonic() - start
    assert stages, "the batch staged no package: the zygote check below would look for nothing"
    csv_right_after = (out / "grades.csv").read_bytes()
    left_children = {p.pid for p in psutil.Process().children(recursive=True)} - children_before
    time.sleep(5)  # the detached process would act after 3 s
    return {
        "subs": subs,
        "out": out,
        "tmp": tmp,
        "paths": paths,
        "attacks": attacks,
        "baseline": baseline,
        "records": {r["id"]: r for r in records},
        "before": before,
        "watched": watched,
        "csv": csv_right_after,
        "left_children": left_children,
        "stages": stages,
        "elapsed": elapsed,
    }


def _classmates_unchanged(attacked, records):
    for sid, score in attacked["baseline"].items():
        assert records[sid]["score"] == score, sid


def test_no_hang_and_nothing_left_behind(attacked):
    assert attacked["left_children"] == set()
    assert _marked(attacked["stages"]) == []
    assert _snapshot(*attacked["watched"]) == attacked["before"]  # nothing changed outside the output folder
    assert (attacked["out"] / "grades.csv").read_bytes() == attacked["csv"]  # not rewritten after the grader exited


ATTACKS = [
    "load_instructor_by_path",
    "run_solution_notebook",
    "read_classmate",
    "brute_force_seed",
    "detached_rewriter",
    "append_course_module",
    "overwrite_classmate",
    "fork_bomb",
    "many_processes_big_memory",
    "odd_return_values",
    "patch_checks",
    "kill_the_sandbox",
    "forge_the_channel",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_earns_at_most_what_it_deserves(attacked, attack):
    if attack not in attacked["attacks"]:
        pytest.skip("no enforceable process limit here (root without a writable pids cgroup)")
    record = attacked["records"][attack]
    deserved = attacked["attacks"][attack][1]
    assert "grader-error" not in record["flags"], record.get("error")
    assert record["score"] <= deserved, json.dumps(record["questions"]["gd_step"], indent=1)[:2000]
    if deserved < FULL:
        assert record["questions"]["gd_step"]["points"] == 0
    assert record["questions"]["numerical_gradient"]["points"] == 3  # the rest of the notebook is still graded
    _classmates_unchanged(attacked, attacked["records"])


def test_patched_checks_still_count_as_mutation(attacked):
    entry = attacked["records"]["patch_checks"]["questions"]["gd_step"]
    assert entry["status"] == "mutates-inputs"
    assert all("changed its input `x` in place" in c["message"] for c in entry["cases"])


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("fifo_student", "not a regular file"),
        ("link_student", "symbolic link"),
        ("huge_student", "larger than"),
    ],
)
def test_special_files_are_rejected_with_a_reason(attacked, name, reason):
    record = attacked["records"][name]
    assert record["score"] == 0 and "unreadable" in record["flags"]
    assert reason in record["error"]
    assert reason in (attacked["out"] / "feedback" / f"{name}.md").read_text()


def test_resumed_run_keeps_every_score_and_regrades_edited_records(attacked):
    out = attacked["out"]
    log = []
    again = grader.grade_batch(attacked["paths"], out, grader.Settings(ASSIGNMENT, None, LIMITS), log=log.append)
    again = {r["id"]: r for r in again}
    # same secret seed, every record verifies; only a record with a sandbox error is graded again
    retried = sorted(sid for sid, r in attacked["records"].items() if grader.needs_regrading(r))
    assert [line for line in log if not line.startswith("skipped")] == [
        line for line in log if any(f"{sid}.ipynb" in line for sid in retried)
    ], log
    assert {k: r["score"] for k, r in again.items()} == {k: r["score"] for k, r in attacked["records"].items()}
    _classmates_unchanged(attacked, again)

    # an edited stored result (a better score for bob, and for an attacker) fails its HMAC and is re-graded
    for sid in ("bob", "odd_return_values"):
        stored = out / "results" / f"{sid}.json"
        data = json.loads(stored.read_text())
        data["record"]["score"] = 7
        stored.write_text(json.dumps(data))
    (out / "results" / "alice.json").write_text("forged")
    log.clear()
    resumed = {r["id"]: r for r in grader.grade_batch(attacked["paths"], out, grader.Settings(ASSIGNMENT, None, LIMITS),
                                                      log=log.append)}  # fmt: skip
    regraded = sorted(line.split()[1].rstrip(":") for line in log if line.startswith("graded"))
    edited = ("alice", "bob", "odd_return_values", *retried)
    assert regraded == sorted({str(attacked["subs"] / f"{s}.ipynb") for s in edited})
    _classmates_unchanged(attacked, resumed)
    assert resumed["odd_return_values"]["score"] == attacked["records"]["odd_return_values"]["score"]
    rows = (out / "grades.csv").read_text()
    assert "forged" not in rows


def test_the_attacks_are_real_without_the_sandbox(attacked, tmp_path):
    """The corpus can fail: outside the sandbox, loading the references by file path takes full marks."""
    path = attacked["subs"] / "load_instructor_by_path.ipynb"
    settings = grader.Settings(ASSIGNMENT, SEED, LIMITS, use_sandbox=False)
    record = grader.grade_batch([path], tmp_path / "plain", settings, log=lambda s: None)[0]
    assert record["score"] == FULL > attacked["attacks"]["load_instructor_by_path"][1]


# ------------------------------------------------------------------------------------------------
# Attacks on the pre-warmed process shared by the submissions one worker grades in sequence (ex07).
# The sources in tests/hostile/ are the red team's; each thief is graded after an honest classmate.
# ------------------------------------------------------------------------------------------------

EX07 = "ex07_ema_bias_correction"
EX07_AUTO = sum(q.points for q in questions_of(EX07) if q.graded_by != "written")
EX07_TOTAL = sum(q.points for q in questions_of(EX07))
HOSTILE = Path(__file__).with_name("hostile")


def _notebook(assignment, **functions):
    """The solution with the cell that defines each named function replaced by a file of tests/hostile/."""
    nb = nbformat.read(ROOT / "solutions" / f"{assignment}.ipynb", as_version=4)
    for function, name in functions.items():
        i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f"def {function}(" in c.source)
        nb.cells[i].source = (HOSTILE / f"{name}.src").read_text()
    return nb


def _ex07(**functions):
    return _notebook(EX07, **functions)


def _grade_in_sequence(tmp, notebooks: dict, assignment=EX07, limits=LIMITS) -> dict:
    """Grade ``notebooks`` (id -> notebook) one after the other in one worker; records by id."""
    subs = tmp / "subs"
    subs.mkdir()
    for sid, nb in notebooks.items():
        nbformat.write(nb, subs / f"{sid}.ipynb")
    paths = sorted(subs.iterdir())
    records = grader.grade_batch(paths, tmp / "out", grader.Settings(assignment, SEED, limits), log=lambda s: None)
    return {r["id"]: r for r in records}


def test_no_job_can_read_an_earlier_one(tmp_path):
    """A thief graded after a classmate finds nothing of the classmate's job in the pre-warmed process.

    ``thief_frames`` walks its frames up to the zygote's loop, where the previous question's reply
    (a classmate's raw outputs) was still held, stores it in System V shared memory (which outlived
    the question) and replays it as its own ``debiased_ema`` (it has no EMA code): 5/5 before the fix.
    ``thief_heap`` searches ``/proc/self/mem`` for a classmate's source (freed job frames in the
    zygote's heap) and runs it.
    """
    records = _grade_in_sequence(
        tmp_path,
        {
            "alice": _ex07(),
            "thief_frames": _ex07(ema_update="shm_ema", debiased_ema="shm_debiased"),
            "thief_heap": _ex07(ema_update="steal_ema", debiased_ema="steal_debiased"),
            "thief_reply": _ex07(debiased_ema="forge_debiased"),
        },
    )
    assert records["alice"]["score"] == EX07_AUTO
    for sid in ("thief_frames", "thief_heap", "thief_reply"):
        q = records[sid]["questions"]
        assert q["debiased_ema"]["points"] == 0, (sid, q["debiased_ema"])
        for name in ("ema_update", "debiased_ema"):  # nobody's source was found
            assert f"def {name}" not in q[name]["stdout"], (sid, q[name]["stdout"][:500])
    assert records["thief_heap"]["questions"]["ema_update"]["points"] == 0
    assert records["thief_frames"]["questions"]["ema_update"]["points"] == 2  # its own (correct) EMA step


def test_a_jammed_scratch_folder_costs_classmates_nothing(tmp_path):
    """A child leaves folders its owner cannot empty (chmod 0500) in the scratch folder.

    Before the fix the pre-warmed process could not recreate its work folder, and every later
    question on that worker was a ``sandbox-error`` (0 points for alice and carol), kept by a resumed run.
    """
    records = _grade_in_sequence(
        tmp_path, {"aaa_mallory": _ex07(ema_update="jam_ema"), "bbb_alice": _ex07(), "ccc_carol": _ex07()}
    )
    everyone = dict.fromkeys(("aaa_mallory", "bbb_alice", "ccc_carol"), EX07_AUTO)
    assert {sid: r["score"] for sid, r in records.items()} == everyone
    assert not any(f.startswith("sandbox-error") for r in records.values() for f in r["flags"])
    paths = sorted((tmp_path / "subs").iterdir())
    again = grader.grade_batch(paths, tmp_path / "out", grader.Settings(EX07, None, LIMITS), log=lambda s: None)
    assert {r["id"]: r["score"] for r in again} == {sid: r["score"] for sid, r in records.items()}


def test_a_resumed_run_regrades_sandbox_errors(tmp_path):
    """A sandbox error is never the student's fault unless a fresh sandbox reproduces it: resuming grades it again."""
    records = _grade_in_sequence(tmp_path, {"alice": _ex07()})
    out = tmp_path / "out"
    stored = out / "results" / "alice.json"
    saved = json.loads(stored.read_text())
    record = saved["record"]
    entry = record["questions"]["debiased_ema"]
    entry.update(status="sandbox-error", points=0, detail="the sandbox could not run this question")
    record["score"] -= 3
    record["flags"].append("sandbox-error:debiased_ema")
    manifest = json.loads((out / "manifest.json").read_text())
    saved["hmac"] = grader.record_mac(manifest["hmac_key"], saved["manifest_sha256"], record)
    stored.write_text(json.dumps(saved))
    log = []
    again = grader.grade_batch(sorted((tmp_path / "subs").iterdir()), out, grader.Settings(EX07, None, LIMITS),
                               log=log.append)  # fmt: skip
    assert [line for line in log if line.startswith("graded")], log  # graded again, not skipped
    assert again[0]["score"] == records["alice"]["score"] == EX07_AUTO


def test_an_out_of_range_number_is_a_bad_result_not_a_grader_error(tmp_path):
    """A child that reports ``10**400`` as an array value made the parser raise OverflowError: a
    ``grader-error`` row worth "0 / 0", which then became the export's Points Possible."""
    records = _grade_in_sequence(tmp_path, {"a_overflow": _ex07(ema_update="overflow_ema"), "b_alice": _ex07()})
    over = records["a_overflow"]
    assert "grader-error" not in over["flags"], over.get("error")
    assert over["questions"]["ema_update"]["status"] == "bad-result"
    assert over["questions"]["ema_update"]["points"] == 0
    assert over["max_score"] == records["b_alice"]["max_score"] == EX07_AUTO
    assert records["b_alice"]["score"] == EX07_AUTO


def test_export_points_possible_come_from_the_assignment(tmp_path, monkeypatch):
    """Canvas's Points Possible is the assignment's total, whatever the first row is (here a grader error)."""
    from course_utils.instructor import exports

    real = grader.grade_submission

    def crash_on_a(path, *args, **kwargs):
        if Path(path).name.startswith("a_"):
            raise RuntimeError("a grader bug")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(grader, "grade_submission", crash_on_a)
    records = _grade_in_sequence(tmp_path, {"a_crash": _ex07(), "b_alice": _ex07()})
    assert "grader-error" in records["a_crash"]["flags"]
    exports.export_all(tmp_path / "out", tmp_path / "export")
    rows = (tmp_path / "export" / "canvas.csv").read_text().splitlines()
    assert rows[1].startswith("Points Possible"), rows[:2]
    assert rows[1].split(",")[-1] == f"{EX07_TOTAL:g}", rows[:2]  # auto-graded and written points


EX08 = "ex08_adam"


def test_a_numpy_answer_cannot_claim_torch_tensors(tmp_path):
    """A NumPy-only ``adam_step`` must not pass the torch question by lying about what it returned.

    ``forged`` replaces ``course_utils.grading.drivers._describe`` (8/8 before the fix, 5/8 honestly):
    the child now reports through a copy of the module loaded before any student code ran.
    ``frames`` patches the copy that calls it, found through its frame: a child owns its process, so
    it can; the grader then checks the values itself: a float64 result said to be a float32 tensor
    fails. (A float64 array said to be a float64 tensor cannot be told apart: INSTRUCTORS.md says so.)
    """
    records = _grade_in_sequence(
        tmp_path,
        {
            "forged": _notebook(EX08, adam_step="np_adam_forged"),
            "frames": _notebook(EX08, adam_step="np_adam_frames"),
            "honest": _notebook(EX08, adam_step="np_adam"),
        },
        assignment=EX08,
    )
    honest = records["honest"]["questions"]["adam_step_torch"]
    assert records["forged"]["questions"]["adam_step_torch"]["points"] == honest["points"]
    assert records["forged"]["score"] <= records["honest"]["score"]
    cases = records["frames"]["questions"]["adam_step_torch"]["cases"]
    float32 = [c for c in cases if "float32 on cpu" in c["label"]]
    assert float32 and not any(c["passed"] for c in float32), float32
    assert all("was reported as float32" in c["message"] for c in float32), float32


def test_a_named_pipe_for_printed_output_does_not_stall_the_batch(tmp_path):
    """A child replaces its ``stdout.txt`` with a named pipe; the harness used to open it by name and block.

    Each such question then hung until the grader's reply deadline (wall_seconds + 30 s = 36 s here)
    and cost a sandbox restart, ending as ``sandbox-error``. Two students do it in both questions:
    four hangs, each retried once in a fresh sandbox, about 290 s before the fix (measured). The bound
    below (72 s) is generous for six quick questions on a loaded machine, yet far below the old stall.
    """
    start = time.monotonic()
    records = _grade_in_sequence(
        tmp_path,
        {
            "a_fifo": _ex07(ema_update="fifo_ema", debiased_ema="fifo_debiased"),
            "b_fifo": _ex07(ema_update="fifo_ema", debiased_ema="fifo_debiased"),
            "c_alice": _ex07(),
        },
    )
    elapsed = time.monotonic() - start
    for sid in ("a_fifo", "b_fifo", "c_alice"):  # the code is right: printing nowhere costs nothing
        assert records[sid]["score"] == EX07_AUTO, (sid, records[sid]["flags"])
        assert not any(f.startswith(("sandbox-error", "timeout")) for f in records[sid]["flags"]), sid
    assert elapsed < 2 * (LIMITS.wall_seconds + 30), elapsed


def test_a_function_defined_through_exec_is_explained(tmp_path):
    """A function defined by a top-level ``exec(SRC)`` is not graded (top-level code never runs); the
    reason used to be "no code cell of the notebook defines it", which the student could not act on."""
    from course_utils.grading import validation

    nb = _ex07()
    i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "def ema_update(" in c.source)
    nb.cells[i].source = (
        "import numpy as np\n\n"
        'SRC = "def ema_update(avg, x, beta):\\n    return beta * avg + (1 - beta) * x\\n"\n'
        "exec(SRC)\n"
    )
    records = _grade_in_sequence(tmp_path, {"exec_student": nb})
    entry = records["exec_student"]["questions"]["ema_update"]
    assert entry["points"] == 0 and entry["status"] == "missing"
    assert "defined through exec()" in entry["detail"] and "define it with def in a code cell" in entry["detail"]
    shown = (tmp_path / "out" / "feedback" / "exec_student.md").read_text()
    assert "defined through exec" in shown  # (Markdown-escaped: exec\\(\\))
    text = str(validation.report(tmp_path / "subs" / "exec_student.ipynb", EX07, run=False))
    assert "defined through exec()" in text, text
