"""fecbench's Python API. The CLI is a thin wrapper over these functions; tests call them directly."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fecbench.adapter import GenerationConfig
from fecbench.data.annotations import Annotations
from fecbench.data.check import SourceReport
from fecbench.data.fecbench_default import FEC_BENCH_SHA256
from fecbench.data.roots import VideoRoots
from fecbench.data.selection import resolve_annotations, select_clips
from fecbench.errors import ConfigError
from fecbench.model_env.recipe import environment_listing
from fecbench.plugins import RegisteredAdapter, get_adapter, listing_row, preflight, unique_adapters
from fecbench.prompts import DEFAULT_INSTRUCTION
from fecbench.runner.outputs import RunResult
from fecbench.runner.spec import (
    AnnotationsSpec,
    GenerationSpec,
    ModelEnvSpec,
    ModelSpec,
    RunSpec,
    SubsetSpec,
    installed_versions,
    public_model_args,
)
from fecbench.scoring import DEFAULT_JUDGE
from fecbench.video.protocol import FrameProtocol

if TYPE_CHECKING:
    from fecbench.runner.ray_pool import RayOptions

DEFAULT_RUNS_DIR = Path("runs")


def run(
    model: str,
    *,
    model_args: dict[str, Any] | None = None,
    annotations: str | Path | None = None,
    video_roots: list[str] | tuple[str, ...] = (),
    allow_absolute_videos: bool = False,
    sources: list[str] | None = None,
    frames: int | None = None,
    max_side: int = 448,
    limit: int | None = None,
    batch_size: int | str = 1,
    output: str | Path | None = None,
    prompt: str | None = None,
    max_new_tokens: int = 512,
    seed: int = 0,
    frame_cache: bool = True,
    decode_workers: int = 2,
    thumbnails: bool = True,
    progress: bool = False,
    score: bool = True,
    judge: str | None = DEFAULT_JUDGE,
    judge_args: dict[str, Any] | None = None,
    judge_cache: bool = True,
    concurrency: int | None = None,
    bootstrap: int = 1000,
    shard: str | tuple[int, int] | None = None,
    workers: int | None = None,
    ray: str | None = None,
    gpus_per_worker: float | None = None,
    cpus_per_worker: float = 1.0,
    model_env: str | Path | None = None,
) -> RunResult:
    """Run ``model`` over the benchmark clips, resuming whatever an earlier run of the same spec finished.

    With ``score``, the run is scored at the end as :func:`score` does (``judge=None``: n-gram only).
    ``batch_size="auto"`` finds the largest batch that fits in memory. ``shard="i/n"`` runs shard
    ``i`` (0-based) of ``n`` of the selected clips (join the shards with :func:`merge`). ``ray``
    (``"local"``, ``"auto"`` or a cluster address) and/or ``workers`` > 1 run ``workers`` model
    replicas data-parallel on Ray, each with ``gpus_per_worker`` GPUs (see docs/scaling.md).
    ``thumbnails`` writes a small JPEG strip of each clip's frames into ``thumbs/`` (local runs).
    ``allow_absolute_videos``: read absolute ``video`` paths (refused by default, docs/data.md).
    ``model_env`` (a virtual environment's folder or a Python executable) runs the adapter in that
    interpreter, as a worker process the run drives (see docs/model-env.md); it is recorded in
    run.json but is not part of the run's identity.
    """
    from fecbench.model_env.interpreter import ModelEnv
    from fecbench.runner.batching import BatchSize
    from fecbench.runner.execute import execute_run
    from fecbench.runner.folder_lock import hold_run_folder
    from fecbench.runner.replica import ReplicaConfig
    from fecbench.runner.shard import Shard

    entry = get_adapter(model)
    env = ModelEnv.resolve(model_env) if model_env is not None else None
    if score and judge is not None:
        from fecbench.errors import MissingDependencyError
        from fecbench.judges.registry import get_judge

        judge_entry = get_judge(judge)  # an unknown judge fails now, not after the model has run
        if judge_entry.missing_requirements():
            missing = ", ".join(judge_entry.missing_requirements())
            raise MissingDependencyError(f"judge {judge!r} needs {missing}: {judge_entry.spec.install_hint}")
    batch = BatchSize.parse(batch_size)
    ray_options = _ray_options(ray, workers, gpus_per_worker, cpus_per_worker)
    chosen_shard = Shard.parse(shard) if shard is not None else None
    data = resolve_annotations(annotations)
    clips = select_clips(data, sources, limit)
    if chosen_shard is not None:
        clips = chosen_shard.select(clips)
    roots = VideoRoots.parse(list(video_roots), allow_absolute=allow_absolute_videos)
    try:
        protocol = FrameProtocol(num_frames=frames or entry.spec.default_frames, max_side=max_side)
    except ValueError as exc:
        raise ConfigError(f"--frames/--max-side: {exc}") from exc
    spec = RunSpec(
        model=ModelSpec(
            name=entry.spec.name,
            args=public_model_args(model_args or {}),
            provider=entry.provider,
            provider_version=entry.provider_version,
            factory=entry.spec.factory,
        ),
        annotations=AnnotationsSpec(
            path=str(data.path.resolve()),
            sha256=data.sha256,
            records=len(data),
            fec_bench=data.sha256 == FEC_BENCH_SHA256,
        ),
        subset=SubsetSpec(
            sources=sources or None,
            limit=limit,
            clips=len(clips),
            full=len(clips) == len(data),
            shard=chosen_shard.label if chosen_shard else None,
        ),
        frame_protocol=protocol.as_dict(),
        prompt=prompt or DEFAULT_INSTRUCTION,
        generation=GenerationSpec(max_new_tokens=max_new_tokens, seed=seed),
        batch_size=batch.spec_value,
        video_roots=roots.describe(),
        versions=installed_versions(),
        model_env=ModelEnvSpec(path=env.given, python=env.python) if env else None,
    )
    # "facetrack:qwen2-vl" -> "facetrack+qwen2-vl": a colon is not allowed in Windows paths
    default_name = f"{entry.spec.name.replace(':', '+')}-{data.path.stem}-{spec.identity_hash(with_shard=False)}"
    if chosen_shard is not None:
        default_name += f"-{chosen_shard.folder_suffix}"
    run_dir = Path(output) if output else DEFAULT_RUNS_DIR / default_name
    config = ReplicaConfig(
        model=entry.spec.name,
        model_args=dict(model_args or {}),
        protocol=protocol,
        prompt=spec.prompt,
        generation=GenerationConfig(**spec.generation.model_dump()),
        batch=batch,
        frame_cache=frame_cache,
        decode_workers=decode_workers,
        thumbnails=thumbnails,
        model_env=env,
    )
    preflight(entry, dict(model_args or {}), env)  # dependencies and checkpoint, before the folder is made
    with hold_run_folder(run_dir):  # one writer, from the first clip to the scores
        result = execute_run(spec, run_dir, clips, roots, config, ray=ray_options, progress=progress)
        if score:
            from fecbench.scoring import score_run

            result.scores = score_run(
                run_dir,
                judge=judge,
                judge_args=judge_args,
                cache=judge_cache,
                concurrency=concurrency,
                bootstrap=bootstrap,
                seed=seed,
            )
    return result


def _ray_options(
    address: str | None, workers: int | None, gpus_per_worker: float | None, cpus_per_worker: float
) -> RayOptions | None:
    """Ray settings when the run goes to Ray (``ray`` given, or more than one worker), else None."""
    from fecbench.runner.ray_pool import RayOptions

    if address is None and (workers or 1) == 1:
        if gpus_per_worker is not None:
            raise ConfigError("--gpus-per-worker applies to runs on Ray: add --ray or --workers")
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        return None
    return RayOptions(
        address=address or "local", workers=workers, gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker
    )


def merge(
    shard_dirs: list[str | Path],
    output: str | Path,
    *,
    score: bool = True,
    judge: str | None = DEFAULT_JUDGE,
    judge_args: dict[str, Any] | None = None,
    judge_cache: bool = True,
    concurrency: int | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> RunResult:
    """Join the run folders of ``--shard 0/n`` ... ``--shard n-1/n`` into one run folder at ``output``.

    The shards must share one identity and selection and together hold every selected clip exactly
    once; the result is the run folder the same command without ``--shard`` would have written
    (same identity, same predictions), scored as :func:`score` does when ``score``.
    """
    from fecbench.runner.merge import merge_shards

    if score and judge is not None:
        from fecbench.judges.registry import get_judge

        get_judge(judge)  # an unknown judge fails before anything is written
    result = merge_shards([Path(p) for p in shard_dirs], Path(output))
    if score:
        from fecbench.scoring import score_run

        result.scores = score_run(
            result.run_dir,
            judge=judge,
            judge_args=judge_args,
            cache=judge_cache,
            concurrency=concurrency,
            bootstrap=bootstrap,
            seed=seed,
        )
    return result


def import_predictions(
    path: str | Path,
    *,
    annotations: str | Path | None = None,
    out: str | Path | None = None,
    name: str | None = None,
) -> Path:
    """Turn a predictions file made elsewhere (``{id, prediction}`` JSONL or the FEC-Bench authors'
    ``[{video_path, instruction, output}]`` list) into a run folder; returns the folder."""
    from fecbench.data.external_predictions import import_predictions as write_run

    return write_run(path, resolve_annotations(annotations), out, name=name)


def score(
    path: str | Path,
    *,
    annotations: str | Path | None = None,
    out: str | Path | None = None,
    name: str | None = None,
    judge: str | None = DEFAULT_JUDGE,
    judge_args: dict[str, Any] | None = None,
    cache: bool = True,
    concurrency: int | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Score a run folder, or a predictions file made elsewhere (imported first, see :func:`import_predictions`).

    ``judge`` names the judge plugin for AutoDQ, TEM and the Video-ChatGPT scores (None: CIDEr-D and
    ROUGE-L only); ``cache=False`` bypasses the verdict cache. Returns what ``scores.json`` holds.
    """
    from fecbench.scoring import score_run

    path = Path(path)
    if path.is_file():
        path = import_predictions(path, annotations=annotations, out=out, name=name)
    elif annotations is not None or out is not None or name is not None:
        raise ConfigError(f"{path}: annotations, out and name apply to a predictions file, not to a run folder")
    return score_run(
        path,
        judge=judge,
        judge_args=judge_args,
        cache=cache,
        concurrency=concurrency,
        bootstrap=bootstrap,
        seed=seed,
    )


def list_models() -> list[RegisteredAdapter]:
    """Every installed adapter, one entry each (aliases folded)."""
    return unique_adapters()


def model_listing() -> list[dict[str, Any]]:
    """What ``fecbench models`` shows, as plain data: one dict per adapter, dependencies checked without importing."""
    return [
        {
            **listing_row(
                entry,
                default_checkpoint=entry.spec.default_checkpoint,
                default_frames=entry.spec.default_frames,
            ),
            **environment_listing(entry.spec.name, entry.spec.recipe),
        }
        for entry in unique_adapters()
    ]


def judge_listing() -> list[dict[str, Any]]:
    """What ``fecbench judges`` shows, as plain data: one dict per judge, dependencies checked without importing."""
    from fecbench.judges.registry import judge_listing as listing

    return listing()


def check_judge(
    judge: str = DEFAULT_JUDGE,
    judge_args: dict[str, Any] | None = None,
    *,
    annotations: str | Path | None = None,
    n: int = 200,
    seed: int = 0,
    cache: bool = True,
    concurrency: int | None = None,
    bootstrap: int = 1000,
) -> dict[str, Any]:
    """Put the known-answer suite (built from ``annotations``' reference captions, FEC-Bench's by default)
    to a judge; save the result beside the verdict cache, keyed by the judge's identity, and return it.

    ``n`` captions give up to five cases each (drop, flip, reorder, paraphrase, foreign); the result
    holds per-task accuracies and AutoDQ/TEM errors with intervals, and ``file``: where it was saved,
    which scoring with the same judge then cites in ``scores.json``. See docs/judges.md.
    """
    from fecbench.judge_check import check_judge as check

    return check(
        judge,
        judge_args,
        annotations=annotations,
        n=n,
        seed=seed,
        cache=cache,
        concurrency=concurrency,
        bootstrap=bootstrap,
    )


def create_env(model: str, **options: Any) -> Path:
    """Build ``model``'s own Python environment from its recipe (pinned commit, its README's install, fecbench's
    worker side ``--no-deps``); returns the folder to pass as ``model_env``. ``options``: ``path``, ``source`` (a
    local git directory or snapshot instead of a clone), ``python``, ``force``, ``say`` (progress lines)."""
    from fecbench.model_env.create import create_env as build

    entry = get_adapter(model)
    return build(entry.spec.name, entry.spec.recipe, **options)


def check_env(path: str | Path, model: str | None = None, model_args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start fecbench's worker in the environment at ``path`` and return its handshake (versions, manifest);
    with ``model``, also load that adapter there and include what it reports."""
    from fecbench.model_env.interpreter import ModelEnv
    from fecbench.model_env.proxy import probe

    env = ModelEnv.resolve(path)
    return probe(env, get_adapter(model) if model else None, model_args)


def new_adapter(name: str, directory: str | Path = ".") -> tuple[Path, list[Path]]:
    """Write a ready adapter plugin package for ``name`` under ``directory``; returns its folder and files."""
    from fecbench.scaffold import new_adapter_package

    return new_adapter_package(name, directory)


def check_data(
    annotations: str | Path | None = None,
    video_roots: list[str] | tuple[str, ...] = (),
    sources: list[str] | None = None,
    allow_absolute_videos: bool = False,
) -> list[SourceReport]:
    """Per source dataset: clips found, missing, unreadable and refused (``video`` paths that may not be read)."""
    from fecbench.data.check import check_data as check

    data = resolve_annotations(annotations)
    selected = select_clips(data, sources, None)
    subset = Annotations(path=data.path, sha256=data.sha256, clips=selected)
    return check(subset, VideoRoots.parse(list(video_roots), allow_absolute=allow_absolute_videos))


def make_demo(out_dir: str | Path, *, clips: int = 12, seed: int = 0) -> Path:
    """Write the offline demo set (a real face, scripted expressions) and return its annotations path."""
    from fecbench.demo import make_demo as write_demo

    return write_demo(Path(out_dir), clips=clips, seed=seed)


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
