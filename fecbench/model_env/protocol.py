"""The wire format between the driver and a model worker: framed JSON messages, frames in shared memory.

Every message is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (an object
with an ``op``). Frames never go into a message: the driver copies a batch's (T, H, W, 3) arrays
into one :class:`multiprocessing.shared_memory.SharedMemory` segment and sends its name with each
array's offset, shape and dtype; the worker maps the segment and hands the adapter numpy views of
it, so the bytes the adapter reads are the bytes the driver decoded (no encoding, no disk).

The conversation (driver -> worker, worker -> driver)::

    worker: hello    {fecbench_version, protocol, versions, pid, python, fecbench_path}
    driver: load     {name, factory, model_args, requires, install_hint}
    worker: ready    {describe, max_batch_size, adapter_name}  | error {code, type, message}
    driver: generate {id, config, segment, forget, requests: [{clip_id, prompt, timestamps, offset, shape, dtype}]}
    worker: result   {id, captions, reusable}                   | error {id, code, type, message, reusable}
    driver: close
    worker: closed

An error's ``code`` says what the driver should do with it (:data:`ERROR_CODES`). ``reusable``
says the adapter kept no view of the batch's frames, so the driver may write the segment again;
``forget`` names segments the driver retired, for the worker to unmap
(:mod:`fecbench.model_env.segments`). This module is
imported by the worker, in the model's own environment: the standard library and numpy only, and
nothing newer than Python 3.8.
"""

from __future__ import annotations

import json
import struct
import sys
import threading
from typing import IO, Any

import numpy as np

#: Bumped whenever a message changes shape; the driver refuses a worker that speaks another version.
PROTOCOL_VERSION = 1
_LENGTH = struct.Struct(">I")
#: A message is small (ids, prompts, times, captions); anything larger is a broken stream.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
#: Each array in a segment starts at a multiple of this (cache lines; what numpy likes to see).
ALIGNMENT = 64

#: code -> meaning. ``config``/``missing_dependency``/``fecbench``: the adapter could not be loaded
#: because of what the user asked or installed (a one-line error, exit 2); ``load``: it raised while
#: loading; ``oom``: out of memory (drives ``--batch-size auto``); ``error``: the batch failed (the
#: runner retries its clips one by one); ``protocol``: the worker did not understand a message.
ERROR_CODES = ("config", "missing_dependency", "fecbench", "load", "oom", "error", "protocol")


class ProtocolError(Exception):
    """The stream is not what this protocol writes (a worker that printed to its protocol channel...)."""


def send(stream: IO[bytes], message: dict[str, Any], lock: threading.Lock | None = None) -> None:
    """Write one framed message and flush it."""
    payload = json.dumps(message, separators=(",", ":"), default=str).encode("utf-8")
    data = _LENGTH.pack(len(payload)) + payload
    if lock is None:
        stream.write(data)
        stream.flush()
        return
    with lock:
        stream.write(data)
        stream.flush()


def receive(stream: IO[bytes]) -> dict[str, Any] | None:
    """Read one framed message; None at end of stream (the other side closed it or exited)."""
    head = _read_exactly(stream, _LENGTH.size)
    if head is None:
        return None
    (size,) = _LENGTH.unpack(head)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {size} bytes announced; the stream is corrupt")
    payload = _read_exactly(stream, size)
    if payload is None:
        raise ProtocolError(f"stream ended inside a message of {size} bytes")
    try:
        message = json.loads(payload.decode("utf-8"))
    except ValueError as exc:
        raise ProtocolError(f"a message is not JSON ({exc})") from exc
    if not isinstance(message, dict) or "op" not in message:
        raise ProtocolError("a message has no 'op'")
    return message


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks = []
    remaining = size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            if remaining == size:
                return None
            raise ProtocolError(f"stream ended after {size - remaining} of {size} bytes")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# -- frames in shared memory ---------------------------------------------------------------------


def layout(arrays: list[np.ndarray]) -> tuple[list[int], int]:
    """Aligned offsets of ``arrays`` packed one after the other, and the total size (at least 1 byte)."""
    offsets = []
    position = 0
    for array in arrays:
        offsets.append(position)
        position += -(-array.nbytes // ALIGNMENT) * ALIGNMENT
    return offsets, max(position, 1)


def array_spec(array: np.ndarray, offset: int) -> dict[str, Any]:
    """Where an array lies in a segment and what it is, as sent in a message."""
    if array.dtype.hasobject:
        raise ValueError(f"frames of dtype {array.dtype} cannot be shared with a model worker")
    return {"offset": offset, "shape": list(array.shape), "dtype": array.dtype.str}


def view(buffer: Any, spec: dict[str, Any]) -> np.ndarray:
    """The array described by ``spec``, as a view of ``buffer`` (no copy)."""
    return np.ndarray(tuple(spec["shape"]), dtype=np.dtype(spec["dtype"]), buffer=buffer, offset=int(spec["offset"]))


_ATTACH_LOCK = threading.Lock()


def attach(name: str) -> Any:
    """Map an existing segment without making this process responsible for it.

    Before Python 3.13, attaching registers the segment with this process's resource tracker, which
    would unlink the driver's segment when the worker exits (and start a tracker process); the
    driver created it and alone removes it, so the registration is skipped here.
    """
    from multiprocessing import resource_tracker, shared_memory

    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)
    with _ATTACH_LOCK:  # 3.8-3.12 look resource_tracker.register up on the module when attaching
        original = resource_tracker.register
        resource_tracker.register = lambda *args, **kwargs: None
        try:
            return shared_memory.SharedMemory(name=name)
        finally:
            resource_tracker.register = original


def installed_versions() -> dict[str, str]:
    """Python and the packages that decide what a model computes, as installed in this interpreter."""
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("fecbench", "numpy", "torch", "torchvision", "transformers", "pluggy", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions
