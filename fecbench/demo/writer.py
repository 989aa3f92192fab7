"""Files of the demo set: H.264 mp4 clips through PyAV, and annotations in test.json's format.

PyAV's wheel bundles libx264, so no ffmpeg binary is needed. The annotations file has exactly the
fields of FEC-Bench's ``test.json`` so that the demo set goes through the same loader as the real one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np


def write_mp4(path: Path, frames: np.ndarray, fps: int) -> None:
    """Encode (T, H, W, 3) uint8 RGB frames as an H.264 (yuv420p) mp4 at ``fps``."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    _, height, width, _ = frames.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        # One thread and no wall-clock metadata keep the file byte-identical for a given seed.
        stream.options = {"crf": "18", "preset": "veryfast", "threads": "1"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))


def write_annotations(path: Path, videos: Sequence[str], captions: Sequence[str]) -> Path:
    """Write ``[{"id", "video", "caption"}, ...]`` with ids "0".."N-1", as in FEC-Bench's test.json."""
    records = [
        {"id": str(i), "video": video, "caption": caption}
        for i, (video, caption) in enumerate(zip(videos, captions, strict=True))
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
