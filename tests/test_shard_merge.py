"""``--shard i/n`` and ``fecbench merge``: a merged run equals the unsharded run, clip for clip."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_PLUGINS, make_clip_set
from fecbench_leaderboard.runfolder import make_record

from fecbench import api
from fecbench.errors import ConfigError
from fecbench.runner.shard import Shard
from fecbench.runner.thumbs import THUMBS_DIR, copy_thumbnails, thumbnail_path

SCORE = {"score": True, "judge": None, "bootstrap": 0}


def predictions_text(run_dir: Path) -> str:
    return (run_dir / "predictions.jsonl").read_text()


def spec(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def store_rows(run_dir: Path) -> dict[str, tuple]:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return {r[0]: r[1:] for r in db.execute("SELECT * FROM clips")}


@pytest.fixture
def clip_set(tmp_path: Path) -> Path:
    return make_clip_set(tmp_path / "set", 7)


def run(model: str, annotations: Path, out: Path | None, **kwargs: object) -> api.RunResult:
    options = {"score": False, **kwargs}
    return api.run(
        model, annotations=annotations, video_roots=[str(annotations.parent / "videos")], output=out, **options
    )


def run_shards(model: str, annotations: Path, root: Path, count: int, **kwargs: object) -> list[Path]:
    folders = []
    for index in range(count):
        result = run(model, annotations, root / f"shard{index}", shard=f"{index}/{count}", **kwargs)
        folders.append(result.run_dir)
    return folders


def test_merged_run_equals_unsharded_run(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    whole = run(test_plugins, clip_set, tmp_path / "whole", batch_size=2, **SCORE)
    shards = run_shards(test_plugins, clip_set, tmp_path, 3, batch_size=2)
    assert [spec(s)["subset"]["clips"] for s in shards] == [3, 2, 2]
    assert [p["id"] for p in map(json.loads, predictions_text(shards[1]).splitlines())] == ["1", "4"]  # round-robin
    merged = api.merge(list(reversed(shards)), tmp_path / "merged", **{k: v for k, v in SCORE.items() if k != "score"})
    assert (merged.n_clips, merged.n_ok, merged.n_failed) == (7, 7, 0)
    assert predictions_text(tmp_path / "merged") == predictions_text(tmp_path / "whole")
    merged_spec, whole_spec = spec(tmp_path / "merged"), spec(tmp_path / "whole")
    assert merged_spec["subset"] == whole_spec["subset"] == {"sources": None, "limit": None, "clips": 7, "full": True}
    assert merged_spec["execution"]["backend"] == "merge"
    assert merged_spec["execution"]["merged_from"] == [str(s.resolve()) for s in reversed(shards)]
    # same identity, so the same run id and the same scores
    assert merged.scores is not None and whole.scores is not None
    assert merged.scores["run_id"] == whole.scores["run_id"]
    assert merged.scores["metrics"] == whole.scores["metrics"]
    # each row is copied as its shard stored it (times, attempts)
    shard_rows = {k: v for s in shards for k, v in store_rows(s).items()}
    assert store_rows(tmp_path / "merged") == shard_rows


def test_shard_folders_names_and_identity(
    test_plugins: str, clip_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    whole = run(test_plugins, clip_set, None)
    first = run(test_plugins, clip_set, None, shard="0/2")
    assert first.run_dir.name == whole.run_dir.name + "-shard0of2"
    assert spec(first.run_dir)["subset"]["shard"] == "0/2" and spec(first.run_dir)["subset"]["full"] is False
    assert "shard" not in spec(whole.run_dir)["subset"]
    # a shard's folder never resumes another shard
    with pytest.raises(ConfigError, match=r"(?s)holds a different run.*shard: '0/2' in the folder, '1/2' now"):
        run(test_plugins, clip_set, first.run_dir, shard="1/2")


def test_merge_is_a_top_level_api_function() -> None:
    import fecbench

    assert fecbench.merge is api.merge


def test_shard_option_errors() -> None:
    assert Shard.parse("2/5") == Shard(2, 5) and Shard.parse((0, 1)).select([1, 2, 3]) == [1, 2, 3]
    assert Shard(1, 3).select(list(range(8))) == [1, 4, 7]
    with pytest.raises(ConfigError, match="shards are numbered from 0, so the index must be 0..2"):
        Shard.parse("3/3")
    with pytest.raises(ConfigError, match="--shard must look like i/n"):
        Shard.parse("first")
    with pytest.raises(ConfigError, match="number of shards must be at least 1"):
        Shard.parse("0/0")


def test_merge_refuses_incomplete_or_inconsistent_shards(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    shards = run_shards(test_plugins, clip_set, tmp_path, 2)
    with pytest.raises(ConfigError, match=r"missing shard\(s\) 1/2: merge needs all 2 shard folders"):
        api.merge([shards[0]], tmp_path / "m1", score=False)
    with pytest.raises(ConfigError, match=r"shard 0/2 is given 2 times"):
        api.merge([shards[0], shards[0], shards[1]], tmp_path / "m2", score=False)

    other = run(test_plugins, clip_set, tmp_path / "other", shard="1/2", frames=6)
    with pytest.raises(ConfigError, match=r"(?s)is not a shard of the same run.*frame_protocol"):
        api.merge([shards[0], other.run_dir], tmp_path / "m3", score=False)
    limited = run(test_plugins, clip_set, tmp_path / "limited", shard="1/2", limit=5)
    with pytest.raises(ConfigError, match=r"(?s)is not a shard of the same run.*limit: None in .*, 5 in"):
        api.merge([shards[0], limited.run_dir], tmp_path / "m4", score=False)
    three = run(test_plugins, clip_set, tmp_path / "three", shard="1/3")
    with pytest.raises(ConfigError, match=r"is shard 0/2 but .* is shard 1/3"):
        api.merge([shards[0], three.run_dir], tmp_path / "m5", score=False)
    with pytest.raises(ConfigError, match="not a shard .*run without --shard"):
        api.merge([run(test_plugins, clip_set, tmp_path / "whole").run_dir], tmp_path / "m6", score=False)

    with sqlite3.connect(shards[1] / "store.sqlite") as db:
        db.execute("DELETE FROM clips WHERE id IN ('3', '5')")
    with pytest.raises(ConfigError, match=r"shard1 \(shard 1/2\) has no result for 2 of its 3 clips: 3, 5; run its"):
        api.merge(shards, tmp_path / "m7", score=False)

    assert run(test_plugins, clip_set, shards[1], shard="1/2").n_run_now == 2  # the same command finishes it
    with sqlite3.connect(shards[0] / "store.sqlite") as db:
        taken = db.execute("SELECT * FROM clips WHERE id = '2'").fetchone()
    with sqlite3.connect(shards[1] / "store.sqlite") as db:  # clip 2 of shard 0 now in shard 1 too
        db.execute(f"INSERT INTO clips VALUES ({', '.join('?' * len(taken))})", taken)
    with pytest.raises(ConfigError, match=r"also holds results for clips of other shards: 2; each clip must come"):
        api.merge(shards, tmp_path / "m8", score=False)
    assert not any((tmp_path / name).exists() for name in ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"))

    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        api.merge(shards, tmp_path / "taken", score=False)


def test_failed_clips_merge_as_failed(test_plugins: str, clip_set: Path, tmp_path: Path) -> None:
    (clip_set.parent / "videos" / "SRCB/clips/clip_001.mp4").unlink()
    shards = run_shards(test_plugins, clip_set, tmp_path, 2)
    merged = api.merge(shards, tmp_path / "merged", score=False)
    assert (merged.n_ok, merged.n_failed, merged.failures) == (6, 1, {"video not found": 1})


def test_cli_shard_and_merge(clip_set: Path, tmp_path: Path) -> None:
    env = {**os.environ, "FECBENCH_PLUGINS": "fecbench_test_adapters", "PYTHONPATH": str(TEST_PLUGINS)}
    command = [sys.executable, "-m", "fecbench.cli"]
    common = ["--model", "frame-stats", "--annotations", str(clip_set)]
    common += ["--video-root", str(clip_set.parent / "videos"), "--no-score"]
    for index in range(2):
        done = subprocess.run(
            [*command, "run", *common, "--shard", f"{index}/2", "--output", str(tmp_path / f"s{index}")],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    merged = subprocess.run(
        [*command, "merge", str(tmp_path / "s0"), str(tmp_path / "s1"), "--output", str(tmp_path / "m"), "--no-judge"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert merged.returncode == 0, merged.stderr
    assert f"run folder: {tmp_path / 'm'} (7 clips from 2 shards)" in merged.stdout.replace("\n", "")
    assert (tmp_path / "m" / "scores.json").is_file()
    again = subprocess.run(
        [*command, "merge", str(tmp_path / "s0"), "--output", str(tmp_path / "m2"), "--no-judge"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "error: missing shard(s) 1/2" in again.stderr and "Traceback" not in again.stderr


def test_merge_carries_each_merged_clips_thumbnail_over(clip_set: Path, tmp_path: Path) -> None:
    """The strips each shard wrote at run time (thumbs/) come along, so the merged run's page shows them."""
    shards = run_shards("baseline", clip_set, tmp_path, 2, frames=4)
    assert sorted(p.name for s in shards for p in (s / THUMBS_DIR).iterdir()) == [f"{i}.jpg" for i in range(7)]
    (shards[0] / THUMBS_DIR / "not-a-clip.jpg").write_bytes(b"stray")  # in a shard folder, of no merged clip
    merged = api.merge(shards, tmp_path / "merged", judge=None, bootstrap=0).run_dir
    assert sorted(p.name for p in (merged / THUMBS_DIR).iterdir()) == [f"{i}.jpg" for i in range(7)]
    for i in range(7):  # round-robin: clip i ran in shard i % 2
        assert thumbnail_path(merged, str(i)).read_bytes() == thumbnail_path(shards[i % 2], str(i)).read_bytes()
    record = make_record(merged)
    shown = [*record.examples.worst, *record.examples.best]
    assert shown
    assert all(base64.b64decode(c.thumbnail or "") == thumbnail_path(merged, c.id).read_bytes() for c in shown)


def test_copied_thumbnails_never_replace_another_clips(tmp_path: Path) -> None:
    """Two clip ids can share a strip's file name (one id is the other's hashed name): the first keeps it."""
    hashed = thumbnail_path(tmp_path, "a b").stem  # "a b" is unsafe in a file name: its strip gets this name
    origins = {"a b": tmp_path / "s0", hashed: tmp_path / "s1", "kept": tmp_path / "s1", "none": tmp_path / "s1"}
    for clip_id, data in (("a b", b"first"), (hashed, b"second"), ("kept", b"new")):
        path = thumbnail_path(origins[clip_id], clip_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    merged = tmp_path / "merged"
    thumbnail_path(merged, "kept").parent.mkdir(parents=True)
    thumbnail_path(merged, "kept").write_bytes(b"old")  # already there: left as it is
    assert copy_thumbnails(origins, merged) == 1
    assert thumbnail_path(merged, hashed) == thumbnail_path(merged, "a b")
    assert thumbnail_path(merged, "a b").read_bytes() == b"first"
    assert thumbnail_path(merged, "kept").read_bytes() == b"old"
    assert sorted(p.name for p in (merged / THUMBS_DIR).iterdir()) == sorted([f"{hashed}.jpg", "kept.jpg"])
