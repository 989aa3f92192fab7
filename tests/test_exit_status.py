"""Exit status 1 when a metric could not score some clips (judge failures), as for failed clips; 0 only when complete.

The ``keyword`` test judge (tests/plugins/fecbench_test_judges.py) fails on marker words, the way
an LLM judge fails after its retries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import TEST_PLUGINS

ENV = {
    **os.environ,
    "COLUMNS": "300",
    "FECBENCH_PLUGINS": "fecbench_test_adapters,fecbench_test_judges",
    "PYTHONPATH": str(TEST_PLUGINS),
}


def fecbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fecbench.cli", *args], capture_output=True, text=True, env=ENV)


def score_predictions(tmp_path: Path, clip_set: Path, predictions: dict[str, str], name: str) -> tuple:
    records = json.loads(clip_set.read_text())
    for record in records:
        record["caption"] = "He smiles. Then he blinks."  # events for the judge to extract, relate and align
    clip_set.write_text(json.dumps(records))
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"id": k, "prediction": v}) + "\n" for k, v in predictions.items()))
    out = tmp_path / name
    done = fecbench("score", str(path), "--annotations", str(clip_set), "--out", str(out), "--judge", "keyword")
    return done, json.loads((out / "scores.json").read_text())


def test_score_exits_0_when_complete_and_1_when_a_metric_has_failures(tmp_path: Path, clip_set: Path) -> None:
    good = {str(i): "He smiles, then he blinks." for i in range(6)}
    done, scores = score_predictions(tmp_path, clip_set, good, "good")
    assert done.returncode == 0, done.stderr
    assert "metrics with failures" not in done.stderr

    some = {**good, "4": "He smiles. Then he blinks judgefail-align."}
    done, scores = score_predictions(tmp_path, clip_set, some, "some")
    assert done.returncode == 1, done.stderr
    assert scores["metrics"]["tem"]["n_failed"] == 1 and scores["n_failed"] == 0
    assert "metrics with failures (clips not scored): tem 1 of 6" in done.stderr
    assert "judge failures (clips): align: 1" in done.stderr
    assert "Traceback" not in done.stderr

    every = {str(i): "He smiles judgefail-extract." for i in range(6)}
    done, scores = score_predictions(tmp_path, clip_set, every, "every")
    assert done.returncode == 1, done.stderr
    assert scores["metrics"]["tem"]["value"] is None and scores["metrics"]["autodq"]["value"] is None
    assert "autodq 6 of 6, tem 6 of 6" in done.stderr


def test_score_exits_1_when_clips_have_no_prediction(tmp_path: Path, clip_set: Path) -> None:
    partial = {str(i): "He smiles, then he blinks." for i in range(5)}
    done, _ = score_predictions(tmp_path, clip_set, partial, "partial")
    assert done.returncode == 1, done.stderr
    assert "1 of 6 clips have no prediction to score" in done.stderr


def test_run_exits_1_when_every_clip_ran_but_a_metric_has_failures(tmp_path: Path, clip_set: Path) -> None:
    records = json.loads(clip_set.read_text())
    records[0]["caption"] += " judgefail-extract"  # the reference's events cannot be extracted
    clip_set.write_text(json.dumps(records))
    args = ["run", "--model", "frame-stats", "--annotations", str(clip_set)]
    args += ["--video-root", str(clip_set.parent / "videos"), "--output", str(tmp_path / "r"), "--judge", "keyword"]
    done = fecbench(*args)
    assert done.returncode == 1, done.stderr
    assert "clips failed" not in done.stderr
    assert "metrics with failures (clips not scored): autodq 1 of 6, tem 1 of 6" in done.stderr
    assert "judge failures (clips): extract: 1" in done.stderr
