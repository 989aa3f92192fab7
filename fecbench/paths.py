"""Where fecbench keeps files that outlive a run: downloaded annotations and the frame cache."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$FECBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/fecbench``, else ``~/.cache/fecbench``."""
    explicit = os.environ.get("FECBENCH_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "fecbench"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks so large videos do not sit in memory."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
