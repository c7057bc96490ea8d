"""A smoke run of benchmarks/run.py: every measurement runs and is reported (no time is asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_suite_runs_and_reports(tmp_path):
    out = tmp_path / "smoke.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    for heading in ("One Adam step", "bandwidth floor", "torch.optim.Adam foreach", "Sweep:", "Widget redraws"):
        assert heading in proc.stdout
    report = json.loads(out.read_text())
    seconds = report["adam_step"]["seconds"]
    bandwidths = report["adam_step"]["bandwidth"]  # NumPy on one thread and torch on all threads
    assert len(bandwidths) == 2 and all(v > 0 for v in bandwidths.values())
    floor = 28 * report["adam_step"]["params"] / max(bandwidths.values())
    assert report["adam_step"]["floor_s"] == pytest.approx(floor, rel=1e-12)  # the floor is set by the best one
    assert all(v > 0 for v in seconds.values()) and len(seconds) == 7
    assert report["sweep"]["configs"] == 100 and report["sweep"]["batched_s"] > 0
    assert isinstance(report["adam_cuda"], (str, dict))
    if isinstance(report["adam_cuda"], str):
        assert report["adam_cuda"].startswith("not measured")
