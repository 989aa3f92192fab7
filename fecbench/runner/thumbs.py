"""Small JPEG thumbnails of the frames a model saw, written into the run folder as each clip is decoded.

One strip per clip (``thumbs/<clip id>.jpg``): the sampled frames side by side, each scaled to
:data:`HEIGHT` pixels high, so a page can show what the model was given next to what it said. A
few kilobytes per clip; ``fecbench run --no-thumbnails`` turns them off. Writing one is best
effort: a thumbnail that cannot be written is logged and never fails the clip.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

THUMBS_DIR = "thumbs"
HEIGHT = 48
QUALITY = 60

log = logging.getLogger(__name__)


def thumbnail_path(run_dir: Path, clip_id: str) -> Path:
    """Where a clip's strip goes; ids with characters unsafe in file names get a short hash instead."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", clip_id)
    if name != clip_id or name.startswith("."):
        name = re.sub(r"^\.+", lambda dots: "_" * len(dots.group()), name)  # never a hidden file
        name = f"{name[:40]}-{hashlib.sha256(clip_id.encode()).hexdigest()[:10]}"
    return run_dir / THUMBS_DIR / f"{name}.jpg"


def thumbnail_strip(frames: np.ndarray, height: int = HEIGHT, quality: int = QUALITY) -> bytes:
    """The frames (N, H, W, 3 RGB uint8) as one JPEG strip ``height`` pixels high."""
    import cv2

    tiles = []
    for frame in frames:
        h, w = frame.shape[:2]
        width = max(1, round(w * height / h))
        tiles.append(cv2.resize(np.ascontiguousarray(frame), (width, height), interpolation=cv2.INTER_AREA))
    strip = cv2.cvtColor(np.concatenate(tiles, axis=1), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", strip, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def write_thumbnail(run_dir: Path, clip_id: str, frames: np.ndarray) -> None:
    """Write a clip's strip unless it is already there (a resumed run); never raises."""
    path = thumbnail_path(run_dir, clip_id)
    if path.is_file() or len(frames) == 0:
        return
    try:
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(thumbnail_strip(frames))
        tmp.replace(path)
    except Exception as exc:  # a thumbnail is a convenience: never a reason to lose a clip
        log.warning("thumbnail of clip %s not written: %s", clip_id, exc)


def copy_thumbnails(origins: Mapping[str, Path], run_dir: Path) -> int:
    """Give ``run_dir`` the strip of each clip in ``origins`` (clip id -> the run folder that ran it); returns how
    many were copied. ``fecbench merge`` joins shard folders this way.

    A clip whose folder has no strip (a run with ``--no-thumbnails``) gets none. A strip already in ``run_dir``
    is left as it is, as :func:`write_thumbnail` leaves it: two ids share a file name only when one id is the
    other's hashed name, and then the first clip keeps it, as in a run. Best effort, like
    :func:`write_thumbnail`: a strip that cannot be copied is logged, never raised.
    """
    copied = 0
    for clip_id, source_dir in origins.items():
        source, target = thumbnail_path(source_dir, clip_id), thumbnail_path(run_dir, clip_id)
        if not source.is_file() or target.is_file():
            continue
        try:
            target.parent.mkdir(exist_ok=True)
            tmp = target.with_suffix(".tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(target)
        except OSError as exc:  # a thumbnail is a convenience: never a reason to fail the merge
            log.warning("thumbnail of clip %s not copied: %s", clip_id, exc)
            continue
        copied += 1
    return copied
