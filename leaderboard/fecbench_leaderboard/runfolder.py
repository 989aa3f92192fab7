"""Turn a scored run folder into a result record (``fecbench leaderboard record``).

Reads only the run folder's files: ``run.json`` (the spec), ``predictions.jsonl`` (source, reference
and prediction per clip), ``scores.json`` (the headline metrics) and ``clip_scores.jsonl`` (per-clip
values and the judge's verdicts). The per-source breakdown is recomputed here from the per-clip
values with the metric layer's own formulas: CIDEr-D is a corpus metric (its document frequencies
come from the clips scored), so each source's CIDEr-D is scored again on that source's clips, never
averaged; AutoDQ and TEM are F1s of per-clip means; the Video-ChatGPT scores are means. Metrics the
run does not have (a judge-free run, a judge that cannot rate) are simply absent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fecbench import jsontext
from fecbench.errors import ConfigError
from fecbench.metrics.events import f_measure
from fecbench.runner.outputs import CLIP_SCORES, SCORES, read_predictions, read_spec
from fecbench.runner.spec import VisualTokens
from fecbench_leaderboard.catalog import FEC_BENCH_SOURCES
from fecbench_leaderboard.clip_records import ClipExample, Examples
from fecbench_leaderboard.clipdata import (
    EVENT,
    NGRAM,
    VCGPT_PREFIX,
    attach_thumbnails,
    clip_scores,
    clip_source,
    event_sides,
    is_scored,
    vcgpt_ratings,
)
from fecbench_leaderboard.records import (
    BenchmarkInfo,
    Bootstrap,
    FrameProtocolInfo,
    JudgeCheck,
    JudgeInfo,
    Metric,
    ModelInfo,
    PromptInfo,
    RunRecord,
    SourceResult,
    Timestamps,
    VisualTokensInfo,
    prompt_sha256,
)

DEFAULT_EXAMPLES = 3


def make_record(
    run_dir: Path, *, name: str | None = None, examples: int = DEFAULT_EXAMPLES, notes: str = "", clips: bool = True
) -> RunRecord:
    """The result record of a scored run folder; a folder that is not scored (or scored stale) is an error.

    ``clips=False`` leaves out every clip's captions and scores (predictions that may not be published);
    the record then cannot be compared clip by clip.
    """
    spec = read_spec(run_dir)
    scores = _read_json(run_dir / SCORES, f"run `fecbench score {run_dir}` first")
    if scores.get("run_id") != spec.identity_hash():
        raise ConfigError(
            f"{run_dir / SCORES}: scored for run {scores.get('run_id')!r}, but run.json is run "
            f"{spec.identity_hash()!r}; run `fecbench score {run_dir}` again"
        )
    predictions = read_predictions(run_dir)
    clip_scores_by_id = {str(c["id"]): c for c in _read_jsonl(run_dir / CLIP_SCORES, f"run `fecbench score {run_dir}`")}
    metrics = {key: _metric(entry, scores) for key, entry in _flat_metrics(scores.get("metrics", {})).items()}
    bootstrap = scores.get("bootstrap") or {}
    resamples, seed = int(bootstrap.get("resamples", 1000)), int(bootstrap.get("seed", 0))
    model = spec.model
    checkpoint = str(model.args.get("pretrained") or model.loaded.get("checkpoint") or "")
    judge = scores.get("judge")
    chosen = pick_examples(predictions, clip_scores_by_id, examples) if examples > 0 else None
    attach_thumbnails(run_dir, chosen)
    return RunRecord(
        name=name or default_name(model.name, checkpoint, model.args),
        run_id=spec.identity_hash(),
        model=ModelInfo(
            name=model.name,
            adapter=model.provider,
            adapter_version=model.provider_version,
            checkpoint=checkpoint,
            args=model.args,
        ),
        benchmark=BenchmarkInfo(
            name="FEC-Bench" if spec.annotations.fec_bench else Path(spec.annotations.path).name,
            annotations_sha256=spec.annotations.sha256,
            fec_bench=spec.annotations.fec_bench,
            records=spec.annotations.records,
            clips=spec.subset.clips,
            subset=spec.subset.label,
        ),
        frame_protocol=FrameProtocolInfo.model_validate(spec.frame_protocol),
        visual_tokens=_visual_tokens(spec.execution.visual_tokens if spec.execution else None),
        prompt=PromptInfo(text=spec.prompt, sha256=prompt_sha256(spec.prompt)),
        generation=spec.generation.model_dump(),
        judge=_judge(judge) if judge else None,
        n_total=int(scores.get("n_total", len(predictions))),
        n=int(scores.get("n", 0)),
        n_failed=int(scores.get("n_failed", 0)),
        failures={str(k): int(v) for k, v in (scores.get("failures") or {}).items()},
        metrics=metrics,
        per_source=per_source(predictions, clip_scores_by_id, metrics, bootstrap=resamples, seed=seed),
        examples=chosen,
        clips=clip_scores(predictions, clip_scores_by_id) if clips else [],
        bootstrap=Bootstrap(resamples=resamples, seed=seed, level=float(bootstrap.get("level", 0.95))),
        timestamps=Timestamps(
            scored_at=str(scores.get("scored_at", "")),
            recorded_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        ),
        versions={str(k): str(v) for k, v in spec.versions.items()},
        notes=notes,
    )


def default_name(model: str, checkpoint: str, args: dict[str, Any]) -> str:
    """A run's name on the pages: the model and its checkpoint, else its model arguments (two settings of one
    model stay apart), else the model alone."""
    if checkpoint:
        return f"{model} ({checkpoint})"
    if args:
        return f"{model} ({', '.join(f'{k}={v}' for k, v in sorted(args.items()))})"
    return model


def _visual_tokens(summary: VisualTokens | None) -> VisualTokensInfo | None:
    return VisualTokensInfo.model_validate(summary.model_dump()) if summary is not None else None


def _read_json(path: Path, advice: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path.parent}: no {path.name}; {advice}")
    try:
        data = jsontext.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def _read_jsonl(path: Path, advice: str) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ConfigError(f"{path.parent}: no {path.name}; {advice}")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(jsontext.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}: line {lineno} is not valid JSON ({exc.msg})") from exc
    return rows


def _flat_metrics(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Metric entries by record key; a nested ``{"vcgpt": {"correctness": {...}}}`` becomes ``vcgpt_correctness``."""
    flat: dict[str, dict[str, Any]] = {}
    for key, entry in metrics.items():
        if isinstance(entry, dict) and "version" not in entry and all(isinstance(v, dict) for v in entry.values()):
            flat.update({f"{key}_{sub}": value for sub, value in entry.items()})
        else:
            flat[key] = entry
    return flat


def _metric(entry: dict[str, Any], scores: dict[str, Any]) -> Metric:
    ci = entry.get("ci95")
    return Metric(
        value=entry.get("value"),
        ci95=tuple(ci) if ci else None,
        n=int(entry.get("n", 0)),
        n_failed=int(entry.get("n_failed", scores.get("n_failed", 0))),
        version=str(entry.get("version", "")),
        recall=entry.get("recall"),
        precision=entry.get("precision"),
        unsupported=entry.get("unsupported"),
    )


def _judge(judge: dict[str, Any]) -> JudgeInfo:
    stats: dict[str, Any] = {}

    def flatten(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                flatten(f"{prefix}.{key}" if prefix else str(key), sub)
        elif value is None or isinstance(value, str | int | float | bool):
            stats[prefix] = value

    flatten("", judge.get("stats") or {})
    return JudgeInfo(
        backend=str(judge.get("backend", "")),
        model=str(judge.get("model", "")),
        prompt_version=str(judge.get("prompt_version", "")),
        prompts_sha256=str(judge.get("prompts_sha256", "")),
        stats=stats,
        check=_judge_check(judge.get("check")),
    )


def _judge_check(check: dict[str, Any] | None) -> JudgeCheck | None:
    """The record's form of the check summary in ``scores.json`` (its local file path left out)."""
    if not check:
        return None
    suite = check.get("suite") or {}
    return JudgeCheck(
        checked_at=check["checked_at"],
        cases=suite.get("cases", 0),
        captions=suite.get("captions", 0),
        seed=suite.get("seed", 0),
        fec_bench=suite.get("fec_bench"),
        annotations_sha256=suite.get("annotations_sha256"),
        accuracy=check["accuracy"],
        accuracy_ci95=check.get("accuracy_ci95") or {},
        error=check["error"],
        error_ci95=check.get("error_ci95") or {},
    )


def per_source(
    predictions: list[dict[str, Any]],
    clip_scores: dict[str, dict[str, Any]],
    metrics: dict[str, Metric],
    *,
    bootstrap: int,
    seed: int,
) -> list[SourceResult]:
    """Each metric of ``metrics`` recomputed on the clips of each source (FEC-Bench's order first)."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for prediction in predictions:
        by_source.setdefault(clip_source(prediction), []).append(prediction)
    order = [s for s in FEC_BENCH_SOURCES if s in by_source] + [s for s in by_source if s not in FEC_BENCH_SOURCES]
    results = []
    for source in order:
        clips = by_source[source]
        ok = [p for p in clips if is_scored(p)]
        failed = len(clips) - len(ok)
        scored = {key: m for key, m in metrics.items() if m.unsupported is None and m.value is not None}
        results.append(
            SourceResult(
                source=source,
                clips=len(clips),
                n=len(ok),
                n_failed=failed,
                metrics=_source_metrics(ok, failed, clip_scores, scored, bootstrap=bootstrap, seed=seed),
            )
        )
    return results


def _source_metrics(
    ok: list[dict[str, Any]],
    failed: int,
    clip_scores: dict[str, dict[str, Any]],
    metrics: dict[str, Metric],
    *,
    bootstrap: int,
    seed: int,
) -> dict[str, Metric]:
    """The run's metrics on one source's clips, by the formulas (and clip order) ``fecbench.scoring`` uses."""
    out: dict[str, Metric] = {}
    if not ok:
        return out
    ids = sorted(str(p["id"]) for p in ok)  # scoring takes clips in sorted id order: same resamples, same intervals
    by_id = {str(p["id"]): p for p in ok}
    if any(key in metrics for key in NGRAM):
        from fecbench.metrics.ngram import score_ngram

        ngram = score_ngram(
            {i: by_id[i]["reference"] for i in ids},
            {i: by_id[i]["prediction"] for i in ids},
            bootstrap=bootstrap,
            seed=seed,
        )
        out.update({k: Metric.model_validate({**ngram[k], "n_failed": failed}) for k in NGRAM if k in metrics})
    for key in EVENT:
        sides = [s for s in (event_sides(clip_scores.get(i, {}), key) for i in ids) if s is not None]
        if key in metrics and sides:
            from fecbench.metrics.events import event_metric_entry

            entry = event_metric_entry(
                [r for r, _ in sides],
                [p for _, p in sides],
                metrics[key].version,
                n_failed=failed + len(ids) - len(sides),
                bootstrap=bootstrap,
                seed=seed,
            )
            out[key] = Metric.model_validate(entry)
    rated = [key for key in metrics if key.startswith(VCGPT_PREFIX)]
    ratings = [r for r in (vcgpt_ratings(clip_scores.get(i, {})) for i in ids) if r]
    if rated and ratings:
        from fecbench.metrics.events import vcgpt_entries

        entries = vcgpt_entries(ratings, n_failed=failed + len(ids) - len(ratings), bootstrap=bootstrap, seed=seed)
        for key in rated:
            rated_entry = entries.get(key.removeprefix(VCGPT_PREFIX))
            if rated_entry is not None:
                out[key] = Metric.model_validate({**rated_entry, "version": metrics[key].version})
    return out


RANK_KEYS = ("tem", "cider", "rouge_l")


def clip_value(clip: dict[str, Any], key: str) -> float | None:
    """A clip's own score on ``key``: TEM's clip F1 (of its recall and precision), or the n-gram value."""
    if key in EVENT:
        sides = event_sides(clip, key)
        return f_measure(*sides) if sides is not None else None
    value = clip.get(key)
    return float(value) if isinstance(value, int | float) else None


def pick_examples(
    predictions: list[dict[str, Any]], clip_scores: dict[str, dict[str, Any]], count: int
) -> Examples | None:
    """The ``count`` worst and ``count`` best scored clips (ties by id), with their explanations.

    Clips are ordered by TEM's clip F1 when the run was judged, else by CIDEr-D, else by ROUGE-L.
    """
    scored = [(p, clip_scores[str(p["id"])]) for p in predictions if is_scored(p) and str(p["id"]) in clip_scores]
    for key in RANK_KEYS:
        ranked = [(v, str(p["id"]), p) for p, c in scored if (v := clip_value(c, key)) is not None]
        if ranked:
            break
    else:
        return None
    ranked.sort(key=lambda item: (item[0], item[1]))
    worst = ranked[:count]
    best = list(reversed(ranked[max(len(worst), len(ranked) - count) :]))
    return Examples(
        ranked_by=key,
        worst=[_example(p, clip_scores[i]) for _, i, p in worst],
        best=[_example(p, clip_scores[i]) for _, i, p in best],
    )


def _example(prediction: dict[str, Any], clip: dict[str, Any]) -> ClipExample:
    scores: dict[str, float | None] = {k: float(clip[k]) for k in NGRAM if isinstance(clip.get(k), int | float)}
    for key in EVENT:
        sides = event_sides(clip, key)
        if sides is not None:
            scores[f"{key}_recall"], scores[f"{key}_precision"] = sides
            scores[key] = f_measure(*sides)
    scores.update({VCGPT_PREFIX + k: v for k, v in vcgpt_ratings(clip).items()})
    events = clip.get("events")
    if not (isinstance(events, dict) and all(isinstance(events.get(s), list) for s in ("reference", "prediction"))):
        events = None  # judge-free, or the judge failed to extract one side: no event explanation to show
    autodq, tem = clip.get("autodq"), clip.get("tem")
    return ClipExample.model_validate(
        {
            "id": str(prediction["id"]),
            "source": clip_source(prediction),
            "video": str(prediction.get("video", "")),
            "reference": str(prediction.get("reference", "")),
            "prediction": str(prediction.get("prediction", "")),
            "scores": scores,
            "events": events,
            "autodq": _pick(autodq, ("reference_labels", "prediction_labels")) if events and autodq else None,
            "tem": _pick(tem, ("alignment", "matched", "out_of_order", "repeated", "missed", "contradicted"))
            if events and tem
            else None,
            "judge_failures": [_failure_text(f) for f in clip.get("judge_failures") or []],
        }
    )


def _pick(entry: Any, keys: Iterable[str]) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    return {k: entry[k] for k in keys if k in entry}


def _failure_text(failure: Any) -> str:
    if isinstance(failure, dict):
        return "; ".join(f"{k}: {v}" for k, v in failure.items() if not isinstance(v, dict | list))
    return str(failure)
