"""Score a run folder from its files: ``predictions.jsonl`` in, ``scores.json`` and ``clip_scores.jsonl`` out.

Only clips whose prediction succeeded are scored; prediction failures are counted in ``n_failed`` and
grouped by cause, never scored as 0. CIDEr-D and ROUGE-L need no judge. With a judge (default
``lexical``), the event metrics and the Video-ChatGPT scores of docs/metrics.md are computed too:

1. ``extract``: the events of every distinct reference and prediction text, each text once (the
   verdict cache shares references across every model scored with the same judge);
2. ``classify`` (AutoDQ): each reference event against the prediction, each predicted event against
   the reference; an empty event list needs no call;
3. ``align`` (TEM): one call per clip with both numbered lists;
4. ``rate`` (Video-ChatGPT): one call per clip, only when the judge has the ``rate`` task; otherwise
   those metrics are recorded as unsupported by that judge, never as numbers.

All calls go through :class:`fecbench.judges.engine.JudgeEngine` (deduplication, verdict cache,
validation) as one pipeline per clip (:mod:`fecbench.clip_judging`): a clip's ``classify`` and
``align`` are asked as soon as its events are known, while other clips' questions are in flight.
A clip whose judge task failed is counted in that metric's ``n_failed``, never scored.

``scores.json``::

    {"scores_version": 2, "model", "run_id", "annotations_sha256", "fec_bench", "subset",
     "frame_protocol", "n_total", "n" (clips with a prediction), "n_failed" (prediction failures),
     "failures": {cause: count}, "bootstrap": {"resamples", "seed", "level"}, "scored_at",
     "metrics": {
        "cider" | "rouge_l": {"value", "ci95": [lo, hi] | null, "n", "n_failed", "version"},
        "autodq" | "tem": {... as above, "recall", "precision"} (means over the clips scored),
        "vcgpt_correctness" | "vcgpt_detail" | "vcgpt_context" | "vcgpt_temporal": {... as above},
     },
     "judge": null | {"name", "backend", "model", "prompt_version", "prompts_sha256", "tasks",
                      "describe": {...}, "stats": {...engine stats...}, "cache": path | null,
                      "clips_failed": {task: clips},
                      "check": null | {...}}}   # this judge's saved `fecbench judge check` (judges/check/store.py)

``n_failed`` of a judged metric counts prediction failures plus clips whose judge answer failed;
``value`` is null when no clip could be scored. A metric the judge cannot compute has
``"value": null`` and ``"unsupported": reason``. Without a judge (``judge=None``) only the n-gram
metrics are present and ``"judge"`` is null.

``clip_scores.jsonl``, one line per clip with a prediction (1-based event indices throughout)::

    {"id", "cider", "rouge_l",
     "events": {"reference": [str] | null, "prediction": [str] | null},     # null: extraction failed
     "autodq": null | {"reference_labels": [relation], "prediction_labels": [relation],
                       "recall", "precision"},
     "tem": null | {"alignment": [{"reference": k | null, "relation"}],    # one per predicted event
                    "matched": [[j, k]],        # the pairs of the longest increasing subsequence
                    "out_of_order": [j],        # entailing a reference event the subsequence leaves out
                    "repeated": [j],            # entailing a reference event already matched
                    "missed": [k],              # reference events outside the subsequence
                    "contradicted": [k],        # reference events some predicted event contradicts
                    "L", "recall", "precision"},
     "vcgpt": null | {"correctness", "detail", "context", "temporal"},
     "judge_failures": [{"task", "side"?, "error", "attempts", "raw"?}]}   # raw: the judge's last answer

Judge-free scoring writes only ``id``, ``cider`` and ``rouge_l``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fecbench.clip_judging import ClipText, JudgedClip, judge_clips
from fecbench.errors import ConfigError
from fecbench.judges.check.store import saved_check_summary
from fecbench.metrics.events import (
    AUTODQ_VERSION,
    TEM_VERSION,
    VCGPT_DIMENSIONS,
    VCGPT_VERSION,
    event_metric_entry,
    unsupported_entry,
    vcgpt_entries,
)
from fecbench.metrics.ngram import score_ngram
from fecbench.metrics.ngram_child import score_ngram_in_child
from fecbench.runner.folder_lock import hold_run_folder
from fecbench.runner.outputs import (
    CLIP_SCORES,
    SCORES,
    failure_summary,
    read_predictions,
    read_spec,
    write_json,
    write_jsonl,
)

if TYPE_CHECKING:
    from fecbench.judges.base import Judge
    from fecbench.judges.engine import JudgeEngine

SCORES_VERSION = 2
DEFAULT_JUDGE = "lexical"
VCGPT_PREFIX = "vcgpt_"
# From this many clips on, CIDEr-D and ROUGE-L are computed in a child process (metrics/ngram_child.py):
# 800 clips take ~2 s of CPU that a thread would take from the judge's requests (the GIL); a child
# starts in ~0.2 s, more than fewer clips' metrics take.
NGRAM_CHILD_MIN_CLIPS = 200

__all__ = ["DEFAULT_JUDGE", "SCORES_VERSION", "judge_clips", "score_run"]


def _judged_metrics(
    judged: dict[str, JudgedClip], n_pred_failed: int, *, rate_reason: str | None, bootstrap: int, seed: int
) -> dict[str, dict[str, Any]]:
    """The ``scores.json`` entries of AutoDQ, TEM and the Video-ChatGPT scores, clips in sorted id order."""
    ids = sorted(judged)
    metrics: dict[str, dict[str, Any]] = {}
    for name, version in (("autodq", AUTODQ_VERSION), ("tem", TEM_VERSION)):
        scored = [getattr(judged[i], name) for i in ids if getattr(judged[i], name) is not None]
        metrics[name] = event_metric_entry(
            [s["recall"] for s in scored],
            [s["precision"] for s in scored],
            version,
            n_failed=n_pred_failed + len(ids) - len(scored),
            bootstrap=bootstrap,
            seed=seed,
        )
    if rate_reason is not None:
        for dimension in VCGPT_DIMENSIONS:
            metrics[VCGPT_PREFIX + dimension] = unsupported_entry(VCGPT_VERSION, rate_reason)
    else:
        ratings = [judged[i].vcgpt for i in ids if judged[i].vcgpt is not None]
        entries = vcgpt_entries(
            ratings, n_failed=n_pred_failed + len(ids) - len(ratings), bootstrap=bootstrap, seed=seed
        )
        metrics.update({VCGPT_PREFIX + d: entry for d, entry in entries.items()})
    return metrics


def open_judge(
    name: str, judge_args: dict[str, Any] | None = None, *, cache: bool = True, concurrency: int | None = None
) -> tuple[Judge, JudgeEngine]:
    """Load a judge by name and wrap it in an engine with the shared verdict cache (or none).

    ``concurrency`` becomes the judge's ``max_concurrency`` argument (requests in flight at once),
    which only judges that talk to a server take.
    """
    from fecbench.judges.cache import VerdictCache
    from fecbench.judges.engine import JudgeEngine
    from fecbench.judges.registry import load_judge

    args = dict(judge_args or {})
    if concurrency is not None:
        if concurrency < 1:
            raise ConfigError(f"--concurrency must be at least 1, got {concurrency}")
        if not _takes_argument(name, "max_concurrency"):
            raise ConfigError(f"--concurrency: judge {name!r} takes no concurrency setting")
        args.setdefault("max_concurrency", concurrency)
    judge = load_judge(name, args)
    return judge, JudgeEngine(judge, VerdictCache.default() if cache else None)


def _takes_argument(name: str, argument: str) -> bool:
    """Whether judge ``name``'s factory takes keyword ``argument`` (True when it cannot be imported:
    loading it then reports the missing dependency)."""
    import inspect

    from fecbench.judges.registry import get_judge
    from fecbench.plugins import import_factory

    try:
        factory = import_factory(get_judge(name).spec.factory)
    except ImportError:
        return True
    params = inspect.signature(factory).parameters.values()
    return any(p.kind is p.VAR_KEYWORD or p.name == argument for p in params)


def score_run(
    run_dir: str | Path,
    *,
    judge: str | None = DEFAULT_JUDGE,
    judge_args: dict[str, Any] | None = None,
    cache: bool = True,
    concurrency: int | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """(Re)compute ``scores.json`` and ``clip_scores.jsonl`` of a run folder; return the scores.

    ``judge`` names the judge plugin (None: n-gram metrics only); ``judge_args`` are its keyword
    arguments; ``cache=False`` neither reads nor writes the verdict cache.
    """
    if bootstrap < 0:
        raise ConfigError(f"--bootstrap must be 0 or more, got {bootstrap}")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        read_spec(run_dir)  # the usual "not a run folder" message
    with hold_run_folder(run_dir, create=False):
        return _score_held(
            run_dir, judge, judge_args, cache=cache, concurrency=concurrency, bootstrap=bootstrap, seed=seed
        )


def _score_held(
    run_dir: Path,
    judge: str | None,
    judge_args: dict[str, Any] | None,
    *,
    cache: bool,
    concurrency: int | None,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """:func:`score_run` once the folder is held."""
    spec = read_spec(run_dir)
    records = read_predictions(run_dir)
    ok = [r for r in records if r.get("status") == "ok" and isinstance(r.get("prediction"), str)]
    failed = [r for r in records if r not in ok]
    refs = {str(r["id"]): r["reference"] for r in ok}
    preds = {str(r["id"]): r["prediction"] for r in ok}
    metrics: dict[str, Any] = {}
    per_clip: dict[str, dict[str, Any]] = {str(r["id"]): {} for r in ok}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fecbench-ngram") as background:
        # CIDEr-D and ROUGE-L need no judge: computed while the judge's requests are out.
        ngram = score_ngram_in_child if len(ok) >= NGRAM_CHILD_MIN_CLIPS else score_ngram
        ngram_job = background.submit(ngram, refs, preds, bootstrap=bootstrap, seed=seed) if ok else None
        judged: dict[str, JudgedClip] = {}
        judge_metrics: dict[str, Any] = {}
        judge_record = None
        if judge is not None:
            loaded, engine = open_judge(judge, judge_args, cache=cache, concurrency=concurrency)
            try:
                rate = "rate" in loaded.tasks
                clips = [
                    ClipText(
                        id=str(r["id"]), question=spec.prompt, reference=r["reference"], prediction=r["prediction"]
                    )
                    for r in ok
                ]
                judged = judge_clips(engine, clips, rate=rate) if clips else {}
                reason = None if rate else f"judge {judge!r} does not rate captions (no 'rate' task)"
                judge_metrics = _judged_metrics(judged, len(failed), rate_reason=reason, bootstrap=bootstrap, seed=seed)
                judge_record = {
                    "name": judge,
                    **loaded.identity().as_dict(),
                    "tasks": sorted(loaded.tasks),
                    "describe": loaded.describe(),
                    "stats": engine.stats,
                    "cache": str(engine.cache.path) if engine.cache is not None else None,
                    "clips_failed": _failed_clips_by_task(judged),
                    "check": saved_check_summary(loaded.identity()),  # `fecbench judge check`, if it was run
                }
            finally:
                loaded.close()
                if engine.cache is not None:
                    engine.cache.close()
        if ngram_job is not None:
            ngram = ngram_job.result()
            for clip_id, values in ngram.pop("per_clip").items():
                per_clip[clip_id].update(values)
            metrics.update({name: {**entry, "n_failed": len(failed)} for name, entry in ngram.items()})
    metrics.update(judge_metrics)
    for clip_id, verdicts in judged.items():
        per_clip[clip_id].update(verdicts.as_dict())

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
        "judge": judge_record,
        "bootstrap": {"resamples": bootstrap, "seed": seed, "level": 0.95},
        "metrics": metrics,
        "scored_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json(run_dir / SCORES, scores)
    write_jsonl(run_dir / CLIP_SCORES, ({"id": r["id"], **per_clip[str(r["id"])]} for r in ok))
    return scores


def _failed_clips_by_task(judged: dict[str, JudgedClip]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for verdicts in judged.values():
        for task in {f["task"] for f in verdicts.failures}:
            counts[task] = counts.get(task, 0) + 1
    return dict(sorted(counts.items()))
