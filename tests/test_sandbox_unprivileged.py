"""The sandbox as an ordinary user: bubblewrap without setuid, on unprivileged user namespaces.

When the tests run as root, the grading job runs as ``nobody`` (uid 65534, via ``setpriv``); as
any other user it runs as that user. Either way the job stages the student package, probes the
sandbox from inside (network, instructor files, a detached process) and grades one notebook with
the grader CLI's own code path. Skipped, with the reason, where the kernel refuses unprivileged
user namespaces (``kernel.unprivileged_userns_clone=0``, or AppArmor's
``kernel.apparmor_restrict_unprivileged_userns=1`` on Ubuntu 24.04+) or where bwrap is missing.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534
AS_USER = [] if os.geteuid() != 0 else ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]

JOB = r"""
import json, os, sys
from pathlib import Path
from course_utils.instructor import grader, sandbox

work, port, marker, secret = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
report = {"euid": os.geteuid(), "problem": sandbox.bwrap_problem(), "process_limit": sandbox.process_limit_mode()}
if report["problem"] is None:
    limits = sandbox.Limits(wall_seconds=15, cpu_seconds=15, memory_mb=1024, file_mb=4, tmpfs_mb=32)
    body = (
        "import os, socket, subprocess\n"
        "for host, p in (('127.0.0.1', PORT), ('1.1.1.1', 80)):\n"
        "    try:\n"
        "        socket.create_connection((host, p), timeout=2)\n"
        "        print('CONNECTED', host)\n"
        "    except OSError as exc:\n"
        "        print('BLOCKED', host)\n"
        "for p in SECRETS:\n"
        "    print('VISIBLE' if os.path.exists(p) else 'ABSENT', p)\n"
        "print('UID', os.getuid())\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    subprocess.Popen(['sleep', '300', 'MARKER'], start_new_session=True)\n"
        "    os._exit(0)\n"
        "print('DONE')\n"
    ).replace("PORT", str(port)).replace("MARKER", marker).replace("SECRETS", repr(json.loads(secret)))
    code = "def gd_step(x, grad, lr):\n" + "".join(f"    {line}\n" for line in body.splitlines()) + "    return x\n"
    stage = sandbox.stage_course(work / "stage" / "course")
    with sandbox.Sandbox(stage, limits) as box:
        out = box.run(code, "gd_step", [{"label": "probe", "mode": "call", "args": {"x": 1.0, "grad": 1.0, "lr": 0.5}}])
        report["probe"] = {"status": out.status, "stdout": out.stdout, "process_limit": box.process_limit}
    settings = grader.Settings("ex07_ema_bias_correction", 7, limits)
    records = grader.grade_batch([work / "ex07_ema_bias_correction.ipynb"], work / "out", settings, log=lambda s: None)
    report.update({key: records[0][key] for key in ("score", "max_score", "flags")})
print("REPORT " + json.dumps(report))
"""


def _hidden_python() -> tuple[Path, Path] | None:
    """(A, C) when the Python installation sits under a folder A that other users cannot enter
    (a pyenv under /root, mode 0700, as in this project's containers), C being A's child on the way."""
    for target in {Path(os.path.realpath(sys.executable)), Path(sys.base_prefix).resolve()}:
        for parent in reversed(target.parents):
            if parent != Path("/") and not parent.stat().st_mode & 0o001:
                return parent, target.parents[len(target.parents) - len(parent.parts) - 1]
    return None


def _reachable(command: list[str], work: Path) -> tuple[list[str], dict]:
    """``command`` made to find the Python installation as an unprivileged user.

    Where the interpreter lives in a folder only root may enter, the job runs in a private mount
    namespace (nothing changes outside it) in which that folder is replaced by an empty,
    world-searchable tmpfs with only the interpreter's subtree bound back: the situation of an
    instructor whose Python is readable by the account that grades."""
    hidden = _hidden_python()
    if hidden is None:
        return command, {}
    if not AS_USER or shutil.which("unshare") is None:
        pytest.skip(f"the Python installation under {hidden[0]} is out of this user's reach")
    script = (
        'mkdir -p "$HOLD"; mount --bind "$C" "$HOLD"; mount -t tmpfs -o mode=0755 tmpfs "$A"; '
        'mkdir -p "$C"; mount --bind "$HOLD" "$C"; exec "$@"'
    )
    env = {"A": str(hidden[0]), "C": str(hidden[1]), "HOLD": str(work / "python-hold")}
    return ["unshare", "--mount", "--propagation", "private", "sh", "-ec", script, "sh", *command], env


@pytest.fixture
def work():
    # a folder the unprivileged user owns; pytest's tmp_path (mode 0700, owned by root) is out of its reach
    path = Path(tempfile.mkdtemp(prefix="course-unprivileged-"))
    path.chmod(0o755)
    if AS_USER:
        os.chown(path, NOBODY, NOBODY)
    yield path
    for p in [path, *path.rglob("*")]:  # the staged package is read-only: make it removable again
        if not p.is_symlink():
            try:
                p.chmod(0o755)
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.timeout(900)
def test_grading_as_an_unprivileged_user_keeps_every_guarantee(work, processes_with):
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap is not installed")
    if AS_USER and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux) to become an unprivileged user")
    if os.stat(shutil.which("bwrap")).st_mode & 0o4000:
        pytest.skip("bwrap is setuid root here: that is not the unprivileged-namespace mode under test")
    submission = work / "ex07_ema_bias_correction.ipynb"
    shutil.copy2(ROOT / "solutions" / submission.name, submission)
    if AS_USER:
        os.chown(submission, NOBODY, NOBODY)
    secret_paths = [
        str(ROOT / "course_utils" / "instructor" / "hidden" / "ex07_ema_bias_correction.py"),
        str(ROOT / "solutions"),
        str(ROOT / "assignments" / "source"),
        str(submission),
        str(work / "out"),
    ]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    marker = f"course-unpriv-{secrets.token_hex(4)}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),  # nobody's home (/nonexistent) is not writable: the profile cache goes here
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
    }
    try:
        command, extra_env = _reachable(
            [*AS_USER, sys.executable, "-c", JOB, str(work), str(server.getsockname()[1]), marker,
             json.dumps(secret_paths)],
            work,
        )  # fmt: skip
        run = subprocess.run(command, capture_output=True, text=True, cwd=work, env=env | extra_env, timeout=840)
    finally:
        server.close()
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("REPORT ")]
    assert run.returncode == 0 and lines, run.stdout[-2000:] + run.stderr[-4000:]
    report = json.loads(lines[-1][len("REPORT ") :])
    assert report["euid"] != 0
    if report["problem"] is not None:
        pytest.skip(f"no unprivileged user namespaces here: {report['problem']}")
    probe = report["probe"]
    assert probe["status"] == "ok", probe
    out = probe["stdout"]
    assert "BLOCKED 127.0.0.1" in out and "BLOCKED 1.1.1.1" in out and "CONNECTED" not in out
    assert [ln for ln in out.splitlines() if ln.startswith("VISIBLE")] == []
    assert out.count("ABSENT") == len(secret_paths) and "DONE" in out
    assert "UID 65534" in out
    assert report["process_limit"] == probe["process_limit"] == "rlimit"  # RLIMIT_NPROC holds for non-root
    assert processes_with(marker) == []  # the detached process died with its question
    assert report["score"] == report["max_score"] > 0 and "no-sandbox" not in report["flags"]
    manifest = json.loads((work / "out" / "manifest.json").read_text())
    assert manifest["sandbox"]["isolation"] == "bubblewrap" and manifest["sandbox"]["process_limit"] == "rlimit"


@pytest.mark.timeout(300)
def test_an_unreadable_python_is_reported_with_bwraps_reason(work):
    """Where the grading user cannot reach the interpreter, the error says why instead of "(None)"."""
    if not AS_USER or _hidden_python() is None or shutil.which("bwrap") is None:
        pytest.skip("needs root and a Python installation that other users cannot enter (as in this container)")
    job = (
        "import sys\nfrom pathlib import Path\nfrom course_utils.instructor import sandbox\n"
        "box = sandbox.Sandbox(sandbox.stage_course(Path(sys.argv[1]) / 'stage' / 'course'), sandbox.Limits())\n"
        "try:\n    box.start()\nexcept sandbox.SandboxUnavailable as exc:\n    print('MESSAGE', exc)\n"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([*AS_USER, sys.executable, "-c", job, str(work)], capture_output=True, text=True, cwd=work,
                         env=env, timeout=240)  # fmt: skip
    message = run.stdout.split("MESSAGE ", 1)[-1]
    assert "MESSAGE" in run.stdout, run.stdout + run.stderr[-2000:]
    assert "bwrap:" in message and "Grading as an ordinary user" in message
