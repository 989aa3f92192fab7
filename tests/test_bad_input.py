"""Hostile input: deeply nested JSON in every file fecbench parses, and `video` paths that leave their root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_PLUGINS, make_clip_set

DEEP = "[" * 100000


def fecbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "300",
        "FECBENCH_PLUGINS": "fecbench_test_adapters",
        "PYTHONPATH": str(TEST_PLUGINS),
    }
    return subprocess.run(
        [sys.executable, "-m", "fecbench.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("name", ["deep.json", "deep.jsonl"])
def test_deeply_nested_annotations_are_a_one_line_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(DEEP)
    done = fecbench("run", "--model", "frame-stats", "--annotations", str(path), "--output", str(tmp_path / "r"))
    assert_one_line_error(done, str(path), "nested more than 200 levels deep", "column 201")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("text", [DEEP, '{"id": "0", "prediction": "x"}\n' + DEEP])
def test_deeply_nested_predictions_are_a_one_line_error(tmp_path: Path, clip_set: Path, text: str) -> None:
    path = tmp_path / "theirs.jsonl"
    path.write_text(text)
    done = fecbench("score", str(path), "--annotations", str(clip_set), "--out", str(tmp_path / "r"))
    assert_one_line_error(done, str(path), "nested more than 200 levels deep")
    assert not (tmp_path / "r").exists()


def test_deeply_nested_run_folder_files_and_records_are_one_line_errors(tmp_path: Path, clip_set: Path) -> None:
    predictions = tmp_path / "theirs.jsonl"
    predictions.write_text("".join(json.dumps({"id": str(i), "prediction": "a smile"}) + "\n" for i in range(6)))
    run = tmp_path / "run"
    done = fecbench("score", str(predictions), "--annotations", str(clip_set), "--out", str(run), "--no-judge")
    assert done.returncode == 0, done.stderr

    broken = shutil.copytree(run, tmp_path / "broken-predictions")
    (broken / "predictions.jsonl").write_text(DEEP + "\n")
    assert_one_line_error(fecbench("score", str(broken), "--no-judge"), "predictions.jsonl", "nested more than 200")
    assert_one_line_error(fecbench("leaderboard", "record", str(broken), "--out", str(tmp_path / "x.json")))

    broken = shutil.copytree(run, tmp_path / "broken-spec")
    (broken / "run.json").write_text('{"model": ' + DEEP)
    assert_one_line_error(fecbench("score", str(broken), "--no-judge"), "run.json")

    broken = shutil.copytree(run, tmp_path / "broken-scores")
    (broken / "scores.json").write_text(DEEP)
    done = fecbench("leaderboard", "record", str(broken), "--out", str(tmp_path / "x.json"))
    assert_one_line_error(done, "scores.json", "nested more than 200")

    record = tmp_path / "records" / "deep.json"
    record.parent.mkdir()
    record.write_text(DEEP)
    done = fecbench("leaderboard", "build", str(record.parent), "--out", str(tmp_path / "site"))
    assert_one_line_error(done, str(record), "nested more than 200")


def outside_set(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A set of 3 clips: one inside its root, one named by an absolute path, one reached with ``..``.

    Every file exists, so only the path policy keeps the last two from being read.
    """
    clips = make_clip_set(tmp_path / "set", 3)
    root = clips.parent / "videos"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(root / "SRCB" / "clips" / "clip_001.mp4", outside / "clip.mp4")
    records = json.loads(clips.read_text())
    records[1]["video"] = str(outside / "clip.mp4")
    records[2]["video"] = "SRCA/../../../elsewhere/clip.mp4"
    assert (root / records[2]["video"]).is_file()
    clips.write_text(json.dumps(records))
    return clips, root, outside / "clip.mp4"


def test_video_paths_outside_their_root_are_refused_per_clip(tmp_path: Path) -> None:
    clips, root, absolute = outside_set(tmp_path)
    args = ["run", "--model", "frame-stats", "--annotations", str(clips), "--video-root", str(root), "--no-score"]
    done = fecbench(*args, "--output", str(tmp_path / "strict"))
    assert done.returncode == 1, done.stderr
    assert "2 of 3 clips failed" in done.stderr and "2 x video path refused" in done.stderr
    rows = [json.loads(line) for line in (tmp_path / "strict" / "predictions.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "error", "error"]
    assert rows[1]["error"] == (
        f"video error: video path refused: record 1 (id '1'), field 'video' = '{absolute}' is an absolute path; "
        "absolute paths are read only with --allow-absolute-videos"
    )
    assert rows[2]["error"] == (
        "video error: video path refused: record 2 (id '2'), field 'video' = 'SRCA/../../../elsewhere/clip.mp4' "
        "climbs out of its video root with '..'; a video path stays inside its root"
    )
    spec = json.loads((tmp_path / "strict" / "run.json").read_text())
    assert spec["video_roots"]["allow_absolute_videos"] is False

    done = fecbench(*args, "--output", str(tmp_path / "allowed"), "--allow-absolute-videos")
    assert done.returncode == 1, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "allowed" / "predictions.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok", "error"]  # '..' stays refused
    spec = json.loads((tmp_path / "allowed" / "run.json").read_text())
    assert spec["video_roots"]["allow_absolute_videos"] is True


def test_data_check_counts_refused_paths(tmp_path: Path) -> None:
    clips, root, absolute = outside_set(tmp_path)
    done = fecbench("data", "check", "--annotations", str(clips), "--video-root", str(root))
    assert done.returncode == 1
    assert "refused" in done.stdout
    assert f"field 'video' = '{absolute}' is an absolute path" in done.stdout
    assert "climbs out of its video root with '..'" in done.stdout
    assert "2 clips are missing, unreadable or refused" in done.stderr
    done = fecbench("data", "check", "--annotations", str(clips), "--video-root", str(root), "--allow-absolute-videos")
    assert "1 clips are missing, unreadable or refused" in done.stderr


def test_without_a_root_paths_are_relative_to_the_current_folder_and_stay_there(tmp_path: Path) -> None:
    from fecbench.data.annotations import Clip
    from fecbench.data.roots import VideoRoots

    roots = VideoRoots.parse([])
    assert roots.candidates(Clip("1", "A/x.mp4", "c", 0)) == [Path("A/x.mp4")]
    assert roots.candidates(Clip("2", "../x.mp4", "c", 1)) == []
    assert roots.candidates(Clip("3", "/etc/passwd", "c", 2)) == []
    assert roots.candidates(Clip("4", "C:\\data\\x.mp4", "c", 3)) == []
    assert roots.candidates(Clip("5", "A\\..\\..\\x.mp4", "c", 4)) == []
    assert VideoRoots.parse([], allow_absolute=True).candidates(Clip("3", "/etc/passwd", "c", 2)) == [
        Path("/etc/passwd")
    ]
