"""Predictions made elsewhere, scored and published through the CLI (score, record, build), on a track of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_PLUGINS


def fecbench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "300",
        "FECBENCH_PLUGINS": "fecbench_test_adapters",
        "PYTHONPATH": str(TEST_PLUGINS),
    }
    return subprocess.run([sys.executable, "-m", "fecbench.cli", *args], capture_output=True, text=True, env=env)


def test_predictions_made_elsewhere_are_recorded_and_built_on_a_track_of_their_own(
    tmp_path: Path, clip_set: Path
) -> None:
    annotations = json.loads(clip_set.read_text())
    # The FEC-Bench authors' inference output: absolute paths on their machine, their instruction.
    theirs = [
        {"video_path": f"/home/them/fec/{r['video']}", "instruction": "Describe the face.", "output": "She smiles."}
        for r in annotations
    ]
    predictions = tmp_path / "authors_output.json"
    predictions.write_text(json.dumps(theirs))
    imported = tmp_path / "runs" / "theirs"
    done = fecbench("score", str(predictions), "--annotations", str(clip_set), "--out", str(imported))
    assert done.returncode == 0, done.stderr
    record = tmp_path / "results" / "theirs.json"
    done = fecbench("leaderboard", "record", str(imported), "--out", str(record), "--name", "Their model")
    assert done.returncode == 0, done.stderr
    data = json.loads(record.read_text())
    assert data["frame_protocol"]["name"] == "external"
    assert "num_frames" not in data["frame_protocol"] or data["frame_protocol"]["num_frames"] is None
    assert data["model"]["adapter"] == "external" and data["n"] == 6

    ours = tmp_path / "runs" / "ours"
    done = fecbench(
        "run",
        "--model",
        "frame-stats",
        "--annotations",
        str(clip_set),
        "--video-root",
        str(clip_set.parent / "videos"),
        "--output",
        str(ours),
    )
    assert done.returncode == 0, done.stderr
    site = tmp_path / "site"
    done = fecbench("leaderboard", "build", str(record), str(ours), "--out", str(site), "--no-reported")
    assert done.returncode == 0, done.stderr
    index = (site / "index.html").read_text()
    assert "made elsewhere (frame protocol unknown)" in index
    assert "predictions made elsewhere (their frame protocol is unknown)" in index
    assert index.count("Other settings:") == 2  # theirs and ours: two tracks, never ranked together
    pages = sorted(p.name for p in (site / "runs").iterdir())
    assert len(pages) == 2 and any(p.startswith("their-model-") for p in pages)


def test_a_fecbench_record_still_needs_its_frame_count(tmp_path: Path) -> None:
    from fecbench_leaderboard.records import FrameProtocolInfo

    with pytest.raises(ValueError, match="num_frames and max_side are required"):
        FrameProtocolInfo.model_validate({"name": "uniform-time-v1", "max_side": 448})
    assert FrameProtocolInfo.model_validate({"name": "external"}).made_elsewhere
