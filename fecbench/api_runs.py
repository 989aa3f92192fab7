"""The API's runs: :func:`run` a model over the benchmark (local, sharded or on Ray) and :func:`merge` shard folders.

Part of :mod:`fecbench.api`, which re-exports every name; import them from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fecbench.adapter import GenerationConfig
from fecbench.data.fecbench_default import FEC_BENCH_SHA256
from fecbench.data.roots import VideoRoots
from fecbench.data.selection import resolve_annotations, select_clips
from fecbench.errors import ConfigError
from fecbench.plugins import get_adapter, preflight
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
