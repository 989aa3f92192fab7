"""Everything the pages show, computed in Python before any template runs.

Templates only lay out what this module hands them (text, numbers already formatted, sort keys,
CSS classes from a fixed set), so a page's logic can be tested without a browser and no value
from a record ever chooses markup. Strings from records stay plain strings here; jinja2's
autoescaping turns them into text on the page.
"""

from __future__ import annotations

import json
import re

from fecbench_leaderboard.catalog import FEC_BENCH_SOURCES, RANKING_ORDER, info, ordered
from fecbench_leaderboard.charts import ChartGroup, ChartRow, interval_chart
from fecbench_leaderboard.records import ClipExample, ReportedSet, RunRecord
from fecbench_leaderboard.tracks import Track, group_tracks
from fecbench_leaderboard.views import (
    DASH,
    Cell,
    ChartSection,
    ClipView,
    EventView,
    ReportedRowView,
    ReportedView,
    Row,
    RunPage,
    Site,
    SourceRow,
    TrackView,
    fmt,
    metric_cell,
    safe_url,
    visual_tokens_cell,
    visual_tokens_text,
)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "run"


def summarize(records: list[RunRecord], reported: list[ReportedSet]) -> Site:
    """The whole site's content from validated records."""
    tracks = group_tracks(records)
    slugs: dict[int, str] = {}
    taken: set[str] = set()
    for record in records:
        base = f"{slugify(record.name)}-{slugify(record.run_id)[:12]}"
        slug, k = base, 2
        while slug in taken:
            slug, k = f"{base}-{k}", k + 1
        taken.add(slug)
        slugs[id(record)] = slug
    views = [_track_view(t, slugs) for t in tracks]
    reported_views = [_reported_view(i, r) for i, r in enumerate(reported, start=1)]
    pages = [
        _run_page(record, view, slugs[id(record)])
        for track, view in zip(tracks, views, strict=True)
        for record in track.records
    ]
    used = {key for r in records for key in r.metrics} | {
        key for r in reported for row in r.rows for key in row.metrics
    }
    return Site(
        standard=[v for v in views if v.standard],
        other=[v for v in views if not v.standard],
        reported=reported_views,
        runs=pages,
        charts=_charts(views, reported_views, tracks),
        metrics=[info(k) for k in ordered(used | set(RANKING_ORDER))],
        counts={"runs": len(records), "tracks": len(tracks), "reported": sum(len(r.rows) for r in reported)},
    )


def _ranking_metric(records: list[RunRecord]) -> str | None:
    for key in RANKING_ORDER:
        if all(r.metrics.get(key) is not None and r.metrics[key].value is not None for r in records):
            return key
    return None


def _track_view(track: Track, slugs: dict[int, str]) -> TrackView:
    ranked_by = _ranking_metric(track.records)

    def order(record: RunRecord) -> tuple[float, str]:
        value = record.metrics[ranked_by].value if ranked_by else None
        return (-(value if value is not None else float("-inf")), record.name)

    present = {k for r in track.records for k in r.metrics}
    # a column no run of the track has a value for (a judge that cannot rate) becomes one note
    columns = ordered({k for k in present if any(_has_value(r, k) for r in track.records)})
    by_reason: dict[str, list[str]] = {}
    for key in ordered(present):
        if key not in columns:
            by_reason.setdefault(_reason(track.records, key), []).append(info(key).label)
    missing = [f"{', '.join(labels)} ({reason})" for reason, labels in by_reason.items()]
    rows = [
        Row(
            rank=rank,
            name=record.name,
            href=f"runs/{slugs[id(record)]}.html",
            model=record.model.name,
            checkpoint=record.model.checkpoint or DASH,
            n=record.n,
            n_failed=record.n_failed,
            failures="; ".join(f"{k}: {v}" for k, v in record.failures.items()),
            cells={k: metric_cell(record.metrics.get(k), run_n=record.n, run_failed=record.n_failed) for k in columns},
            visual_tokens=visual_tokens_cell(record),
        )
        for rank, record in enumerate(sorted(track.records, key=order), start=1)
    ]
    return TrackView(
        id=f"track-{track.id}",
        title=track.title,
        benchmark=track.benchmark,
        frames=track.frames,
        prompt=track.prompt,
        judge=track.judge,
        deviations=track.deviations,
        standard=track.standard,
        columns=[info(k) for k in columns],
        ranked_by=info(ranked_by) if ranked_by else None,
        rows=rows,
        not_computed=missing,
    )


def _has_value(record: RunRecord, key: str) -> bool:
    metric = record.metrics.get(key)
    return metric is not None and metric.value is not None


def _reason(records: list[RunRecord], key: str) -> str:
    reasons = {r.metrics[key].unsupported or "no clip scored" for r in records if key in r.metrics}
    return "; ".join(sorted(reasons))


def _reported_view(index: int, reported: ReportedSet) -> ReportedView:
    columns = ordered({k for row in reported.rows for k in row.metrics})
    return ReportedView(
        id=f"reported-{index}",
        title=reported.title,
        citation=reported.source.citation,
        url=safe_url(reported.source.url),
        url_text=reported.source.url or "",
        location=reported.source.location,
        note=reported.source.note,
        caveats=reported.caveats,
        columns=[info(k) for k in columns],
        rows=[
            ReportedRowView(
                name=row.model,
                llm_size=row.llm_size or DASH,
                note=row.note,
                cells={
                    k: Cell(row.metrics[k], sort=row.metrics[k])
                    if k in row.metrics
                    else Cell(DASH, note="not reported")
                    for k in columns
                },
            )
            for row in reported.rows
        ],
    )


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


def _run_page(record: RunRecord, track: TrackView, slug: str) -> RunPage:
    metrics = [(k, record.metrics[k]) for k in ordered(set(record.metrics))]
    source_keys = ordered({k for s in record.per_source for k in s.metrics})
    sources = [
        SourceRow(
            s.source,
            s.clips,
            s.n,
            s.n_failed,
            {k: metric_cell(s.metrics.get(k), run_n=s.n, run_failed=s.n_failed) for k in source_keys},
        )
        for s in record.per_source
    ]
    if record.benchmark.fec_bench:
        present = {s.source for s in record.per_source}
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
        metrics=[(info(k), metric_cell(m, run_n=m.n, run_failed=m.n_failed), m) for k, m in metrics],
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
    scores = [(SCORE_LABELS.get(k) or info(k).label, fmt(v)) for k, v in clip.scores.items()]
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
    )


def _charts(views: list[TrackView], reported: list[ReportedView], tracks: list[Track]) -> list[ChartSection]:
    by_id = {f"track-{t.id}": t for t in tracks}
    sections = []
    for view in views:
        charts = []
        for metric in view.columns:
            measured = []
            for record in by_id[view.id].records:
                m = record.metrics.get(metric.key)
                if m is not None and m.value is not None:
                    low, high = m.ci95 if m.ci95 else (None, None)
                    measured.append(ChartRow(record.name, m.value, low, high))
            measured.sort(key=lambda r: -r.value)
            groups = [ChartGroup("measured by fecbench (95% intervals)", measured)]
            if view.standard:
                groups += _reported_groups(reported, metric.key)
            if measured:
                charts.append((metric, interval_chart(f"{metric.label}: {view.title}", groups, maximum=metric.maximum)))
        note = "Reported figures beside the measured ones, never ranked with them." if view.standard else ""
        sections.append(ChartSection(view.id, view.title, note, charts))
    if not any(v.standard for v in views) and reported:
        keys = ordered({c.key for r in reported for c in r.columns})
        charts = [
            (info(k), interval_chart(info(k).label, _reported_groups(reported, k), maximum=info(k).maximum))
            for k in keys
        ]
        sections.append(ChartSection("reported", "Reported by the authors", "No standard track has runs yet.", charts))
    return sections


def _reported_groups(reported: list[ReportedView], key: str) -> list[ChartGroup]:
    groups = []
    for view in reported:
        rows = [
            ChartRow(row.name, float(row.cells[key].sort), reported=True, text=row.cells[key].text)
            for row in view.rows
            if key in row.cells and row.cells[key].sort
        ]
        rows.sort(key=lambda r: -r.value)
        groups.append(ChartGroup(f"reported by the authors: {view.title}", rows))
    return groups
