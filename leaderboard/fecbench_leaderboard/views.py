"""The shapes the page templates render: cells, rows, track and run views, the site.

Built by :mod:`fecbench_leaderboard.summarize`; each holds text and numbers already formatted, so
templates only lay them out. ``safe_url``, ``fmt`` and ``metric_cell`` are the formatting rules
every view shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from markupsafe import Markup

from fecbench import __version__
from fecbench.display import format_score
from fecbench_leaderboard.catalog import MetricInfo
from fecbench_leaderboard.records import Metric, RunRecord

DASH = "–"


def safe_url(url: str | None) -> str | None:
    """``url`` when it is a plain http(s) address, else None (then it is shown as text, never linked)."""
    if not url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def fmt(value: float | None) -> str:
    return DASH if value is None else format_score(value)


@dataclass(frozen=True)
class Cell:
    text: str
    ci: str = ""
    sort: str = ""
    n: int | None = None
    n_failed: int | None = None
    note: str = ""
    #: show n and failures under the value (when they differ from the run's)
    detail: bool = False


def metric_cell(metric: Metric | None, *, run_n: int | None = None, run_failed: int | None = None) -> Cell:
    if metric is None:
        return Cell(DASH, note="not computed for this run")
    if metric.value is None:
        return Cell(DASH, n=metric.n, n_failed=metric.n_failed, note=metric.unsupported or "no clip scored")
    ci = f"[{format_score(metric.ci95[0])}, {format_score(metric.ci95[1])}]" if metric.ci95 else "no interval"
    detail = run_n is None or metric.n != run_n or metric.n_failed != run_failed
    return Cell(fmt(metric.value), ci, repr(metric.value), metric.n, metric.n_failed, detail=detail)


def visual_tokens_cell(record: RunRecord) -> Cell:
    """The visual tokens a run's model read per clip: mean, and max beneath; a dash when not reported."""
    tokens = record.visual_tokens
    if tokens is None:
        return Cell(DASH, note="not reported by the adapter (or recorded before fecbench counted them)")
    clips = f" over {tokens.clips} clips" if tokens.clips != record.n_total - record.n_failed else ""
    return Cell(f"{tokens.mean:.0f}", ci=f"max {tokens.max}", sort=repr(tokens.mean), note=f"mean per clip{clips}")


def visual_tokens_text(record: RunRecord) -> str:
    """The same in words, for the run page."""
    tokens = record.visual_tokens
    if tokens is None:
        return "not reported by the adapter"
    return f"{tokens.mean:.1f} per clip on average, at most {tokens.max} ({tokens.clips} clips counted)"


@dataclass
class Row:
    rank: int
    name: str
    href: str
    model: str
    checkpoint: str
    n: int
    n_failed: int
    failures: str
    cells: dict[str, Cell]
    visual_tokens: Cell = field(default_factory=lambda: Cell(DASH))


@dataclass
class TrackView:
    id: str
    title: str
    benchmark: str
    frames: str
    prompt: str
    judge: str
    deviations: list[str]
    standard: bool
    columns: list[MetricInfo]
    ranked_by: MetricInfo | None
    rows: list[Row]
    #: metrics of the track that no run has a value for, with the reason
    not_computed: list[str] = field(default_factory=list)


@dataclass
class ReportedRowView:
    name: str
    llm_size: str
    note: str
    cells: dict[str, Cell]


@dataclass
class ReportedView:
    id: str
    title: str
    citation: str
    url: str | None
    url_text: str
    location: str
    note: str
    caveats: list[str]
    columns: list[MetricInfo]
    rows: list[ReportedRowView]


@dataclass(frozen=True)
class EventView:
    index: int
    text: str
    #: one of: matched, missed, contradicted, entailed, out-of-order, repeated, contradiction, unmatched
    status: str
    note: str


@dataclass
class ClipView:
    id: str
    source: str
    video: str
    reference: str
    prediction: str
    scores: list[tuple[str, str]]
    reference_events: list[EventView]
    predicted_events: list[EventView]
    judged: bool
    judge_failures: list[str]


@dataclass
class SourceRow:
    source: str
    clips: int
    n: int
    n_failed: int
    cells: dict[str, Cell]


@dataclass
class RunPage:
    slug: str
    path: str
    record: RunRecord
    track: TrackView
    metrics: list[tuple[MetricInfo, Cell, Metric | None]]
    source_columns: list[MetricInfo]
    sources: list[SourceRow]
    spec: list[tuple[str, str]]
    visual_tokens: str
    model_url: str | None
    ranked_by: str
    worst: list[ClipView]
    best: list[ClipView]


@dataclass
class ChartSection:
    id: str
    title: str
    note: str
    charts: list[tuple[MetricInfo, Markup]]


@dataclass
class Site:
    standard: list[TrackView]
    other: list[TrackView]
    reported: list[ReportedView]
    runs: list[RunPage]
    charts: list[ChartSection]
    metrics: list[MetricInfo]
    version: str = __version__
    counts: dict[str, int] = field(default_factory=dict)
