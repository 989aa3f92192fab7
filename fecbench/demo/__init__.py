"""A small offline demo set in FEC-Bench's format: a real face (the astronaut photo) animated by scripts.

Real FEC-Bench videos must be downloaded from their source datasets under their own licences; this
set lets the whole pipeline (decode, adapters, metrics, leaderboard) run anywhere, with reference
captions that are exactly true of their clips because both come from the same script.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fecbench.demo.caption import write_caption
from fecbench.demo.face import load_face
from fecbench.demo.render import render_clip
from fecbench.demo.script import Script, random_script, script_from
from fecbench.demo.writer import write_annotations, write_mp4

SOURCE = "demo"  # first path component of every ``video`` field: the demo's "source dataset"
FPS = 25
SECONDS = 3.2
SIZE = 256

__all__ = ["FPS", "SECONDS", "SIZE", "SOURCE", "clip_script", "make_demo", "render_script", "script_from"]


def clip_script(seed: int, index: int) -> Script:
    """The script of clip ``index`` of the set made with ``seed``; independent of the clip count."""
    return random_script(np.random.default_rng([seed, index]))


def render_script(script: Script, *, fps: int = FPS, seconds: float = SECONDS, size: int = SIZE) -> np.ndarray:
    """Frames (T, size, size, 3) uint8 RGB of the astronaut acting ``script``."""
    return render_clip(script, load_face(), frames=round(fps * seconds), size=size)


def make_demo(out_dir: Path, *, clips: int = 12, seed: int = 0) -> Path:
    """Write ``clips`` demo clips and their reference captions under ``out_dir``; return the annotations path.

    Layout: ``out_dir/annotations.json`` and ``out_dir/videos/demo/clip_000.mp4``...; each record's
    ``video`` is relative to ``out_dir/videos``, as test.json's paths are relative to the data root.
    """
    if clips < 1:
        raise ValueError(f"clips must be at least 1, got {clips}")
    out_dir = Path(out_dir)
    videos, captions = [], []
    for index in range(clips):
        script = clip_script(seed, index)
        video = f"{SOURCE}/clip_{index:03d}.mp4"
        write_mp4(out_dir / "videos" / video, render_script(script), FPS)
        videos.append(video)
        captions.append(write_caption(script))
    return write_annotations(out_dir / "annotations.json", videos, captions)
