"""Run student code inside a bubblewrap sandbox, one question at a time, and read back data only.

What the sandbox is (``bwrap``, Debian/Ubuntu package ``bubblewrap``):

* every namespace unshared (``--unshare-all``): no network, its own PID namespace (so every
  process it starts dies with it, ``--die-with-parent``), IPC, UTS and user namespaces, and a new
  terminal session (``--new-session``);
* a file system of read-only binds of only what student code needs: ``/usr`` (system libraries),
  the Python installation and the virtual environment, and a *staged copy* of the student-facing
  part of ``course_utils`` (only the files the release's allowlist names,
  :mod:`.release_manifest`: never ``course_utils/instructor``, ``grade.py`` or ``assignments.py``).
  The course folder, ``assignments/source``, ``solutions/``, the submissions,
  the output folder and the instructor's home are not mounted at all;
* a private tmpfs with a size cap as the only writable place;
* per question: limits on CPU seconds, address space, file size (so also printed output),
  open files and (when the grader is not root, or through a ``pids`` cgroup when it is) the number
  of processes, and a wall-clock deadline after which every process of the sandbox is killed.

Speed: starting Python with NumPy and torch costs seconds, so one sandbox per grading worker
starts a pre-warmed process (:mod:`.harness`, the sandbox's process 1) that forks a fresh runner per
question, which reads the job, forks the child that runs it, then kills every other process in the
sandbox, removes its IPC objects and wipes its scratch folders; the pre-warmed process itself never
holds a job's data. See the harness's docstring. A sandbox that misbehaves (dies, sends garbage, misses its deadline) is
killed and replaced.

Without bwrap the grader refuses to run, unless the instructor asks for ``--no-sandbox``, which
runs the same harness as a plain child process (no namespaces) and says so in the manifest and in
every student's feedback.
"""

from __future__ import annotations

import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from course_utils.grading import drivers

from . import release_manifest

PACKAGE = Path(__file__).resolve().parents[1]  # course_utils/
HARNESS = Path(__file__).with_name("harness.py")
INSTRUCTOR_ONLY = release_manifest.INSTRUCTOR_ONLY
HEADER_BYTES = 8
STARTUP_SECONDS = 180.0  # importing torch on a busy 2-core machine takes tens of seconds
INSTALL_HELP = (
    "the grader runs student code in a bubblewrap sandbox, and `bwrap` {problem}.\n"
    "Install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`; "
    "Arch: `sudo pacman -S bubblewrap`). If it is installed but cannot create namespaces, allow unprivileged "
    "user namespaces (e.g. `sudo sysctl kernel.unprivileged_userns_clone=1`; on Ubuntu 24.04 also "
    "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`).\n"
    "To grade WITHOUT a sandbox (only for code you trust), pass --no-sandbox; it is recorded in the manifest "
    "and in every student's feedback."
)


PROBE_FLAGS = ("--unshare-all", "--die-with-parent", "--new-session", "--uid", "65534", "--gid", "65534")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces here."""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 20.0
    cpu_seconds: int = 20
    memory_mb: int = 2048  # address space a question may add to the pre-warmed process
    file_mb: int = 16  # largest file (and printed output) a question may write
    processes: int = 32  # processes per question (RLIMIT_NPROC, or the pids cgroup when root)
    tmpfs_mb: int = 64  # size of the sandbox's only writable folder
    output_chars: int = 4000  # of stdout/stderr quoted in feedback
    result_bytes: int = 32 << 20  # largest answer a question may send back

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Outcome:
    # ok, import-error, missing, timeout, cpu-limit, output-limit, killed, crashed, exited, no-result,
    # bad-result, result-too-large, sandbox-error
    status: str
    detail: str = ""
    cases: list | None = None  # decoded case results (status "ok", function questions)
    config: dict | None = None  # run_config result (status "ok", config questions)
    inputs_after: dict = field(default_factory=dict)  # (case index, arg name) -> array read from shared memory
    stdout: str = ""
    stderr: str = ""


# --- availability ------------------------------------------------------------------------------------


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def check_bwrap() -> str:
    """The path of a working ``bwrap``; raises :class:`SandboxUnavailable` with install help otherwise."""
    path = bwrap_path()
    if path is None:
        raise SandboxUnavailable(INSTALL_HELP.format(problem="is not installed"))
    probe = subprocess.run(
        [path, *PROBE_FLAGS, *_system_binds(), "--size", str(1 << 20), "--tmpfs", "/tmp", "--", "/bin/true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0:
        problem = f"cannot create a sandbox here ({probe.stderr.strip()[:200] or probe.returncode})"
        raise SandboxUnavailable(INSTALL_HELP.format(problem=problem))
    return path


def bwrap_problem() -> str | None:
    """None when a sandbox can be made here, else why not (for skipping tests with a reason)."""
    try:
        check_bwrap()
    except (SandboxUnavailable, OSError, subprocess.SubprocessError) as exc:
        return str(exc).splitlines()[0]
    return None


# --- the staged, student-facing package ------------------------------------------------------------


def stage_course(dest: Path) -> Path:
    """Copy the student-facing part of ``course_utils`` and the harness into ``dest`` (read-only there)."""
    dest = Path(dest)
    release_manifest.copy_student_package(PACKAGE, dest / "course_utils")  # the release's allowlist, nothing else
    shutil.copy2(HARNESS, dest / "zygote.py")
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return dest


# --- the process tree limit when running as root ------------------------------------------------------


class _PidsCgroup:
    """A ``pids`` cgroup around the sandbox: RLIMIT_NPROC is not enforced for root, a cgroup is."""

    def __init__(self, limit: int):
        self.path = None
        if os.geteuid() != 0:
            return
        for base in (Path("/sys/fs/cgroup/pids"), _own_v2_cgroup()):
            if base is None or not (base / "cgroup.procs").exists():
                continue
            _remove_stale(base)
            path = base / f"course-grader-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(limit))
            except OSError:
                try:
                    path.rmdir()
                except OSError:
                    pass
                continue
            self.path = path
            return

    def enter(self) -> None:
        """Move the calling process into the cgroup (run between fork and exec: its children follow)."""
        if self.path is not None:
            fd = os.open(self.path / "cgroup.procs", os.O_WRONLY)
            try:
                os.write(fd, str(os.getpid()).encode())
            finally:
                os.close(fd)

    def close(self) -> None:
        if self.path is not None:
            for _ in range(100):
                try:
                    self.path.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)
            self.path = None


def _remove_stale(base: Path) -> None:
    """Empty cgroups left by graders that were killed (their pid, in the name, is gone)."""
    for old in base.glob("course-grader-*"):
        try:
            pid = int(old.name.split("-")[2])
            if not Path(f"/proc/{pid}").exists():
                old.rmdir()
        except (ValueError, IndexError, OSError):
            continue


def process_limit_mode() -> str:
    """How a sandbox's number of processes is capped here: "rlimit", "cgroup", or "none" (root, no cgroup)."""
    if os.geteuid() != 0:
        return "rlimit"
    probe = _PidsCgroup(8)
    mode = "cgroup" if probe.path is not None else "none"
    probe.close()
    return mode


def _own_v2_cgroup() -> Path | None:
    try:
        line = next(ln for ln in Path("/proc/self/cgroup").read_text().splitlines() if ln.startswith("0::"))
    except (OSError, StopIteration):
        return None
    path = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
    return path if (path / "pids.max").exists() or (Path("/sys/fs/cgroup") / "cgroup.controllers").exists() else None


# --- the sandbox --------------------------------------------------------------------------------------


def _system_binds() -> list[str]:
    binds = ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        top = Path("/") / name
        if top.is_symlink():
            binds += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            binds += ["--ro-bind", str(top), str(top)]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime"):
        if Path(etc).exists():
            binds += ["--ro-bind", etc, etc]
    return binds


def _python_paths() -> tuple[list[Path], list[str]]:
    """Folders to bind (the Python installation, the environment) and the ``sys.path`` to use inside."""
    paths = sysconfig.get_paths()
    inside = [p for p in sys.path if p and Path(p).exists() and not Path(p).resolve().is_relative_to(PACKAGE.parent)]
    inside = [p for p in inside if any(Path(p).resolve().is_relative_to(Path(r).resolve()) for r in _roots())]
    extra = [paths.get("purelib"), paths.get("platlib")]
    for p in extra:
        if p and p not in inside:
            inside.append(p)
    return sorted({Path(r).resolve() for r in _roots()}), inside


def _roots() -> list[str]:
    return [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]


class Sandbox:
    """One pre-warmed harness in one sandbox; :meth:`run` grades one question of one submission."""

    def __init__(self, stage: Path, limits: Limits, preload=(), isolate: bool = True):
        self.stage, self.limits, self.preload, self.isolate = Path(stage), limits, tuple(preload), isolate
        self.proc = None
        self.cgroup = None
        self.scratch = None
        self.started = 0

    # -- life cycle --

    def _command(self) -> list[str]:
        python = os.path.realpath(sys.executable)
        roots, path = _python_paths()
        if not self.isolate:
            self.scratch = Path(tempfile.mkdtemp(prefix="course-grade-"))
            spec = {"path": [str(self.stage), *path], "preload": list(self.preload), "scratch": str(self.scratch),
                    "isolated": False}  # fmt: skip
            return [python, "-I", "-S", "-B", str(self.stage / "zygote.py"), json.dumps(spec)]
        spec = {"path": ["/course", *path], "preload": list(self.preload), "scratch": "/tmp", "isolated": True}
        cmd = [check_bwrap(), "--unshare-all", "--as-pid-1", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        cmd += ["--uid", "65534", "--gid", "65534", "--hostname", "sandbox"]
        cmd += _system_binds()
        # bwrap mounts in order: the scratch /tmp first, so that an environment that itself lives under
        # /tmp (a CI clone in /tmp/...) is bound over it instead of being hidden by it.
        cmd += ["--size", str(int(self.limits.tmpfs_mb) << 20), "--tmpfs", "/tmp"]
        for root in roots:
            if not str(root).startswith(("/usr/", "/bin/", "/lib")):
                cmd += ["--ro-bind", str(root), str(root)]
        cmd += ["--ro-bind", str(self.stage), "/course", "--chdir", "/tmp"]
        # /dev read-only (a child could otherwise replace /dev/null for the next one), /dev/shm a capped tmpfs
        cmd += ["--remount-ro", "/dev", "--size", str(int(self.limits.tmpfs_mb) << 20), "--tmpfs", "/dev/shm"]
        cmd += ["--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp", "--unsetenv", "PYTHONPATH"]
        cmd += ["--", python, "-I", "-S", "-B", "/course/zygote.py", json.dumps(spec)]
        return cmd

    def start(self) -> None:
        self.close()
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }
        cmd = self._command()
        self.cgroup = _PidsCgroup(int(self.limits.processes) + 8) if self.isolate else None
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd="/",
            start_new_session=True,
            close_fds=True,
            preexec_fn=None if self.cgroup is None or self.cgroup.path is None else self.cgroup.enter,
        )
        ready = self._read_frame(time.monotonic() + STARTUP_SECONDS, 1 << 16)
        if not isinstance(ready, dict) or not ready.get("ready"):
            self.close()
            raise SandboxUnavailable(f"the sandbox did not start ({ready!r:.200}){self._diagnose(cmd, env)}")
        self.started += 1

    def _diagnose(self, cmd: list[str], env: dict) -> str:
        """Why a sandbox did not start: bwrap's own message for a trivial command in the same sandbox.

        (A working sandbox's stderr is discarded, so that nothing a submission does can flood it.)
        """
        if not self.isolate or "--" not in cmd:
            return ""
        probe = cmd[: cmd.index("--") + 2] + ["-I", "-S", "-c", "import encodings"]
        try:
            run = subprocess.run(probe, capture_output=True, text=True, env=env, cwd="/", timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            return f": {exc}"
        said = run.stderr.strip()[-300:]
        if not said:
            return ""
        hint = ""
        if os.geteuid() != 0:
            hint = (" (graded as an ordinary user, the Python installation and the environment must be "
                    "readable by that user: see INSTRUCTORS.md, 'Grading as an ordinary user')")  # fmt: skip
        return f": {said}{hint}"

    @property
    def process_limit(self) -> str:
        """How the number of processes is capped: "rlimit", "cgroup" or "none" (root without a cgroup)."""
        if os.geteuid() != 0:
            return "rlimit"
        return "cgroup" if self.cgroup is not None and self.cgroup.path is not None else "none"

    def close(self) -> None:
        if self.proc is not None:
            tree = _descendants(self.proc.pid)
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap's init dies, and its PID namespace with it
            except (ProcessLookupError, PermissionError):
                pass
            for pid in tree:  # do not leave it to --die-with-parent: be sure they are gone when close() returns
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            end = time.monotonic() + 10
            while time.monotonic() < end and any(_alive(pid) for pid in tree):
                time.sleep(0.01)
            self.proc = None
        if self.cgroup is not None:
            self.cgroup.close()
            self.cgroup = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the channel --

    def _read_exact(self, n: int, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        chunks, left = [], n
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _read_frame(self, deadline: float, cap: int):
        head = self._read_exact(HEADER_BYTES, deadline)
        if head is None:
            return None
        n = int.from_bytes(head, "big")
        if n > cap:
            return None
        body = self._read_exact(n, deadline)
        if body is None:
            return None
        try:
            return json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return None

    def run(self, code: str, question: str, cases_encoded: list | None, mode: str = "cases") -> Outcome:
        """Run one question on the extracted ``code``; never raises for anything the code does."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        job = {
            "code": code,
            "question": question,
            "mode": mode,
            "cases": cases_encoded or [],
            "limits": self.limits.as_dict(),
        }
        body = json.dumps(job).encode()
        try:
            self.proc.stdin.write(len(body).to_bytes(HEADER_BYTES, "big") + body)
            self.proc.stdin.flush()
        except OSError:
            self.close()
            return Outcome("sandbox-error", "the sandbox stopped before the question could run")
        cap = 4 * int(self.limits.result_bytes) + 4 * int(self.limits.output_chars) + (1 << 20)
        reply = self._read_frame(time.monotonic() + float(self.limits.wall_seconds) + 30.0, cap)
        if not isinstance(reply, dict):
            self.close()  # dead, hung or talking nonsense: the next question gets a fresh sandbox
            return Outcome("sandbox-error", "the sandbox stopped responding while running this question")
        if reply.get("status") not in ("done", "timeout", "result-too-large") or reply.get("clean") is not True:
            self.close()  # it failed, or could not clean up after the question: the next one gets a fresh sandbox
        return interpret(reply, self.limits, len(cases_encoded or []), mode)


def _descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc), deepest last."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as fh:
                kids = [int(x) for x in fh.read().split()]
        except (OSError, ValueError):
            kids = []
        found += kids
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


# Whatever parsing a child's reply can raise: anything that does not conform is a bad result, never a grader error.
PARSE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,
    RecursionError,
    MemoryError,
    drivers.OutputError,
)


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


def _text(value, n) -> str:
    return value[: n + 40] if isinstance(value, str) else ""


def interpret(reply: dict, limits: Limits, n_cases: int, mode: str) -> Outcome:
    """The zygote's reply as an :class:`Outcome`; everything the child produced is parsed strictly."""
    stdout, stderr = _text(reply.get("stdout"), limits.output_chars), _text(reply.get("stderr"), limits.output_chars)
    outcome = _interpret(reply, limits, n_cases, mode)
    outcome.stdout, outcome.stderr = stdout, stderr
    if outcome.status == "ok":
        after = {}
        try:
            for item in reply.get("inputs_after", []):
                i, name, value = item
                if not isinstance(i, int) or not isinstance(name, str):
                    raise ValueError("malformed input record")
                after[(i, name)] = drivers.decode(value)
        except PARSE_ERRORS:
            return Outcome("bad-result", "the sandbox sent unusable data", stdout=stdout, stderr=stderr)
        outcome.inputs_after = after
    return outcome


def _interpret(reply, limits, n_cases, mode) -> Outcome:
    status, rc = reply.get("status"), reply.get("rc")
    if status == "timeout":
        return Outcome("timeout", f"stopped after {limits.wall_seconds:g} s (infinite loop?)")
    if status == "result-too-large":
        return Outcome("result-too-large", f"returned more than {limits.result_bytes >> 20} MB of data")
    if status != "done":
        return Outcome("sandbox-error", "the sandbox could not run this question")
    if isinstance(rc, int) and rc < 0:
        sig = -rc
        if sig == signal.SIGXCPU:
            return Outcome("cpu-limit", f"used more than {limits.cpu_seconds} s of CPU time")
        if sig == signal.SIGXFSZ:
            return Outcome("output-limit", f"wrote a file or output larger than {limits.file_mb} MB")
        if sig == signal.SIGKILL:
            return Outcome("killed", "killed (probably out of memory)")
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return Outcome("crashed", f"crashed with signal {name}")
    text = reply.get("result")
    if not isinstance(text, str) or not text:
        how = f"exit code {rc}" if rc else "exit code 0"
        return Outcome(
            "exited" if rc else "no-result",
            f"the process ended ({how}) before reporting results (sys.exit or os._exit in the code?)",
        )
    try:
        payload = json.loads(text, parse_constant=_reject_constant)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        status = payload.get("status")
        if status in ("import-error", "missing", "harness-error"):
            return Outcome(status, str(payload.get("error", ""))[: drivers.MAX_ERROR_CHARS])
        if status != "ok":
            raise ValueError(f"unknown status {str(status)[:40]!r}")
        if mode == "config":
            res = payload.get("config")
            if not isinstance(res, dict):
                raise ValueError("malformed configuration result")
            config = res.get("config")
            error = res.get("error")
            return Outcome(
                "ok",
                config={
                    "config": None if config is None else drivers.sanitize_config(config),
                    "error": None if error is None else str(error)[: drivers.MAX_ERROR_CHARS],
                    "not_implemented": res.get("not_implemented") is True,
                },
            )
        cases = payload.get("cases")
        if not isinstance(cases, list) or len(cases) != n_cases:
            raise ValueError("wrong number of case results")
        decoded = [drivers.decode_result(c) for c in cases]
        for res in decoded:
            for value in res["outputs"].values():
                if value is not None and not all(math.isfinite(x) for x in value.ravel().tolist()):
                    raise ValueError("non-finite output")
        return Outcome("ok", cases=decoded)
    except PARSE_ERRORS as exc:
        return Outcome("bad-result", f"unusable result: {str(exc)[:200]}")
