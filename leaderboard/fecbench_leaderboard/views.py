"""The shapes the page templates render: cells, rows, track and run views, the site.

Built by :mod:`fecbench_leaderboard.summarize`; each holds text and numbers already formatted, so
templates only lay them out. ``safe_url``, ``fmt`` and ``frame_cell`` are the formatting rules
every view shares: numbers at their metric's scale (:func:`fecbench.display.format_metric`), never
in scientific notation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from fecbench import __version__
from fecbench.display import format_metric
from fecbench_leaderboard.catalog import MetricInfo
from fecbench_leaderboard.records import RunRecord

DASH = "–"


def safe_url(url: str | None) -> str | None:
    """``url`` when it is a plain http(s) address, else None (then it is shown as text, never linked)."""
    if not url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def fmt(value: float | None, metric: str = "") -> str:
    """A number at ``metric``'s scale (three decimals; the 0-5 ratings two), a dash for none."""
    return DASH if value is None else format_metric(metric, value)


#: shown wherever a score was made by the offline lexical judge
LEXICAL_NOTE = (
    "Scored by the offline lexical judge (rules, no language model): its AutoDQ and TEM measure word and "
    "phrase overlap of events and are not comparable with scores made by an LLM judge, nor with the "
    "authors' reported figures."
)


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


def frame_cell(
    metric: str, row: Mapping[str, Any] | None, *, run_n: int | None = None, run_failed: int | None = None
) -> Cell:
    """The cell of one results-table row (:mod:`fecbench.results`; missing values as None)."""
    if row is None:
        return Cell(DASH, note="not computed for this run")
    value, n, n_failed = row["value"], row["n"], row["n_failed"]
    if value is None:
        return Cell(DASH, n=n, n_failed=n_failed, note=row["unsupported"] or "no clip scored")
    low, high = row["ci_low"], row["ci_high"]
    ci = f"[{fmt(low, metric)}, {fmt(high, metric)}]" if low is not None and high is not None else "no interval"
    detail = run_n is None or n != run_n or n_failed != run_failed
    return Cell(fmt(value, metric), ci, repr(float(value)), n, n_failed, detail=detail)


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
    #: this run is statistically indistinguishable from the one ranked just above (a tie), and why
    tied: bool
    tie_note: str
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
    #: the judge's backend ("lexical" gets a note that its scores stand apart)
    judge_backend: str = ""
    #: how ties were decided in this track, in words
    tie_rule: str = ""
    #: the pre-rendered comparison pages of this track's runs: (label, href)
    compares: list[tuple[str, str]] = field(default_factory=list)
    #: the judge's known-answer check result in words, shown beside the judge (filled by `fecbench judge check`
    #: records; empty: nothing shown)
    judge_check: str = ""

    @property
    def lexical(self) -> bool:
        return self.judge_backend == "lexical"

    @property
    def lexical_note(self) -> str:
        return LEXICAL_NOTE if self.lexical else ""


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
    #: the frames the model saw: a base64 JPEG strip (validated when the record was loaded)
    thumbnail: str | None = None


@dataclass
class SourceRow:
    source: str
    clips: int
    n: int
    n_failed: int
    cells: dict[str, Cell]


@dataclass(frozen=True)
class MetricLine:
    """One line of a run page's metric table, from the results table."""

    info: MetricInfo
    cell: Cell
    n: int
    n_failed: int
    recall: str
    precision: str
    version: str


@dataclass
class RunPage:
    slug: str
    path: str
    record: RunRecord
    track: TrackView
    metrics: list[MetricLine]
    source_columns: list[MetricInfo]
    sources: list[SourceRow]
    spec: list[tuple[str, str]]
    visual_tokens: str
    model_url: str | None
    ranked_by: str
    worst: list[ClipView]
    best: list[ClipView]


@dataclass(frozen=True)
class DiffLine:
    metric: MetricInfo
    source: str
    n: int
    a: str
    b: str
    diff: str
    interval: str
    sign_share: str
    distinguishable: bool


@dataclass(frozen=True)
class MovedView:
    id: str
    source: str
    metric: str
    a: str
    b: str
    delta: str
    reference: str
    prediction_a: str
    prediction_b: str


@dataclass
class ComparePage:
    """Two runs of one track, clip by clip (:mod:`fecbench.compare`)."""

    path: str
    track: TrackView
    a: str
    b: str
    a_href: str
    b_href: str
    shared: int
    resamples: int
    lines: list[DiffLine]
    moved: list[MovedView]


@dataclass
class ChartSection:
    id: str
    title: str
    note: str
    charts: list[tuple[MetricInfo, Markup]]
    #: scored by the offline lexical judge: the page says its scores stand apart
    lexical: bool = False
    #: the authors' reported figures, after every measured track
    reported: bool = False


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
    compares: list[ComparePage] = field(default_factory=list)
