"""Interval charts as inline SVG, drawn in Python: no JavaScript library, no CDN, nothing fetched.

One chart shows one metric: a dot per measured run with its 95% interval as a whisker, and the
figures reported by others as hollow diamonds in a group of their own (they publish no interval).
Every label is escaped here, since SVG inlined in HTML is markup like any other. Numbers are
written at their metric's scale, and the chart is as wide as its longest value text needs, so no
label is ever cut at the SVG's edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from fecbench.display import decimals, format_metric

WIDTH = 800
LABEL_X = 8
LABEL_CHARS = 38
PLOT_LEFT = 270
PLOT_RIGHT = 600
VALUE_X = 612
ROW = 20
TOP = 14
AXIS = 26
#: a generous width per character of the 12px labels (digits and brackets are narrower)
CHAR_WIDTH = 7.5
MARGIN = 12


@dataclass(frozen=True)
class ChartRow:
    label: str
    value: float
    low: float | None = None
    high: float | None = None
    reported: bool = False
    #: the value as published (reported figures keep their printed digits)
    text: str = ""


@dataclass(frozen=True)
class ChartGroup:
    title: str
    rows: list[ChartRow]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``value`` (axis end)."""
    if value <= 0:
        return 1.0
    power: float = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * (1 - 1e-12):
            return step * power
    return 10 * power


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _num(x: float) -> str:
    return f"{x:.2f}"


def interval_chart(title: str, groups: list[ChartGroup], *, maximum: float | None = None, metric: str = "") -> Markup:
    """An SVG chart of one metric; ``maximum`` caps the axis for bounded metrics (ROUGE-L: 1, ratings: 5)."""
    groups = [g for g in groups if g.rows]
    texts = [_value_text(r, metric) for g in groups for r in g.rows]
    width = max(WIDTH, round(VALUE_X + CHAR_WIDTH * max((len(t) for t in texts), default=0) + MARGIN))
    width = max(width, round(LABEL_X + CHAR_WIDTH * max((len(g.title) for g in groups), default=0) + MARGIN))
    tops = [max(r.value, r.high if r.high is not None else r.value) for g in groups for r in g.rows]
    end = nice_ceiling(max(tops, default=1.0))
    if metric:  # an axis finer than the numbers are written would only repeat "0.000"
        end = max(end, 5 * 10 ** -decimals(metric))
    if maximum is not None:
        end = min(end, maximum)

    def x(value: float) -> float:
        return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * max(0.0, min(value, end)) / end

    lines: list[str] = []
    y = TOP
    for group in groups:
        y += ROW
        lines.append(f'<text class="group" x="{LABEL_X}" y="{_num(y - 6)}">{escape(group.title)}</text>')
        for row in group.rows:
            y += ROW
            mid = y - ROW / 2
            label = escape(_shorten(row.label))
            lines.append(
                f'<g class="{"reported" if row.reported else "measured"}"><title>{escape(row.label)}: '
                f"{escape(_value_text(row, metric))}</title>"
                f'<text class="label" x="{LABEL_X}" y="{_num(mid + 4)}">{label}</text>'
            )
            if row.low is not None and row.high is not None:
                lo, hi = x(row.low), x(row.high)
                lines.append(
                    f'<line class="ci" x1="{_num(lo)}" x2="{_num(hi)}" y1="{_num(mid)}" y2="{_num(mid)}"/>'
                    f'<line class="ci" x1="{_num(lo)}" x2="{_num(lo)}" y1="{_num(mid - 4)}" y2="{_num(mid + 4)}"/>'
                    f'<line class="ci" x1="{_num(hi)}" x2="{_num(hi)}" y1="{_num(mid - 4)}" y2="{_num(mid + 4)}"/>'
                )
            cx = x(row.value)
            if row.reported:
                points = f"{_num(cx)},{_num(mid - 5)} {_num(cx + 5)},{_num(mid)} {_num(cx)},{_num(mid + 5)} "
                points += f"{_num(cx - 5)},{_num(mid)}"
                lines.append(f'<polygon class="mark" points="{points}"/>')
            else:
                lines.append(f'<circle class="mark" cx="{_num(cx)}" cy="{_num(mid)}" r="4"/>')
            lines.append(
                f'<text class="value" x="{VALUE_X}" y="{_num(mid + 4)}">{escape(_value_text(row, metric))}</text></g>'
            )
    axis_y = y + 8
    ticks = []
    for i in range(6):
        value = end * i / 5
        tx = x(value)
        ticks.append(
            f'<line class="grid" x1="{_num(tx)}" x2="{_num(tx)}" y1="{TOP}" y2="{_num(axis_y)}"/>'
            f'<text class="tick" x="{_num(tx)}" y="{_num(axis_y + 14)}">{escape(_tick(value))}</text>'
        )
    height = axis_y + AXIS
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {_num(height)}" '
        f'width="{width}" height="{_num(height)}" role="img" aria-label="{escape(title)}">'
        + "".join(ticks)
        + f'<line class="axis" x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{_num(axis_y)}" y2="{_num(axis_y)}"/>'
        + "".join(lines)
        + "</svg>"
    )


def _value_text(row: ChartRow, metric: str = "") -> str:
    text = row.text or format_metric(metric, row.value)
    if row.low is not None and row.high is not None:
        return f"{text} [{format_metric(metric, row.low)}, {format_metric(metric, row.high)}]"
    return f"{text} (reported)" if row.reported else text


def _tick(value: float) -> str:
    """An axis label in plain decimals (never scientific notation)."""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"
