"""One model replica that decodes and captions whole batches: what each Ray actor runs.

It holds no Ray code (:mod:`fecbench.runner.ray_pool` wraps it in an actor), so it can be built
and tested in-process. Decoding happens here, next to the model (the videos must be readable at
the same paths on every node: a shared filesystem), and only the results travel back to the
driver, which alone writes the run store.

The actor runs up to two ``run`` calls at once: the next batch decodes, and the adapter prepares
its inputs (:meth:`fecbench.adapter.Adapter.prepare`), while the current one generates; a lock
keeps generation to one batch at a time.
"""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fecbench.adapter import GenerationConfig
from fecbench.errors import FecbenchError
from fecbench.runner.batching import BatchGenerator, BatchSize, batch_results, missing_video_error
from fecbench.runner.plan import PlannedClip
from fecbench.runner.store import ClipResult
from fecbench.video.cache import FrameCache
from fecbench.video.decode import SampledFrames
from fecbench.video.protocol import FrameProtocol

if TYPE_CHECKING:
    from fecbench.model_env.interpreter import ModelEnv


@dataclass(frozen=True)
class ReplicaConfig:
    """Everything a replica needs to load its model and caption clips (sent to every worker)."""

    model: str
    model_args: dict[str, Any]
    protocol: FrameProtocol
    prompt: str
    generation: GenerationConfig
    batch: BatchSize
    frame_cache: bool = True
    decode_workers: int = 2
    #: write a small JPEG strip of each clip's frames into the run folder (local runs; not on Ray replicas)
    thumbnails: bool = True
    model_env: ModelEnv | None = None  # run the adapter in this Python environment's worker (--model-env)


@dataclass
class BatchOutcome:
    """A batch's results and the replica's batch-size state after it."""

    results: list[ClipResult]
    size: int
    backoffs: int


@dataclass
class ReplicaInfo:
    """What a started replica reports: where it runs, what it loaded, or why it could not load."""

    pid: int
    host: str
    loaded: dict[str, Any] = field(default_factory=dict)
    size: int = 1
    error: FecbenchError | None = None


class Replica:
    """A loaded adapter plus a frame cache; ``run`` turns planned clips into stored-ready results."""

    def __init__(self, config: ReplicaConfig) -> None:
        from fecbench.plugins import load_adapter

        self.config = config
        self.error: FecbenchError | None = None
        self._lock = threading.Lock()
        self._decoder = ThreadPoolExecutor(
            max_workers=max(1, config.decode_workers), thread_name_prefix="fecbench-decode"
        )
        self._cache = FrameCache(config.protocol, enabled=config.frame_cache)
        try:
            self.adapter = load_adapter(config.model, dict(config.model_args), config.model_env)
        except FecbenchError as exc:
            self.error = exc
            return
        except Exception as exc:  # shown to the user by the driver, with the host it happened on
            self.error = FecbenchError(f"model {config.model!r} failed to load: {type(exc).__name__}: {exc}")
            return
        self.generator = BatchGenerator(
            self.adapter,
            prompt=config.prompt,
            generation=config.generation,
            size=config.batch.start(self.adapter.max_batch_size),
            auto=config.batch.auto,
        )

    def ready(self) -> ReplicaInfo:
        info = ReplicaInfo(pid=os.getpid(), host=socket.gethostname(), error=self.error)
        if self.error is None:
            info.loaded = self.adapter.describe()
            info.size = self.generator.size
        return info

    def run(self, items: list[PlannedClip]) -> BatchOutcome:
        if self.error is not None:
            raise self.error
        outcomes = list(self._decoder.map(self._load, items))
        decoded = self.generator.decoded(items, outcomes)
        self.generator.prepare_ahead(decoded)  # never raises; overlaps the other call's generation
        with self._lock:
            results = [r for chunk in batch_results(decoded, self.generator) for r in chunk]
            return BatchOutcome(results, self.generator.size, self.generator.backoffs)

    def close(self) -> None:
        self._decoder.shutdown(wait=False, cancel_futures=True)
        if self.error is None:
            self.adapter.close()

    def _load(self, item: PlannedClip) -> SampledFrames | Exception:
        try:
            if item.path is None:
                raise missing_video_error(item)
            return self._cache.load(item.path)
        except Exception as exc:  # recorded per clip, never fatal to the batch
            return exc
