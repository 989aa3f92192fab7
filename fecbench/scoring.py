"""Score a run folder from its files: ``predictions.jsonl`` in, ``scores.json`` out.

Only clips whose prediction succeeded are scored; failures are counted in ``n_failed`` and
grouped by cause, never scored as 0. Judge-free metrics only for now (CIDEr-D, ROUGE-L).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fecbench.metrics.ngram import score_ngram
from fecbench.runner.outputs import (
    CLIP_SCORES,
    SCORES,
    failure_summary,
    read_predictions,
    read_spec,
    write_json,
    write_jsonl,
)

SCORES_VERSION = 1


def score_run(run_dir: str | Path, *, bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """(Re)compute ``scores.json`` and ``clip_scores.jsonl`` of a run folder; return the scores."""
    run_dir = Path(run_dir)
    spec = read_spec(run_dir)
    records = read_predictions(run_dir)
    ok = [r for r in records if r.get("status") == "ok" and isinstance(r.get("prediction"), str)]
    failed = [r for r in records if r not in ok]
    refs = {r["id"]: r["reference"] for r in ok}
    preds = {r["id"]: r["prediction"] for r in ok}
    metrics: dict[str, Any] = {}
    per_clip: dict[str, dict[str, float]] = {}
    if ok:
        ngram = score_ngram(refs, preds, bootstrap=bootstrap, seed=seed)
        per_clip = ngram.pop("per_clip")
        metrics.update(ngram)
    scores = {
        "scores_version": SCORES_VERSION,
        "model": spec.model.name,
        "run_id": spec.identity_hash(),
        "annotations_sha256": spec.annotations.sha256,
        "fec_bench": spec.annotations.fec_bench,
        "subset": spec.subset.label,
        "frame_protocol": spec.frame_protocol,
        "n_total": len(records),
        "n": len(ok),
        "n_failed": len(failed),
        "failures": failure_summary([str(r.get("error") or "no prediction") for r in failed]),
        "judge": None,
        "bootstrap": {"resamples": bootstrap, "seed": seed, "level": 0.95},
        "metrics": metrics,
        "scored_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json(run_dir / SCORES, scores)
    write_jsonl(run_dir / CLIP_SCORES, ({"id": r["id"], **per_clip.get(r["id"], {})} for r in ok))
    return scores
