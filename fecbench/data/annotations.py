"""Load and validate annotation sets in FEC-Bench's ``test.json`` schema.

A set is a JSON list (or JSONL, one object per line) of ``{"id", "video", "caption"}`` records.
Every error names the file, the record (index and id) and the field, so a user can fix a custom
set without reading our code. Extra fields are kept on the clip for benchmark variants.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fecbench import jsontext
from fecbench.errors import AnnotationError
from fecbench.paths import sha256_file

REQUIRED_FIELDS = ("id", "video", "caption")
MAX_REPORTED_PROBLEMS = 10


@dataclass(frozen=True)
class Clip:
    """One benchmark item: a video path relative to its source dataset root, and its reference caption."""

    id: str
    video: str
    caption: str
    index: int
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def source(self) -> str:
        """The source dataset, named by the first component of the video path (``DFEW/videos/1.mp4`` -> DFEW)."""
        return self.video.replace("\\", "/").split("/", 1)[0]


@dataclass(frozen=True)
class Annotations:
    """A validated annotation set and the identity (sha256) of the file it came from."""

    path: Path
    sha256: str
    clips: list[Clip]

    def __len__(self) -> int:
        return len(self.clips)

    def __iter__(self) -> Iterator[Clip]:
        return iter(self.clips)

    @property
    def sources(self) -> dict[str, int]:
        """Clip count per source dataset, in first-seen order."""
        counts: dict[str, int] = {}
        for clip in self.clips:
            counts[clip.source] = counts.get(clip.source, 0) + 1
        return counts


def load_annotations(path: str | Path) -> Annotations:
    """Read and validate an annotation file; raise :class:`AnnotationError` listing what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"{path}: annotations file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{path}: not UTF-8 text ({exc})") from exc
    records = _parse(path, text)
    clips = _validate(path, records)
    return Annotations(path=path, sha256=sha256_file(path), clips=clips)


def _parse(path: Path, text: str) -> list[Any]:
    """JSON list, or JSONL (by the ``.jsonl`` suffix, or a file of several objects one per line)."""
    if not text.strip():
        raise AnnotationError(f"{path}: the file is empty")
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        try:
            data = jsontext.loads(text)
        except json.JSONDecodeError as exc:
            if not (exc.msg == "Extra data" and text.lstrip().startswith("{")):
                raise AnnotationError(
                    f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
                ) from exc
        else:
            if not isinstance(data, list):
                raise AnnotationError(
                    f"{path}: expected a JSON list of records, got {type(data).__name__} "
                    "(for one record per line, name the file .jsonl)"
                )
            return data
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(jsontext.loads(line))
        except json.JSONDecodeError as exc:
            raise AnnotationError(
                f"{path}: invalid JSON on line {lineno} (JSONL), column {exc.colno}: {exc.msg}"
            ) from exc
    return records


def _validate(path: Path, records: list[Any]) -> list[Clip]:
    if not records:
        raise AnnotationError(f"{path}: the annotation set has no records")
    problems: list[str] = []
    clips: list[Clip] = []
    first_index: dict[str, int] = {}
    for index, record in enumerate(records):
        where = f"{path}: record {index}"
        if not isinstance(record, dict):
            problems.append(f"{where}: expected an object, got {type(record).__name__}")
            continue
        raw_id = record.get("id")
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            raw_id = str(raw_id)
        where = f"{where} (id {raw_id!r})" if isinstance(raw_id, str) and raw_id else where
        bad = [name for name in REQUIRED_FIELDS if not _is_text(raw_id if name == "id" else record.get(name))]
        for name in bad:
            value = record.get(name)
            got = "missing" if name not in record else f"got {json.dumps(value)[:40]}"
            problems.append(f"{where}: field {name!r} must be a non-empty string ({got})")
        if bad:
            continue
        assert isinstance(raw_id, str)  # _is_text checked it above
        if raw_id in first_index:
            problems.append(f"{where}: field 'id' duplicates record {first_index[raw_id]}")
            continue
        first_index[raw_id] = index
        extra = {k: v for k, v in record.items() if k not in REQUIRED_FIELDS}
        clips.append(
            Clip(id=raw_id, video=record["video"].strip(), caption=record["caption"], index=index, extra=extra)
        )
    if problems:
        shown = problems[:MAX_REPORTED_PROBLEMS]
        more = len(problems) - len(shown)
        suffix = f"\n... and {more} more problems" if more else ""
        raise AnnotationError("invalid annotations:\n" + "\n".join(shown) + suffix)
    return clips


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
