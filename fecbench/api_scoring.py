"""The API's scoring: :func:`score` a run folder or an imported predictions file, and the judges behind it
(:func:`judge_listing`, :func:`check_judge`).

Part of :mod:`fecbench.api`, which re-exports every name; import them from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fecbench.data.selection import resolve_annotations
from fecbench.errors import ConfigError
from fecbench.judge_check import check_judge as check_judge  # light to import: the scoring layer, no model
from fecbench.scoring import DEFAULT_JUDGE


def import_predictions(
    path: str | Path,
    *,
    annotations: str | Path | None = None,
    out: str | Path | None = None,
    name: str | None = None,
) -> Path:
    """Turn a predictions file made elsewhere (``{id, prediction}`` JSONL or the FEC-Bench authors'
    ``[{video_path, instruction, output}]`` list) into a run folder; returns the folder."""
    from fecbench.data.external_predictions import import_predictions as write_run

    return write_run(path, resolve_annotations(annotations), out, name=name)


def score(
    path: str | Path,
    *,
    annotations: str | Path | None = None,
    out: str | Path | None = None,
    name: str | None = None,
    judge: str | None = DEFAULT_JUDGE,
    judge_args: dict[str, Any] | None = None,
    cache: bool = True,
    concurrency: int | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Score a run folder, or a predictions file made elsewhere (imported first, see :func:`import_predictions`).

    ``judge`` names the judge plugin for AutoDQ, TEM and the Video-ChatGPT scores (None: CIDEr-D and
    ROUGE-L only); ``cache=False`` bypasses the verdict cache. Returns what ``scores.json`` holds.
    """
    from fecbench.scoring import score_run

    path = Path(path)
    if path.is_file():
        path = import_predictions(path, annotations=annotations, out=out, name=name)
    elif annotations is not None or out is not None or name is not None:
        raise ConfigError(f"{path}: annotations, out and name apply to a predictions file, not to a run folder")
    return score_run(
        path,
        judge=judge,
        judge_args=judge_args,
        cache=cache,
        concurrency=concurrency,
        bootstrap=bootstrap,
        seed=seed,
    )


def judge_listing() -> list[dict[str, Any]]:
    """What ``fecbench judges`` shows, as plain data: one dict per judge, dependencies checked without importing."""
    from fecbench.judges.registry import judge_listing as listing

    return listing()
