"""Inputs prepared ahead for a batch (``Adapter.prepare``), and how a later ``generate`` knows they still fit.

The runner asks an adapter to prepare batch k+1's inputs while batch k generates; ``generate`` takes
them only when its requests are the very ones prepared, unchanged (same frame arrays, same prompt,
timestamps and frame checksum).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from transformers import BatchFeature

from fecbench.adapter import VideoRequest

__all__ = ["PREPARED_BATCHES", "PreparedBatch", "request_fingerprint"]

#: Batches prepared ahead that an adapter holds until ``generate`` asks for them. The runner prepares
#: one batch ahead (a Ray replica: one per batch it holds, two), and a batch that is never asked for
#: (``--batch-size auto`` split it) is dropped oldest first. Prepared inputs can be large (the pixel
#: values of 8 clips of 8 frames at 448x252 are about 90 MB for Qwen2-VL in float32), hence the bound.
PREPARED_BATCHES = 3


def request_fingerprint(request: VideoRequest) -> tuple[Any, ...]:
    """What prepared inputs depend on: prompt, timestamps, frame shape and type, and a checksum of the frames."""
    frames = request.frames
    if isinstance(frames, np.ndarray):
        content = (frames.shape, frames.dtype.str, zlib.crc32(np.ascontiguousarray(frames)))
    else:
        content = (type(frames).__name__,)
    return (request.clip_id, request.prompt, tuple(request.timestamps), *content)


@dataclass
class PreparedBatch:
    """Inputs being prepared, or prepared, for one batch; ``ready`` is set once ``inputs`` is final."""

    frames: list[Any]
    fingerprints: list[tuple[Any, ...]]
    ready: threading.Event = field(default_factory=threading.Event)
    inputs: BatchFeature | None = None

    def matches(self, requests: Sequence[VideoRequest]) -> bool:
        """True when ``requests`` are the very requests prepared, unchanged since."""
        return (
            len(requests) == len(self.frames)
            and all(r.frames is f for r, f in zip(requests, self.frames, strict=True))
            and [request_fingerprint(r) for r in requests] == self.fingerprints
        )
