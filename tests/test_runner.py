"""The runner through the public API with a real (simple) adapter plugin: batching, failures, resume."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fecbench import api
from fecbench.errors import ConfigError, MissingDependencyError
from fecbench.prompts import DEFAULT_INSTRUCTION


def predictions(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]


def rows(run_dir: Path) -> dict[str, tuple]:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return {r[0]: r[1:] for r in db.execute("SELECT id, status, attempts, finished_at, error FROM clips")}


def run(model: str, clip_set: Path, out: Path, **kwargs: object) -> api.RunResult:
    return api.run(
        model, annotations=clip_set, video_roots=[str(clip_set.parent / "videos")], output=out, score=False, **kwargs
    )


def test_run_writes_spec_and_predictions(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    result = run(test_plugins, clip_set, tmp_path / "run", model_args={"delay": 0.0})
    assert (result.n_clips, result.n_ok, result.n_failed, result.n_run_now) == (6, 6, 0, 6)
    spec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert spec["model"]["name"] == "frame-stats" and spec["model"]["args"] == {"delay": 0.0}
    assert spec["model"]["loaded"] == {"delay": 0.0}
    assert spec["frame_protocol"] == {"num_frames": 4, "max_side": 448, "name": "uniform-time-v1"}
    assert spec["prompt"] == DEFAULT_INSTRUCTION and spec["generation"]["temperature"] == 0.0
    assert spec["subset"]["full"] is True and spec["annotations"]["fec_bench"] is False
    assert {"fecbench", "python", "av", "numpy"} <= set(spec["versions"])
    preds = predictions(tmp_path / "run")
    assert [p["id"] for p in preds] == [str(i) for i in range(6)]
    assert all(p["status"] == "ok" and p["error"] is None for p in preds)
    # the right frames reached the right clip: widths are 64 + 2 * (i % 4)
    assert [p["prediction"].split(" of ")[1].split(" ")[0] for p in preds] == [
        f"{64 + 2 * (i % 4)}x48" for i in range(6)
    ]


def test_batch_size_never_changes_predictions(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    run(test_plugins, clip_set, tmp_path / "b1", batch_size=1)
    run(test_plugins, clip_set, tmp_path / "b4", batch_size=4)
    strip = [{k: v for k, v in p.items()} for p in predictions(tmp_path / "b1")]
    assert strip == predictions(tmp_path / "b4")


def test_bad_videos_fail_alone_and_are_reported(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    videos = clip_set.parent / "videos"
    (videos / "SRCA/clips/clip_000.mp4").unlink()
    (videos / "SRCB/clips/clip_001.mp4").write_bytes(b"\x00\x01 not a video" * 100)
    (videos / "SRCA/clips/clip_002.mp4").write_bytes(b"")
    result = run(test_plugins, clip_set, tmp_path / "run", batch_size=3)
    assert (result.n_ok, result.n_failed) == (3, 3)
    assert result.failures == {
        "video not found": 1,
        "video: cannot be opened as a video": 1,
        "video: video file is empty": 1,
    }
    by_id = {p["id"]: p for p in predictions(tmp_path / "run")}
    assert by_id["0"]["error"].startswith("video error: video not found: SRCA/clips/clip_000.mp4 (looked in: ")
    assert "clip_001.mp4: cannot be opened as a video" in by_id["1"]["error"]
    assert by_id["3"]["status"] == "ok"


def test_model_failure_on_one_clip_spares_its_batch(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    result = run(test_plugins, clip_set, tmp_path / "run", batch_size=3, model_args={"fail_on": "1"})
    assert (result.n_ok, result.n_failed) == (5, 1)
    assert result.failures == {"model error: RuntimeError": 1}
    by_id = {p["id"]: p for p in predictions(tmp_path / "run")}
    assert by_id["1"]["error"] == "model error: RuntimeError: cannot caption clip 1"
    assert by_id["0"]["status"] == by_id["2"]["status"] == "ok"


def test_resume_runs_only_what_is_left(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    first = run(test_plugins, clip_set, tmp_path / "run", limit=3)
    assert (first.n_clips, first.n_run_now) == (3, 3)
    spec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert spec["subset"] == {"sources": None, "limit": 3, "clips": 3, "full": False}
    before = rows(tmp_path / "run")
    second = run(test_plugins, clip_set, tmp_path / "run", batch_size=2)
    assert (second.n_clips, second.n_run_now, second.n_ok) == (6, 3, 6)
    after = rows(tmp_path / "run")
    assert all(after[i] == before[i] for i in before)  # finished clips untouched: same time, one attempt
    assert len(predictions(tmp_path / "run")) == 6
    third = run(test_plugins, clip_set, tmp_path / "run")
    assert third.n_run_now == 0 and rows(tmp_path / "run") == after


def test_rerun_retries_failed_clips(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    video = clip_set.parent / "videos" / "SRCA/clips/clip_002.mp4"
    saved = video.read_bytes()
    video.unlink()
    assert run(test_plugins, clip_set, tmp_path / "run").n_failed == 1
    video.write_bytes(saved)
    result = run(test_plugins, clip_set, tmp_path / "run")
    assert (result.n_run_now, result.n_failed) == (1, 0)
    assert rows(tmp_path / "run")["2"][:2] == ("ok", 2)


def test_default_run_folder_is_stable_and_spec_changes_are_refused(
    test_plugins: str, clip_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    a = api.run(test_plugins, annotations=clip_set, video_roots=[str(clip_set.parent / "videos")], score=False)
    b = api.run(test_plugins, annotations=clip_set, video_roots=[str(clip_set.parent / "videos")], score=False)
    assert a.run_dir == b.run_dir and b.n_run_now == 0
    assert a.run_dir.parent == Path("runs") and a.run_dir.name.startswith("frame-stats-annotations-")
    with pytest.raises(ConfigError, match=r"(?s)holds a different run.*frame_protocol: .*num_frames.: 4"):
        run(test_plugins, clip_set, a.run_dir, frames=6)


def test_sources_subset_is_labelled(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    result = run(test_plugins, clip_set, tmp_path / "run", sources=["SRCB"])
    assert result.n_clips == 3
    spec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert spec["subset"]["sources"] == ["SRCB"] and spec["subset"]["full"] is False


def test_configuration_errors(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model 'frame-stats' does not take colour; it takes: delay, fail_on"):
        run(test_plugins, clip_set, tmp_path / "r1", model_args={"colour": "red"})
    with pytest.raises(MissingDependencyError, match="fecbench_no_such_package.*pip install fecbench-no-such-package"):
        run("needs-missing", clip_set, tmp_path / "r2")
    with pytest.raises(ConfigError, match="unknown model 'nope'; installed adapters: .*frame-stats"):
        run("nope", clip_set, tmp_path / "r3")
    with pytest.raises(ConfigError, match="--batch-size must be at least 1"):
        run(test_plugins, clip_set, tmp_path / "r4", batch_size=0)
    (tmp_path / "r5").mkdir()
    (tmp_path / "r5" / "precious.txt").write_text("keep")
    with pytest.raises(ConfigError, match="not empty and holds no run.json"):
        run(test_plugins, clip_set, tmp_path / "r5")


def test_top_level_api_is_the_api_module() -> None:
    import fecbench

    assert fecbench.run is api.run and fecbench.score is api.score and fecbench.make_demo is api.make_demo
    with pytest.raises(AttributeError):
        _ = fecbench.no_such_function
