"""The README's main job through the CLI: demo set, baseline run, scores, leaderboard page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_baseline_score_and_page(tmp_path: Path) -> None:
    def fecbench(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COLUMNS": "200"}
        done = subprocess.run(
            [sys.executable, "-m", "fecbench.cli", *args], capture_output=True, text=True, env=env, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done

    fecbench("demo", str(tmp_path / "demo"), "--clips", "4")
    run_dir = tmp_path / "runs" / "baseline"
    annotations, videos = str(tmp_path / "demo" / "annotations.json"), str(tmp_path / "demo" / "videos")
    done = fecbench(
        "run", "--model", "baseline", "--annotations", annotations, "--video-root", videos, "--output", str(run_dir)
    )
    assert "rouge_l (rouge-l-coco-v1)" in done.stdout
    scores = json.loads((run_dir / "scores.json").read_text())
    assert scores["n"] == 4 and scores["n_failed"] == 0
    assert 0.2 < scores["metrics"]["rouge_l"]["value"] < 0.8
    predictions = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert all("At the beginning of the video" in p["prediction"] for p in predictions)
    fecbench("leaderboard", "build", str(run_dir), "--out", str(tmp_path / "site"))
    page = (tmp_path / "site" / "index.html").read_text()
    assert ">baseline</a></td>" in page and "ROUGE-L" in page
    again = fecbench(
        "run", "--model", "baseline", "--annotations", annotations, "--video-root", videos, "--output", str(run_dir)
    )
    assert "resumed: 4 clips were already finished, 0 run now" in again.stdout
