"""The model worker: ``python -m fecbench.worker``, started by the driver in a model's own environment.

It loads one adapter and captions the batches the driver sends (protocol: :mod:`fecbench.model_env.protocol`).
It imports only the standard library, numpy, pluggy and fecbench's light modules, so that fecbench
installed with ``pip install --no-deps`` works beside a model that pins old numpy, pydantic or
transformers releases.

Its stdin and stdout are the protocol channel. Anything the model's code prints goes to stderr
(fd 1 is pointed at fd 2 once the channel is claimed), which the driver writes to the run's log.

It never outlives the driver: it leads its own process group, and when the driver goes (the channel
closes, or the kernel's parent-death signal on Linux) it kills that whole group, itself and
whatever the model's code started, at once.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import sys
import threading
import traceback
from typing import IO, Any

from fecbench import __version__
from fecbench.model_env import protocol

#: Set by the driver (fecbench.model_env.process): its pid, so a worker whose driver died before the
#: parent watch was armed notices; and whether to arm the kernel's parent-death signal.
PARENT_ENV = "FECBENCH_WORKER_PARENT"
PDEATHSIG_ENV = "FECBENCH_WORKER_PDEATHSIG"
_PR_SET_PDEATHSIG = 1


def _claim_stdio() -> tuple[IO[bytes], IO[bytes]]:
    """Private copies of stdin/stdout for the protocol; fd 0 becomes /dev/null and fd 1 a copy of stderr."""
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout.flush()
    os.dup2(2, 1)
    return channel_in, channel_out


def _kill_tree() -> None:
    """End this worker and everything it started: the whole process group when it leads one."""
    try:
        if os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
    finally:
        os._exit(1)


def _watch_parent() -> None:
    """Ask the kernel for SIGTERM when the driver dies (Linux), and treat SIGTERM as "kill the tree"."""
    signal.signal(signal.SIGTERM, lambda signum, frame: _kill_tree())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver handles Ctrl-C and then ends this worker
    if sys.platform.startswith("linux") and os.environ.get(PDEATHSIG_ENV) == "1":
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    expected = os.environ.get(PARENT_ENV)
    if expected and os.getppid() != int(expected):  # the driver died before the watch was armed
        _kill_tree()


class Channel:
    """The protocol channel: a reader thread queues the driver's messages; the end of the stream ends the tree."""

    def __init__(self, stream_in: IO[bytes], stream_out: IO[bytes]) -> None:
        self._out = stream_out
        self._write_lock = threading.Lock()
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.closing = False
        threading.Thread(target=self._read, args=(stream_in,), name="fecbench-worker-channel", daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            while True:
                message = protocol.receive(stream)
                self._inbox.put(message)
                if message is None:
                    break
        except protocol.ProtocolError as exc:
            print(f"fecbench worker: {exc}", file=sys.stderr, flush=True)
        if not self.closing:  # the driver is gone without saying goodbye: nothing of ours may stay behind
            _kill_tree()

    def get(self) -> dict[str, Any] | None:
        return self._inbox.get()

    def send(self, message: dict[str, Any]) -> None:
        protocol.send(self._out, message, self._write_lock)


def _error(exc: BaseException, code: str, **extra: Any) -> dict[str, Any]:
    return {"op": "error", "code": code, "type": type(exc).__name__, "message": str(exc), **extra}


def load(message: dict[str, Any]) -> Any:
    """Construct the adapter the driver names, checking its requirements and arguments as in-process runs do."""
    from fecbench.hookspecs import AdapterSpec
    from fecbench.plugins import RegisteredAdapter, instantiate

    spec = AdapterSpec(
        name=message["name"],
        factory=message["factory"],
        requires=tuple(message.get("requires") or ()),
        install_hint=message.get("install_hint") or "",
    )
    return instantiate(RegisteredAdapter(spec, provider="", provider_version=""), dict(message.get("model_args") or {}))


def load_error(exc: BaseException) -> dict[str, Any]:
    """The error message for an adapter that did not load, by code (see :data:`protocol.ERROR_CODES`)."""
    from fecbench.errors import ConfigError, FecbenchError, MissingDependencyError

    if isinstance(exc, ConfigError):
        return _error(exc, "config")
    if isinstance(exc, MissingDependencyError):
        return _error(exc, "missing_dependency")
    if isinstance(exc, FecbenchError):
        return _error(exc, "fecbench")
    traceback.print_exc(file=sys.stderr)
    return _error(exc, "load")


class Segments:
    """The driver's segments mapped here, kept mapped while the driver reuses them.

    A batch's frames are numpy views of a buffer object made for that batch alone (a ctypes array
    over the segment: numpy keeps it as the views' base, where it would unwrap a memoryview to the
    mapping). Once ``generate`` returns and the requests are dropped, that object's reference count
    says whether the adapter kept any view of the frames; only if it kept none may the driver write
    into the segment again (``reusable`` in the result).
    """

    def __init__(self) -> None:
        self._mapped: dict[str, Any] = {}
        self._lingering: list[Any] = []

    def batch_buffer(self, name: str) -> Any:
        """A new buffer object over the whole segment ``name`` (mapped once, then kept mapped)."""
        if name not in self._mapped:
            self._mapped[name] = protocol.attach(name)
        segment = self._mapped[name]
        return (ctypes.c_char * segment.size).from_buffer(segment.buf)

    def forget(self, names: list[str]) -> None:
        """Unmap segments the driver retired (later, for those whose frames the adapter still holds)."""
        for name in names:
            segment = self._mapped.pop(name, None)
            if segment is not None:
                self._lingering.append(segment)
        still = []
        for segment in self._lingering:
            try:
                segment.close()
            except BufferError:
                still.append(segment)
        self._lingering = still


def generate(adapter: Any, message: dict[str, Any], segments: Segments) -> dict[str, Any]:
    """Caption one batch: the requests' frames are views of the driver's segment."""
    from fecbench.adapter import GenerationConfig, VideoRequest
    from fecbench.memory import is_out_of_memory, release_memory

    call_id = message.get("id")
    segments.forget(list(message.get("forget") or []))
    batch = segments.batch_buffer(message["segment"])
    unshared = sys.getrefcount(batch)  # the count once every view of the frames is gone
    reply: dict[str, Any]
    requests = [
        VideoRequest(r["clip_id"], protocol.view(batch, r), r["prompt"], [float(t) for t in r["timestamps"]])
        for r in message["requests"]
    ]
    config = GenerationConfig(**message["config"])
    try:
        captions = adapter.generate(requests, config)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        if is_out_of_memory(exc):
            release_memory()
            reply = _error(exc, "oom", id=call_id)
        else:
            reply = _error(exc, "error", id=call_id)
    else:
        if not isinstance(captions, list) or not all(isinstance(c, str) for c in captions):
            reply = {"op": "result", "id": call_id, "captions": None, "returned": type(captions).__name__}
        else:
            reply = {"op": "result", "id": call_id, "captions": captions}
    del requests
    reply["reusable"] = sys.getrefcount(batch) <= unshared
    return reply


def serve(channel: Channel) -> int:
    """The worker's life: hello, load, then batches until the driver says close (or goes away)."""
    channel.send(
        {
            "op": "hello",
            "fecbench_version": __version__,
            "protocol": protocol.PROTOCOL_VERSION,
            "versions": protocol.installed_versions(),
            "pid": os.getpid(),
            "python": sys.executable,
            "fecbench_path": os.path.dirname(os.path.abspath(__file__)),
        }
    )
    message = channel.get()
    if message is not None and message.get("op") == "close":  # `fecbench env check`: the hello was all it wanted
        channel.closing = True
        channel.send({"op": "closed"})
        return 0
    if message is None or message.get("op") != "load":
        return 1
    try:
        adapter = load(message)
    except Exception as exc:
        channel.send(load_error(exc))
        return 1
    describe = adapter.describe()
    channel.send(
        {
            "op": "ready",
            "describe": describe,
            "max_batch_size": getattr(adapter, "max_batch_size", None),
            "adapter_name": getattr(adapter, "name", "") or "",
        }
    )
    segments = Segments()
    while True:
        message = channel.get()
        if message is None:
            return 1
        op = message.get("op")
        if op == "generate":
            try:
                reply = generate(adapter, message, segments)
            except Exception as exc:  # the request itself could not be served: that batch's error, not a crash
                traceback.print_exc(file=sys.stderr)
                reply = _error(exc, "error", id=message.get("id"))
            channel.send(reply)
        elif op == "close":
            channel.closing = True
            adapter.close()
            channel.send({"op": "closed"})
            return 0
        else:
            channel.send({"op": "error", "code": "protocol", "type": "ProtocolError", "message": f"unknown op {op!r}"})


def main() -> int:
    channel_in, channel_out = _claim_stdio()
    _watch_parent()
    return serve(Channel(channel_in, channel_out))


if __name__ == "__main__":
    sys.exit(main())
