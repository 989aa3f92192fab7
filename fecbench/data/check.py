"""``fecbench data check``: per source dataset, which clips are there, missing or unreadable.

Users hold the source datasets under separate licences, often only some of them; this report
tells them what a run will find before they spend GPU time on it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av

from fecbench.data.annotations import Annotations, Clip
from fecbench.data.roots import VideoRoots

EXAMPLES_PER_SOURCE = 3


@dataclass
class SourceReport:
    source: str
    clips: int = 0
    found: int = 0
    missing: int = 0
    unreadable: int = 0
    refused: int = 0
    missing_examples: list[str] = field(default_factory=list)
    unreadable_examples: list[str] = field(default_factory=list)
    refused_examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.found - self.unreadable


def probe(path: Path) -> str | None:
    """None when the file opens and its first video frame decodes, else the reason it does not."""
    if path.stat().st_size == 0:
        return "empty file"
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "no video stream"
            for _frame in container.decode(container.streams.video[0]):
                return None
            return "no decodable frame"
    except (av.FFmpegError, OSError, ValueError) as exc:
        return str(exc)


def check_data(annotations: Annotations, roots: VideoRoots, *, workers: int = 4) -> list[SourceReport]:
    """One report per source, in the order sources first appear in the annotations."""
    reports: dict[str, SourceReport] = {}
    located: list[tuple[Clip, Path]] = []
    for clip in annotations:
        report = reports.setdefault(clip.source, SourceReport(clip.source))
        report.clips += 1
        reason = roots.refusal(clip)
        path = roots.resolve(clip)
        if reason is not None:  # a path that may not be read (absolute, or climbing out with ..)
            report.refused += 1
            if len(report.refused_examples) < EXAMPLES_PER_SOURCE:
                report.refused_examples.append(reason)
        elif path is None:
            report.missing += 1
            if len(report.missing_examples) < EXAMPLES_PER_SOURCE:
                report.missing_examples.append(clip.video)
        else:
            report.found += 1
            located.append((clip, path))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        reasons = list(pool.map(lambda item: probe(item[1]), located))
    for (clip, path), reason in zip(located, reasons, strict=True):
        if reason is not None:
            report = reports[clip.source]
            report.unreadable += 1
            if len(report.unreadable_examples) < EXAMPLES_PER_SOURCE:
                report.unreadable_examples.append(f"{path}: {reason}")
    return list(reports.values())
