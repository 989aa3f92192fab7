"""Generated inputs for conformance checks: frames, requests and a small clip set on disk."""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from fecbench.adapter import VideoRequest

DEFAULT_SIZES: tuple[tuple[int, int], ...] = ((48, 64), (64, 48), (56, 72))  # (height, width), all even
DEFAULT_PROMPT = "Describe the facial expression of the person in the video and how it changes."


# -- inputs -----------------------------------------------------------------------------------------


def synthetic_frames(num_frames: int, height: int, width: int, *, seed: int = 0) -> np.ndarray:
    """A (T, H, W, 3) uint8 clip that differs from frame to frame and from seed to seed.

    Each frame is seeded noise plus a bright vertical bar that moves across the frame, so a model
    that mixes up frames or clips gives different output.
    """
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 160, size=(num_frames, height, width, 3), dtype=np.uint8)
    bar = max(1, width // 8)
    for t in range(num_frames):
        left = (t * (width - bar)) // max(1, num_frames - 1)
        frames[t, :, left : left + bar] = 255
    return frames


def make_requests(
    count: int,
    *,
    num_frames: int,
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    prompt: str = DEFAULT_PROMPT,
    seed: int = 0,
) -> list[VideoRequest]:
    """``count`` distinct requests shaped as the runner makes them: one frame count, sizes cycling through ``sizes``."""
    requests = []
    for i in range(count):
        height, width = sizes[i % len(sizes)]
        duration = 2.0
        times = [duration * t / max(1, num_frames - 1) for t in range(num_frames)] if num_frames > 1 else [0.0]
        frames = synthetic_frames(num_frames, height, width, seed=seed + i)
        requests.append(VideoRequest(clip_id=f"conformance-{seed + i}", frames=frames, prompt=prompt, timestamps=times))
    return requests


def write_clip_set(
    root: str | Path, count: int = 4, *, frames: int = 12, sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES
) -> tuple[Path, Path]:
    """Write ``count`` real H.264 clips and a FEC-Bench-style annotation file; returns (annotations, video root).

    The videos are encoded with PyAV (no ffmpeg binary needed) under two source folders, so a run
    over them exercises decoding, source resolution, batching and scoring exactly as a real one.
    """
    import av

    root = Path(root)
    videos = root / "videos"
    records = []
    for i in range(count):
        source = ("SRCA", "SRCB")[i % 2]
        relative = f"{source}/clip_{i:03d}.mp4"
        height, width = sizes[i % len(sizes)]
        path = videos / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.time_base = Fraction(1, 25)
            for image in synthetic_frames(frames + i, height, width, seed=100 + i):
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        caption = f"At the beginning of the video, the person in clip {i} looks ahead, then smiles slightly."
        records.append({"id": f"c{i}", "video": relative, "caption": caption})
    annotations = root / "annotations.json"
    annotations.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return annotations, videos
