"""Find each clip's video file under the user's dataset roots.

FEC-Bench's ``video`` paths start with their source dataset (``DFEW/videos/2961.mp4``), and the
source datasets come under separate licences, so users keep them wherever they like. Two forms:

* ``DIR``: a folder holding the source folders (``DIR/DFEW/videos/2961.mp4``);
* ``SOURCE=DIR``: where one source lives (``/data/dfew`` holding ``videos/2961.mp4``; a ``DIR``
  that still holds a ``SOURCE/`` folder is accepted too).

Per-source roots are tried before plain ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from fecbench.data.annotations import Clip
from fecbench.errors import ConfigError

_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class VideoRoots:
    """The parsed ``--video-root`` options."""

    plain: tuple[Path, ...] = ()
    per_source: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def parse(cls, values: list[str] | tuple[str, ...] | None) -> VideoRoots:
        plain: list[Path] = []
        per_source: dict[str, Path] = {}
        for value in values or ():
            name, sep, folder = value.partition("=")
            if sep and _SOURCE_NAME.match(name) and folder:
                if name in per_source:
                    raise ConfigError(f"--video-root: source {name!r} is given twice")
                per_source[name] = Path(folder).expanduser()
            elif value.strip():
                plain.append(Path(value).expanduser())
            else:
                raise ConfigError("--video-root: empty value")
        return cls(tuple(plain), per_source)

    def __bool__(self) -> bool:
        return bool(self.plain or self.per_source)

    def candidates(self, clip: Clip) -> list[Path]:
        """Every place the clip's video may be, in the order they are tried."""
        relative = clip.video.replace("\\", "/")
        inside_source = relative.split("/", 1)[1] if "/" in relative else relative
        found: list[Path] = []
        if clip.source in self.per_source:
            root = self.per_source[clip.source]
            found += [root / inside_source, root / relative]
        found += [root / relative for root in self.plain]
        if not self and not Path(relative).is_absolute():
            found.append(Path(relative))
        elif Path(relative).is_absolute():
            found.insert(0, Path(relative))
        return found

    def resolve(self, clip: Clip) -> Path | None:
        """The first existing candidate, or None when the video is nowhere under the roots."""
        for candidate in self.candidates(clip):
            if candidate.is_file():
                return candidate
        return None

    def describe(self) -> dict[str, object]:
        return {"plain": [str(p) for p in self.plain], "per_source": {k: str(v) for k, v in self.per_source.items()}}
