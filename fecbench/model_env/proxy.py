"""The adapter the driver sees for a model that runs in its own environment: a proxy of the worker's adapter.

To the runner it is an adapter like any other (``generate``, ``describe``, ``max_batch_size``,
``close``), so batching, ``--batch-size auto``, the store, resume and scoring are the in-process
code paths. Errors come back by code and are raised here as what they were there:

* the worker's adapter raised: an exception of the same type name (``model error: RuntimeError: ...``
  in the store, as in-process), which the runner handles as usual (a batch that raises is retried
  clip by clip, so one bad clip fails alone);
* out of memory in the worker: an exception :func:`fecbench.memory.is_out_of_memory` recognises, so
  ``--batch-size auto`` backs off;
* the worker died (a segfault, the OOM killer): :class:`WorkerCrashed` for the clips it was
  captioning, and the next call starts a new worker, up to ``max_restarts`` times in a run; then
  :class:`fecbench.errors.ModelWorkerError` stops the run (finished clips are kept).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Any

from fecbench import __version__
from fecbench.adapter import Adapter, GenerationConfig, VideoRequest
from fecbench.errors import ConfigError, FecbenchError, MissingDependencyError, ModelWorkerError
from fecbench.model_env import protocol
from fecbench.model_env.interpreter import ModelEnv, worker_install_command
from fecbench.model_env.process import WorkerDied, WorkerProcess
from fecbench.model_env.segments import SegmentPool, write_requests
from fecbench.plugins import RegisteredAdapter

#: Batches whose frames ``prepare`` copied ahead and that ``generate`` has not taken yet (the runner
#: prepares one batch ahead; one more covers a batch that --batch-size auto split and never asked for).
PREPARED_BATCHES = 2


class RemoteError(Exception):
    """An exception raised by the adapter in the worker; its class is named after the original's type."""


class RemoteOutOfMemoryError(MemoryError):
    """An out-of-memory error in the worker (drives ``--batch-size auto``); named after the original's type."""


class WorkerCrashed(RuntimeError):
    """The worker died while captioning these clips; the next batch gets a new worker."""


_REMOTE_TYPES: dict[tuple[str, bool], type[BaseException]] = {}


def remote_exception(type_name: str, message: str, *, oom: bool) -> BaseException:
    """An exception whose type name is the worker's (so a clip's error reads as it does in-process)."""
    key = (type_name, oom)
    if key not in _REMOTE_TYPES:
        base = RemoteOutOfMemoryError if oom else RemoteError
        _REMOTE_TYPES[key] = type(type_name, (base,), {"__module__": "fecbench.model_env.remote"})
    return _REMOTE_TYPES[key](message)


def start_worker(
    entry: RegisteredAdapter, model_args: dict[str, Any], env: ModelEnv
) -> tuple[WorkerProcess, dict, dict]:
    """A worker with the adapter loaded: (process, its hello, its ready message); errors are one clear line."""
    worker = WorkerProcess(env)
    try:
        hello = _hello(worker, env)
        worker.send(
            {
                "op": "load",
                "name": entry.spec.name,
                "factory": entry.spec.factory,
                "model_args": model_args,
                "requires": list(entry.spec.requires),
                "install_hint": entry.spec.install_hint,
            },
            "loading the model",
        )
        ready = worker.receive(f"loading model {entry.spec.name!r}")
        if ready.get("op") == "error":
            raise _load_error(entry.spec.name, ready, env)
        if ready.get("op") != "ready":
            raise ModelWorkerError(f"--model-env {env.given}: the worker answered {ready.get('op')!r} to 'load'")
        return worker, hello, ready
    except WorkerDied as exc:
        worker.kill()
        raise ModelWorkerError(f"--model-env {env.given}: {exc}") from None
    except BaseException:
        worker.kill()
        raise


def _hello(worker: WorkerProcess, env: ModelEnv) -> dict[str, Any]:
    """The worker's hello, checked: the same fecbench and protocol as the driver's, else a clear error."""
    install = worker_install_command(env.python)
    try:
        hello = worker.receive("starting", timeout=env.start_timeout)
    except WorkerDied as exc:
        if any("No module named" in line for line in exc.stderr_tail):
            missing = next(line for line in reversed(exc.stderr_tail) if "No module named" in line)
            raise ConfigError(
                f"--model-env {env.given}: fecbench's worker cannot start there ({missing.strip()}); "
                f"install fecbench's worker side with: {install}"
            ) from None
        raise
    except TimeoutError as exc:
        raise ModelWorkerError(f"--model-env {env.given}: {exc}") from None
    if hello.get("op") != "hello":
        raise ModelWorkerError(f"--model-env {env.given}: the worker began with {hello.get('op')!r}, not 'hello'")
    theirs = hello.get("fecbench_version")
    if theirs != __version__ or hello.get("protocol") != protocol.PROTOCOL_VERSION:
        raise ConfigError(
            f"--model-env {env.given}: its fecbench is {theirs} (protocol {hello.get('protocol')}), this one is "
            f"{__version__} (protocol {protocol.PROTOCOL_VERSION}); install the same there: {install}"
        )
    return hello


def _load_error(name: str, message: dict[str, Any], env: ModelEnv) -> FecbenchError:
    code, text = message.get("code"), str(message.get("message", ""))
    if code == "config":
        return ConfigError(text)
    if code == "missing_dependency":
        return MissingDependencyError(f"{text} (in the model environment {env.given})")
    if code == "fecbench":
        return FecbenchError(text)
    where = f"; its log: {env.log_path}" if env.log_path else ""
    return ModelWorkerError(
        f"model {name!r} failed to load in --model-env {env.given}: {message.get('type')}: {text}{where}"
    )


class WorkerAdapter(Adapter):
    """Stands in for an adapter that runs in a worker process of another Python environment."""

    def __init__(self, entry: RegisteredAdapter, model_args: dict[str, Any], env: ModelEnv) -> None:
        self.entry = entry
        self.model_args = dict(model_args)
        self.env = env
        self.restarts = 0
        self.calls = 0
        self._worker: WorkerProcess | None = None
        self._segments = SegmentPool()
        self._lock = threading.Lock()  # prepare() runs in the runner's background thread
        self._prepared: list[tuple[list[VideoRequest], Any, list[dict[str, Any]]]] = []
        self._worker, hello, ready = start_worker(entry, self.model_args, env)
        self._describe: dict[str, Any] = ready.get("describe") or {}
        self.name = ready.get("adapter_name") or entry.spec.name
        self.max_batch_size = ready.get("max_batch_size")
        self.versions: dict[str, str] = hello.get("versions") or {}
        self.fecbench_path: str | None = hello.get("fecbench_path")

    @classmethod
    def start(cls, entry: RegisteredAdapter, model_args: dict[str, Any], env: ModelEnv) -> WorkerAdapter:
        return cls(entry, model_args, env)

    @property
    def worker_pid(self) -> int | None:
        return self._worker.pid if self._worker is not None else None

    def environment(self) -> dict[str, Any]:
        """What run.json records about where the adapter ran (not part of the run's identity)."""
        manifest = self.env.manifest or {}
        built_from = {k: manifest[k] for k in ("model", "repo", "commit", "checked_out", "source") if k in manifest}
        return {
            "path": self.env.given,
            "python": self.env.python,
            "versions": self.versions,
            "restarts": self.restarts,
            "fecbench_path": self.fecbench_path,
            "built_from": built_from or None,
        }

    def describe(self) -> dict[str, Any]:
        return dict(self._describe)

    def prepare(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> None:
        """Copy an upcoming batch's frames into shared memory now, while the worker captions the current one."""
        written = write_requests(self._segments, requests)
        with self._lock:
            self._prepared.append((list(requests), *written))
            while len(self._prepared) > PREPARED_BATCHES:
                self._segments.release(self._prepared.pop(0)[1], reusable=True)

    def _take_prepared(self, requests: Sequence[VideoRequest]) -> tuple[Any, list[dict[str, Any]]] | None:
        """The segment ``prepare`` wrote for exactly these request objects, if any (the same frames, then)."""
        with self._lock:
            for index, (prepared, segment, specs) in enumerate(self._prepared):
                if len(prepared) == len(requests) and all(a is b for a, b in zip(prepared, requests, strict=True)):
                    del self._prepared[index]
                    return segment, specs
        return None

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        worker = self._live_worker()
        segment, specs = self._take_prepared(requests) or write_requests(self._segments, requests)
        ids = ", ".join(r.clip_id for r in requests)
        self.calls += 1
        message = {
            "op": "generate",
            "id": self.calls,
            "config": dataclasses.asdict(config),
            "segment": segment.name,
            "requests": specs,
            "forget": self._segments.forgotten(),
        }
        reusable = False
        try:
            reply = worker.call(message, f"captioning clip(s) {ids}")
            reusable = bool(reply.get("reusable"))
        except WorkerDied as exc:
            self._worker = None
            reusable = True  # nothing of the dead worker can read it any more
            raise WorkerCrashed(str(exc)) from None
        finally:
            self._segments.release(segment, reusable=reusable)
        return _captions(reply, len(requests))

    def _live_worker(self) -> WorkerProcess:
        """The worker, started again if the last one died (within the run's restart budget)."""
        if self._worker is not None:
            return self._worker
        if self.restarts >= self.env.max_restarts:
            raise ModelWorkerError(
                f"model {self.entry.spec.name!r}: its worker in --model-env {self.env.given} died "
                f"{self.restarts + 1} times; stopping (finished clips are saved; the same command resumes)"
                + (f"; see {self.env.log_path}" if self.env.log_path else "")
            )
        self.restarts += 1
        self._segments.forgotten()  # a new worker has mapped nothing yet
        self._worker, _, _ = start_worker(self.entry, self.model_args, self.env)
        return self._worker

    def close(self) -> None:
        try:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None
        finally:
            self._prepared.clear()
            self._segments.close()


def _captions(reply: dict[str, Any], expected: int) -> list[str]:
    """The captions of a ``result``, or the worker's error raised as what it was."""
    op = reply.get("op")
    if op == "result":
        captions = reply.get("captions")
        if captions is None:  # the adapter returned something else than a list of strings
            raise TypeError(f"adapter returned {reply.get('returned')} of the wrong shape; expected {expected} strings")
        return list(captions)
    if op == "error":
        oom = reply.get("code") == "oom"
        raise remote_exception(str(reply.get("type") or "Exception"), str(reply.get("message", "")), oom=oom)
    raise ModelWorkerError(f"the model worker answered {op!r} to 'generate'")


def probe(env: ModelEnv, entry: RegisteredAdapter | None = None, model_args: dict[str, Any] | None = None) -> dict:
    """Start a worker in ``env`` and report its handshake; with ``entry``, also load that adapter there."""
    report: dict[str, Any] = {"path": env.given, "python": env.python, "manifest": env.manifest}
    if entry is None:
        worker = WorkerProcess(env)
        try:
            hello = _hello(worker, env)
            worker.call({"op": "close"}, "closing")
        except WorkerDied as exc:
            raise ModelWorkerError(f"--model-env {env.given}: {exc}") from None
        finally:
            worker.kill()
    else:
        adapter = WorkerAdapter.start(entry, model_args or {}, env)
        try:
            hello = {"versions": adapter.versions, "pid": adapter.worker_pid}
            report["adapter"] = {
                "name": adapter.name,
                "max_batch_size": adapter.max_batch_size,
                "describe": adapter.describe(),
            }
        finally:
            adapter.close()
    report.update(
        fecbench_version=hello.get("versions", {}).get("fecbench"),
        protocol=protocol.PROTOCOL_VERSION,
        versions=hello.get("versions", {}),
        worker_pid=hello.get("pid"),
    )
    return report
