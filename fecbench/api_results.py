"""The API's results: result records, the leaderboard site, paired comparisons and the results table.

Part of :mod:`fecbench.api`, which re-exports every name; import them from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fecbench.errors import ConfigError


def build_leaderboard(paths: list[str | Path], out_dir: str | Path, *, reported: bool = True) -> Path:
    """Render the leaderboard site from result records, folders of records and scored run folders.

    The authors' reported figures are shown beside the measured runs unless ``reported`` is False.
    Returns the index page.
    """
    from fecbench_leaderboard.build import build_site

    return build_site([Path(p) for p in paths], Path(out_dir), reported=reported)


def check_records(paths: list[str | Path], *, changed_since: str | None = None) -> list[Any]:
    """Validate result records (schema, scales, intervals, counts, track) without building the site.

    Returns one :class:`fecbench_leaderboard.check.RecordCheck` per file (a summary line, or the error
    naming the file and the field); ``changed_since`` (a git revision) keeps the files changed since it.
    """
    from fecbench_leaderboard.check import check_records as check

    return check([Path(p) for p in paths], changed_since=changed_since)


def record_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    name: str | None = None,
    examples: int = 3,
    notes: str = "",
    clips: bool = True,
) -> Path:
    """Write the result record of a scored run folder (default ``results/runs/<name>-<run id>.json``);
    ``clips=False`` leaves out the clip-level captions and scores that paired comparisons need."""
    from fecbench_leaderboard.records import dump_record
    from fecbench_leaderboard.runfolder import make_record
    from fecbench_leaderboard.summarize import slugify

    record = make_record(Path(run_dir), name=name, examples=examples, notes=notes, clips=clips)
    path = Path(out) if out else Path("results") / "runs" / f"{slugify(record.name)}-{record.run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_record(record), encoding="utf-8")
    return path


def leaderboard_server(site_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8000) -> Any:
    """An HTTP server previewing a built site (``serve_forever()`` runs it); port 0 picks a free port."""
    from fecbench_leaderboard.serve import make_server

    return make_server(Path(site_dir), host, port)


def compare(
    run_a: str | Path, run_b: str | Path, *, resamples: int | None = None, seed: int | None = None, moved: int = 5
) -> Any:
    """Paired comparison of two runs of one track (run folders or record files): per metric and source,
    B - A with a paired bootstrap interval and the share of resamples where its sign holds, and the
    clips that moved most. Runs on different tracks are an error that names the settings that differ.
    Returns a :class:`fecbench.compare.Comparison` (``as_dict()`` for JSON)."""
    from fecbench.compare import compare_records, load_run

    if resamples is not None and resamples < 0:
        raise ConfigError(f"--bootstrap must be 0 or more, got {resamples}")
    a, b = load_run(Path(run_a)), load_run(Path(run_b))
    return compare_records(a, b, resamples=resamples, seed=seed, moved=moved)


def results_table(paths: list[str | Path], *, reported: bool = True) -> Any:
    """The tidy pandas DataFrame of runs and reported rows (see :func:`fecbench.results.load`)."""
    from fecbench.results import load

    return load(paths, reported=reported)


def export_results(paths: list[str | Path], out: str | Path, fmt: str, *, reported: bool = True) -> Path:
    """Write the results table as csv, parquet or json (``fecbench leaderboard export``)."""
    from fecbench.results import EXPORT_FORMATS, export, load

    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    return export(load(paths, reported=reported), out, fmt)
