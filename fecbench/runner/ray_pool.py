"""Data-parallel runs on Ray: one model replica per GPU (or per tensor-parallel group), fed on demand.

The driver (the ``fecbench run`` process) plans the clips, starts ``workers`` replica actors
(:class:`fecbench.runner.replica.Replica`, each with ``gpus_per_worker`` GPUs) and hands the next
batch to whichever replica has room, keeping at most two batches in flight per replica: a slow
replica never holds the others back, since nothing is assigned ahead of time. Replicas decode
their own clips and send back results; the driver is the only writer of the run store, so the
resumable store, its "an ``ok`` row is never overwritten" rule and ``predictions.jsonl`` are the
same as for a run in one process.

A replica that dies (killed process, lost node, ``ray.kill``) has its batches in flight queued
again, ahead of the untouched clips, and is replaced by a new one (at most
``REPLACEMENTS_PER_WORKER`` x ``workers`` replacements in a run). A batch given back runs alone on
its replica; if a replica dies running it alone, it is split into single clips, and a clip whose
replica dies ``MAX_CLIP_ATTEMPTS`` times while running it alone is recorded as failed, so one
poisonous clip cannot stop the run. A dead replica's results never arrive, so nothing is written
twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fecbench.errors import ConfigError, FecbenchError, MissingDependencyError
from fecbench.runner.batching import failed
from fecbench.runner.plan import Batch, BatchQueue
from fecbench.runner.replica import BatchOutcome, Replica, ReplicaConfig, ReplicaInfo
from fecbench.runner.spec import ExecutionSpec
from fecbench.runner.store import RunStore

INSTALL_HINT = "pip install 'fecbench[ray]'"
#: Batches in flight per replica: one generating, one decoding.
IN_FLIGHT_PER_WORKER = 2
#: Deaths of a replica running a clip alone before that clip is recorded as failed.
MAX_CLIP_ATTEMPTS = 3
#: Replacement replicas a run may start, per requested worker.
REPLACEMENTS_PER_WORKER = 3
#: Environment variables passed from the driver to every replica (plugins, cache folder, offline mode).
PASSED_ENV_PREFIXES = ("FECBENCH_",)
PASSED_ENV_NAMES = ("PYTHONPATH",)


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide to run: ``address`` is ``local`` (a private instance on this machine),
    ``auto`` (the cluster this node belongs to, as after ``ray start``) or a cluster address."""

    address: str = "local"
    workers: int | None = None
    gpus_per_worker: float | None = None
    cpus_per_worker: float = 1.0

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.gpus_per_worker is not None and self.gpus_per_worker < 0:
            raise ConfigError(f"--gpus-per-worker must not be negative, got {self.gpus_per_worker}")
        if self.cpus_per_worker <= 0:
            raise ConfigError(f"--cpus-per-worker must be positive, got {self.cpus_per_worker}")
        if not self.address.strip():
            raise ConfigError("--ray needs local, auto or a cluster address")


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(f"--ray and --workers need Ray, which is not installed: {INSTALL_HINT}") from exc
    return ray


def run_on_ray(
    queue: BatchQueue,
    store: RunStore,
    config: ReplicaConfig,
    options: RayOptions,
    *,
    on_loaded: Callable[[dict[str, Any]], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ExecutionSpec:
    """Run every queued clip on Ray replicas, committing results to ``store`` as they arrive."""
    ray = import_ray()
    started_here = _connect(ray, options)
    pool: _Pool | None = None
    finished = False
    try:
        gpus_per_worker, workers = _size_pool(ray, options)
        pool = _Pool(ray, config, options, workers=workers, gpus_per_worker=gpus_per_worker)
        infos = pool.start()
        if on_loaded:
            on_loaded(infos[0].loaded)
        pool.drain(queue, store, on_progress)
        finished = True
        return ExecutionSpec(
            backend="ray",
            batch_size_ceiling=max(info.size for info in infos),
            batch_size_found=pool.smallest_size() if config.batch.auto else None,
            oom_backoffs=pool.backoffs(),
            workers=workers,
            gpus_per_worker=gpus_per_worker,
            ray_address=options.address,
            requeued_batches=pool.requeued,
            replaced_workers=pool.replaced,
        )
    finally:
        if pool is not None:
            pool.stop(graceful=finished)
        if started_here:
            ray.shutdown()


def _connect(ray: Any, options: RayOptions) -> bool:
    """Join the cluster (or start a local instance); True when this call started Ray and must stop it.

    A process already connected to Ray (the caller ran ``ray.init``) keeps its connection.
    """
    if ray.is_initialized():
        return False
    if options.address == "local":
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a private instance reports nothing anywhere
        needed = (options.workers or 1) * options.cpus_per_worker
        ray.init(
            address="local",
            num_cpus=max(os.cpu_count() or 1, int(needed + 0.999)),
            include_dashboard=False,
            configure_logging=False,
        )
    else:
        try:
            ray.init(address=options.address, configure_logging=False)
        except ConnectionError as exc:
            raise ConfigError(f"--ray {options.address}: cannot connect to a Ray cluster ({exc})") from exc
    return True


def _size_pool(ray: Any, options: RayOptions) -> tuple[float, int]:
    """GPUs per replica and the number of replicas, checked against what the cluster has."""
    resources = ray.cluster_resources()
    gpus, cpus = float(resources.get("GPU", 0)), float(resources.get("CPU", 0))
    per_worker = options.gpus_per_worker if options.gpus_per_worker is not None else (1.0 if gpus else 0.0)
    workers = options.workers or (max(1, int(gpus // per_worker)) if per_worker else 1)
    if per_worker * workers > gpus:
        raise ConfigError(
            f"--workers {workers} x --gpus-per-worker {per_worker:g} needs {per_worker * workers:g} GPUs; "
            f"the Ray cluster has {gpus:g}"
        )
    if options.cpus_per_worker * workers > cpus:
        raise ConfigError(
            f"--workers {workers} x {options.cpus_per_worker:g} CPUs per worker needs "
            f"{options.cpus_per_worker * workers:g} CPUs; the Ray cluster has {cpus:g}"
        )
    return per_worker, workers


@dataclass
class _Worker:
    handle: Any
    size: int = 1
    backoffs: int = 0
    in_flight: dict[Any, Batch] = field(default_factory=dict)

    def busy_alone(self) -> bool:
        return any(batch.isolated for batch in self.in_flight.values())


class _Pool:
    """The replica actors of one run and the dispatch loop that feeds them."""

    def __init__(
        self, ray: Any, config: ReplicaConfig, options: RayOptions, *, workers: int, gpus_per_worker: float
    ) -> None:
        self.ray = ray
        self.config = config
        self.actor_class = ray.remote(Replica).options(
            num_gpus=gpus_per_worker,
            num_cpus=options.cpus_per_worker,
            max_concurrency=IN_FLIGHT_PER_WORKER,
            max_restarts=0,
            runtime_env={"env_vars": _passed_environment()},
        )
        self.wanted = workers
        self.workers: list[_Worker] = []
        self.retired: list[_Worker] = []
        self.requeued = 0
        self.replaced = 0
        self.start_size = 1

    def start(self) -> list[ReplicaInfo]:
        """Start the replicas and wait until each has loaded its model; a load error stops the run."""
        self.workers = [_Worker(self.actor_class.remote(self.config)) for _ in range(self.wanted)]
        try:
            infos: list[ReplicaInfo] = self.ray.get([w.handle.ready.remote() for w in self.workers])
        except self.ray.exceptions.RayError as exc:
            raise FecbenchError(
                f"a Ray worker died while loading model {self.config.model!r}: {_first_line(exc)}"
            ) from exc
        for info in infos:
            if info.error is not None:
                raise type(info.error)(f"{info.error} (on Ray worker {info.host}, pid {info.pid})")
        for worker, info in zip(self.workers, infos, strict=True):
            worker.size = info.size
        self.start_size = infos[0].size
        return infos

    def drain(self, queue: BatchQueue, store: RunStore, on_progress: Callable[[int, int], None] | None) -> None:
        """Dispatch until every clip has a result; results are committed in the order they arrive."""
        owners: dict[Any, _Worker] = {}
        while True:
            for worker in self.workers:
                self._fill(worker, queue, owners)
            pending = list(owners)
            if not pending:
                if len(queue):
                    raise FecbenchError(
                        f"every Ray worker died and no replacement is left; {len(queue)} clips were not run "
                        "(finished clips are saved: run the same command again to resume)"
                    )
                return
            done, _ = self.ray.wait(pending, num_returns=1, timeout=1.0)
            for ref in done:
                if ref not in owners:  # already given back when its replica's death was first seen
                    continue
                worker = owners.pop(ref)
                batch = worker.in_flight.pop(ref)
                try:
                    outcome: BatchOutcome = self.ray.get(ref)
                except (
                    self.ray.exceptions.RayActorError,
                    self.ray.exceptions.WorkerCrashedError,
                    self.ray.exceptions.NodeDiedError,
                ) as exc:
                    self._lost(worker, batch, exc, queue, store, owners, on_progress)
                    continue
                except self.ray.exceptions.RayTaskError as exc:
                    if isinstance(exc.cause, FecbenchError):  # e.g. a replacement that could not load the model
                        raise exc.cause from None
                    raise
                worker.size, worker.backoffs = outcome.size, outcome.backoffs
                self._commit(store, outcome.results, on_progress)

    def _fill(self, worker: _Worker, queue: BatchQueue, owners: dict[Any, _Worker]) -> None:
        while len(worker.in_flight) < IN_FLIGHT_PER_WORKER and not worker.busy_alone():
            batch = queue.take(worker.size, alone=not worker.in_flight)
            if batch is None:
                return
            ref = worker.handle.run.remote(batch.items)
            worker.in_flight[ref] = batch
            owners[ref] = worker

    def _lost(
        self,
        worker: _Worker,
        batch: Batch,
        exc: Exception,
        queue: BatchQueue,
        store: RunStore,
        owners: dict[Any, _Worker],
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        """A replica died: queue its batches again (blaming a batch only when it ran alone), replace it."""
        lost = [batch, *worker.in_flight.values()]
        for ref in worker.in_flight:
            owners.pop(ref, None)
        worker.in_flight.clear()
        self.ray.kill(worker.handle, no_restart=True)
        self.workers.remove(worker)
        self.retired.append(worker)
        self.requeued += len(lost)
        if len(lost) > 1:
            for each in lost:
                queue.give_back(each)
        elif len(batch.items) > 1:
            for item in batch.items:  # find the clip that kills its worker, if there is one
                queue.give_back(Batch([item], attempts=batch.attempts + 1))
        else:
            batch.attempts += 1
            if batch.attempts >= MAX_CLIP_ATTEMPTS:
                message = (
                    f"worker error: the Ray worker died {batch.attempts} times while running this clip "
                    f"({_first_line(exc)})"
                )
                self._commit(store, [failed(batch.items[0].clip, message)], on_progress)
            else:
                queue.give_back(batch)
        if self.replaced < REPLACEMENTS_PER_WORKER * self.wanted:
            self.replaced += 1
            size = self.smallest_size() if self.config.batch.auto else self.start_size
            self.workers.append(_Worker(self.actor_class.remote(self.config), size=size))

    @staticmethod
    def _commit(store: RunStore, results: list[Any], on_progress: Callable[[int, int], None] | None) -> None:
        store.record(results)
        if on_progress:
            on_progress(len(results), sum(r.status != "ok" for r in results))

    def smallest_size(self) -> int:
        return min((w.size for w in self.workers + self.retired), default=self.start_size)

    def backoffs(self) -> int:
        return sum(w.backoffs for w in self.workers + self.retired)

    def stop(self, *, graceful: bool) -> None:
        """End the actors; when the run finished (``graceful``), let each replica release its model first."""
        try:
            if graceful:
                closing = [w.handle.close.remote() for w in self.workers]
                self.ray.wait(closing, num_returns=len(closing), timeout=30)
        finally:
            for worker in self.workers:
                self.ray.kill(worker.handle, no_restart=True)
            self.workers = []


def _passed_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name.startswith(PASSED_ENV_PREFIXES) or name in PASSED_ENV_NAMES
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
