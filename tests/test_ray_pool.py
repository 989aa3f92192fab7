"""Data-parallel runs on a local Ray instance (CPU actors): same results as one process, and replicas
that die (killed from outside, ``ray.kill``, a clip that kills every worker) lose nothing and write
nothing twice.

One Ray instance serves the whole module (starting Ray takes seconds); the runner joins it, as it
joins any Ray the calling process is already connected to.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import TEST_PLUGINS, make_clip_set

from fecbench import api
from fecbench.errors import ConfigError, MissingDependencyError

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray() -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=4, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield
    ray.shutdown()


def run(model: str, annotations: Path, out: Path, **kwargs: object) -> api.RunResult:
    options = {"score": False, "batch_size": 2, **kwargs}
    return api.run(
        model, annotations=annotations, video_roots=[str(annotations.parent / "videos")], output=out, **options
    )


def rows(run_dir: Path) -> dict[str, tuple]:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return {r[0]: r[1:] for r in db.execute("SELECT id, status, attempts, error FROM clips")}


def predictions(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]


def execution(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())["execution"]


def test_ray_run_equals_a_run_in_one_process(local_ray: None, scale_plugin: str, tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 8)
    here = run(scale_plugin, annotations, tmp_path / "here")
    spread = run(scale_plugin, annotations, tmp_path / "ray", workers=2)
    assert (spread.n_ok, spread.n_failed, spread.n_run_now) == (8, 0, 8)
    assert predictions(tmp_path / "ray") == predictions(tmp_path / "here")
    assert here.n_ok == 8
    state = execution(tmp_path / "ray")
    assert (state["backend"], state["workers"], state["gpus_per_worker"]) == ("ray", 2, 0.0)
    assert (state["requeued_batches"], state["replaced_workers"]) == (0, 0)
    assert json.loads((tmp_path / "ray" / "run.json").read_text())["model"]["loaded"] == {"delay": 0.0}
    assert {(status, attempts) for status, attempts, _ in rows(tmp_path / "ray").values()} == {("ok", 1)}
    # resuming on Ray runs nothing again
    assert run(scale_plugin, annotations, tmp_path / "ray", workers=2).n_run_now == 0


def test_auto_batch_size_on_ray_workers(local_ray: None, scale_plugin: str, tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 8)
    args = {"max_batch": 4, "oom_above": 1}
    result = run(scale_plugin, annotations, tmp_path / "run", workers=2, batch_size="auto", model_args=args)
    assert (result.n_ok, result.n_failed) == (8, 0)
    state = execution(tmp_path / "run")
    assert (state["batch_size_ceiling"], state["batch_size_found"]) == (4, 1) and state["oom_backoffs"] >= 1


def test_worker_killed_from_outside_is_replaced(local_ray: None, scale_plugin: str, tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 16)
    pids = tmp_path / "pids"
    pids.mkdir()
    outcome: dict[str, object] = {}

    def background() -> None:
        try:
            outcome["result"] = run(
                scale_plugin, annotations, tmp_path / "run", workers=2, model_args={"delay": 0.4, "pid_dir": str(pids)}
            )
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=background)
    thread.start()
    deadline = time.monotonic() + 60
    while (
        len(list(pids.iterdir())) < 2 or not (tmp_path / "run" / "store.sqlite").is_file() or not rows(tmp_path / "run")
    ):
        assert thread.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.05)
    victim = int(sorted(pids.iterdir())[0].name)
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert (result.n_ok, result.n_failed) == (16, 0)
    stored = rows(tmp_path / "run")
    assert len(stored) == 16 and {(s, a) for s, a, _ in stored.values()} == {("ok", 1)}  # each clip written once
    state = execution(tmp_path / "run")
    assert state["replaced_workers"] == 1 and state["requeued_batches"] >= 1
    assert len(list(pids.iterdir())) == 3  # the replacement loaded its own model
    assert predictions(tmp_path / "run") == predictions(run(scale_plugin, annotations, tmp_path / "here").run_dir)


def test_ray_kill_mid_batch(local_ray: None, scale_plugin: str, tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 8)
    marker = tmp_path / "killed"
    result = run(scale_plugin, annotations, tmp_path / "run", workers=2, model_args={"ray_kill_once": str(marker)})
    assert marker.exists()
    assert (result.n_ok, result.n_failed) == (8, 0)
    assert {(s, a) for s, a, _ in rows(tmp_path / "run").values()} == {("ok", 1)}
    state = execution(tmp_path / "run")
    assert state["replaced_workers"] == 1 and state["requeued_batches"] >= 1


def test_a_clip_that_kills_every_worker_fails_alone(local_ray: None, scale_plugin: str, tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 6)
    result = run(scale_plugin, annotations, tmp_path / "run", workers=2, model_args={"kill_on": "3"})
    assert (result.n_ok, result.n_failed) == (5, 1)
    stored = rows(tmp_path / "run")
    assert stored["3"][0] == "error"
    assert stored["3"][2].startswith("worker error: the Ray worker died 3 times while running this clip")
    assert all(stored[i][:2] == ("ok", 1) for i in stored if i != "3")
    assert result.failures == {"worker error": 1}


def test_a_model_that_cannot_load_stops_the_run_with_its_error(
    local_ray: None, scale_plugin: str, tmp_path: Path
) -> None:
    annotations = make_clip_set(tmp_path / "set", 2)
    with pytest.raises(ConfigError, match=r"does not take colour.*\(on Ray worker .*, pid \d+\)"):
        run(scale_plugin, annotations, tmp_path / "run", workers=2, model_args={"colour": "red"})


def test_ray_option_errors(local_ray: None, scale_plugin: str, tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 2)
    with pytest.raises(ConfigError, match=r"--workers 2 x --gpus-per-worker 1 needs 2 GPUs; the Ray cluster has 0"):
        run(scale_plugin, annotations, tmp_path / "r1", workers=2, gpus_per_worker=1)
    with pytest.raises(ConfigError, match="--gpus-per-worker applies to runs on Ray"):
        run(scale_plugin, annotations, tmp_path / "r2", gpus_per_worker=1)
    with pytest.raises(ConfigError, match="--workers must be at least 1"):
        run(scale_plugin, annotations, tmp_path / "r3", workers=0)


def test_missing_ray_names_the_extra(scale_plugin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets when Ray is not installed
    annotations = make_clip_set(tmp_path / "set", 2)
    with pytest.raises(MissingDependencyError, match=r"pip install 'fecbench\[ray\]'"):
        run(scale_plugin, annotations, tmp_path / "run", workers=2)


def test_cli_starts_and_stops_its_own_local_ray(tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 4)
    env = {**os.environ, "FECBENCH_PLUGINS": "fecbench_scale_adapters", "PYTHONPATH": str(TEST_PLUGINS)}
    env["RAY_ADDRESS"] = ""  # never join a cluster this machine might belong to
    command = [sys.executable, "-m", "fecbench.cli", "run", "--model", "scale-stats", "--annotations", str(annotations)]
    command += ["--video-root", str(annotations.parent / "videos"), "--output", str(tmp_path / "run"), "--no-score"]
    done = subprocess.run([*command, "--ray", "local", "--workers", "2"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    state = execution(tmp_path / "run")
    assert (state["backend"], state["ray_address"], state["workers"]) == ("ray", "local", 2)
    assert len(predictions(tmp_path / "run")) == 4
