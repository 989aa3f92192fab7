"""What a record's numbers must satisfy beyond their types: scales, intervals, counts, the benchmark's identity.

A record arrives by pull request from anyone, and the site ranks and shows what it reads: without
these rules a TEM of 7.5 is ranked first, ``n_failed: 99`` of ``n_total: 4`` is printed as it is,
and a record can claim FEC-Bench's standard track for another annotation file. Each rule yields a
problem as ``field.path: what is wrong``; :func:`fecbench_leaderboard.records.parse_record` turns
them into one error naming the file, so ``leaderboard build`` and ``leaderboard check`` both refuse it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from fecbench.data.fecbench_default import FEC_BENCH_SHA256
from fecbench_leaderboard.catalog import BY_KEY, MetricInfo

if TYPE_CHECKING:
    from fecbench_leaderboard.records import Metric, Record, ReportedSet, RunRecord

#: slack for floating-point rounding (a CIDEr-D of an identical caption may print as 10.000000000000002)
TOLERANCE = 1e-9
#: per-clip score keys that are one side of an F1 (``tem_recall``): on the 0 to 1 scale
SIDES = ("_recall", "_precision")
UNIT = MetricInfo("recall/precision", "recall/precision", "0 to 1", "", 1.0)


def record_problems(record: Record) -> list[str]:
    """Every rule ``record`` breaks, as ``field.path: message`` (empty when it is sound)."""
    from fecbench_leaderboard.records import RunRecord

    if isinstance(record, RunRecord):
        return list(_run_problems(record))
    return list(_reported_problems(record))


def scale_of(key: str) -> MetricInfo | None:
    """The catalogue entry whose scale bounds ``key`` (``tem_recall`` is bounded like a recall); None: unknown."""
    if key in BY_KEY:
        return BY_KEY[key]
    if key.endswith(SIDES) and key.rsplit("_", 1)[0] in BY_KEY:
        return UNIT
    return None


def _outside(value: float, metric: MetricInfo) -> bool:
    low, high = metric.minimum, metric.maximum
    slack = TOLERANCE * max(1.0, abs(value))
    return value < low - slack or (high is not None and value > high + slack)


def _range(metric: MetricInfo) -> str:
    high = "unbounded" if metric.maximum is None else f"{metric.maximum:g}"
    return f"{metric.label}'s scale {metric.minimum:g} to {high}"


def _number(path: str, value: float | None, metric: MetricInfo | None) -> Iterator[str]:
    if value is not None and metric is not None and _outside(value, metric):
        yield f"{path}: {value!r} is outside {_range(metric)}"


def _counts(path: str, n: int, n_failed: int, clips: int, what: str) -> Iterator[str]:
    """Every clip is either scored (``n``) or failed (``n_failed``): the two add up to the clips."""
    if n + n_failed != clips:
        where = f"{path}.n_failed" if path else "n_failed"
        yield f"{where}: n {n} + n_failed {n_failed} is {n + n_failed}, not {what} {clips}"


def _metric_problems(path: str, key: str, metric: Metric, clips: int) -> Iterator[str]:
    scale = scale_of(key)
    yield from _number(f"{path}.value", metric.value, scale)
    for side in ("recall", "precision"):
        yield from _number(f"{path}.{side}", getattr(metric, side), UNIT)
    if metric.ci95 is not None:
        low, high = metric.ci95
        yield from _number(f"{path}.ci95[0]", low, scale)
        yield from _number(f"{path}.ci95[1]", high, scale)
        if metric.value is None:
            yield f"{path}.ci95: an interval without a value"
        elif not low - TOLERANCE * max(1.0, abs(low)) <= metric.value <= high + TOLERANCE * max(1.0, abs(high)):
            yield f"{path}.ci95: [{low!r}, {high!r}] does not contain the value {metric.value!r}"
    if metric.unsupported is not None:
        if metric.value is not None or metric.n:
            yield f"{path}: an unsupported metric has no value and n 0 (got value {metric.value!r}, n {metric.n})"
        return
    yield from _counts(path, metric.n, metric.n_failed, clips, "the clips")
    if metric.n > 0 and metric.value is None:
        yield f"{path}.value: null, but n says {metric.n} clips were scored"
    if metric.n == 0 and metric.value is not None:
        yield f"{path}.value: {metric.value!r}, but n says no clip was scored"


def _run_problems(record: RunRecord) -> Iterator[str]:
    bench = record.benchmark
    if bench.fec_bench != (bench.annotations_sha256 == FEC_BENCH_SHA256):
        claim = "claims" if bench.fec_bench else "denies"
        yield f"benchmark.fec_bench: {claim} FEC-Bench, but annotations_sha256 is {bench.annotations_sha256}"
    if bench.clips > bench.records:
        yield f"benchmark.clips: {bench.clips} clips selected from {bench.records} records"
    if record.n_total != bench.clips:
        yield f"n_total: {record.n_total}, but benchmark.clips is {bench.clips}"
    yield from _counts("", record.n, record.n_failed, record.n_total, "n_total")
    if record.failures and sum(record.failures.values()) != record.n_failed:
        yield f"failures: the causes count {sum(record.failures.values())} clips, but n_failed is {record.n_failed}"
    for key, metric in record.metrics.items():
        yield from _metric_problems(f"metrics.{key}", key, metric, record.n_total)
    yield from _source_problems(record)
    if record.bootstrap is not None and not 0 < record.bootstrap.level < 1:
        yield f"bootstrap.level: {record.bootstrap.level!r} is not between 0 and 1"
    if record.examples is not None:
        for side in ("worst", "best"):
            for i, clip in enumerate(getattr(record.examples, side)):
                for key, value in clip.scores.items():
                    yield from _number(f"examples.{side}[{i}].scores.{key}", value, scale_of(key))


def _source_problems(record: RunRecord) -> Iterator[str]:
    if not record.per_source:
        return
    seen: set[str] = set()
    for i, source in enumerate(record.per_source):
        path = f"per_source[{i}]"
        if source.source in seen:
            yield f"{path}.source: {source.source!r} appears twice"
        seen.add(source.source)
        yield from _counts(path, source.n, source.n_failed, source.clips, "the source's clips")
        for key, metric in source.metrics.items():
            yield from _metric_problems(f"{path}.metrics.{key}", key, metric, source.clips)
    for field in ("clips", "n", "n_failed"):
        total = sum(getattr(s, field) for s in record.per_source)
        expected = record.n_total if field == "clips" else getattr(record, field)
        if total != expected:
            name = "n_total" if field == "clips" else field
            yield f"per_source: the sources' {field} add up to {total}, not the run's {name} {expected}"


def _reported_problems(record: ReportedSet) -> Iterator[str]:
    for i, row in enumerate(record.rows):
        for key, figure in row.metrics.items():
            value = float(figure)
            if not math.isfinite(value):
                yield f"rows[{i}].metrics.{key}: {figure!r} is not a finite number"
            else:
                yield from _number(f"rows[{i}].metrics.{key}", value, scale_of(key))
