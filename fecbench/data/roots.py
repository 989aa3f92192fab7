"""Find each clip's video file under the user's dataset roots.

FEC-Bench's ``video`` paths start with their source dataset (``DFEW/videos/2961.mp4``), and the
source datasets come under separate licences, so users keep them wherever they like. Two forms:

* ``DIR``: a folder holding the source folders (``DIR/DFEW/videos/2961.mp4``);
* ``SOURCE=DIR``: where one source lives (``/data/dfew`` holding ``videos/2961.mp4``; a ``DIR``
  that still holds a ``SOURCE/`` folder is accepted too).

Per-source roots are tried before plain ones. Without any root, paths are relative to the current folder.

Annotation files are data, often someone else's, so what a ``video`` field can name is limited
(docs/data.md, "Where videos may be read from"):

* a relative path resolves under its root and never outside it: a path with a ``..`` component is
  refused (the check is on the path as written; symbolic links inside a root are followed, since
  the user made them);
* an absolute path (``/...``, ``C:\\...``, ``\\\\server\\...``) is read only when the user asks for it
  (``--allow-absolute-videos``, recorded in run.json).

A refused clip fails alone, with a message naming the record and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from fecbench.data.annotations import Clip
from fecbench.errors import ConfigError

_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")

#: The start of the per-clip error of a refused ``video`` path (the run's failure summary groups by it).
REFUSED = "video path refused"
ALLOW_ABSOLUTE_OPTION = "--allow-absolute-videos"


def is_absolute_video(video: str) -> bool:
    """Absolute on any system: ``/x``, ``\\x``, ``C:\\x``, ``C:/x``, ``\\\\server\\share\\x``."""
    return video.startswith(("/", "\\")) or bool(PureWindowsPath(video).drive)


def refusal(clip: Clip, *, allow_absolute: bool) -> str | None:
    """Why the clip's ``video`` path may not be read (None: it may), naming the record and the field."""
    where = f"{REFUSED}: record {clip.index} (id {clip.id!r}), field 'video' = {clip.video!r}"
    if is_absolute_video(clip.video):
        if allow_absolute:
            return None
        return f"{where} is an absolute path; absolute paths are read only with {ALLOW_ABSOLUTE_OPTION}"
    if ".." in clip.video.replace("\\", "/").split("/"):
        return f"{where} climbs out of its video root with '..'; a video path stays inside its root"
    return None


@dataclass(frozen=True)
class VideoRoots:
    """The parsed ``--video-root`` options."""

    plain: tuple[Path, ...] = ()
    per_source: dict[str, Path] = field(default_factory=dict)
    allow_absolute: bool = False

    @classmethod
    def parse(cls, values: list[str] | tuple[str, ...] | None, *, allow_absolute: bool = False) -> VideoRoots:
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
        return cls(tuple(plain), per_source, allow_absolute)

    def __bool__(self) -> bool:
        return bool(self.plain or self.per_source)

    def refusal(self, clip: Clip) -> str | None:
        """Why the clip's video path may not be read under these roots (see :func:`refusal`), else None."""
        return refusal(clip, allow_absolute=self.allow_absolute)

    def candidates(self, clip: Clip) -> list[Path]:
        """Every place the clip's video may be, in the order they are tried (none for a refused path)."""
        if self.refusal(clip) is not None:
            return []
        if is_absolute_video(clip.video):
            return [Path(clip.video)]
        relative = clip.video.replace("\\", "/")
        inside_source = relative.split("/", 1)[1] if "/" in relative else relative
        found: list[Path] = []
        if clip.source in self.per_source:
            root = self.per_source[clip.source]
            found += [root / inside_source, root / relative]
        found += [root / relative for root in self.plain]
        if not self:
            found.append(Path(relative))
        return found

    def resolve(self, clip: Clip) -> Path | None:
        """The first existing candidate, or None when the video is nowhere under the roots."""
        for candidate in self.candidates(clip):
            if candidate.is_file():
                return candidate
        return None

    def describe(self) -> dict[str, object]:
        return {
            "plain": [str(p) for p in self.plain],
            "per_source": {k: str(v) for k, v in self.per_source.items()},
            "allow_absolute_videos": self.allow_absolute,
        }
