"""Everything the pages show, computed in Python before any template runs.

Every number on the site comes from one table: :func:`fecbench.results.frame` of the records, the
same frame ``fecbench leaderboard export`` writes and ``fecbench.results.load`` returns, so the
page, the export and the API cannot disagree. Rankings, per-source tables, reported tables and
charts are selections of its rows; the records supply only names, specs and example clips.

Templates only lay out what this module hands them (text, numbers already formatted, sort keys,
CSS classes from a fixed set), so a page's logic can be tested without a browser and no value
from a record ever chooses markup. Strings from records stay plain strings here; jinja2's
autoescaping turns them into text on the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fecbench.results import MEASURED, REPORTED, SOURCE_ALL, frame
from fecbench_leaderboard.catalog import RANKING_ORDER, info, ordered
from fecbench_leaderboard.charts import ChartGroup, ChartRow, interval_chart
from fecbench_leaderboard.comparepages import Comparisons, compare_pages, tie_marks, track_comparisons
from fecbench_leaderboard.records import ReportedSet, RunRecord
from fecbench_leaderboard.runpage import run_page
from fecbench_leaderboard.tracks import Track, group_tracks, judge_check_label
from fecbench_leaderboard.views import (
    DASH,
    Cell,
    ChartSection,
    ReportedRowView,
    ReportedView,
    Row,
    Site,
    TrackView,
    frame_cell,
    safe_url,
    visual_tokens_cell,
)

Rows = list[Mapping[str, Any]]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "run"


def frame_rows(records: list[RunRecord], reported: list[ReportedSet]) -> tuple[Rows, Rows]:
    """The results table's rows as plain dicts (missing values as None): measured ones per record, reported."""
    table = frame(records, reported)
    plain = table.astype(object).where(table.notna(), None)
    rows = plain.to_dict("records")
    measured = [r for r in rows if r["kind"] == MEASURED]
    return measured, [r for r in rows if r["kind"] == REPORTED]


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
    measured, reported_rows = _rows_by_record(records, reported)
    views, pages, compares = [], [], []
    for track in tracks:
        view, comparisons = _track_view(track, slugs, measured)
        view.compares, track_compares = compare_pages(track, view, slugs, comparisons)
        compares += track_compares
        views.append(view)
        pages += [run_page(r, view, slugs[id(r)], measured[id(r)]) for r in track.records]
    reported_views = [_reported_view(i, r, reported_rows[i - 1]) for i, r in enumerate(reported, start=1)]
    used = {key for rows in measured.values() for key in (r["metric"] for r in rows)}
    used |= {r["metric"] for rows in reported_rows for r in rows}
    return Site(
        standard=[v for v in views if v.standard],
        other=[v for v in views if not v.standard],
        reported=reported_views,
        runs=pages,
        charts=_charts(views, reported_views, tracks, measured),
        metrics=[info(k) for k in ordered(used | set(RANKING_ORDER))],
        counts={"runs": len(records), "tracks": len(tracks), "reported": sum(len(r.rows) for r in reported)},
        compares=compares,
    )


def _rows_by_record(records: list[RunRecord], reported: list[ReportedSet]) -> tuple[dict[int, Rows], list[Rows]]:
    """The frame's rows grouped by the record (or reported set) they came from, in frame order."""
    measured_rows, reported_rows = frame_rows(records, reported)
    measured: dict[int, Rows] = {id(r): [] for r in records}
    counts = [len(r.metrics) + sum(len(s.metrics) for s in r.per_source) for r in records]
    if sum(counts) != len(measured_rows):
        raise AssertionError("the results table does not hold one row per metric and source of each record")
    start = 0
    for record, count in zip(records, counts, strict=True):
        measured[id(record)] = measured_rows[start : start + count]
        start += count
    sets: list[Rows] = []
    start = 0
    for reported_set in reported:
        count = sum(len(row.metrics) for row in reported_set.rows)
        sets.append(reported_rows[start : start + count])
        start += count
    return measured, sets


def _overall(rows: Rows) -> dict[str, Mapping[str, Any]]:
    return {r["metric"]: r for r in rows if r["source"] == SOURCE_ALL}


def _ranking_metric(records: list[RunRecord], measured: dict[int, Rows]) -> str | None:
    for key in RANKING_ORDER:
        values = [_overall(measured[id(r)]).get(key, {}).get("value") for r in records]
        if all(v is not None for v in values):
            return key
    return None


def _track_view(track: Track, slugs: dict[int, str], measured: dict[int, Rows]) -> tuple[TrackView, Comparisons]:
    """The track's ranking (with ties) and the paired comparisons its ties and compare pages are made of."""
    ranked_by = _ranking_metric(track.records, measured)
    overall = {id(r): _overall(measured[id(r)]) for r in track.records}

    def order(record: RunRecord) -> tuple[float, str]:
        value = overall[id(record)][ranked_by]["value"] if ranked_by else None
        return (-(value if value is not None else float("-inf")), record.name)

    present = {k for o in overall.values() for k in o}
    # a column no run of the track has a value for (a judge that cannot rate) becomes one note
    columns = ordered({k for k in present if any(o.get(k, {}).get("value") is not None for o in overall.values())})
    by_reason: dict[str, list[str]] = {}
    for key in ordered(present):
        if key not in columns:
            reasons = {o[key]["unsupported"] or "no clip scored" for o in overall.values() if key in o}
            by_reason.setdefault("; ".join(sorted(reasons)), []).append(info(key).label)
    missing = [f"{', '.join(labels)} ({reason})" for reason, labels in by_reason.items()]
    ranked = sorted(track.records, key=order)
    track.records[:] = ranked  # pages, compares and charts follow the ranking
    comparisons = track_comparisons(ranked)
    ties, rule = tie_marks(ranked, ranked_by, comparisons)
    rows = [
        Row(
            rank=rank,
            tied=tie is not None,
            tie_note=tie or "",
            name=record.name,
            href=f"runs/{slugs[id(record)]}.html",
            model=record.model.name,
            checkpoint=record.model.checkpoint or DASH,
            n=record.n,
            n_failed=record.n_failed,
            failures="; ".join(f"{k}: {v}" for k, v in record.failures.items()),
            cells={
                k: frame_cell(k, overall[id(record)].get(k), run_n=record.n, run_failed=record.n_failed)
                for k in columns
            },
            visual_tokens=visual_tokens_cell(record),
        )
        for rank, (record, tie) in enumerate(zip(ranked, ties, strict=True), start=1)
    ]
    judge = track.records[0].judge if track.records else None
    view = TrackView(
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
        judge_backend=judge.backend if judge else "",
        tie_rule=rule,
        judge_check=judge_check_label(track.records),
    )
    return view, comparisons


def _reported_view(index: int, reported: ReportedSet, rows: Rows) -> ReportedView:
    columns = ordered({r["metric"] for r in rows})
    figures: dict[str, dict[str, str]] = {}
    for r in rows:
        figures.setdefault(r["name"], {})[r["metric"]] = r["figure"]
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
                    k: Cell(figures[row.model][k], sort=figures[row.model][k])
                    if k in figures.get(row.model, {})
                    else Cell(DASH, note="not reported")
                    for k in columns
                },
            )
            for row in reported.rows
        ],
    )


JUDGED = ("autodq", "tem")


def _charts(
    views: list[TrackView], reported: list[ReportedView], tracks: list[Track], measured: dict[int, Rows]
) -> list[ChartSection]:
    by_id = {f"track-{t.id}": t for t in tracks}
    sections = []
    for view in views:
        charts = []
        for metric in view.columns:
            points = []
            for record in by_id[view.id].records:
                row = _overall(measured[id(record)]).get(metric.key)
                if row is not None and row["value"] is not None:
                    points.append(ChartRow(record.name, row["value"], row["ci_low"], row["ci_high"]))
            points.sort(key=lambda r: -r.value)
            groups = [ChartGroup("measured by fecbench (95% intervals)", points)]
            # a lexical judge's AutoDQ and TEM are not the paper's: never drawn beside its figures
            if view.standard and not (view.lexical and metric.key in JUDGED):
                groups += _reported_groups(reported, metric.key)
            if points:
                title = f"{metric.label}: {view.title}"
                charts.append((metric, interval_chart(title, groups, maximum=metric.maximum, metric=metric.key)))
        notes = []
        if view.standard:
            notes.append("Reported figures beside the measured ones, never ranked with them.")
        sections.append(ChartSection(view.id, view.title, " ".join(notes), charts, lexical=view.lexical))
    if reported and not any(v.standard for v in views):
        keys = ordered({c.key for r in reported for c in r.columns})
        charts = [
            (
                info(k),
                interval_chart(info(k).label, _reported_groups(reported, k), maximum=info(k).maximum, metric=k),
            )
            for k in keys
        ]
        note = (
            "No standard track has runs yet. As published: measured with a judge, prompt and frame protocol that "
            "are not published; never ranked with measured runs."
        )
        sections.append(ChartSection("reported", "Reported by the authors", note, charts, reported=True))
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
