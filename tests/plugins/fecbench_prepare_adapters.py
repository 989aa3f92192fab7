"""A test plugin for preparation ahead of generation: ``prepare-log`` logs when ``prepare`` and ``generate`` run.

Every call is appended to a JSON-lines log (``log``), so a test can read the order of events of a
run made through ``fecbench.run``. With ``clips`` set to the run's clip count, ``generate`` does not
return until ``prepare`` has started for a batch it has not generated yet (or every clip has been
seen, for the last batch), waiting at most ``wait`` seconds: a runner that prepares ahead passes at
once, one that does not shows up in the log as a timeout. ``prepare_raises`` makes every
``prepare`` fail, which must not fail the run. Captions are computed from the frames, like
``frame-stats``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence

from fecbench import Adapter, AdapterSpec, GenerationConfig, VideoRequest, hookimpl


class PrepareLogAdapter(Adapter):
    name = "prepare-log"

    def __init__(self, log: str = "", clips: int = 0, wait: float = 10.0, prepare_raises: bool = False) -> None:
        self.log = log
        self.clips = clips
        self.wait = wait
        self.prepare_raises = prepare_raises
        self._changed = threading.Condition()
        self._prepared: set[str] = set()
        self._generated: set[str] = set()
        self._log_lock = threading.Lock()

    def _record(self, event: str, requests: Sequence[VideoRequest], **extra: object) -> None:
        if not self.log:
            return
        entry = {"event": event, "ids": [r.clip_id for r in requests], "thread": threading.current_thread().name}
        with self._log_lock, open(self.log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({**entry, **extra}) + "\n")

    def prepare(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> None:
        self._record("prepare", requests, request_ids=[id(r) for r in requests])
        with self._changed:
            self._prepared.update(r.clip_id for r in requests)
            self._changed.notify_all()
        if self.prepare_raises:
            raise RuntimeError("prepare failed on purpose")

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        ids = {r.clip_id for r in requests}
        self._record("generate", requests, request_ids=[id(r) for r in requests])
        waited = 0.0
        if self.clips:
            started = time.monotonic()

            def next_batch_preparing() -> bool:
                upcoming = self._prepared - self._generated - ids
                return bool(upcoming) or len(self._prepared | self._generated | ids) >= self.clips

            with self._changed:
                self._changed.wait_for(next_batch_preparing, timeout=self.wait)
            waited = round(time.monotonic() - started, 3)
        with self._changed:
            self._generated.update(ids)
        self._record("return", requests, waited=waited)
        return [f"{len(r.frames)} frames, mean brightness {float(r.frames.mean()):.2f}" for r in requests]


@hookimpl
def fecbench_register_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            name="prepare-log",
            factory="fecbench_prepare_adapters:PrepareLogAdapter",
            summary="test adapter: logs prepare and generate calls",
            default_frames=4,
        )
    ]
