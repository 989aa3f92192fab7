"""The API's benchmark data: check that the clips are readable, write the offline demo set.

Part of :mod:`fecbench.api`, which re-exports every name; import them from there.
"""

from __future__ import annotations

from pathlib import Path

from fecbench.data.annotations import Annotations
from fecbench.data.check import SourceReport
from fecbench.data.roots import VideoRoots
from fecbench.data.selection import resolve_annotations, select_clips


def check_data(
    annotations: str | Path | None = None,
    video_roots: list[str] | tuple[str, ...] = (),
    sources: list[str] | None = None,
    allow_absolute_videos: bool = False,
) -> list[SourceReport]:
    """Per source dataset: clips found, missing, unreadable and refused (``video`` paths that may not be read)."""
    from fecbench.data.check import check_data as check

    data = resolve_annotations(annotations)
    selected = select_clips(data, sources, None)
    subset = Annotations(path=data.path, sha256=data.sha256, clips=selected)
    return check(subset, VideoRoots.parse(list(video_roots), allow_absolute=allow_absolute_videos))


def make_demo(out_dir: str | Path, *, clips: int = 12, seed: int = 0) -> Path:
    """Write the offline demo set (a real face, scripted expressions) and return its annotations path."""
    from fecbench.demo import make_demo as write_demo

    return write_demo(Path(out_dir), clips=clips, seed=seed)
