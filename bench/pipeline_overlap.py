"""Does decoding hide behind generation? End-to-end run time over model-only time, in one run.

The model stands in for a GPU: each batch takes a fixed wall time and uses no CPU (it sleeps), so
any time above ``batches x per-batch time`` is decoding, prompt preparation or bookkeeping that the
runner failed to overlap. Target: ratio at most 1.10. The frame cache is off, so every clip is
really decoded. The default 1 s per batch of 4 is on the fast side for a 7B video model on one GPU;
with batches shorter than the decoding of a batch (about 0.09 s per 640x360 150-frame clip on one
core here) the run is decode-bound and the ratio says so.

    python bench/pipeline_overlap.py [--clips 64] [--batch-size 4] [--batch-seconds 1.0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

from fecbench import Adapter, AdapterSpec, GenerationConfig, VideoRequest, api, hookimpl
from fecbench.plugins import plugin_manager


class FixedTimeModel(Adapter):
    """A stand-in for a GPU model: a fixed wall time per batch, no CPU used."""

    name = "fixed-time"

    def __init__(self, batch_seconds: float = 0.2) -> None:
        self.batch_seconds = batch_seconds

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        time.sleep(self.batch_seconds)
        return [f"{len(r.frames)} frames" for r in requests]


class BenchPlugin:
    @hookimpl
    def fecbench_register_adapters(self) -> list[AdapterSpec]:
        return [AdapterSpec(name="fixed-time", factory=f"{__name__}:FixedTimeModel")]


def write_clips(root: Path, count: int) -> Path:
    """``count`` 6-second 640x360 H.264 clips of moving noise (real decoding work)."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)
    records = []
    for i in range(count):
        video = f"bench/clip_{i:03d}.mp4"
        path = root / "videos" / video
        path.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
            for t in range(150):
                frame = av.VideoFrame.from_ndarray(np.roll(base, 4 * t + i, axis=1), format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        records.append({"id": str(i), "video": video, "caption": "a caption"})
    annotations = root / "annotations.json"
    annotations.write_text(json.dumps(records))
    return annotations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--batch-seconds", type=float, default=1.0)
    parser.add_argument("--frames", type=int, default=8)
    args = parser.parse_args()
    sys.modules.setdefault(__name__, sys.modules["__main__"])
    plugin_manager().register(BenchPlugin())
    with tempfile.TemporaryDirectory() as tmp:
        annotations = write_clips(Path(tmp), args.clips)
        started = time.perf_counter()
        api.run(
            "fixed-time",
            model_args={"batch_seconds": args.batch_seconds},
            annotations=annotations,
            video_roots=[str(Path(tmp) / "videos")],
            frames=args.frames,
            batch_size=args.batch_size,
            output=Path(tmp) / "run",
            frame_cache=False,
            score=False,
        )
        total = time.perf_counter() - started
    batches = -(-args.clips // args.batch_size)
    model_only = batches * args.batch_seconds
    print(f"clips {args.clips}, batch size {args.batch_size}, {args.frames} frames, 640x360 150-frame H.264")
    print(f"end-to-end {total:.2f} s, model-only {model_only:.2f} s")
    print(f"ratio end-to-end / model-only: {total / model_only:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
