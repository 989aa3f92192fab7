"""Render a plain static leaderboard page from scored run folders.

Summaries are computed in Python first (one row per run), then rendered with autoescaping, so a
model name or error message from a run folder can never inject markup. No network requests: the
page works from ``file://`` and from any static host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from fecbench import __version__
from fecbench.display import format_score
from fecbench.errors import ConfigError
from fecbench.runner.outputs import RUN_JSON, SCORES

METRIC_LABELS = {"cider": "CIDEr", "rouge_l": "ROUGE-L"}


@dataclass(frozen=True)
class Row:
    """One run as the page shows it."""

    model: str
    checkpoint: str
    run_dir: str
    run_id: str
    subset: str
    n: int
    n_failed: int
    frames: str
    metrics: dict[str, dict[str, Any]]


def load_row(run_dir: Path) -> Row:
    """Summarise one run folder; a folder without scores is an error that says how to make them."""
    scores_path, spec_path = run_dir / SCORES, run_dir / RUN_JSON
    for path in (spec_path, scores_path):
        if not path.is_file():
            raise ConfigError(f"{run_dir}: no {path.name}; run `fecbench score {run_dir}` first")
    try:
        scores = json.loads(scores_path.read_text(encoding="utf-8"))
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{run_dir}: cannot read its JSON ({exc})") from exc
    model = spec.get("model", {})
    protocol = scores.get("frame_protocol", {})
    checkpoint = model.get("args", {}).get("pretrained") or model.get("loaded", {}).get("checkpoint") or "-"
    return Row(
        model=str(scores.get("model", model.get("name", "?"))),
        checkpoint=str(checkpoint),
        run_dir=str(run_dir),
        run_id=str(scores.get("run_id", "")),
        subset=str(scores.get("subset") or ("" if scores.get("fec_bench") else _custom_set(spec))),
        n=int(scores.get("n", 0)),
        n_failed=int(scores.get("n_failed", 0)),
        frames=f"{protocol.get('num_frames', '?')} frames, {protocol.get('name', '?')}, "
        f"max side {protocol.get('max_side', '?')}",
        metrics=scores.get("metrics", {}),
    )


def _custom_set(spec: dict[str, Any]) -> str:
    path = spec.get("annotations", {}).get("path", "")
    return f"custom set ({Path(path).name})" if path else "custom set"


def build_site(run_dirs: list[Path], out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` ranking the runs by CIDEr; returns its path."""
    if not run_dirs:
        raise ConfigError("leaderboard build: give at least one run folder")
    rows = sorted((load_row(d) for d in run_dirs), key=lambda r: -r.metrics.get("cider", {}).get("value", -1.0))
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fecbench_leaderboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["number"] = format_score
    html = env.get_template("index.html").render(rows=rows, metrics=METRIC_LABELS, version=__version__)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    index.write_text(html, encoding="utf-8")
    return index
