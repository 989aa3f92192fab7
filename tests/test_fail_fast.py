"""A run that cannot start fails in seconds, before any work, with one message saying what to do, and leaves no folder.

The hub is played by a loopback HTTP server (``HF_ENDPOINT``) that refuses, answers 404 or never
answers; "no network" is an endpoint nothing listens on. Each run uses an empty Hugging Face cache.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import TEST_PLUGINS, make_clip_set

#: Loose bound: the old behaviour took about 160 s of retries; a check takes one request.
FAST = 30.0


class Hub(BaseHTTPRequestHandler):
    """Answers every request with the server's ``status`` (and the hub's error code header), or hangs."""

    def do_HEAD(self) -> None:
        server = self.server
        server.requests.append(self.path)  # type: ignore[attr-defined]
        if server.status is None:  # type: ignore[attr-defined]
            time.sleep(20)
            return
        self.send_response(server.status)  # type: ignore[attr-defined]
        if server.status == 404:  # type: ignore[attr-defined]
            self.send_header("X-Error-Code", "RepoNotFound")
            self.send_header("X-Error-Message", "Repository not found")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD

    def log_message(self, *args: object) -> None:
        pass


def hub(status: int | None) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    server.status = status  # type: ignore[attr-defined]
    server.requests = []  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def refusing_hub() -> Iterator[str]:
    yield from hub(404)


@pytest.fixture
def broken_hub() -> Iterator[str]:
    yield from hub(503)


@pytest.fixture
def hanging_hub() -> Iterator[str]:
    yield from hub(None)


@pytest.fixture
def nothing_listening() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run_model(
    tmp_path: Path, model: str, env: dict[str, str], *extra: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    """``fecbench run`` from ``tmp_path/work`` (default run folder: runs/...) with an empty Hugging Face cache."""
    annotations = make_clip_set(tmp_path / "set", 2)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    full_env = {**os.environ, "COLUMNS": "300", "HF_HOME": str(tmp_path / "hf"), **env}
    if "HF_HUB_OFFLINE" not in env:
        full_env.pop("HF_HUB_OFFLINE", None)
    command = [sys.executable, "-m", "fecbench.cli", "run", "--model", model, "--annotations", str(annotations)]
    command += ["--video-root", str(annotations.parent / "videos"), *extra]
    started = time.monotonic()
    done = subprocess.run(command, cwd=work, env=full_env, capture_output=True, text=True, timeout=300)
    return done, time.monotonic() - started


def assert_failed_fast(done: subprocess.CompletedProcess[str], seconds: float, tmp_path: Path, *messages: str) -> None:
    assert done.returncode == 2, done.stderr
    assert seconds < FAST, f"took {seconds:.1f} s"
    error = " ".join(done.stderr.split())
    for message in messages:
        assert message in error, error
    assert error.count("error:") == 1 and "Traceback" not in error and "Retrying" not in error
    assert not (tmp_path / "work" / "runs").exists(), "a run that could not start left a folder"
    assert "━" not in done.stdout + done.stderr, "the progress bar was drawn"


def test_a_checkpoint_the_hub_does_not_have_fails_fast_naming_it(tmp_path: Path, refusing_hub: str) -> None:
    done, seconds = run_model(
        tmp_path, "qwen2-vl", {"HF_ENDPOINT": refusing_hub}, "--model-args", "pretrained=Qwen/Qwen2-VL-7B-Instrct"
    )
    assert_failed_fast(
        done,
        seconds,
        tmp_path,
        f"qwen2-vl: checkpoint 'Qwen/Qwen2-VL-7B-Instrct' was not found on {refusing_hub}",
        "check the exact hub id",
        "--model-args pretrained=/path/to/Qwen2-VL-7B-Instrct",
    )


def test_a_hub_that_fails_or_never_answers_or_no_network_fails_fast(
    tmp_path: Path, broken_hub: str, hanging_hub: str, nothing_listening: str
) -> None:
    for endpoint in (broken_hub, hanging_hub, nothing_listening):
        done, seconds = run_model(tmp_path, "qwen2-vl", {"HF_ENDPOINT": endpoint, "HF_HUB_ETAG_TIMEOUT": "3"})
        assert_failed_fast(
            done,
            seconds,
            tmp_path,
            f"qwen2-vl: cannot fetch checkpoint 'Qwen/Qwen2-VL-7B-Instruct': the Hugging Face hub at {endpoint} "
            "cannot be reached",
            "and the checkpoint is not in the local cache; pass --model-args pretrained=/path/to/Qwen2-VL-7B-Instruct",
            "or set HF_HUB_OFFLINE=1",
        )


def test_offline_without_a_cached_copy_fails_fast(tmp_path: Path, refusing_hub: str) -> None:
    done, seconds = run_model(tmp_path, "llava-onevision", {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": refusing_hub})
    assert_failed_fast(
        done,
        seconds,
        tmp_path,
        "llava-onevision: checkpoint 'llava-hf/llava-onevision-qwen2-7b-ov-hf' is not in the local Hugging Face cache "
        "and HF_HUB_OFFLINE is set",
    )


def test_a_missing_local_folder_and_the_wrapper_are_checked_too(tmp_path: Path, nothing_listening: str) -> None:
    done, seconds = run_model(tmp_path, "qwen2-vl", {}, "--model-args", f"pretrained={tmp_path / 'nowhere'}")
    assert_failed_fast(
        done, seconds, tmp_path, f"qwen2-vl: checkpoint directory '{tmp_path / 'nowhere'}' does not exist"
    )
    done, seconds = run_model(tmp_path, "facetrack:qwen2-vl-2b", {"HF_ENDPOINT": nothing_listening})
    assert_failed_fast(done, seconds, tmp_path, "cannot fetch checkpoint 'Qwen/Qwen2-VL-2B-Instruct'")


def test_a_cached_copy_is_used_when_the_hub_cannot_be_reached(tmp_path: Path, nothing_listening: str) -> None:
    from tiny_models import build_tiny_qwen2_vl

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf" / "hub" / "models--Qwen--Qwen2-VL-2B-Instruct"
    shutil.copytree(build_tiny_qwen2_vl(tmp_path / "tiny"), repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    done, _ = run_model(
        tmp_path, "qwen2-vl-2b", {"HF_ENDPOINT": nothing_listening}, "--output", "out", "--no-score", "--frames", "2"
    )
    assert done.returncode == 0, done.stderr
    assert "using the cached copy of Qwen/Qwen2-VL-2B-Instruct" in " ".join(done.stderr.split())
    assert len((tmp_path / "work" / "out" / "predictions.jsonl").read_text().splitlines()) == 2


def test_a_model_that_cannot_load_leaves_no_folder_and_a_used_folder_is_kept(tmp_path: Path) -> None:
    env = {"FECBENCH_PLUGINS": "fecbench_test_adapters", "PYTHONPATH": str(TEST_PLUGINS)}
    done, _ = run_model(tmp_path, "frame-stats", env, "--model-args", "no_such_arg=1", "--output", "runs/new")
    assert done.returncode == 2 and "does not take no_such_arg" in done.stderr
    assert not (tmp_path / "work" / "runs").exists()
    assert "━" not in done.stdout + done.stderr, "the progress bar was drawn before the model loaded"


def test_a_start_failure_in_a_folder_that_held_a_run_keeps_it(
    tmp_path: Path, clip_set: Path, test_plugins: str
) -> None:
    """The folder of an earlier run is never removed, even when the next start fails (here: the model's load)."""
    import fecbench
    from fecbench.adapter import GenerationConfig
    from fecbench.data.roots import VideoRoots
    from fecbench.data.selection import resolve_annotations
    from fecbench.errors import ConfigError
    from fecbench.runner.batching import BatchSize
    from fecbench.runner.execute import execute_run
    from fecbench.runner.outputs import read_spec
    from fecbench.runner.replica import ReplicaConfig
    from fecbench.video.protocol import FrameProtocol

    videos = str(clip_set.parent / "videos")
    first = fecbench.run(test_plugins, annotations=clip_set, video_roots=[videos], limit=2, output=tmp_path / "r")
    spec = read_spec(first.run_dir)
    spec.subset.limit, spec.subset.clips = None, 6  # widening --limit: the same run, four clips more
    config = ReplicaConfig(
        model=test_plugins,
        model_args={"no_such_arg": 1},  # the load fails
        protocol=FrameProtocol(**spec.frame_protocol),
        prompt=spec.prompt,
        generation=GenerationConfig(**spec.generation.model_dump()),
        batch=BatchSize.parse(1),
    )
    before = {p.name: p.read_bytes() for p in first.run_dir.iterdir() if p.is_file() and p.name != "run.json"}
    folders = sorted(p.name for p in first.run_dir.iterdir() if p.is_dir())  # thumbs/
    with pytest.raises(ConfigError, match="does not take no_such_arg"):
        execute_run(spec, first.run_dir, resolve_annotations(clip_set).clips, VideoRoots.parse([videos]), config)
    assert sorted(p.name for p in first.run_dir.iterdir()) == sorted([*before, *folders, "run.json"])
    assert (first.run_dir / "predictions.jsonl").read_bytes() == before["predictions.jsonl"]


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="needs an adapter whose dependency is missing")
def test_a_missing_dependency_fails_before_the_folder_and_the_bar(tmp_path: Path) -> None:
    done, seconds = run_model(tmp_path, "vllm", {}, "--model-args", "pretrained=Qwen/Qwen2-VL-2B-Instruct")
    assert_failed_fast(done, seconds, tmp_path, "model 'vllm' needs vllm, which is not installed: pip install")
