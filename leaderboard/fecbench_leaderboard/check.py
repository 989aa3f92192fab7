"""``fecbench leaderboard check``: validate result records without building the site, one line per file.

A contributor runs it before opening a pull request; the pull-request workflow for ``results/``
(``scripts/check-records.sh``) runs it on the records the pull request changes (``--changed-since``).
Loading a record already applies every rule (schema, strict types, scales, intervals, counts, the
benchmark claimed, see :mod:`fecbench_leaderboard.validate`), so a record that passes here is one that
``leaderboard build`` accepts. Every file is checked even after a bad one, so one run names them all.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from fecbench.errors import ConfigError
from fecbench.runner.outputs import RUN_JSON
from fecbench_leaderboard.records import Record, ReportedSet, load_record, record_files
from fecbench_leaderboard.tracks import deviations, track_id


@dataclass(frozen=True)
class RecordCheck:
    """One checked file: its summary line when valid, else the error naming the file and the field."""

    path: str
    summary: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def check_records(paths: list[Path], *, changed_since: str | None = None) -> list[RecordCheck]:
    """Check every record under ``paths`` (files, folders of records, scored run folders).

    With ``changed_since`` (a git revision), only the record files that differ from it are checked:
    added or modified since, committed or not, and new untracked files.
    """
    if not paths:
        raise ConfigError("leaderboard check: give at least one record file or folder of records (e.g. results/)")
    targets = _expand(paths)
    if changed_since is not None:
        changed = _changed_files(paths, changed_since)
        targets = [t for t in targets if t.resolve() in changed]
    return [_check(target) for target in targets]


def _expand(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_file() or (path.is_dir() and (path / RUN_JSON).is_file()):
            found.append(path)
        elif path.is_dir():
            found.extend(record_files(path))
        else:
            raise ConfigError(f"{path}: no such file or folder")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _check(path: Path) -> RecordCheck:
    try:
        if path.is_dir():
            from fecbench_leaderboard.runfolder import make_record

            record: Record = make_record(path)
        else:
            record = load_record(path)
    except ConfigError as exc:  # RecordError included: the message names the file and the field
        return RecordCheck(str(path), error=str(exc))
    return RecordCheck(str(path), summary=f"{path}: ok: {summary(record)}")


def summary(record: Record) -> str:
    """What the leaderboard will make of a valid record, in one line."""
    if isinstance(record, ReportedSet):
        metrics = {k for row in record.rows for k in row.metrics}
        rows = len(record.rows)
        return f'reported "{record.title}", {rows} rows, {len(metrics)} metrics (shown beside runs, never ranked)'
    measured = [k for k, m in record.metrics.items() if m.value is not None]
    off_track = deviations(record)
    where = "a standard track" if not off_track else "other settings: " + "; ".join(off_track)
    judge = f"{record.judge.backend} judge {record.judge.model}" if record.judge else "no judge"
    return (
        f'run "{record.name}" (model {record.model.name}), {record.n} of {record.n_total} clips scored, '
        f"{record.n_failed} failed, {len(measured)} metrics with values, {judge}, track {track_id(record)} ({where})"
    )


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError as exc:
        raise ConfigError("--changed-since needs git, which is not installed") from exc
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise ConfigError(f"--changed-since: git {' '.join(args[:2])} failed: {message}")
    return done.stdout


def _changed_files(paths: list[Path], ref: str) -> set[Path]:
    """Files under ``paths`` added or modified since ``ref`` (working tree included), plus untracked ones."""
    cwd = Path.cwd()
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd)
    except ConfigError:
        raise ConfigError(f"--changed-since {ref}: no such commit in {top} (fetch it first?)") from None
    names = [str(p) for p in paths]
    diffed = _git(["diff", "--name-only", "-z", "--no-renames", "--diff-filter=d", ref, "--", *names], cwd)
    untracked = _git(["ls-files", "-z", "--others", "--exclude-standard", "--", *names], cwd)
    changed = {(top / name).resolve() for name in diffed.split("\0") if name}
    changed |= {(cwd / name).resolve() for name in untracked.split("\0") if name}
    return changed
