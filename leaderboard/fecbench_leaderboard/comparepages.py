"""Ties inside a track, and the pre-rendered pages that compare two runs of a track clip by clip.

**Tie rule** (docs/metrics.md, "Ties"): going down a track's ranking, a run is tied with the run
ranked just above it when the 95% paired bootstrap interval of their difference on the ranking
metric contains 0 (:mod:`fecbench.compare`), computed whenever both records carry clip-level scores.
When one of them does not (a record made before fecbench kept them), the rule falls back to the
runs' own 95% intervals overlapping, a weaker test, and the page says which rule was used.

**Which pairs get a page.** A site is static, so a comparison must be computed when it is built.
Every pair of a track of up to :data:`ALL_PAIRS_UP_TO` runs gets a page (10 pages at most); a
larger track gets pages for the pairs of adjacent ranks (the pairs the tie rule decides, computed
once for both), since the pairs grow quadratically and each costs a paired bootstrap of every metric
and source (CIDEr-D recomputed per resample: about 30 s per pair on 800 clips here). Any other pair
is one command away: ``fecbench compare A B``.
"""

from __future__ import annotations

from itertools import combinations, pairwise

from fecbench.compare import Comparison, compare_records
from fecbench.display import format_metric
from fecbench_leaderboard.catalog import info
from fecbench_leaderboard.records import RunRecord
from fecbench_leaderboard.tracks import Track
from fecbench_leaderboard.views import ComparePage, DiffLine, MovedView, TrackView

ALL_PAIRS_UP_TO = 5


def _paired_tie(result: Comparison, metric: str) -> str | None:
    """None when distinguishable, else why the pair is tied (its paired interval contains 0)."""
    diff = result.overall(metric)
    if diff is None or diff.n < 2 or diff.ci_low is None or diff.ci_high is None:
        return f"fewer than 2 shared clips with {info(metric).label}: not separable"
    if diff.distinguishable:
        return None
    low, high = format_metric(metric, diff.ci_low, signed=True), format_metric(metric, diff.ci_high, signed=True)
    return f"paired 95% interval of the {info(metric).label} difference, [{low}, {high}], contains 0"


def _overlap_tie(upper: RunRecord, lower: RunRecord, metric: str) -> str | None:
    a, b = upper.metrics.get(metric), lower.metrics.get(metric)
    if a is None or b is None or a.ci95 is None or b.ci95 is None:
        return f"no interval for {info(metric).label}: not separable"
    if a.ci95[0] <= b.ci95[1] and b.ci95[0] <= a.ci95[1]:
        return f"their 95% {info(metric).label} intervals overlap (no clip-level scores for a paired interval)"
    return None


Comparisons = dict[tuple[int, int], Comparison]


def track_comparisons(ranked: list[RunRecord]) -> Comparisons:
    """The paired comparisons of a ranked track's pairs that get a page, keyed by (id(upper), id(lower))."""
    return {(id(upper), id(lower)): compare_records(lower, upper) for upper, lower in _pairs(ranked)}


def tie_marks(ranked: list[RunRecord], metric: str | None, comparisons: Comparisons) -> tuple[list[str | None], str]:
    """Per ranked run, why it is tied with the run above (None: not tied, or first); and the rule used."""
    marks: list[str | None] = [None]
    used: set[str] = set()
    if metric is None:
        return [None] * len(ranked), ""
    for upper, lower in pairwise(ranked):
        result = comparisons.get((id(upper), id(lower)))
        if result is not None:
            used.add("paired")
            marks.append(_paired_tie(result, metric))
        else:
            used.add("overlap")
            marks.append(_overlap_tie(upper, lower, metric))
    label = info(metric).label
    rules = {
        "paired": f"the 95% paired bootstrap interval of their {label} difference over shared clips contains 0",
        "overlap": f"their 95% {label} intervals overlap (records without clip-level scores)",
    }
    if len(ranked) < 2:
        return marks, ""
    text = " or ".join(rules[k] for k in ("paired", "overlap") if k in used)
    return marks, f"≈ marks a run tied with the run ranked just above it: {text}."


def _pairs(ranked: list[RunRecord]) -> list[tuple[RunRecord, RunRecord]]:
    """(higher-ranked, lower-ranked) pairs that get a page: all pairs of a small track, else adjacent ranks;
    only pairs whose records both carry clip-level scores."""
    pairs = combinations(ranked, 2) if len(ranked) <= ALL_PAIRS_UP_TO else pairwise(ranked)
    return [(upper, lower) for upper, lower in pairs if upper.clips and lower.clips]


def compare_pages(
    track: Track, view: TrackView, slugs: dict[int, str], comparisons: Comparisons
) -> tuple[list[tuple[str, str]], list[ComparePage]]:
    """The track's compare pages (B = the higher-ranked run, A = the other) and their links."""
    pages, links = [], []
    by_id = {id(r): r for r in track.records}
    for (upper_id, lower_id), result in comparisons.items():
        upper, lower = by_id[upper_id], by_id[lower_id]
        path = f"compare/{slugs[id(upper)]}--vs--{slugs[id(lower)]}.html"
        pages.append(_page(result, view, path, slugs[id(lower)], slugs[id(upper)]))
        links.append((f"{upper.name} vs {lower.name}", path))
    return links, pages


def _page(result: Comparison, view: TrackView, path: str, a_slug: str, b_slug: str) -> ComparePage:
    lines = []
    for d in result.differences:
        interval = (
            f"[{format_metric(d.metric, d.ci_low, signed=True)}, {format_metric(d.metric, d.ci_high, signed=True)}]"
            if d.ci_low is not None and d.ci_high is not None
            else "no interval"
        )
        lines.append(
            DiffLine(
                metric=info(d.metric),
                source=d.source,
                n=d.n,
                a=format_metric(d.metric, d.a),
                b=format_metric(d.metric, d.b),
                diff=format_metric(d.metric, d.diff, signed=True),
                interval=interval,
                sign_share="–" if d.sign_share is None else f"{d.sign_share:.1%}",
                distinguishable=d.distinguishable,
            )
        )
    moved = [
        MovedView(
            id=m.id,
            source=m.source,
            metric=info(m.metric).label,
            a=format_metric(m.metric, m.a),
            b=format_metric(m.metric, m.b),
            delta=format_metric(m.metric, m.delta, signed=True),
            reference=m.reference,
            prediction_a=m.prediction_a,
            prediction_b=m.prediction_b,
        )
        for m in result.moved
    ]
    return ComparePage(
        path=path,
        track=view,
        a=result.a,
        b=result.b,
        a_href=f"runs/{a_slug}.html",
        b_href=f"runs/{b_slug}.html",
        shared=result.shared,
        resamples=result.resamples,
        lines=lines,
        moved=moved,
    )
