"""The child side of the batch grader: run ONE question of ONE submission, report data.

Started by :mod:`course_utils.instructor.sandbox` as
``python -I -B harness.py COURSE_ROOT JOB_DIR`` with resource limits already applied, in a
fresh temporary working directory, with the per-run nonce on stdin. It executes the
submission's extracted code (``JOB_DIR/student.py``), calls the function on the cases in
``JOB_DIR/job.json`` through :mod:`course_utils.grading.drivers`, and writes the outputs as JSON
to ``JOB_DIR/result-<nonce>.json``. It never sees expected values or the grading seed; the
grader compares the outputs itself. Whatever the student's code prints goes to files the
grader only quotes, never parses.
"""

import builtins
import json
import os
import sys


def main():
    root, job_dir = sys.argv[1], sys.argv[2]
    nonce = sys.stdin.readline().strip()
    sys.path.insert(0, root)
    from course_utils.grading import drivers
    from course_utils.grading.questions import QUESTIONS

    _open, _dumps, _exit = builtins.open, json.dumps, os._exit  # kept before student code can patch them
    result_path = os.path.join(job_dir, f"result-{nonce}.json")

    def finish(payload):
        payload["nonce"] = nonce
        try:
            text = _dumps(payload, allow_nan=True)
        except (TypeError, ValueError, RecursionError) as exc:
            text = _dumps({"nonce": nonce, "status": "harness-error", "error": f"cannot encode results: {exc}"})
        with _open(result_path, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
        _exit(0)  # skip atexit hooks and threads the student's code may have left behind

    with _open(os.path.join(job_dir, "job.json"), encoding="utf-8") as fh:
        job = json.load(fh)
    question = QUESTIONS[job["question"]]
    cases = [drivers.decode(c) for c in job.get("cases", [])]
    with _open(os.path.join(job_dir, "student.py"), encoding="utf-8") as fh:
        source = fh.read()

    class _NoInstructorTools:  # a speed bump, not a wall: the answers' reference code is not for students
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.startswith("course_utils.instructor") or name in ("course_utils.grade", "course_utils.assignments"):
                raise ImportError(f"{name} is not available while grading")
            return None

    sys.meta_path.insert(0, _NoInstructorTools)
    for name in [m for m in sys.modules if m.startswith("course_utils.instructor")]:
        del sys.modules[name]

    namespace = {"__name__": "__student__", "__builtins__": builtins}
    try:
        exec(compile(source, "<submission>", "exec"), namespace)  # noqa: S102 - the point of this process
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, anything
        finish({"status": "import-error", "error": drivers.error_text(exc)})
    fn = namespace.get(question.function)
    if not callable(fn):
        finish({"status": "missing", "error": f"{question.function} is not defined"})

    if job.get("mode") == "config":
        try:
            result = drivers.run_config(fn)
        except BaseException as exc:  # noqa: BLE001
            result = {"config": None, "error": drivers.error_text(exc), "not_implemented": False}
        finish({"status": "ok", "config": result})

    results = []
    for case in cases:
        try:
            res = drivers.encode_result(drivers.run_case(fn, question, case))
        except BaseException as exc:  # noqa: BLE001
            res = {"outputs": {}, "info": {}, "mutated": [], "error": drivers.error_text(exc), "not_implemented": False}
        results.append(res)
    finish({"status": "ok", "cases": results})


if __name__ == "__main__":
    main()
