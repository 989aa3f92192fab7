"""A run killed with SIGKILL mid-way resumes to a complete, duplicate-free result with the same command."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import TEST_PLUGINS, make_clip_set


def ok_rows(store: Path) -> dict[str, tuple]:
    if not store.exists():
        return {}
    try:
        with sqlite3.connect(store, timeout=5) as db:
            return {r[0]: r[1:] for r in db.execute("SELECT id, attempts, finished_at FROM clips WHERE status='ok'")}
    except sqlite3.OperationalError:  # schema not created yet
        return {}


def test_sigkill_mid_run_then_resume(tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 12)
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "fecbench.cli",
        "run",
        "--model",
        "frame-stats",
        "--model-args",
        "delay=0.25",
        "--annotations",
        str(annotations),
        "--video-root",
        str(annotations.parent / "videos"),
        "--output",
        str(run_dir),
        "--batch-size",
        "2",
        "--no-score",
    ]
    env = {**os.environ, "FECBENCH_PLUGINS": "fecbench_test_adapters", "PYTHONPATH": str(TEST_PLUGINS)}
    victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(ok_rows(run_dir / "store.sqlite")) < 4:
        assert victim.poll() is None, victim.stderr.read().decode()
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    before = ok_rows(run_dir / "store.sqlite")
    assert 4 <= len(before) < 12, "the kill should land mid-run"
    assert not (run_dir / "predictions.jsonl").exists()

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed: {len(before)} clips were already finished, {12 - len(before)} run now" in resumed.stdout
    after = ok_rows(run_dir / "store.sqlite")
    assert len(after) == 12
    assert all(after[i] == before[i] for i in before)  # finished before the kill: not redone
    lines = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in lines] == [str(i) for i in range(12)]
    assert all(p["status"] == "ok" for p in lines)


def test_ctrl_c_keeps_finished_clips_and_exits_130(tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 12)
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "fecbench.cli", "run", "--model", "frame-stats", "--model-args", "delay=0.25"]
    command += ["--annotations", str(annotations), "--video-root", str(annotations.parent / "videos")]
    command += ["--output", str(run_dir), "--no-score"]
    env = {**os.environ, "FECBENCH_PLUGINS": "fecbench_test_adapters", "PYTHONPATH": str(TEST_PLUGINS)}
    victim = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(ok_rows(run_dir / "store.sqlite")) < 2:
        assert victim.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    victim.send_signal(signal.SIGINT)
    _, stderr = victim.communicate(timeout=60)
    assert victim.returncode == 130, stderr
    assert "interrupted: finished clips are saved; run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    assert 2 <= len(ok_rows(run_dir / "store.sqlite")) < 12
