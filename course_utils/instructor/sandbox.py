"""Run one question of one submission in a fresh, resource-limited child process.

What the child gets: ``python -I -B`` (isolated mode: no PYTHONPATH, no user site, script
folder not on sys.path), a scrubbed environment, a fresh temporary working directory (also
its HOME and TMPDIR), its own session (so the whole process group can be killed), and
``setrlimit`` limits on CPU seconds, address space, file size, core dumps and (for non-root
users) the number of processes. The parent enforces a wall-clock timeout, kills the group,
caps what it reads of stdout/stderr, and reads the result only from the file whose name
carries a fresh random nonce. This stops accidents and casual tampering; it is NOT a
security sandbox (see INSTRUCTORS.md).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from course_utils.grading import drivers

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("harness.py")
MAX_RESULT_BYTES = 32 << 20


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 20.0
    cpu_seconds: int = 20
    memory_mb: int = 2048
    file_mb: int = 16
    extra_processes: int = 32
    output_chars: int = 4000  # of stdout/stderr quoted in feedback

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _user_processes(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                    for line in fh:
                        if line.startswith("Uid:"):
                            count += int(line.split()[1]) == uid
                            break
            except OSError:
                continue
    return count


def _apply_limits(limits: Limits, nproc: int):
    def set_limit(kind, value):
        try:
            soft, hard = resource.getrlimit(kind)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):
            pass

    def preexec():
        set_limit(resource.RLIMIT_CPU, int(limits.cpu_seconds))
        set_limit(resource.RLIMIT_AS, int(limits.memory_mb) << 20)
        set_limit(resource.RLIMIT_FSIZE, int(limits.file_mb) << 20)
        set_limit(resource.RLIMIT_CORE, 0)
        if hasattr(resource, "RLIMIT_NPROC"):
            set_limit(resource.RLIMIT_NPROC, nproc)  # counts all of this user's processes; ignored for root

    return preexec


def _env(job_dir: Path) -> dict:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(job_dir),
        "TMPDIR": str(job_dir),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(job_dir),
    }


@dataclass
class Outcome:
    # ok, import-error, missing, timeout, cpu-limit, output-limit, killed, crashed, exited, no-result, bad-result
    status: str
    detail: str = ""
    cases: list | None = None  # decoded case results (status "ok", function questions)
    config: dict | None = None  # run_config result (status "ok", config questions)
    stdout: str = ""
    stderr: str = ""


def _read_capped(path: Path, n: int) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(n + 1)
    except OSError:
        return ""
    text = data[:n].decode("utf-8", errors="replace")
    return text + ("\n[... output truncated]" if len(data) > n else "")


def run(code: str, question: str, cases_encoded: list | None, limits: Limits, mode: str = "cases") -> Outcome:
    """Run ``question`` on the extracted ``code`` in a child; never raises for the child's faults."""
    job_dir = Path(tempfile.mkdtemp(prefix="course-grade-"))
    try:
        return _run(job_dir, code, question, cases_encoded, limits, mode)
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)


def _run(job_dir, code, question, cases_encoded, limits, mode) -> Outcome:
    (job_dir / "student.py").write_text(code, encoding="utf-8")
    (job_dir / "job.json").write_text(
        json.dumps({"question": question, "mode": mode, "cases": cases_encoded or []}), encoding="utf-8"
    )
    nonce = secrets.token_hex(16)
    nproc = _user_processes(os.getuid()) + limits.extra_processes
    out_path, err_path = job_dir / "stdout.txt", job_dir / "stderr.txt"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(HARNESS), str(ROOT), str(job_dir)],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            cwd=job_dir,
            env=_env(job_dir),
            preexec_fn=_apply_limits(limits, nproc),
            start_new_session=True,
            close_fds=True,
        )
        try:
            proc.stdin.write((nonce + "\n").encode())
            proc.stdin.close()
        except OSError:
            pass
        timed_out = False
        try:
            rc = proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            rc = proc.wait()
        _kill_group(proc.pid)  # grandchildren the student may have started
    stdout = _read_capped(out_path, limits.output_chars)
    stderr = _read_capped(err_path, limits.output_chars)
    outcome = _interpret(job_dir / f"result-{nonce}.json", nonce, rc, timed_out, limits, len(cases_encoded or []), mode)
    outcome.stdout, outcome.stderr = stdout, stderr
    return outcome


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _interpret(result_path: Path, nonce, rc, timed_out, limits, n_cases, mode) -> Outcome:
    if timed_out:
        return Outcome("timeout", f"stopped after {limits.wall_seconds:g} s (infinite loop?)")
    if rc is not None and rc < 0:
        sig = -rc
        if sig == signal.SIGXCPU:
            return Outcome("cpu-limit", f"used more than {limits.cpu_seconds} s of CPU time")
        if sig == signal.SIGXFSZ:
            return Outcome("output-limit", f"wrote a file or output larger than {limits.file_mb} MB")
        if sig == signal.SIGKILL:
            return Outcome("killed", "killed (probably out of memory)")
        return Outcome("crashed", f"crashed with signal {signal.Signals(sig).name}")
    if not result_path.is_file():
        how = f"exit code {rc}" if rc else "exit code 0"
        return Outcome(
            "exited" if rc else "no-result",
            f"the process ended ({how}) before reporting results (sys.exit or os._exit in the code?)",
        )
    try:
        if result_path.stat().st_size > MAX_RESULT_BYTES:
            raise ValueError("result file too large")
        payload = json.loads(result_path.read_text(encoding="utf-8", errors="replace"))
        if not isinstance(payload, dict) or payload.get("nonce") != nonce:
            raise ValueError("result file without the run's nonce")
        status = payload.get("status")
        if status in ("import-error", "missing", "harness-error"):
            return Outcome(status, str(payload.get("error", ""))[: drivers.MAX_ERROR_CHARS])
        if status != "ok":
            raise ValueError(f"unknown status {status!r}")
        if mode == "config":
            res = payload.get("config")
            if not isinstance(res, dict):
                raise ValueError("malformed configuration result")
            return Outcome(
                "ok",
                config={
                    "config": res.get("config"),
                    "error": res.get("error"),
                    "not_implemented": bool(res.get("not_implemented")),
                },
            )
        cases = payload.get("cases")
        if not isinstance(cases, list) or len(cases) != n_cases:
            raise ValueError("wrong number of case results")
        return Outcome("ok", cases=[drivers.decode_result(c) for c in cases])
    except (ValueError, KeyError, TypeError, RecursionError, OSError) as exc:
        return Outcome("bad-result", f"unusable result file: {exc}")
