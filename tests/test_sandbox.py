"""The bubblewrap sandbox, probed from inside: no network, no instructor files, no survivors.

Each probe is "student code" that defines the graded function and prints what it finds; the
sandbox quotes the printed output back, which is all these tests read.
"""

import json
import os
import secrets
import socket
import subprocess
from pathlib import Path

import psutil
import pytest

from course_utils.instructor import grader, sandbox

ROOT = Path(__file__).resolve().parents[1]
NO_SANDBOX = sandbox.bwrap_problem()  # None where bubblewrap works
LIMITS = sandbox.Limits(wall_seconds=15, cpu_seconds=15, memory_mb=1024, file_mb=4, tmpfs_mb=32)
CASE = [{"label": "probe", "mode": "call", "args": {"x": 1.0, "grad": 1.0, "lr": 0.5}}]

needs_bwrap = pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox here: {NO_SANDBOX}")


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    stage = sandbox.stage_course(tmp_path_factory.mktemp("stage") / "course")
    with sandbox.Sandbox(stage, LIMITS) as b:
        yield b


def _probe(box, body: str) -> sandbox.Outcome:
    code = "def gd_step(x, grad, lr):\n" + "".join(f"    {line}\n" for line in body.splitlines()) + "    return x\n"
    return box.run(code, "gd_step", CASE)


@needs_bwrap
def test_no_network(box):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        out = _probe(
            box,
            "import socket\n"
            "for host in ('127.0.0.1', '1.1.1.1'):\n"
            "    try:\n"
            f"        socket.create_connection((host, {port} if host == '127.0.0.1' else 80), timeout=2)\n"
            "        print('CONNECTED', host)\n"
            "    except OSError as exc:\n"
            "        print('BLOCKED', host, type(exc).__name__)",
        )
    finally:
        server.close()
    assert out.status == "ok", out
    assert "BLOCKED 127.0.0.1" in out.stdout and "BLOCKED 1.1.1.1" in out.stdout
    assert "CONNECTED" not in out.stdout


@needs_bwrap
def test_no_instructor_files_and_a_working_student_package(box, tmp_path):
    secret = tmp_path / "classmate.ipynb"
    secret.write_text("{}")
    paths = [
        ROOT / "course_utils" / "instructor" / "hidden" / "ex02_gradient_descent.py",
        ROOT / "course_utils" / "grade.py",
        ROOT / "solutions",
        ROOT / "assignments" / "source",
        ROOT / "README.md",
        secret,
        Path.home() / ".bashrc",
        Path.home() / ".ssh",
    ]
    out = _probe(
        box,
        "import os, importlib.util\n"
        f"for p in {[str(p) for p in paths]!r}:\n"
        "    print('VISIBLE' if os.path.exists(p) else 'ABSENT', p)\n"
        f"print('HOME', sorted(os.listdir({str(Path.home())!r})) if os.path.isdir({str(Path.home())!r}) else [])\n"
        "print('INSTRUCTOR', importlib.util.find_spec('course_utils.instructor'))\n"
        "import course_utils.grading, course_utils.optim\n"
        "print('STUDENT', course_utils.grading.__file__)\n"
        "print('FILES', sorted(os.listdir(os.path.dirname(os.path.dirname(course_utils.grading.__file__)))))\n"
        "for target in (course_utils.grading.__file__, '/usr/lib/x', '/course/new.py'):\n"
        "    try:\n"
        "        open(target, 'a').write('# appended')\n"
        "        print('WROTE', target)\n"
        "    except OSError as exc:\n"
        "        print('READONLY', target, exc.errno)\n",
    )
    assert out.status == "ok", out
    visible = [line for line in out.stdout.splitlines() if line.startswith("VISIBLE")]
    assert visible == [], visible
    # of the instructor's home, at most the folder that holds the Python installation is mounted
    home = json.loads(out.stdout.split("HOME ", 1)[1].splitlines()[0].replace("'", '"'))
    needed = {Path(p).resolve().relative_to(Path.home()).parts[0] for p in (os.sys.prefix, os.sys.base_prefix)
              if Path(p).resolve().is_relative_to(Path.home())}  # fmt: skip
    assert set(home) <= needed, home
    assert "INSTRUCTOR None" in out.stdout
    assert "STUDENT /course/course_utils/grading/__init__.py" in out.stdout
    files = json.loads(out.stdout.split("FILES ", 1)[1].splitlines()[0].replace("'", '"'))
    assert "instructor" not in files and "grade.py" not in files and "optim" in files
    assert "WROTE" not in out.stdout and out.stdout.count("READONLY") == 3


@needs_bwrap
def test_no_process_survives_a_question(box, processes_with):
    marker = f"course-sandbox-{secrets.token_hex(4)}"
    out = _probe(
        box,
        "import os, subprocess\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    subprocess.Popen(['sleep', '300', '{marker}'], start_new_session=True)\n"
        "    os._exit(0)\n"
        f"subprocess.Popen(['sleep', '301', '{marker}'])\n"
        "print('STARTED')",
    )
    assert out.status == "ok" and "STARTED" in out.stdout, out
    assert processes_with(marker) == []  # killed after the question, while the sandbox itself lives on
    again = _probe(box, "print('STILL SERVING')")
    assert "STILL SERVING" in again.stdout


@needs_bwrap
def test_the_scratch_folder_is_private_capped_and_wiped(box):
    first = _probe(
        box,
        "import os\n"
        "print('CWD', os.getcwd())\n"
        "open('/tmp/left-behind', 'w').write('x')\n"
        "written = 0\n"
        "try:\n"
        "    for i in range(40):\n"
        "        with open(f'/tmp/fill{i}', 'wb') as fh:\n"
        "            fh.write(b'0' * (3 << 20))\n"
        "        written += 3\n"
        "except OSError as exc:\n"
        "    for i in range(40):  # make room again, or the printed output has nowhere to go\n"
        "        if os.path.exists(f'/tmp/fill{i}'):\n"
        "            os.remove(f'/tmp/fill{i}')\n"
        "    print('FULL AFTER', written, 'MB', exc.errno)\n"
        # an environment under /tmp (a CI clone) is bound into the scratch tmpfs: the folders that lead
        # to it are writable, and what is written there must go too
        "for name in os.listdir('/tmp'):\n"
        "    if name != 'work' and os.path.isdir('/tmp/' + name):\n"
        "        open(f'/tmp/{name}/left-behind', 'w').write('x')\n",
    )
    assert first.status == "ok", first
    full = int(first.stdout.split("FULL AFTER ")[1].split()[0])
    assert full <= LIMITS.tmpfs_mb
    walk = (
        "import os\n"
        "work = os.getcwd()\n"
        "left = []\n"
        "for top, dirs, files in os.walk('/tmp'):\n"
        "    skip = lambda d: os.path.ismount(os.path.join(top, d)) or os.path.join(top, d) == work\n"
        "    dirs[:] = [d for d in dirs if not skip(d)]\n"
        "    left += [os.path.join(top, f) for f in files]\n"
        "print('LEFT', sorted(left), sorted(os.listdir('/tmp')), work)"
    )
    second = _probe(box, walk)
    # nothing of the previous question is left: no file outside this question's own, fresh work folder
    assert "LEFT [] " in second.stdout, second.stdout
    listing, work = second.stdout.split("LEFT [] ")[1].strip().rsplit(" ", 1)
    assert work.startswith("/tmp/work-"), work
    kept = set(listing.strip("[]").replace("'", "").split(", "))
    under_tmp = {r.parts[2] for r in sandbox._python_paths()[0] if r.parts[:2] == ("/", "tmp") and len(r.parts) > 2}
    assert kept == {work.split("/")[2]} | under_tmp, kept  # only the folders that lead to the environment stay


@needs_bwrap
def test_a_killed_sandbox_is_replaced(box):
    dead = _probe(box, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
    assert dead.status == "sandbox-error"
    again = _probe(box, "print('FRESH')")
    assert again.status == "ok" and "FRESH" in again.stdout


@needs_bwrap
def test_closing_leaves_no_process(tmp_path):
    stage = sandbox.stage_course(tmp_path / "course")
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}  # e.g. the module's other sandbox
    b = sandbox.Sandbox(stage, LIMITS)
    b.start()
    mine = {p.pid for p in me.children(recursive=True)} - before
    assert mine  # bwrap, its init and the pre-warmed harness
    b.close()
    assert not mine & {p.pid for p in me.children(recursive=True)}
    assert not [pid for pid in mine if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]


def test_refuses_without_bwrap_unless_told(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    sol = ROOT / "solutions" / "ex07_ema_bias_correction.ipynb"
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        grader.grade_batch([sol], tmp_path / "out", grader.Settings("ex07_ema_bias_correction", 1, LIMITS))
    assert not (tmp_path / "out" / "grades.csv").exists()
    settings = grader.Settings("ex07_ema_bias_correction", 1, LIMITS, use_sandbox=False)
    records = grader.grade_batch([sol], tmp_path / "plain", settings, log=lambda s: None)
    assert records[0]["score"] == records[0]["max_score"] and "no-sandbox" in records[0]["flags"]
    manifest = json.loads((tmp_path / "plain" / "manifest.json").read_text())
    assert manifest["sandbox"]["isolation"] == "none (--no-sandbox)"
    feedback = (tmp_path / "plain" / "feedback" / "ex07_ema_bias_correction.md").read_text()
    assert "Graded WITHOUT a sandbox" in feedback
    assert json.loads((tmp_path / "plain" / "feedback" / "ex07_ema_bias_correction.json").read_text())[
        "sandbox"
    ].startswith("none")


def test_cli_explains_how_to_install_bwrap(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no bwrap on this PATH
    run = subprocess.run(
        [os.sys.executable, "-m", "course_utils.grade", "ex07_ema_bias_correction",
         str(ROOT / "solutions" / "ex07_ema_bias_correction.ipynb"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2
    assert "bubblewrap" in run.stderr and "--no-sandbox" in run.stderr


@needs_bwrap
def test_nothing_of_a_question_reaches_the_next(box):
    """System V IPC objects, /dev/shm and the pre-warmed process's memory carry nothing to the next question."""
    marker = f"earlier-job-{secrets.token_hex(6)}"
    first = _probe(
        box,
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.shmat.restype = ctypes.c_void_p\n"
        "libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]\n"
        "shmid = libc.shmget(0x5EED, 4096, 0o1000 | 0o666)\n"
        f"data = b'{marker}' + b'\\x00'\n"
        "ctypes.memmove(libc.shmat(shmid, None, 0), data, len(data))\n"
        "print('MSGQ', libc.msgget(0x5EEE, 0o1000 | 0o666) >= 0)\n"
        "try:\n"
        f"    open('/dev/shm/{marker}', 'w').write('x')\n"
        "except OSError as exc:\n"
        "    print('NO DEV SHM', exc.errno)\n"
        "print('SHM', shmid >= 0)",
    )
    assert first.status == "ok" and "SHM True" in first.stdout, first
    second = _probe(
        box,
        "import ctypes, os, re\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('SHMGET', libc.shmget(0x5EED, 0, 0o666), libc.msgget(0x5EEE, 0o666))\n"
        "ipc = [len(open(f'/proc/sysvipc/{k}').read().splitlines()) - 1 for k in ('shm', 'msg')]\n"
        "print('IPC', *ipc)\n"
        "print('DEVSHM', os.listdir('/dev/shm') if os.path.isdir('/dev/shm') else None)\n"
        f"pattern = re.compile(b'{''.join(f'[{c}]' for c in marker)}')  # its text is not the marker\n"
        "found = 0\n"
        "mem = open('/proc/self/mem', 'rb', 0)\n"
        "for line in open('/proc/self/maps').read().splitlines():\n"
        "    parts = line.split()\n"
        "    a, b = (int(x, 16) for x in parts[0].split('-'))\n"
        "    if 'rw' not in parts[1] or b - a > (256 << 20):\n"
        "        continue\n"
        "    try:\n"
        "        mem.seek(a)\n"
        "        data = mem.read(b - a)\n"
        "    except (OSError, ValueError, OverflowError):\n"
        "        continue\n"
        "    found += len(pattern.findall(data))\n"
        "print('FOUND', found)",
    )
    assert second.status == "ok", second
    assert "SHMGET -1 -1" in second.stdout and "IPC 0 0" in second.stdout, second.stdout
    assert "DEVSHM []" in second.stdout, second.stdout
    assert "FOUND 0" in second.stdout, second.stdout  # the first question's code is nowhere in memory


@needs_bwrap
def test_no_key_survives_a_question(box):
    """The kernel's keyrings (user, user-session and session: ``keyctl``) carry nothing to the next question."""
    if os.uname().machine not in ("x86_64", "aarch64"):
        pytest.skip("keyctl's system call number is only known here for x86_64 and aarch64")
    calls = "libc = ctypes.CDLL(None, use_errno=True)\n" + (
        "ADD, KEYCTL = (248, 250) if os.uname().machine == 'x86_64' else (217, 219)\n"
    )
    first = _probe(
        box,
        "import ctypes, os\n" + calls + "for ring in (-3, -4, -5):\n"
        "    name = f'probe{-ring}'.encode()\n"
        "    print('ADDED', libc.syscall(ADD, b'user', name, b'secret', 6, ctypes.c_int(ring)) > 0)",
    )
    assert first.status == "ok" and "ADDED True" in first.stdout, first
    second = _probe(
        box,
        "import ctypes, os\n" + calls + "for ring in (-3, -4, -5):\n"
        "    name = f'probe{-ring}'.encode()\n"
        "    print('FOUND', ring, libc.syscall(KEYCTL, 10, ctypes.c_int(ring), b'user', name, 0) > 0)",
    )
    assert second.status == "ok", second
    assert "FOUND" in second.stdout and "True" not in second.stdout, second.stdout
