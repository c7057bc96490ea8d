"""CI must not pass or fail by chance.

Under `set -o pipefail`, a pipeline such as `make --version | head -n 1` fails whenever `head` exits
before the writer has finished: the writer dies of SIGPIPE (status 141) and the whole script stops.
Whether that happens depends on scheduling, so CI would fail at random. These tests lint the shell
code, reject the pipeline shapes that can close early, and run `.ci/run`'s setup and banner many
times in a row.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHELL_SCRIPTS = [ROOT / ".ci" / "run", ROOT / ".ci" / "twice"]
# Every file whose shell code runs in CI or in `make`: the scripts plus the Makefile's recipes.
SHELL_SOURCES = [*SHELL_SCRIPTS, ROOT / "Makefile"]

# A pipe into a reader that may stop before the writer is done: head/tail -n/-c with a count,
# grep -q/-m/-l, sed NUMq, awk exit, or `yes` (which never stops by itself) as the writer.
EARLY_CLOSE = re.compile(
    r"\|\s*(head\b|grep\s+(-\w*[qml]\w*|--quiet|--max-count|--files-with-matches)\b|sed\s+-n?\s*'?\d+q|awk\b.*\bexit\b)"
    r"|(^|[;&|(]\s*)yes\s*(\S+\s*)?\|"
)


def _code_lines(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
        yield number, code


@pytest.mark.parametrize("path", SHELL_SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_pipeline_can_close_early(path):
    bad = [f"{path.name}:{n}: {code.strip()}" for n, code in _code_lines(path) if EARLY_CLOSE.search(code)]
    assert not bad, "pipelines that can die of SIGPIPE under pipefail:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "snippet",
    ["make --version | head -n 1", "find . | grep -q .", "yes | apt-get install x", "cmd | grep -m1 foo"],
)
def test_the_early_close_pattern_catches_known_shapes(snippet):
    assert EARLY_CLOSE.search(snippet)


@pytest.mark.parametrize("snippet", ["cmd || true", "find . -print0 | xargs -0 rm -rf", "a | sort | uniq -c"])
def test_the_early_close_pattern_allows_full_readers(snippet):
    assert not EARLY_CLOSE.search(snippet)


def test_shell_scripts_pass_shellcheck():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        if os.environ.get("CI"):
            pytest.fail("shellcheck is missing in CI: .ci/run must install it (Debian package shellcheck)")
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    proc = subprocess.run([shellcheck, "--shell=bash", *map(str, SHELL_SCRIPTS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_first_line_helper_survives_a_writer_that_outlives_its_reader():
    """The banner's helper reads all output before trimming: a long writer cannot get SIGPIPE."""
    script = (ROOT / ".ci" / "run").read_text()
    helper = re.search(r"^first_line\(\) \{\n.*?^\}\n", script, re.S | re.M).group(0)
    program = f"set -euo pipefail\n{helper}\nfirst_line seq 1 200000\necho done\n"
    for _ in range(20):
        proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "1\ndone\n"


@pytest.mark.slow
# 200 runs take about 30 s on an idle 2-core machine and several minutes under a load of ~15; the
# limit only guards against a hang, so it is far above both.
@pytest.mark.timeout(1800)
def test_preflight_passes_200_times_in_a_row():
    """`.ci/run --preflight` is the setup checks and version banner of every CI run."""
    missing = [tool for tool in ("make", "shellcheck", "bwrap") if shutil.which(tool) is None]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"not installed here (.ci/run would install them with apt): {', '.join(missing)}")
    loop = 'for i in $(seq 200); do bash .ci/run --preflight >/dev/null || { echo "run $i failed: $?"; exit 1; }; done'
    proc = subprocess.run(["bash", "-c", loop], cwd=ROOT, capture_output=True, text=True, timeout=1700)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_preflight_rejects_unknown_arguments():
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "run"), "--bogus"], capture_output=True, text=True)
    assert proc.returncode == 2 and "usage" in proc.stderr
