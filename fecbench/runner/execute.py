"""Carry out a planned run: prepare the folder, resume from the store, drive the loop, write outputs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fecbench.data.annotations import Clip
from fecbench.data.roots import VideoRoots
from fecbench.errors import ConfigError
from fecbench.plugins import load_adapter
from fecbench.runner.batching import BatchGenerator
from fecbench.runner.decode_ahead import DecodeAhead
from fecbench.runner.loop import run_batches
from fecbench.runner.outputs import RUN_JSON, RunResult, failure_summary, write_predictions, write_spec
from fecbench.runner.plan import BatchQueue, group_by_shape, plan_clips
from fecbench.runner.replica import ReplicaConfig
from fecbench.runner.spec import ExecutionSpec, ModelEnvSpec, RunSpec, identity_differences
from fecbench.runner.store import RunStore
from fecbench.video.cache import FrameCache

if TYPE_CHECKING:
    from fecbench.runner.ray_pool import RayOptions


#: The model worker's stderr (``--model-env``), appended to on every invocation.
MODEL_ENV_LOG = "model-env.log"


def prepare_run_dir(run_dir: Path, spec: RunSpec) -> None:
    """Create the folder, or check that an existing one holds a run of the same identity."""
    existing = run_dir / RUN_JSON
    if existing.is_file():
        try:
            old = RunSpec.model_validate_json(existing.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{existing}: cannot read the existing run spec ({exc}); use another --output") from exc
        differences = identity_differences(old.identity(), spec.identity())
        if differences:
            raise ConfigError(
                f"{run_dir} holds a different run; use another --output or remove the folder. Differences:\n  "
                + "\n  ".join(differences)
            )
        spec.model.loaded = old.model.loaded
        spec.execution = old.execution
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise ConfigError(f"{run_dir} exists, is not empty and holds no {RUN_JSON}; use another --output")
    run_dir.mkdir(parents=True, exist_ok=True)


def execute_run(
    spec: RunSpec,
    run_dir: Path,
    clips: list[Clip],
    roots: VideoRoots,
    config: ReplicaConfig,
    *,
    ray: RayOptions | None = None,
    progress: bool = False,
) -> RunResult:
    """Run the clips of ``spec`` not yet finished in ``run_dir``: here, or on Ray replicas with ``ray``."""
    prepare_run_dir(run_dir, spec)
    if config.model_env is not None and config.model_env.log_path is None:  # the worker's stderr
        config = dataclasses.replace(config, model_env=config.model_env.with_log(run_dir / MODEL_ENV_LOG))
    write_spec(run_dir, spec)
    with RunStore(run_dir) as store:
        done = store.finished_ids()
        pending = [c for c in clips if c.id not in done]
        if pending:
            planned = plan_clips(pending, roots, config.protocol, workers=max(4, config.decode_workers))
            queue = BatchQueue(group_by_shape(planned))
            already = len(done & {c.id for c in clips})
            with _progress_bar(progress, len(clips), already, spec.model.name) as tick:
                if ray is None:
                    spec.execution = _run_here(spec, run_dir, queue, store, config, tick)
                else:
                    from fecbench.runner.ray_pool import run_on_ray

                    def loaded(description: dict[str, Any]) -> None:
                        spec.model.loaded = description
                        write_spec(run_dir, spec)

                    spec.execution = run_on_ray(queue, store, config, ray, on_loaded=loaded, on_progress=tick)
            write_spec(run_dir, spec)
        results = store.results(ids=[c.id for c in clips])
    write_predictions(run_dir, results)
    failed = [r for r in results if r.status != "ok"]
    return RunResult(
        run_dir=run_dir,
        n_clips=len(clips),
        n_ok=len(results) - len(failed),
        n_failed=len(failed),
        n_run_now=len(pending),
        failures=failure_summary([r.error or "" for r in failed]),
    )


def _run_here(
    spec: RunSpec,
    run_dir: Path,
    queue: BatchQueue,
    store: RunStore,
    config: ReplicaConfig,
    tick: Callable[[int, int], None],
) -> ExecutionSpec:
    """The run loop in this process, with background decoding; returns what it found out.

    Clips start decoding, in the order they will run, before the model loads
    (:mod:`fecbench.runner.decode_ahead`).
    """
    cache = FrameCache(config.protocol, enabled=config.frame_cache)
    ahead = DecodeAhead(queue.upcoming(), cache, workers=config.decode_workers)
    try:
        adapter = load_adapter(config.model, dict(config.model_args), config.model_env)
        try:
            spec.model.loaded = adapter.describe()
            spec.model_env = _model_env_record(adapter) or spec.model_env
            write_spec(run_dir, spec)
            generator = BatchGenerator(
                adapter,
                prompt=config.prompt,
                generation=config.generation,
                size=config.batch.start(adapter.max_batch_size),
                auto=config.batch.auto,
            )
            run_batches(
                queue, generator, store, load_frames=ahead.load, decode_workers=config.decode_workers, on_progress=tick
            )
        finally:
            spec.model_env = _model_env_record(adapter) or spec.model_env  # restarts during the run
            adapter.close()
    finally:
        ahead.close()
    return ExecutionSpec(
        backend="local",
        batch_size_ceiling=generator.ceiling,
        batch_size_found=generator.size if config.batch.auto else None,
        oom_backoffs=generator.backoffs,
    )


def _model_env_record(adapter: Any) -> ModelEnvSpec | None:
    """What to record of the worker of a ``--model-env`` adapter (also when a wrapper holds it as ``inner``)."""
    from fecbench.model_env.proxy import WorkerAdapter

    for candidate in (adapter, getattr(adapter, "inner", None)):
        if isinstance(candidate, WorkerAdapter):
            return ModelEnvSpec(**candidate.environment())
    return None


@contextmanager
def _progress_bar(enabled: bool, total: int, already: int, label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar with clips/s and ETA; a no-op callback when disabled."""
    if not enabled:
        yield lambda done, failed: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    failed_total = 0
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} clips/s"),
        TextColumn("failed {task.fields[failed]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as bar:
        task = bar.add_task(label, total=total, completed=already, rate="-", failed=0)

        def tick(done: int, failed: int) -> None:
            nonlocal failed_total
            failed_total += failed
            bar.advance(task, done)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:.2f}" if speed else "-", failed=failed_total)

        yield tick
