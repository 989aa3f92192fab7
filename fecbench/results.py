"""Results as data: one tidy pandas DataFrame of run records, run folders and reported rows.

One row per run (or reported row) x metric x source, where source is a FEC-Bench source dataset or
``"all"``. The columns are declared in :data:`COLUMNS` with their dtypes: intervals are two named
columns (``ci_low``, ``ci_high``), every key is a column of its own (``run_id``, ``track_id``,
``metric``, ``source``), never a composite string. The leaderboard's tables are built from this
same frame (:mod:`fecbench_leaderboard.summarize`), so the site, ``fecbench leaderboard export`` and
this function can never disagree.

pandas is imported when a frame is made, not when fecbench is imported; without it the message
says ``pip install 'fecbench[analysis]'``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fecbench.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    import pandas as pd
    from fecbench_leaderboard.records import Metric, ReportedSet, RunRecord

__all__ = ["COLUMNS", "EXPORT_FORMATS", "MEASURED", "REPORTED", "SOURCE_ALL", "export", "frame", "load"]

MEASURED = "measured"
REPORTED = "reported"
SOURCE_ALL = "all"
EXPORT_FORMATS = ("csv", "parquet", "json")
INSTALL = "pip install 'fecbench[analysis]'"

#: every column of the frame, in order, with its pandas dtype (nullable: a reported row has no interval)
COLUMNS: dict[str, str] = {
    "kind": "string",  # "measured" (a run of fecbench) or "reported" (a published figure)
    "run_id": "string",  # a run's identity hash; reported rows: "reported:<set>:<model>"
    "name": "string",  # how the run or reported row is named on the pages
    "model": "string",
    "checkpoint": "string",
    "track_id": "string",  # runs with equal track settings are ranked together; reported rows: <NA>
    "track": "string",  # the track's settings in words
    "standard": "boolean",  # a standard track: FEC-Bench's whole test set, the authors' instruction
    "benchmark": "string",
    "protocol": "string",  # the frame protocol in words
    "judge": "string",  # the judge in words ("no judge ..." for n-gram-only runs)
    "judge_backend": "string",
    "prompt_sha256": "string",
    "metric": "string",  # scores.json key: cider, rouge_l, autodq, tem, vcgpt_<dimension>
    "metric_version": "string",
    "source": "string",  # a FEC-Bench source dataset, or "all"
    "value": "Float64",
    "ci_low": "Float64",  # 95% percentile bootstrap interval over clips
    "ci_high": "Float64",
    "n": "Int64",  # clips scored on this metric
    "n_failed": "Int64",  # clips without a score on this metric (prediction or judge failure)
    "recall": "Float64",  # AutoDQ and TEM: the mean per-clip recall and precision
    "precision": "Float64",
    "clips": "Int64",  # clips selected (run or source)
    "clips_scored": "Int64",  # clips with a prediction (run or source)
    "clips_failed": "Int64",  # clips whose prediction failed (run or source)
    "unsupported": "string",  # why a metric has no value (a judge that cannot rate)
    "figure": "string",  # a reported figure exactly as published ("4.50")
    "reported_set": "string",  # the title of the reported set
}


def pandas() -> Any:
    """The pandas module, or a message that says how to install it."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingDependencyError(f"results as a table need pandas: {INSTALL}") from exc
    return pd


def _metric_row(metric: Metric) -> dict[str, Any]:
    low, high = metric.ci95 if metric.ci95 else (None, None)
    return {
        "metric_version": metric.version,
        "value": metric.value,
        "ci_low": low,
        "ci_high": high,
        "n": metric.n,
        "n_failed": metric.n_failed,
        "recall": metric.recall,
        "precision": metric.precision,
        "unsupported": metric.unsupported,
    }


def _run_rows(record: RunRecord) -> list[dict[str, Any]]:
    from fecbench_leaderboard.catalog import ordered
    from fecbench_leaderboard.tracks import (
        benchmark_label,
        deviations,
        frames_label,
        judge_label,
        prompt_label,
        track_id,
    )

    run = {
        "kind": MEASURED,
        "run_id": record.run_id,
        "name": record.name,
        "model": record.model.name,
        "checkpoint": record.model.checkpoint,
        "track_id": track_id(record),
        "standard": not deviations(record),
        "benchmark": benchmark_label(record),
        "protocol": frames_label(record),
        "judge": judge_label(record),
        "judge_backend": record.judge.backend if record.judge else None,
        "prompt_sha256": record.prompt.sha256,
    }
    run["track"] = " · ".join((str(run["benchmark"]), str(run["protocol"]), prompt_label(record), str(run["judge"])))
    rows = [
        {
            **run,
            "metric": key,
            "source": SOURCE_ALL,
            **_metric_row(record.metrics[key]),
            "clips": record.n_total,
            "clips_scored": record.n,
            "clips_failed": record.n_failed,
        }
        for key in ordered(set(record.metrics))
    ]
    for source in record.per_source:
        counts = {"clips": source.clips, "clips_scored": source.n, "clips_failed": source.n_failed}
        rows += [
            {**run, "metric": key, "source": source.source, **_metric_row(source.metrics[key]), **counts}
            for key in ordered(set(source.metrics))
        ]
    return rows


def _reported_rows(reported: ReportedSet) -> list[dict[str, Any]]:
    from fecbench_leaderboard.catalog import ordered
    from fecbench_leaderboard.summarize import slugify

    rows = []
    for row in reported.rows:
        base = {
            "kind": REPORTED,
            "run_id": f"reported:{slugify(reported.title)}:{slugify(row.model)}",
            "name": row.model,
            "model": row.model,
            "benchmark": reported.benchmark,
            "reported_set": reported.title,
            "source": SOURCE_ALL,
        }
        rows += [
            {**base, "metric": key, "value": float(row.metrics[key]), "figure": row.metrics[key]}
            for key in ordered(set(row.metrics))
        ]
    return rows


def frame(runs: Iterable[RunRecord], reported: Iterable[ReportedSet] = ()) -> pd.DataFrame:
    """The tidy frame of validated records (runs first, in the order given, then reported rows)."""
    pd = pandas()
    rows = [row for record in runs for row in _run_rows(record)]
    rows += [row for reported_set in reported for row in _reported_rows(reported_set)]
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table.astype(COLUMNS)


def load(paths: Iterable[str | Path], *, reported: bool = True) -> pd.DataFrame:
    """The frame of record files, folders of records and scored run folders, exactly as the site shows them.

    As ``fecbench leaderboard build`` does, the authors' reported figures are included (from the
    inputs, else the repository's ``results/reported``) unless ``reported`` is False.
    """
    from fecbench_leaderboard.build import gather

    runs, sets = gather([Path(p) for p in paths], reported=reported)
    return frame(runs, sets)


def export(table: pd.DataFrame, out: str | Path, fmt: str) -> Path:
    """Write the frame as CSV, Parquet (needs pyarrow) or JSON (a list of row objects, null for missing)."""
    out = Path(out)
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        table.to_csv(out, index=False)
    elif fmt == "json":
        out.write_text(table.to_json(orient="records", indent=2) + "\n", encoding="utf-8")
    else:
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError(f"--format parquet needs pyarrow: {INSTALL}") from exc
        table.to_parquet(out, index=False)
    return out
