"""``fecbench merge``: join the run folders of ``--shard 0/n`` ... ``--shard n-1/n`` into one run folder.

The merged folder is the one the same command without ``--shard`` would have written: the same
identity (so the same run id), every selected clip once, in annotation order, each clip's row
copied as its shard stored it. Nothing is merged on trust: the shards must share the identity and
the clip selection, all ``n`` shards must be there once each, every clip of each shard must have a
result (``ok`` or failed), and no clip may appear in two shards; each error names the folders,
fields or clips at fault.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

from fecbench.data.selection import resolve_annotations, select_clips
from fecbench.errors import ConfigError
from fecbench.runner.folder_lock import LOCK_FILE, hold_run_folder
from fecbench.runner.outputs import (
    RUN_JSON,
    RunResult,
    failure_summary,
    read_spec,
    visual_token_summary,
    write_predictions,
    write_spec,
)
from fecbench.runner.shard import Shard
from fecbench.runner.spec import ExecutionSpec, RunSpec, SubsetSpec, identity_differences
from fecbench.runner.store import ClipResult, RunStore
from fecbench.runner.thumbs import copy_thumbnails

#: Clip ids named in an error before "and N more".
SHOWN = 10


def merge_shards(shard_dirs: list[Path], output: Path) -> RunResult:
    """Check the shards, write the merged run folder (``run.json``, ``store.sqlite``, ``predictions.jsonl``,
    and the merged clips' thumbnail strips, ``thumbs/``).

    The shard folders are held while they are read (a shard still running is refused) and the output
    folder while it is written (:mod:`fecbench.runner.folder_lock`).
    """
    if not shard_dirs:
        raise ConfigError("merge needs the shard run folders to join")
    _check_output(output)
    with ExitStack() as held:
        for folder in shard_dirs:
            if folder.is_dir():
                held.enter_context(hold_run_folder(folder, create=False))
        return _merge_held(shard_dirs, output)


def _merge_held(shard_dirs: list[Path], output: Path) -> RunResult:
    specs = [read_spec(d) for d in shard_dirs]
    shards = [_shard_of(d, spec) for d, spec in zip(shard_dirs, specs, strict=True)]
    base = specs[0]
    for folder, spec in zip(shard_dirs[1:], specs[1:], strict=True):
        _check_same_run(shard_dirs[0], base, folder, spec)
    _check_all_shards(shard_dirs, shards)

    data = resolve_annotations(base.annotations.path)
    if data.sha256 != base.annotations.sha256:
        raise ConfigError(
            f"{base.annotations.path} changed since the shards ran (sha256 {data.sha256[:12]}, "
            f"the shards used {base.annotations.sha256[:12]}); merge needs the annotations they ran on"
        )
    selected = select_clips(data, base.subset.sources, base.subset.limit)
    selected_ids = {clip.id for clip in selected}
    merged: dict[str, ClipResult] = {}
    origins: dict[str, Path] = {}  # clip id -> the shard folder that ran it
    for folder, shard in zip(shard_dirs, shards, strict=True):
        rows = {r.id: r for r in _stored_results(folder)}
        own = [clip.id for clip in shard.select(selected)]
        missing = [clip_id for clip_id in own if clip_id not in rows]
        if missing:
            raise ConfigError(
                f"{folder} (shard {shard.label}) has no result for {len(missing)} of its {len(own)} clips: "
                f"{_some(missing)}; run its command again to finish it, then merge"
            )
        # Shards of one selection are disjoint, so a selected clip outside this shard's share is a duplicate.
        duplicated = sorted((set(rows) & selected_ids) - set(own), key=lambda clip_id: rows[clip_id].index)
        if duplicated:
            raise ConfigError(
                f"{folder} (shard {shard.label}) also holds results for clips of other shards: {_some(duplicated)}; "
                "each clip must come from exactly one shard"
            )
        merged.update((clip_id, rows[clip_id]) for clip_id in own)
        origins.update(dict.fromkeys(own, folder))

    spec = base.model_copy(deep=True)
    spec.subset = SubsetSpec(
        sources=base.subset.sources,
        limit=base.subset.limit,
        clips=len(selected),
        full=len(selected) == len(data),
    )
    results = [merged[clip.id] for clip in selected]
    spec.execution = ExecutionSpec(
        backend="merge",
        merged_from=[str(d.resolve()) for d in shard_dirs],
        visual_tokens=visual_token_summary(results),
    )
    with hold_run_folder(output, discard_on_error=True):
        _check_output(output)  # again, now that no one else can write it
        write_spec(output, spec)
        with RunStore(output) as store:
            store.copy_in(results)
        write_predictions(output, results)
        # the strips the run's pages show (thumbs/), of the merged clips only, in annotation order
        copy_thumbnails({clip.id: origins[clip.id] for clip in selected}, output)
    failed = [r for r in results if r.status != "ok"]
    return RunResult(
        run_dir=output,
        n_clips=len(results),
        n_ok=len(results) - len(failed),
        n_failed=len(failed),
        n_run_now=0,
        failures=failure_summary([r.error or "" for r in failed]),
    )


def _shard_of(folder: Path, spec: RunSpec) -> Shard:
    if not spec.subset.shard:
        raise ConfigError(f"{folder}: not a shard (its {RUN_JSON} has no shard; it was run without --shard)")
    return Shard.parse(spec.subset.shard)


def _check_same_run(first: Path, base: RunSpec, folder: Path, spec: RunSpec) -> None:
    """Same identity (the shard aside) and the same clip selection, or an error listing what differs."""
    differences = identity_differences(base.identity(with_shard=False), spec.identity(with_shard=False))
    for field in ("sources", "limit"):
        ours, theirs = getattr(base.subset, field), getattr(spec.subset, field)
        if ours != theirs:
            differences.append(f"{field}: {ours!r} in {first}, {theirs!r} in {folder}")
    if differences:
        raise ConfigError(
            f"{folder} is not a shard of the same run as {first}. Differences:\n  " + "\n  ".join(differences)
        )


def _check_all_shards(folders: list[Path], shards: list[Shard]) -> None:
    """Every shard index 0..n-1 of one n given exactly once."""
    count = shards[0].count
    given: dict[int, list[Path]] = defaultdict(list)
    for folder, shard in zip(folders, shards, strict=True):
        if shard.count != count:
            raise ConfigError(f"{folders[0]} is shard {shards[0].label} but {folder} is shard {shard.label}")
        given[shard.index].append(folder)
    twice = {index: where for index, where in given.items() if len(where) > 1}
    if twice:
        index, where = min(twice.items())
        raise ConfigError(f"shard {index}/{count} is given {len(where)} times: {', '.join(map(str, where))}")
    missing = [f"{index}/{count}" for index in range(count) if index not in given]
    if missing:
        raise ConfigError(f"missing shard(s) {', '.join(missing)}: merge needs all {count} shard folders")


def _stored_results(folder: Path) -> list[ClipResult]:
    if not (folder / RunStore.FILENAME).is_file():
        raise ConfigError(f"{folder}: no {RunStore.FILENAME}; the shard has not run yet")
    with RunStore(folder) as store:
        return store.results()


def _check_output(output: Path) -> None:
    if output.exists() and (not output.is_dir() or any(e.name != LOCK_FILE for e in output.iterdir())):
        raise ConfigError(f"--output {output} exists and is not empty; merge writes a new run folder")


def _some(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")
