"""``--model-env``: the adapter runs in another Python environment's worker, the rest of the run is unchanged.

The model environment (tests/model_venv.py) is a real venv with numpy 1.26.4 (the driver has numpy
2.x), pluggy and fecbench installed ``--no-deps``, and none of the test environment's packages. The
``env-probe`` test adapter captions with the sha256 of the frames it received, so equal predictions
mean byte-identical frames.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from clipgen import write_clip
from conftest import TEST_PLUGINS, make_clip_set, plugins_registered
from model_venv import build_model_venv, venv_python

from fecbench import api
from fecbench.errors import ConfigError, ModelWorkerError
from fecbench.model_env.segments import SegmentPool
from fecbench.runner.spec import RunSpec

pytestmark = pytest.mark.slow
PLUGINS = ("fecbench_test_adapters", "fecbench_env_adapters")


@pytest.fixture(scope="session")
def model_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_venv(tmp_path_factory.mktemp("model-env"))


@pytest.fixture
def env_probe(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with plugins_registered(monkeypatch, *PLUGINS):
        yield "env-probe"


def same_shape_clips(root: Path, count: int) -> Path:
    """``count`` clips of one frame size, so that batches are not split by shape."""
    records = []
    for i in range(count):
        video = f"SRC/clip_{i:02d}.mp4"
        write_clip(root / "videos" / video, frames=10 + i, width=64, height=48)
        records.append({"id": str(i), "video": video, "caption": f"clip {i}"})
    path = root / "annotations.json"
    path.write_text(json.dumps(records))
    return path


def run(annotations: Path, out: Path, **kwargs: object) -> api.RunResult:
    return api.run(
        "env-probe",
        annotations=annotations,
        video_roots=[str(annotations.parent / "videos")],
        output=out,
        score=False,
        **kwargs,
    )


def predictions(run_dir: Path) -> list[tuple[str, str, str | None, str | None]]:
    lines = (run_dir / "predictions.jsonl").read_text().splitlines()
    return [(r["id"], r["status"], r["prediction"], r["error"]) for r in map(json.loads, lines)]


def spec(run_dir: Path) -> RunSpec:
    return RunSpec.model_validate_json((run_dir / "run.json").read_text())


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_worker_side_imports_with_numpy_and_pluggy_only(model_venv: Path) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import fecbench.worker, fecbench.plugins, fecbench_adapters.authors as authors\n"
        "for m in pkgutil.iter_modules(authors.__path__): importlib.import_module(f'{authors.__name__}.{m.name}')\n"
        "heavy = {'pydantic', 'typer', 'rich', 'av', 'cv2', 'skimage', 'scipy', 'jinja2', 'torch'}\n"
        "assert not heavy & {k.split('.')[0] for k in sys.modules}, heavy & set(sys.modules)\n"
        "import numpy; print(numpy.__version__)\n"
        "try:\n    import pydantic\nexcept ImportError:\n    print('no pydantic')\n"
    )
    done = subprocess.run(
        [venv_python(model_venv), "-c", code], capture_output=True, text=True, timeout=120, cwd=model_venv
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1.26.4", "no", "pydantic"]


def test_predictions_equal_in_process_batched_and_unbatched(model_venv: Path, env_probe: str, tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 8)
    here = run(annotations, tmp_path / "here", batch_size=2)
    one = run(annotations, tmp_path / "env1", model_env=model_venv, batch_size=1)
    three = run(annotations, tmp_path / "env3", model_env=model_venv, batch_size=3)
    assert here.n_ok == one.n_ok == three.n_ok == 8
    expected = predictions(tmp_path / "here")
    assert all("sha256" in p[2] for p in expected)  # the frames' bytes as the adapter saw them
    assert predictions(tmp_path / "env1") == expected
    assert predictions(tmp_path / "env3") == expected

    recorded = spec(tmp_path / "env3")
    assert recorded.identity() == spec(tmp_path / "here").identity()  # where it ran is not identity
    assert recorded.model_env is not None and recorded.model_env.path == str(model_venv)
    assert recorded.model_env.python == str(model_venv / "bin" / "python")
    assert recorded.model_env.versions["numpy"] == "1.26.4" != np.__version__
    assert recorded.model_env.versions["fecbench"] == recorded.versions["fecbench"]
    assert recorded.model.loaded["numpy"] == "1.26.4"
    assert recorded.model_env.fecbench_path is not None
    assert Path(recorded.model_env.fecbench_path).is_relative_to(model_venv)  # its own copy, not this checkout
    assert spec(tmp_path / "here").model_env is None
    assert "model_env" not in json.loads((tmp_path / "here" / "run.json").read_text())


def test_a_wrapper_runs_here_around_the_workers_adapter(model_venv: Path, env_probe: str, tmp_path: Path) -> None:
    annotations = make_clip_set(tmp_path / "set", 3)
    args = {"facetrack.crop_frames": 2, "delay": 0}
    runs = {}
    for label, env in (("here", None), ("there", model_venv)):
        runs[label] = api.run(
            "facetrack:env-probe",
            model_args=args,
            annotations=annotations,
            video_roots=[str(annotations.parent / "videos")],
            output=tmp_path / label,
            score=False,
            model_env=env,
        )
    assert runs["here"].n_ok == runs["there"].n_ok == 3
    assert predictions(tmp_path / "there") == predictions(tmp_path / "here")
    recorded = spec(tmp_path / "there")
    assert recorded.model.loaded["wrapper"] == "facetrack" and recorded.model.loaded["inner"]["name"] == "env-probe"
    assert recorded.model.loaded["inner"]["loaded"]["numpy"] == "1.26.4"  # the inner adapter ran in the worker
    assert recorded.model_env is not None and recorded.model_env.versions["numpy"] == "1.26.4"


def test_failing_clip_fails_alone_with_the_in_process_message(model_venv: Path, env_probe: str, tmp_path: Path) -> None:
    annotations = same_shape_clips(tmp_path / "set", 5)
    here = run(annotations, tmp_path / "here", batch_size=5, model_args={"fail_on": "2"})
    there = run(annotations, tmp_path / "there", batch_size=5, model_args={"fail_on": "2"}, model_env=model_venv)
    assert here.n_failed == there.n_failed == 1
    assert predictions(tmp_path / "there") == predictions(tmp_path / "here")
    assert predictions(tmp_path / "there")[2][3] == "model error: RuntimeError: cannot caption clip 2"


def test_frames_an_adapter_keeps_are_never_overwritten_by_later_batches(
    model_venv: Path, env_probe: str, tmp_path: Path
) -> None:
    """Segments are reused between batches only when the adapter kept no view of the frames in them."""
    annotations = same_shape_clips(tmp_path / "set", 8)
    kept = run(annotations, tmp_path / "kept", batch_size=2, model_args={"keep": True}, model_env=model_venv)
    assert (kept.n_ok, kept.n_failed) == (8, 0)  # every batch checks the frames of all earlier ones
    run(annotations, tmp_path / "plain", batch_size=2, model_env=model_venv)
    assert predictions(tmp_path / "kept") == predictions(tmp_path / "plain")


def test_segment_pool_reuses_only_what_the_worker_released() -> None:
    pool = SegmentPool()
    try:
        first = pool.acquire(100)
        name = first.name
        pool.release(first, reusable=True)
        again = pool.acquire(200)
        assert again.name == name and pool.forgotten() == []  # reused: no new segment, nothing to unmap
        pool.release(again, reusable=False)  # the adapter still holds frames in it
        assert pool.forgotten() == [name]
        fresh = pool.acquire(100)
        assert fresh.name != name
        pool.release(fresh, reusable=True)
        big = pool.acquire(5 << 20)
        assert big.size >= 5 << 20 and big.name != fresh.name
        pool.release(big, reusable=True)
        many = [pool.acquire(1 << 20) for _ in range(6)]
        for segment in many:
            pool.release(segment, reusable=True)
        assert len(pool.forgotten()) == 2  # the two free ones were taken first; 6 free, 4 kept
    finally:
        pool.close()


def test_out_of_memory_in_the_worker_drives_auto_backoff(model_venv: Path, env_probe: str, tmp_path: Path) -> None:
    annotations = same_shape_clips(tmp_path / "set", 8)
    log = tmp_path / "calls.jsonl"
    result = run(
        annotations,
        tmp_path / "run",
        batch_size="auto",
        model_args={"oom_above": 2, "max_batch": 8, "log": str(log)},
        model_env=model_venv,
    )
    assert result.n_ok == 8
    execution = spec(tmp_path / "run").execution
    assert execution is not None
    assert execution.batch_size_ceiling == 8 and execution.batch_size_found == 2 and execution.oom_backoffs == 2
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [len(c["ids"]) for c in calls][:3] == [8, 4, 2]
    assert len({c["pid"] for c in calls}) == 1  # an out-of-memory error is not a crash: same worker throughout


def test_worker_crash_mid_batch_fails_only_the_clip_that_kills_it(
    model_venv: Path, env_probe: str, tmp_path: Path
) -> None:
    annotations = same_shape_clips(tmp_path / "set", 6)
    log = tmp_path / "calls.jsonl"
    result = run(
        annotations,
        tmp_path / "run",
        batch_size=3,
        model_args={"crash_on": "4", "log": str(log)},
        model_env=model_venv,
    )
    assert (result.n_ok, result.n_failed) == (5, 1)
    rows = predictions(tmp_path / "run")
    assert [r[1] for r in rows] == ["ok", "ok", "ok", "ok", "error", "ok"]
    assert rows[4][3].startswith("model error: WorkerCrashed: the model worker (pid ")
    assert "was killed by SIGKILL while captioning clip(s) 4" in rows[4][3]
    recorded = spec(tmp_path / "run").model_env
    assert recorded is not None and recorded.restarts == 2  # after the batch [3,4,5], and after clip 4 alone
    assert (tmp_path / "run" / "model-env.log").read_text().count("--- fecbench model worker") == 3


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "fecbench.cli", "run", "--model", "env-probe", "--no-score", *args]


def cli_env() -> dict[str, str]:
    return {**os.environ, "FECBENCH_PLUGINS": ",".join(PLUGINS), "PYTHONPATH": str(TEST_PLUGINS), "COLUMNS": "300"}


def test_worker_that_keeps_dying_stops_the_run_with_a_clear_message(model_venv: Path, tmp_path: Path) -> None:
    annotations = same_shape_clips(tmp_path / "set", 6)
    args = ["--annotations", str(annotations), "--video-root", str(annotations.parent / "videos")]
    args += ["--output", str(tmp_path / "run"), "--model-env", str(model_venv), "--model-args", "crash_on=1+2+3+4+5"]
    done = subprocess.run(cli(*args), env=cli_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "error: model 'env-probe': its worker in --model-env" in done.stderr
    assert "died 4 times; stopping (finished clips are saved; the same command resumes)" in done.stderr
    with sqlite3.connect(tmp_path / "run" / "store.sqlite") as db:
        stored = dict(db.execute("SELECT id, status FROM clips").fetchall())
    # clip 0 was saved; clips 1-4 each killed a worker (the first and 3 restarts); clip 5 is left for a rerun
    assert stored == {"0": "ok", "1": "error", "2": "error", "3": "error", "4": "error"}


def ok_rows(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=5) as db:
            return db.execute("SELECT count(*) FROM clips WHERE status='ok'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_of_the_driver_leaves_no_worker_and_the_run_resumes(model_venv: Path, tmp_path: Path) -> None:
    annotations = same_shape_clips(tmp_path / "set", 10)
    pids = tmp_path / "pids"
    args = ["--annotations", str(annotations), "--video-root", str(annotations.parent / "videos")]
    args += ["--output", str(tmp_path / "run"), "--model-env", str(model_venv), "--batch-size", "2"]
    args += ["--model-args", f"delay=0.3,pid_dir={pids},child=true"]
    victim = subprocess.Popen(cli(*args), env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while ok_rows(tmp_path / "run" / "store.sqlite") < 2:
        assert victim.poll() is None, victim.stderr.read().decode() if victim.stderr else ""
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    started = {p.name: int(p.read_text()) for p in pids.iterdir()}
    assert {name.split("-")[0] for name in started} == {"worker", "child"}
    assert all(alive(pid) for pid in started.values())
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [name for name, pid in started.items() if alive(pid)], "orphans outlived the driver"
    before = ok_rows(tmp_path / "run" / "store.sqlite")
    assert 2 <= before < 10

    resumed = subprocess.run(cli(*args), env=cli_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed: {before} clips were already finished, {10 - before} run now" in resumed.stdout
    assert ok_rows(tmp_path / "run" / "store.sqlite") == 10
    after = {p.name: int(p.read_text()) for p in pids.iterdir()}
    assert not [name for name, pid in after.items() if alive(pid)], "a normal end left processes behind"


def test_ctrl_c_ends_the_worker_and_exits_130(model_venv: Path, tmp_path: Path) -> None:
    annotations = same_shape_clips(tmp_path / "set", 8)
    pids = tmp_path / "pids"
    args = ["--annotations", str(annotations), "--video-root", str(annotations.parent / "videos")]
    args += ["--output", str(tmp_path / "run"), "--model-env", str(model_venv)]
    args += ["--model-args", f"delay=0.5,pid_dir={pids},child=true"]
    victim = subprocess.Popen(cli(*args), env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while ok_rows(tmp_path / "run" / "store.sqlite") < 1:
        assert victim.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    started = [int(p.read_text()) for p in pids.iterdir()]
    victim.send_signal(signal.SIGINT)  # mid-batch: the worker is sleeping in generate
    _, stderr = victim.communicate(timeout=60)
    assert victim.returncode == 130, stderr
    assert "interrupted: finished clips are saved" in stderr and "Traceback" not in stderr
    assert not [pid for pid in started if alive(pid)]


def test_bad_model_args_are_the_same_one_line_error(model_venv: Path, tmp_path: Path) -> None:
    annotations = same_shape_clips(tmp_path / "set", 1)
    args = ["--annotations", str(annotations), "--video-root", str(annotations.parent / "videos")]
    args += ["--output", str(tmp_path / "run"), "--model-env", str(model_venv), "--model-args", "bogus=1"]
    done = subprocess.run(cli(*args), env=cli_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: --model-args: model 'env-probe' does not take bogus; it takes: delay, fail_on, max_batch, "
        "oom_above, crash_on, crash_once, pid_dir, child, log, keep"
    )


def fake_python(path: Path, model_venv: Path, body: str) -> Path:
    """An executable standing in for a model environment's python (it ignores ``-m fecbench.worker``)."""
    path.write_text(f"#!{venv_python(model_venv)}\nimport sys\n{body}\n")
    path.chmod(0o755)
    return path


def test_a_worker_of_another_fecbench_version_is_refused(model_venv: Path, env_probe: str, tmp_path: Path) -> None:
    annotations = same_shape_clips(tmp_path / "set", 1)
    other = fake_python(
        tmp_path / "python",
        model_venv,
        "from fecbench.model_env import protocol\n"
        "protocol.send(sys.stdout.buffer, {'op': 'hello', 'fecbench_version': '0.0.1', 'protocol': 1})\n"
        "sys.stdin.buffer.read()",
    )
    with pytest.raises(ConfigError, match=r"its fecbench is 0\.0\.1 \(protocol 1\), this one is 0\.1\.0") as caught:
        run(annotations, tmp_path / "run", model_env=other)
    assert "install the same there: " in str(caught.value) and "pip install --no-deps" in str(caught.value)


def test_a_worker_that_exits_at_start_fails_fast_with_its_stderr(
    model_venv: Path, env_probe: str, tmp_path: Path
) -> None:
    annotations = same_shape_clips(tmp_path / "set", 1)
    broken = fake_python(tmp_path / "python", model_venv, "print('CUDA driver too old', file=sys.stderr); sys.exit(3)")
    started = time.monotonic()
    with pytest.raises(ModelWorkerError, match="exited with code 3 while starting; its last stderr lines: CUDA driver"):
        run(annotations, tmp_path / "run", model_env=broken)
    assert time.monotonic() - started < 30


def test_an_environment_without_fecbench_says_how_to_install_it(env_probe: str, tmp_path: Path) -> None:
    annotations = same_shape_clips(tmp_path / "set", 1)
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    with pytest.raises(ConfigError, match=r"fecbench's worker cannot start there \(.*No module named") as caught:
        run(annotations, tmp_path / "run", model_env=bare)
    assert f"{bare}/bin/python -m pip install --no-deps" in str(caught.value)


def test_model_env_must_be_a_venv_or_a_python(env_probe: str, tmp_path: Path) -> None:
    annotations = same_shape_clips(tmp_path / "set", 1)
    with pytest.raises(ConfigError, match="--model-env .*: no such virtual environment folder or Python executable"):
        run(annotations, tmp_path / "run", model_env=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="a folder without a Python interpreter"):
        run(annotations, tmp_path / "run", model_env=tmp_path / "empty")


def test_the_worker_runs_on_python_3_8_with_numpy_1_24(env_probe: str, tmp_path: Path) -> None:
    """VideoLLaMA2's pins (numpy 1.24.4) need Python 3.8-3.11; the worker side must run on the oldest of them."""
    from fecbench.model_env.create import find_python, install_worker_side

    try:
        python38 = find_python("3.8", None)
    except ConfigError as exc:
        pytest.skip(f"no Python 3.8 here ({exc})")
    venv = tmp_path / "py38"
    subprocess.run([python38, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([venv_python(venv), "-m", "pip", "install", "-q", "numpy==1.24.4"], check=True, timeout=600)
    install_worker_side(venv_python(venv), say=lambda line: None)
    annotations = make_clip_set(tmp_path / "set", 4)
    here = api.run(
        "frame-stats",
        annotations=annotations,
        video_roots=[str(annotations.parent / "videos")],
        output=tmp_path / "here",
        score=False,
    )
    there = api.run(
        "frame-stats",
        annotations=annotations,
        video_roots=[str(annotations.parent / "videos")],
        output=tmp_path / "there",
        score=False,
        model_env=venv,
        batch_size=2,
    )
    assert here.n_ok == there.n_ok == 4
    assert predictions(tmp_path / "there") == predictions(tmp_path / "here")
    recorded = spec(tmp_path / "there").model_env
    assert recorded is not None
    assert recorded.versions["python"].startswith("3.8.") and recorded.versions["numpy"] == "1.24.4"


def test_ray_replicas_each_drive_a_worker(model_venv: Path, env_probe: str, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    annotations = make_clip_set(tmp_path / "set", 8)
    pids = tmp_path / "pids"
    here = run(annotations, tmp_path / "here", batch_size=2)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        there = run(
            annotations,
            tmp_path / "ray",
            batch_size=2,
            workers=2,
            model_env=model_venv,
            model_args={"pid_dir": str(pids)},
        )
    finally:
        ray.shutdown()
    assert here.n_ok == there.n_ok == 8
    assert [p[:3] for p in predictions(tmp_path / "ray")] == [p[:3] for p in predictions(tmp_path / "here")]
    workers = [int(p.read_text()) for p in pids.iterdir()]
    assert len(workers) == 2  # one worker per replica, in the model environment
    assert spec(tmp_path / "ray").model.loaded["numpy"] == "1.26.4"
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)]
