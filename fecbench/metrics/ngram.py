"""CIDEr-D and ROUGE-L of a set of predictions, with paired 95% bootstrap intervals over clips.

The clips scored are exactly the ids of ``preds``: the caller has already removed failed clips (they are
counted as failures, never scored as 0). An empty prediction is a valid answer and scores 0 on both.
CIDEr-D's document frequencies come from the references of the scored clips only, as in pycocoevalcap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from fecbench.metrics.bootstrap import bootstrap_interval, multiplicities
from fecbench.metrics.cider import CiderStats, cider_tokens
from fecbench.metrics.rouge import rouge_l_tokens, rouge_tokens

__all__ = ["CIDER_VERSION", "ROUGE_VERSION", "score_ngram"]

CIDER_VERSION = "cider-d-coco-v1"
ROUGE_VERSION = "rouge-l-coco-v1"


def score_ngram(
    refs: Mapping[str, str], preds: Mapping[str, str], *, bootstrap: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Score ``preds`` against ``refs`` (raw text keyed by clip id).

    Returns ``{"cider": {...}, "rouge_l": {...}, "per_clip": {id: {"cider": x, "rouge_l": y}}}`` where each
    metric entry is ``{"value", "ci95": [lo, hi], "n", "version"}``. ``bootstrap`` is the number of
    resamples (0 gives ``ci95: None``). Clips are taken in sorted id order, so the resamples, and hence the
    intervals, do not depend on the order of ``preds``.
    """
    ids = sorted(preds)
    if not ids:
        raise ValueError("no predictions to score")
    missing = [i for i in ids if i not in refs]
    if missing:
        raise KeyError(f"no reference for clip ids {missing[:5]}{'...' if len(missing) > 5 else ''}")
    n = len(ids)

    cider = CiderStats.from_tokens([cider_tokens(refs[i]) for i in ids], [cider_tokens(preds[i]) for i in ids])
    cider_per_clip = cider.scores()
    rouge_per_clip = np.array([rouge_l_tokens(rouge_tokens(refs[i]), rouge_tokens(preds[i])) for i in ids])

    def entry(value: float, statistic: Callable[[np.ndarray], float], version: str) -> dict[str, Any]:
        ci = list(bootstrap_interval(statistic, n, B=bootstrap, seed=seed)) if bootstrap > 0 else None
        return {"value": float(value), "ci95": ci, "n": n, "version": version}

    return {
        "cider": entry(cider_per_clip.mean(), lambda idx: cider.corpus(multiplicities(idx, n)), CIDER_VERSION),
        "rouge_l": entry(rouge_per_clip.mean(), lambda idx: float(rouge_per_clip[idx].mean()), ROUGE_VERSION),
        "per_clip": {
            i: {"cider": float(c), "rouge_l": float(r)}
            for i, c, r in zip(ids, cider_per_clip, rouge_per_clip, strict=True)
        },
    }
