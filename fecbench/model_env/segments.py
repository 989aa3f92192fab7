"""The driver's shared-memory segments for batches of frames, reused from batch to batch.

A fresh segment costs more than the copy into it: every page is faulted in and zeroed by the kernel
on first touch, on both sides (measured here: 12-20 ms for one 8 x 448 x 448 clip, against 0.3-0.5 ms
to copy it into a segment already mapped). So segments are kept and reused, but only when it is
safe: the worker says, with each result, whether the adapter still holds a view of that batch's
frames (``reusable``); a segment it may still read is retired (unlinked, never written again), so
no adapter ever sees its frames change under it. At most :data:`KEEP` free segments are kept;
the worker is told which names to forget so it unmaps them too.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from fecbench.adapter import VideoRequest
from fecbench.model_env import protocol

#: Free segments kept for reuse; a segment is at least this big, so small batches share sizes.
KEEP = 4
MIN_SIZE = 1 << 20


class SegmentPool:
    """Segments this driver created: free ones to reuse, and names the worker should unmap."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the proxy's prepare() writes the next batch from another thread
        self._free: list[shared_memory.SharedMemory] = []
        self._in_use: list[shared_memory.SharedMemory] = []
        self._forgotten: list[str] = []

    def acquire(self, size: int) -> shared_memory.SharedMemory:
        """A free segment of at least ``size`` bytes (the smallest that fits), else a new one."""
        with self._lock:
            fitting = [s for s in self._free if s.size >= size]
            if fitting:
                segment = min(fitting, key=lambda s: s.size)
                self._free.remove(segment)
            else:
                segment = shared_memory.SharedMemory(create=True, size=max(MIN_SIZE, _round_up(size)))
            self._in_use.append(segment)
            return segment

    def release(self, segment: shared_memory.SharedMemory, *, reusable: bool) -> None:
        """Back to the free list if the worker no longer holds its frames; else retired."""
        with self._lock:
            self._in_use.remove(segment)
            if not reusable:
                self._retire(segment)
                return
            self._free.append(segment)
            while len(self._free) > KEEP:
                self._retire(min(self._free, key=lambda s: s.size))

    def forgotten(self) -> list[str]:
        """Names retired since the last call, for the worker to unmap."""
        with self._lock:
            names, self._forgotten = self._forgotten, []
            return names

    def close(self) -> None:
        with self._lock:
            for segment in [*self._free, *self._in_use]:
                _unlink(segment)
            self._free, self._in_use, self._forgotten = [], [], []

    def _retire(self, segment: shared_memory.SharedMemory) -> None:
        if segment in self._free:
            self._free.remove(segment)
        self._forgotten.append(segment.name)
        _unlink(segment)


def write_requests(pool: SegmentPool, requests: Sequence[VideoRequest]) -> tuple[Any, list[dict[str, Any]]]:
    """Copy every request's frames into one segment from ``pool``; returns it and each request's description."""
    arrays = [np.asarray(r.frames) for r in requests]
    offsets, size = protocol.layout(arrays)
    specs = [
        {"clip_id": r.clip_id, "prompt": r.prompt, "timestamps": [float(t) for t in r.timestamps]}
        | protocol.array_spec(a, o)
        for r, a, o in zip(requests, arrays, offsets, strict=True)
    ]
    segment = pool.acquire(size)
    try:
        for array, spec in zip(arrays, specs, strict=True):
            protocol.view(segment.buf, spec)[...] = array
    except BaseException:
        pool.release(segment, reusable=False)
        raise
    return segment, specs


def _round_up(size: int) -> int:
    """Sizes grow by powers of two, so a pool serves batches of similar size with few segments."""
    return 1 << max(0, size - 1).bit_length()


def _unlink(segment: shared_memory.SharedMemory) -> None:
    with contextlib.suppress(BufferError):  # a view of it is still alive here: the mapping goes with that view
        segment.close()
    with contextlib.suppress(FileNotFoundError):
        segment.unlink()
