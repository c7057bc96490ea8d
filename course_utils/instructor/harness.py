"""The sandbox side of the batch grader: a pre-warmed process that runs each question in a fork.

:mod:`.sandbox` copies this file, alone, next to a staged copy of the student-facing package and
starts it inside bubblewrap as ``python -I -S zygote.py SPEC_JSON``, as the sandbox's process 1
(``bwrap --as-pid-1``). It imports NumPy (and torch, when the assignment needs it) once, then serves
jobs from the grader, one at a time, over its stdin/stdout (length-prefixed JSON frames).

The pre-warmed process (the *zygote*) never touches a job: for every job it forks a *runner* and
waits for it to exit. The runner reads the job from the control channel, runs it, writes the reply
and exits, so nothing of one submission (its code, its outputs, what it printed) is ever in the
memory of the zygote, and so of any later fork: a child cannot find an earlier job in its frames, its
heap or ``/proc/self/mem``. The runner:

1. decodes the cases and copies every input array into *shared* memory that it keeps;
2. forks a child that closes the control channel, applies the resource limits, runs the
   submission's code and calls the function on the cases, and writes its outputs as JSON into a
   pipe; the child never sees expected values or the grading seed (they are not in the sandbox);
3. reads that pipe with a size cap and a deadline, then kills *every* other process in the sandbox
   (``kill(-1, SIGKILL)``, which spares only the runner and process 1, the zygote: whatever the child
   started, detached or not), removes every System V IPC object, empties the kernel keyrings and
   wipes the scratch folders (``/tmp``, ``/dev/shm``), and reports to the grader: the child's raw
   output, how it ended, what it printed (capped), and the input arrays as they are *after* the call,
   read from the shared memory.
   The grader compares those with its own copies, so "I did not change my inputs" is checked, not
   claimed.

The zygote is made non-dumpable before any student code runs (its forks inherit that), so a child
can neither trace it or the runner nor write their memory; student code runs only in the children.
If a runner dies without replying (a child killed it), the zygote exits: the grader sees the channel
close and starts a fresh sandbox.
"""

import builtins
import ctypes
import json
import mmap
import os
import resource
import select
import signal
import stat
import struct
import sys
import tempfile
import time

HEADER = struct.Struct(">Q")
MAX_JOB_BYTES = 256 << 20


def _read_exact(fd, n):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd):
    head = _read_exact(fd, HEADER.size)
    if head is None:
        return None
    (n,) = HEADER.unpack(head)
    if n > MAX_JOB_BYTES:
        raise SystemExit("job too large")
    body = _read_exact(fd, n)
    return None if body is None else json.loads(body)


def _write_frame(fd, obj):
    body = json.dumps(obj).encode()
    data = HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _nondumpable():
    try:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4: no ptrace, no /proc/<pid>/mem
    except (OSError, AttributeError):
        pass


def _vm_size_bytes():
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# --- shared input arrays --------------------------------------------------------------------------


def _share(arr, keep):
    """A copy of ``arr`` in anonymous shared memory (the zygote keeps the mapping)."""
    import numpy as np

    nbytes = max(arr.nbytes, 1)
    buf = mmap.mmap(-1, nbytes)  # MAP_SHARED | MAP_ANONYMOUS: the fork writes here, the zygote reads
    keep.append(buf)
    shared = np.frombuffer(buf, dtype=arr.dtype, count=arr.size).reshape(arr.shape)
    shared[...] = arr
    return shared


def _shared_cases(cases, drivers):
    """Cases whose input arrays live in shared memory, and the list of ``(case, name, array)`` to read back."""
    import numpy as np

    keep, watched = [], []
    for i, case in enumerate(cases):
        for name, value in list(case.get("args", {}).items()):
            if isinstance(value, np.ndarray):
                dtype = drivers.shared_dtype(value, case)
                if dtype is None:
                    continue
                shared = _share(value.astype(dtype, copy=False), keep)
                case["args"][name] = shared
                watched.append((i, name, shared))
        if isinstance(case.get("grads"), np.ndarray):
            shared = _share(case["grads"], keep)
            case["grads"] = shared
            watched.append((i, "grads", shared))
    return keep, watched


# --- the child: runs the submission ---------------------------------------------------------------


def _limit(kind, value):
    try:
        soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


def _child(job, cases, result_w, work, baseline, drivers, questions, printed):
    os.setsid()
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(printed[0], 1)  # files the runner opened and reads back through its own descriptors
    os.dup2(printed[1], 2)
    os.closerange(3, result_w)  # the control channel and everything else but the result pipe
    os.closerange(result_w + 1, 1 << 16)
    limits = job["limits"]
    _limit(resource.RLIMIT_CPU, int(limits["cpu_seconds"]))
    _limit(resource.RLIMIT_AS, baseline + (int(limits["memory_mb"]) << 20))
    _limit(resource.RLIMIT_FSIZE, int(limits["file_mb"]) << 20)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NPROC, int(limits["processes"]))  # enforced when the grader is not root
    _limit(resource.RLIMIT_NOFILE, 256)
    os.chdir(work)
    os.environ.clear()
    os.environ.update({"HOME": work, "TMPDIR": work, "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"})
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)

    _write, _dumps, _exit = os.write, json.dumps, os._exit  # kept before student code can patch them

    def finish(payload):
        try:
            data = _dumps(payload, allow_nan=False).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            data = _dumps({"status": "harness-error", "error": f"cannot encode results: {exc}"[:300]}).encode()
        view = memoryview(data)
        try:
            while view:
                view = view[_write(result_w, view) :]
        except OSError:
            pass
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
        _exit(0)  # skip atexit hooks and threads the student's code may have left behind

    question = questions.QUESTIONS[job["question"]]
    namespace = {"__name__": "__student__", "__builtins__": builtins}
    try:
        exec(compile(job["code"], "<submission>", "exec"), namespace)  # noqa: S102 - the point of this process
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, anything
        finish({"status": "import-error", "error": drivers.error_text(exc)})
    fn = namespace.get(question.function)
    if not callable(fn):
        finish({"status": "missing", "error": f"{question.function} is not defined"})
    if job["mode"] == "config":
        try:
            result = drivers.run_config(fn)
        except BaseException as exc:  # noqa: BLE001
            result = {"config": None, "error": drivers.error_text(exc), "not_implemented": False}
        finish({"status": "ok", "config": result})
    results = []
    for case in cases:
        try:
            res = drivers.encode_result(drivers.finite_outputs(drivers.run_case(fn, question, case)))
        except BaseException as exc:  # noqa: BLE001
            res = {"outputs": {}, "info": {}, "error": drivers.error_text(exc), "not_implemented": False}
        res.pop("mutated", None)  # the grader decides that from the shared memory, not from us
        results.append(res)
    finish({"status": "ok", "cases": results})


# --- the zygote ------------------------------------------------------------------------------------


def _open_output(work, name):
    """A new regular file for what the child prints; the runner keeps this descriptor and reads through it."""
    return os.open(os.path.join(work, name), os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)


def _read_capped(fd, n):
    """What was written to ``fd``'s file, capped: read by descriptor, never by name, so a child that puts a
    named pipe, a link or a device where the file was cannot make this block or read elsewhere."""
    try:
        data = os.pread(fd, n + 1, 0)
    except OSError:
        return ""
    finally:
        os.close(fd)
    text = data[:n].decode("utf-8", errors="replace")
    return text + ("\n[... output truncated]" if len(data) > n else "")


def _sweep(child, isolated):
    """Kill every process of the sandbox except this runner and the zygote (process 1, spared by the kernel).

    ``kill(-1)`` is only safe in a PID namespace of our own (the zygote is its process 1); without the
    sandbox (``--no-sandbox``) only the child's session can be killed.
    """
    try:
        if isolated and os.getppid() == 1:
            os.kill(-1, signal.SIGKILL)
        elif child:
            os.killpg(child, signal.SIGKILL)
    except OSError:
        pass
    while True:  # reap what was ours; orphans are reaped by the sandbox's init
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.002)
            continue


def _clear_ipc():
    """Remove every System V IPC object of the sandbox's own IPC namespace (shared memory, queues, semaphores).

    They outlive the processes that made them, so a child could otherwise leave data for the next job.
    Called only inside the sandbox (with ``--no-sandbox`` the IPC namespace is the machine's).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    for kind, remove in (
        ("shm", lambda i: libc.shmctl(i, 0, None)),  # IPC_RMID = 0: destroyed once nothing is attached
        ("msg", lambda i: libc.msgctl(i, 0, None)),
        ("sem", lambda i: libc.semctl(i, 0, 0)),
    ):
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii") as fh:
                ids = [int(line.split()[1]) for line in fh.readlines()[1:] if len(line.split()) > 1]
        except (OSError, ValueError):
            continue
        for ident in ids:
            remove(ident)


KEYCTL_SYSCALL = {"x86_64": 250, "aarch64": 219}  # keyctl(2) has no libc wrapper outside libkeyutils


def _clear_keyrings():
    """Empty the kernel keyrings a child can write and the next one read (``keyctl``): user, user-session, session.

    They belong to the sandbox's user namespace and outlive processes. Called only inside the sandbox.
    """
    number = KEYCTL_SYSCALL.get(os.uname().machine)
    if number is None:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    for ring in (-3, -4, -5):  # KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING
        libc.syscall(number, 7, ctypes.c_int(ring))  # KEYCTL_CLEAR = 7


def _wipe(top):
    """Remove everything inside ``top``, restoring the permissions a child may have taken away (chmod 0500).

    Mount points stay, with the folders that lead to them: an environment that lives under /tmp (a CI
    clone in /tmp/...) is bound read-only into the scratch tmpfs. Iterative, so no nesting depth stops
    it. True when nothing else is left.
    """
    left = False
    leads_to_mount = set()
    stack = [(top, False)]
    while stack:
        path, emptied = stack.pop()
        if emptied:
            if path != top and path not in leads_to_mount:
                try:
                    os.rmdir(path)
                except OSError:
                    left = True
            continue
        try:
            os.chmod(path, 0o700)  # the sandbox's user owns everything in its tmpfs
        except OSError:
            pass
        stack.append((path, True))
        try:
            names = os.listdir(path)
        except OSError:
            left = True
            continue
        for name in names:
            entry = os.path.join(path, name)
            try:
                if not stat.S_ISDIR(os.lstat(entry).st_mode):
                    os.unlink(entry)
                elif os.path.ismount(entry):
                    folder = path
                    while folder != top and folder not in leads_to_mount:
                        leads_to_mount.add(folder)
                        folder = os.path.dirname(folder)
                else:
                    stack.append((entry, False))
            except OSError:
                left = True
    return not left


def _clean(scratch, isolated):
    """After a job: no process, no IPC object and no file of it left in the sandbox; False if some file is left."""
    clean = _wipe(scratch)
    if isolated:
        _clear_ipc()
        _clear_keyrings()
        clean = _wipe("/dev/shm") and clean
    return clean


def _run_job(job, baseline, drivers, questions, scratch, isolated):
    import numpy as np

    cases = [drivers.decode(c) for c in job.get("cases", [])]
    keep, watched = _shared_cases(cases, drivers)
    _wipe(scratch)
    work = tempfile.mkdtemp(prefix="work-", dir=scratch)  # a fresh folder, whatever an earlier job left
    printed = (_open_output(work, "stdout.txt"), _open_output(work, "stderr.txt"))
    result_r, result_w = os.pipe()
    limits = job["limits"]
    pid = os.fork()
    if pid == 0:
        try:
            os.close(result_r)
            _child(job, cases, result_w, work, baseline, drivers, questions, printed)
        finally:
            os._exit(70)
    os.close(result_w)
    deadline = time.monotonic() + float(limits["wall_seconds"])
    cap = int(limits["result_bytes"])
    chunks, size, status = [], 0, None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        ready, _, _ = select.select([result_r], [], [], left)
        if not ready:
            continue
        chunk = os.read(result_r, 1 << 16)
        if not chunk:
            break
        size += len(chunk)
        if size > cap:
            status = "result-too-large"
            break
        chunks.append(chunk)
    os.close(result_r)
    rc = None
    if status is None:  # the pipe closed: give the child a moment to exit on its own
        end = min(deadline, time.monotonic() + 2.0)
        while time.monotonic() < end:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                rc = os.waitstatus_to_exitcode(code)
                break
            time.sleep(0.002)
    _sweep(pid, isolated)
    if rc is None:
        try:
            _, code = os.waitpid(pid, 0)
            rc = os.waitstatus_to_exitcode(code) if status is None else None
        except ChildProcessError:
            pass
    n = int(limits["output_chars"])
    reply = {
        "status": status or "done",
        "rc": rc,
        "result": b"".join(chunks).decode("utf-8", errors="replace") if status is None else None,
        "stdout": _read_capped(printed[0], n),
        "stderr": _read_capped(printed[1], n),
        "inputs_after": [[i, name, drivers.encode(np.array(arr))] for i, name, arr in watched],
    }
    reply["clean"] = _clean(scratch, isolated)  # False: the grader replaces this sandbox before the next job
    return reply


def _private_copy(module):
    """A fresh copy of ``module``, loaded before any student code runs and not registered in ``sys.modules``.

    The child calls the student's function, describes what it returned and encodes it with this copy,
    so patching the importable ``course_utils.grading.drivers`` (e.g. its ``_describe``, to claim a torch
    tensor for a NumPy array) changes nothing in the reply. A child can still forge its whole reply
    (it owns its process); the grader checks what it can itself (see ``grader.verify_claims``).
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location("_harness_drivers", module.__file__)
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    return copy


def _warm_torch():
    """Import torch and run the usual elementwise ops once on every device and dtype the cases use.

    torch loads its "meta" device kernels (and their Python decompositions) lazily, on first use:
    seconds per fresh process. Doing it here, once, keeps every forked child fast.
    """
    import torch

    for dtype in (torch.float32, torch.float64):
        for device in ("cpu", "meta"):
            try:
                a = torch.ones(3, dtype=dtype, device=device)
                b = 0.9 * a + (1 - 0.9) * a * a
                c = b / (1 - 0.9**3)
                d = a - 0.1 * c / (c**0.5 + 1e-8) - a / (c + 1e-8) ** 0.5
                e = torch.maximum(d, b) + torch.sqrt(a) + a.sqrt() + a.abs() + torch.zeros_like(a) + a.clone()
                e = e.to(dtype=dtype, device=device) * 2 - e.detach()
                a.mul_(1).add_(b).addcmul_(b, b, value=0.1).div_(c.add(1e-8))
                _ = (e.shape, e.dtype, e.device, e._version)
            except Exception:  # noqa: BLE001 - warming up is an optimization only
                pass


def main():
    spec = json.loads(sys.argv[1])
    for entry in reversed(spec["path"]):
        sys.path.insert(0, entry)
    control_in = os.dup(0)
    control_out = os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):  # nothing printed by an import can corrupt the control channel
        os.dup2(devnull, fd)
    import numpy  # noqa: F401 - pre-warmed: every fork starts with it imported

    if "torch" in spec.get("preload", []):
        _warm_torch()

    import course_utils  # noqa: F401
    from course_utils.grading import drivers, questions

    drivers = _private_copy(drivers)  # what the children run and report with: not the module students import

    _nondumpable()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as process 1 only handled signals reach it: handle none
    baseline = _vm_size_bytes()
    _write_frame(control_out, {"ready": True, "pid": os.getpid(), "baseline_bytes": baseline})
    while True:  # the zygote only forks runners: it never reads a job, its outputs or what was printed
        runner = os.fork()
        if runner == 0:
            code = 70
            try:
                code = _runner(control_in, control_out, baseline, drivers, questions, spec)
            finally:
                os._exit(code)
        while True:  # as process 1 it also reaps the orphans the runner's sweep killed
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                return
            if pid == runner:
                break
        if os.waitstatus_to_exitcode(status) != 0:
            return  # end of input, or the runner died without replying: the grader starts a fresh sandbox


def _runner(control_in, control_out, baseline, drivers, questions, spec):
    """One job, in a fresh fork of the zygote: read it, run it, reply; the exit code tells the zygote how it went."""
    job = _read_frame(control_in)
    if job is None:
        return 3
    try:
        reply = _run_job(job, baseline, drivers, questions, spec["scratch"], spec["isolated"])
    except Exception as exc:  # noqa: BLE001 - a broken job must not end the sandbox silently
        _sweep(None, spec["isolated"])
        _clean(spec["scratch"], spec["isolated"])
        reply = {"status": "zygote-error", "error": f"{type(exc).__name__}: {exc}"[:300], "clean": False}
    _write_frame(control_out, reply)
    return 0


if __name__ == "__main__":
    main()
