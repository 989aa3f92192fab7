"""The plain leaderboard page: ranking, subset labels, escaping, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fecbench import api
from fecbench.errors import ConfigError


def scored_run(tmp_path: Path, name: str, cider: float, subset: str = "", model: str = "m") -> Path:
    run_dir = tmp_path / name
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"model": {"name": model, "args": {"pretrained": f"ckpt/{name}"}}}))
    metric = {"value": cider, "ci95": [cider - 0.01, cider + 0.01], "n": 10, "version": "cider-d-coco-v1"}
    scores = {
        "model": model,
        "run_id": name,
        "subset": subset,
        "fec_bench": True,
        "n": 10,
        "n_failed": 2,
        "frame_protocol": {"num_frames": 8, "max_side": 448, "name": "uniform-time-v1"},
        "metrics": {"cider": metric, "rouge_l": {**metric, "version": "rouge-l-coco-v1"}},
    }
    (run_dir / "scores.json").write_text(json.dumps(scores))
    return run_dir


def test_ranks_by_cider_and_labels_subsets(tmp_path: Path) -> None:
    low = scored_run(tmp_path, "low", 0.1)
    high = scored_run(tmp_path, "high", 0.3, subset="subset (sources DFEW): 136 clips")
    page = api.build_leaderboard([low, high], tmp_path / "site").read_text()
    assert page.index("ckpt/high") < page.index("ckpt/low")
    assert "subset (sources DFEW): 136 clips" in page and "FEC-Bench (full)" in page
    assert "0.3000" in page and "[0.2900, 0.3100]" in page


def test_markup_from_records_is_escaped(tmp_path: Path) -> None:
    evil = scored_run(tmp_path, "evil", 0.2, model="<script>alert(1)</script>")
    page = api.build_leaderboard([evil], tmp_path / "site").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_unscored_run_is_named(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "run.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"raw: no scores.json; run `fecbench score"):
        api.build_leaderboard([tmp_path / "raw"], tmp_path / "site")
