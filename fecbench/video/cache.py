"""On-disk cache of sampled frames, so the next model on the same clips does not decode again.

The key is the video's content hash plus the protocol's hash: renaming or moving a dataset keeps
its cache, re-encoding a file or changing the protocol does not reuse stale frames. Entries are
uncompressed ``.npz`` files (8 frames at 448 px are about 3.5 MB), written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from fecbench.paths import cache_dir, sha256_file
from fecbench.video.decode import SampledFrames, check_video_file, decode_clip
from fecbench.video.protocol import FrameProtocol


class FrameCache:
    """Sampled frames by (video content, protocol); ``root=None`` disables caching."""

    def __init__(self, protocol: FrameProtocol, root: Path | None = None, enabled: bool = True) -> None:
        self.protocol = protocol
        self.root = (root or cache_dir() / "frames") / f"{protocol.name}-{protocol.key}" if enabled else None
        self.hits = 0
        self.misses = 0

    def _entry(self, video_hash: str) -> Path:
        assert self.root is not None
        return self.root / video_hash[:2] / f"{video_hash}.npz"

    def load(self, path: Path) -> SampledFrames:
        """Frames of ``path`` from the cache, decoding (and storing) them on a miss."""
        if self.root is None:
            return decode_clip(path, self.protocol)
        check_video_file(path)
        entry = self._entry(sha256_file(path))
        cached = _read(entry)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        sampled = decode_clip(path, self.protocol)
        _write(entry, sampled)
        return sampled


def _read(entry: Path) -> SampledFrames | None:
    if not entry.is_file():
        return None
    try:
        with np.load(entry, allow_pickle=False) as data:
            return SampledFrames(
                frames=data["frames"],
                timestamps=[float(t) for t in data["timestamps"]],
                source=json.loads(str(data["source"])),
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
        entry.unlink(missing_ok=True)  # a torn or foreign file: decode again
        return None


def _write(entry: Path, sampled: SampledFrames) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(
                handle,
                frames=sampled.frames,
                timestamps=np.asarray(sampled.timestamps, dtype=np.float64),
                source=np.asarray(json.dumps(sampled.source)),
            )
        os.replace(tmp, entry)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
