"""``fecbench leaderboard build``: gather records, summarise them, render the site.

Inputs may be record files, folders of records (``results/``, searched recursively: every
``*.json`` in them must be a valid record) and scored run folders (recognised by their
``run.json``, turned into a record on the fly). The paper's reported figures are always shown
unless the caller opts out: when the inputs hold no reported set, the repository's own copy
(``results/reported/``) is used, and a checkout without it is an error that says what to pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fecbench.errors import ConfigError
from fecbench.runner.outputs import RUN_JSON
from fecbench_leaderboard.records import Record, ReportedSet, RunRecord, load_record, record_files
from fecbench_leaderboard.render import render_site
from fecbench_leaderboard.summarize import summarize

#: the repository's copy of the figures published for FEC-Bench (a source checkout or editable install)
DEFAULT_REPORTED_DIR = Path(__file__).resolve().parents[2] / "results" / "reported"


def collect(paths: Iterable[Path]) -> list[tuple[str, Record]]:
    """Every record named by ``paths``, with where it came from; an unusable path is an error."""
    from fecbench_leaderboard.runfolder import make_record

    found: list[tuple[str, Record]] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_file():
            files = [path]
        elif path.is_dir() and (path / RUN_JSON).is_file():
            found.append((str(path), make_record(path)))
            continue
        elif path.is_dir():
            files = record_files(path)
            if not files:
                raise ConfigError(f"{path}: neither a run folder (no {RUN_JSON}) nor a folder of records (no *.json)")
        else:
            raise ConfigError(f"{path}: no such file or folder")
        for file in files:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                found.append((str(file), load_record(file)))
    return found


def default_reported(directory: Path | None = None) -> list[ReportedSet]:
    directory = directory or DEFAULT_REPORTED_DIR
    files = record_files(directory) if directory.is_dir() else []
    sets = [r for r in (load_record(f) for f in files) if isinstance(r, ReportedSet)]
    if not sets:
        raise ConfigError(
            f"the authors' reported figures were not found (looked in {directory}); pass the folder or file that "
            "holds them (results/reported in fecbench's repository), or --no-reported to leave them out"
        )
    return sets


def gather(paths: list[Path], *, reported: bool = True) -> tuple[list[RunRecord], list[ReportedSet]]:
    """The run records and reported sets a site (and its table, :func:`fecbench.results.load`) is made of."""
    if not paths:
        raise ConfigError("give at least one run folder, record file or folder of records")
    records = [r for _, r in collect(paths)]
    runs = [r for r in records if isinstance(r, RunRecord)]
    sets = [r for r in records if isinstance(r, ReportedSet)]
    if not reported:
        sets = []
    elif not sets:
        sets = default_reported()
    return runs, sets


def build_site(paths: list[Path], out_dir: Path, *, reported: bool = True) -> Path:
    """Render the leaderboard of ``paths`` into ``out_dir``; returns the index page."""
    if not paths:
        raise ConfigError("leaderboard build: give at least one run folder, record file or folder of records")
    runs, sets = gather(paths, reported=reported)
    return render_site(summarize(runs, sets), out_dir)
