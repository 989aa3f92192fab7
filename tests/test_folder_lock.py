"""One writer per run folder: two processes on one folder, a holder killed with SIGKILL, score and merge, temp files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import TEST_PLUGINS, make_clip_set

from fecbench.errors import ConfigError
from fecbench.runner.folder_lock import LOCK_FILE, RunFolderBusy, hold_run_folder
from fecbench.runner.outputs import write_json

ENV = {**os.environ, "FECBENCH_PLUGINS": "fecbench_scale_adapters", "PYTHONPATH": str(TEST_PLUGINS), "COLUMNS": "200"}

# Imports fecbench's CLI, says it is ready, waits for the go file, then runs the command: both processes
# reach the run folder at the same moment, whatever their import times.
BARRIER = """
import os, sys, time
from fecbench.cli import main
ready, go = sys.argv[1], sys.argv[2]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
sys.argv = ["fecbench", *sys.argv[3:]]
main()
"""


def run_command(annotations: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--model",
        "scale-stats",
        "--annotations",
        str(annotations),
        "--video-root",
        str(annotations.parent / "videos"),
        "--output",
        str(run_dir),
        "--no-score",
        *extra,
    ]


def test_two_runs_started_together_one_runs_the_other_exits_2(tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 6)
    for attempt in range(10):
        run_dir, log = tmp_path / f"run{attempt}", tmp_path / f"calls{attempt}.jsonl"
        args = run_command(annotations, run_dir, "--model-args", f"delay=0.05,log={log}")
        procs = []
        for side in ("a", "b"):
            ready = tmp_path / f"ready-{attempt}-{side}"
            command = [sys.executable, "-c", BARRIER, str(ready), str(tmp_path / f"go{attempt}"), *args]
            procs.append((ready, subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
        deadline = time.monotonic() + 120
        while not all(ready.exists() for ready, _ in procs):
            assert time.monotonic() < deadline
            time.sleep(0.005)
        (tmp_path / f"go{attempt}").touch()
        done = [(proc.pid, proc.wait(timeout=120), proc.stderr.read().decode()) for _, proc in procs]
        codes = sorted(code for _, code, _ in done)
        assert codes == [0, 2], f"attempt {attempt}: {done}"
        (winner, _, _), (_, _, loser_err) = sorted(done, key=lambda d: d[1])
        assert f"{run_dir} is in use by another fecbench process (pid {winner} on " in loser_err.replace("\n", "")
        assert "Traceback" not in loser_err
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        generated = sorted(clip for call in calls for clip in call["ids"])
        assert generated == [str(i) for i in range(6)], f"attempt {attempt}: every clip once, got {generated}"
        predictions = (run_dir / "predictions.jsonl").read_text().splitlines()
        assert [json.loads(p)["status"] for p in predictions] == ["ok"] * 6


def test_a_holder_killed_with_sigkill_frees_the_folder(tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 8)
    run_dir = tmp_path / "run"
    args = run_command(annotations, run_dir, "--model-args", "delay=0.3")
    victim = subprocess.Popen([sys.executable, "-m", "fecbench.cli", *args], env=ENV, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (run_dir / "store.sqlite").exists() or f'"pid": {victim.pid}' not in _text(run_dir / LOCK_FILE):
        assert victim.poll() is None, victim.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    second = subprocess.run(
        [sys.executable, "-m", "fecbench.cli", *args], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 2
    assert f"in use by another fecbench process (pid {victim.pid} on" in second.stderr.replace("\n", "")
    assert "fecbench run --model scale-stats" in second.stderr.replace("\n", "")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    resumed = subprocess.run(
        [sys.executable, "-m", "fecbench.cli", *args], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    assert len((run_dir / "predictions.jsonl").read_text().splitlines()) == 8


HOLD = """
import sys, time
from fecbench.runner.folder_lock import hold_run_folder
with hold_run_folder(sys.argv[1], create=False):
    print("held", flush=True)
    time.sleep(120)
"""


def test_score_and_merge_refuse_a_folder_another_process_writes(tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 4)
    shards = [tmp_path / f"shard{i}" for i in range(2)]
    for i, shard in enumerate(shards):
        done = subprocess.run(
            [sys.executable, "-m", "fecbench.cli", *run_command(annotations, shard, "--shard", f"{i}/2")],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(shards[0])], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        cli = [sys.executable, "-m", "fecbench.cli"]
        score = subprocess.run([*cli, "score", str(shards[0]), "--no-judge"], capture_output=True, text=True, env=ENV)
        assert score.returncode == 2
        assert f"{shards[0]} is in use by another fecbench process (pid {holder.pid}" in score.stderr.replace("\n", "")
        merged = tmp_path / "merged"
        merge = subprocess.run(
            [*cli, "merge", *map(str, shards), "--output", str(merged), "--no-judge"],
            capture_output=True,
            text=True,
            env=ENV,
        )
        assert merge.returncode == 2 and "is in use by another fecbench process" in merge.stderr
        assert not merged.exists()
    finally:
        holder.kill()
        holder.wait()
    score = subprocess.run([*cli, "score", str(shards[0]), "--no-judge"], capture_output=True, text=True, env=ENV)
    assert score.returncode == 0, score.stderr


def test_the_holder_details_never_hold_a_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["fecbench", "run", "--model", "gpt-4o", "--model-args", "api_key=sk-secret,base_url=http://h:1/v1"]
    monkeypatch.setattr(sys, "argv", [*argv, "--judge-args", "model=m,token=t0ken"])
    with hold_run_folder(tmp_path / "r"):
        held = json.loads((tmp_path / "r" / LOCK_FILE).read_text())
    assert held["command"] == (
        "fecbench run --model gpt-4o --model-args api_key=***,base_url=http://h:1/v1 --judge-args model=m,token=***"
    )


def test_holding_is_reentrant_in_a_thread_and_exclusive_across_threads(tmp_path: Path) -> None:
    folder = tmp_path / "runs" / "r"
    errors: list[BaseException] = []
    with hold_run_folder(folder) as outer:
        assert outer.fresh and (folder / LOCK_FILE).is_file()
        with hold_run_folder(folder) as inner:
            assert inner is outer

        def other() -> None:
            try:
                with hold_run_folder(folder):
                    pass
            except RunFolderBusy as exc:
                errors.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert len(errors) == 1 and f"pid {os.getpid()}" in str(errors[0])
    with hold_run_folder(folder) as again:  # released: free again
        assert again.fresh


def test_a_fresh_folder_is_discarded_on_error_and_a_used_one_is_kept(tmp_path: Path) -> None:
    fresh = tmp_path / "new" / "run"
    with pytest.raises(RuntimeError), hold_run_folder(fresh, discard_on_error=True):
        (fresh / "run.json").write_text("{}")
        raise RuntimeError("could not start")
    assert not (tmp_path / "new").exists()
    used = tmp_path / "used"
    used.mkdir()
    (used / "store.sqlite").write_text("a run's store")
    with pytest.raises(RuntimeError), hold_run_folder(used, discard_on_error=True):
        raise RuntimeError("could not start")
    assert (used / "store.sqlite").read_text() == "a run's store"


def test_atomic_writes_from_two_writers_never_collide(tmp_path: Path) -> None:
    """Both writers used one ``NAME.tmp``: one renamed the other's file away (FileNotFoundError)."""
    target = tmp_path / "run.json"
    errors: list[BaseException] = []

    def write(side: str) -> None:
        try:
            for i in range(300):
                write_json(target, {"side": side, "i": i, "pad": "x" * 2000})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(side,)) for side in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert json.loads(target.read_text())["i"] == 299
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary file left behind


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def test_a_file_in_place_of_the_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder")
    with (
        pytest.raises(ConfigError, match="taken: cannot write in this run folder"),
        hold_run_folder(tmp_path / "taken"),
    ):
        pass
