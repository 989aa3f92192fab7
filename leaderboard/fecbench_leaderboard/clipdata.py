"""The clip-level part of a record: every scored clip's numbers and captions, and the example clips' thumbnails.

Kept in the record so that two runs of a track can be compared clip by clip (a paired bootstrap,
:mod:`fecbench.compare`) from records alone, without their run folders.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from fecbench.runner.thumbs import thumbnail_path
from fecbench_leaderboard.clip_records import ClipScore, Examples

NGRAM = ("cider", "rouge_l")
EVENT = ("autodq", "tem")
VCGPT_PREFIX = "vcgpt_"


def clip_source(prediction: dict[str, Any]) -> str:
    """The source dataset of a ``predictions.jsonl`` row: its ``source``, else its video path's first folder."""
    return str(prediction.get("source") or str(prediction.get("video", "")).replace("\\", "/").split("/", 1)[0])


def is_scored(prediction: dict[str, Any]) -> bool:
    """Whether a ``predictions.jsonl`` row has a prediction (failed clips are counted, never scored)."""
    return prediction.get("status") == "ok" and isinstance(prediction.get("prediction"), str)


def event_sides(clip: dict[str, Any], key: str) -> tuple[float, float] | None:
    """A ``clip_scores.jsonl`` line's recall and precision of ``autodq`` or ``tem`` (None: not judged)."""
    entry = clip.get(key)
    if isinstance(entry, dict) and entry.get("recall") is not None and entry.get("precision") is not None:
        return float(entry["recall"]), float(entry["precision"])
    return None


def vcgpt_ratings(clip: dict[str, Any]) -> dict[str, float]:
    """A ``clip_scores.jsonl`` line's Video-ChatGPT ratings by dimension (empty: not rated)."""
    ratings = clip.get("vcgpt")
    return {k: float(v) for k, v in ratings.items() if isinstance(v, int | float)} if isinstance(ratings, dict) else {}


def clip_numbers(clip: dict[str, Any]) -> dict[str, float]:
    """The per-clip values of one ``clip_scores.jsonl`` line that the corpus formulas take."""
    scores = {k: float(clip[k]) for k in NGRAM if isinstance(clip.get(k), int | float)}
    for key in EVENT:
        sides = event_sides(clip, key)
        if sides is not None:
            scores[f"{key}_recall"], scores[f"{key}_precision"] = sides
    scores.update({VCGPT_PREFIX + k: v for k, v in vcgpt_ratings(clip).items()})
    return scores


def clip_scores(predictions: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> list[ClipScore]:
    """One entry per clip that has a prediction and a line in ``clip_scores.jsonl``, in annotation order."""
    out = []
    for prediction in predictions:
        clip_id = str(prediction["id"])
        if not is_scored(prediction) or clip_id not in by_id:
            continue
        out.append(
            ClipScore(
                id=clip_id,
                source=clip_source(prediction),
                reference=str(prediction.get("reference", "")),
                prediction=prediction["prediction"],
                scores=clip_numbers(by_id[clip_id]),
            )
        )
    return out


def attach_thumbnails(run_dir: Path, examples: Examples | None) -> None:
    """Give each example clip its thumbnail strip when the run wrote one (``thumbs/``)."""
    if examples is None:
        return
    for clip in [*examples.worst, *examples.best]:
        path = thumbnail_path(run_dir, clip.id)
        if path.is_file():
            clip.thumbnail = base64.b64encode(path.read_bytes()).decode("ascii")
