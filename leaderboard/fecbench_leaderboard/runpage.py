"""A run's page: its metrics and per-source table (from the results table), its spec, its example clips.

The numbers come from the rows of :mod:`fecbench.results` for the run, the same rows the ranking
and the export show; the spec and the clips come from the record itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fecbench_leaderboard.catalog import FEC_BENCH_SOURCES, info, ordered
from fecbench_leaderboard.clip_records import ClipExample
from fecbench_leaderboard.records import RunRecord
from fecbench_leaderboard.views import (
    DASH,
    Cell,
    ClipView,
    EventView,
    MetricLine,
    RunPage,
    SourceRow,
    TrackView,
    fmt,
    frame_cell,
    safe_url,
    visual_tokens_text,
)

Rows = list[Mapping[str, Any]]


def _spec(record: RunRecord, track: TrackView) -> list[tuple[str, str]]:
    model, bench, judge = record.model, record.benchmark, record.judge
    items = [
        ("model", f"{model.name} (adapter {model.adapter or '?'} {model.adapter_version})".strip()),
        ("checkpoint", model.checkpoint or DASH),
        ("model arguments", json.dumps(model.args, ensure_ascii=False, sort_keys=True) if model.args else DASH),
        ("benchmark", track.benchmark),
        ("annotations sha256", bench.annotations_sha256),
        ("frame protocol", track.frames),
        ("visual tokens", visual_tokens_text(record)),
        ("prompt", record.prompt.text),
        ("prompt sha256", record.prompt.sha256),
        (
            "generation",
            json.dumps(record.generation, ensure_ascii=False, sort_keys=True) if record.generation else DASH,
        ),
        ("judge", track.judge),
    ]
    if judge and judge.stats:
        items.append(("judge statistics", ", ".join(f"{k}: {v}" for k, v in judge.stats.items())))
    failures = "; ".join(f"{k}: {v}" for k, v in record.failures.items())
    items += [
        ("clips", f"{record.n_total} selected, {record.n} scored, {record.n_failed} failed"),
        ("failures by cause", failures or "none"),
    ]
    if record.bootstrap:
        b = record.bootstrap
        items.append(
            ("intervals", f"{b.level:.0%} percentile bootstrap over clips, {b.resamples} resamples, seed {b.seed}")
        )
    items += [
        ("scored at", record.timestamps.scored_at or DASH),
        ("recorded at", record.timestamps.recorded_at or DASH),
        ("versions", ", ".join(f"{k} {v}" for k, v in record.versions.items()) or DASH),
        ("run id", record.run_id),
    ]
    if record.notes:
        items.append(("notes", record.notes))
    return items


def run_page(record: RunRecord, track: TrackView, slug: str, rows: Rows) -> RunPage:
    """The page of one run; ``rows`` are the run's rows of the results table (every source)."""
    overall = {r["metric"]: r for r in rows if r["source"] == "all"}
    lines = [
        MetricLine(
            info(k),
            frame_cell(k, r, run_n=r["n"], run_failed=r["n_failed"]),
            r["n"],
            r["n_failed"],
            f"{r['recall']:.4f}" if r["recall"] is not None else DASH,
            f"{r['precision']:.4f}" if r["precision"] is not None else DASH,
            r["metric_version"] or "",
        )
        for k, r in ((k, overall[k]) for k in ordered(set(overall)))
    ]
    by_source: dict[str, dict[str, Mapping[str, Any]]] = {}
    for r in rows:
        if r["source"] != "all":
            by_source.setdefault(r["source"], {})[r["metric"]] = r
    source_keys = ordered({k for metrics in by_source.values() for k in metrics})
    sources = []
    for name, metrics in by_source.items():
        first = next(iter(metrics.values()))
        n, failed = first["clips_scored"], first["clips_failed"]
        cells = {k: frame_cell(k, metrics.get(k), run_n=n, run_failed=failed) for k in source_keys}
        sources.append(SourceRow(name, first["clips"], n, failed, cells))
    present = set(by_source)
    sources += [  # a source whose clips all lack metrics still has a breakdown row in the record
        SourceRow(s.source, s.clips, s.n, s.n_failed, {k: Cell(DASH, note="no clip scored") for k in source_keys})
        for s in record.per_source
        if s.source not in present
    ]
    if record.benchmark.fec_bench:
        present = {s.source for s in sources}
        sources += [
            SourceRow(name, 0, 0, 0, {k: Cell(DASH, note="no clip of this source in the run") for k in source_keys})
            for name in FEC_BENCH_SOURCES
            if name not in present
        ]
    examples = record.examples
    return RunPage(
        slug=slug,
        path=f"runs/{slug}.html",
        record=record,
        track=track,
        metrics=lines,
        source_columns=[info(k) for k in source_keys],
        sources=sources,
        spec=_spec(record, track),
        visual_tokens=visual_tokens_text(record),
        model_url=safe_url(record.model.url),
        ranked_by=info(examples.ranked_by).label if examples else "",
        worst=[clip_view(c) for c in examples.worst] if examples else [],
        best=[clip_view(c) for c in examples.best] if examples else [],
    )


SCORE_LABELS = {
    "cider": "CIDEr",
    "rouge_l": "ROUGE-L",
    "tem": "TEM (clip F1)",
    "tem_recall": "TEM recall",
    "tem_precision": "TEM precision",
    "autodq": "AutoDQ (clip F1)",
    "autodq_recall": "AutoDQ recall",
    "autodq_precision": "AutoDQ precision",
}


def clip_view(clip: ClipExample) -> ClipView:
    """A clip with each event marked: matched, missed, contradicted, out of order (TEM), else AutoDQ's label."""
    scores = [(SCORE_LABELS.get(k) or info(k).label, fmt(v, k)) for k, v in clip.scores.items()]
    reference_events: list[EventView] = []
    predicted_events: list[EventView] = []
    if clip.events is not None:
        ref_labels = clip.autodq.reference_labels if clip.autodq else []
        pred_labels = clip.autodq.prediction_labels if clip.autodq else []
        tem = clip.tem
        matched_k = {k: j for j, k in tem.matched} if tem else {}
        matched_j = {j: k for j, k in tem.matched} if tem else {}
        for k, text in enumerate(clip.events.reference, start=1):
            label = ref_labels[k - 1] if ref_labels else ""
            if tem is not None:
                if k in tem.contradicted:
                    status, note = "contradicted", "contradicted by the prediction"
                elif k in matched_k:
                    status, note = "matched", f"matched in order by predicted event {matched_k[k]}"
                else:
                    status, note = "missed", "missed (no in-order entailed match)"
            else:
                status = {"entailment": "entailed", "contradiction": "contradicted"}.get(label, "missed")
                note = ""
            if label:
                note = f"{note}; AutoDQ: {label}" if note else f"AutoDQ: {label}"
            reference_events.append(EventView(k, text, status, note))
        for j, text in enumerate(clip.events.prediction, start=1):
            label = pred_labels[j - 1] if pred_labels else ""
            if tem is not None:
                entry = tem.alignment[j - 1]
                target = f"reference event {entry.reference}" if entry.reference is not None else "no reference event"
                if j in matched_j:
                    status, note = "matched", f"entails reference event {matched_j[j]}, in order"
                elif j in tem.out_of_order:
                    status, note = "out-of-order", f"entails {target}, told out of order"
                elif j in tem.repeated:
                    status, note = "repeated", f"entails {target}, already matched"
                elif entry.relation == "contradiction":
                    status, note = "contradiction", f"contradicts {target}"
                else:
                    status, note = "unmatched", f"{entry.relation} with {target}"
            else:
                status = {"entailment": "entailed", "contradiction": "contradiction"}.get(label, "unmatched")
                note = ""
            if label:
                note = f"{note}; AutoDQ: {label}" if note else f"AutoDQ: {label}"
            predicted_events.append(EventView(j, text, status, note))
    return ClipView(
        id=clip.id,
        source=clip.source,
        video=clip.video,
        reference=clip.reference,
        prediction=clip.prediction,
        scores=scores,
        reference_events=reference_events,
        predicted_events=predicted_events,
        judged=clip.events is not None,
        judge_failures=clip.judge_failures,
        thumbnail=clip.thumbnail,
    )
