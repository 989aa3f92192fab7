"""Make real video files for tests with PyAV (no ffmpeg binary needed)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def frame_pattern(index: int, height: int, width: int) -> np.ndarray:
    """A frame whose brightness encodes its index (index * 20 % 256) with a bright bar on the left edge."""
    image = np.full((height, width, 3), (index * 20) % 256, dtype=np.uint8)
    image[:, : max(1, width // 8)] = 255
    return image


def write_clip(
    path: Path,
    *,
    frames: int = 25,
    width: int = 64,
    height: int = 48,
    fps: int = 25,
    times_ms: list[int] | None = None,
    rotation: int | None = None,
) -> Path:
    """Write an mp4; ``times_ms`` gives explicit presentation times (variable frame rate)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    odd = width % 2 or height % 2
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=1000 if times_ms else fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv444p" if odd else "yuv420p"
        if rotation is not None:
            stream.set_display_rotation(rotation)
        if times_ms:
            stream.codec_context.time_base = Fraction(1, 1000)
        count = len(times_ms) if times_ms else frames
        for i in range(count):
            frame = av.VideoFrame.from_ndarray(frame_pattern(i, height, width), format="rgb24")
            if times_ms:
                frame.pts, frame.time_base = times_ms[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
