"""Plan the order of a run: clips of the same model-input shape batch together, the largest first.

A batch of clips that all give the model the same input shape (frames x height x width) wastes no
padding, and running the largest shapes first makes an out-of-memory show up at the start, where
``--batch-size auto`` backs off once and then fits every later batch.

Shapes come from a cheap probe of each file's header during planning
(:mod:`fecbench.runner.probe`: the MP4 boxes, else PyAV's stream parameters); the protocol's
``output_size`` gives the sampled size. The frame count is the protocol's ``num_frames`` for every
clip, since ``uniform-time-v1`` repeats frames of a clip shorter than that. A wrong guess (say, a
rotation the PyAV fallback cannot see) only puts a clip in a batch of another shape: that costs
padding, never a different prediction. A clip the probe cannot read is planned last; decoding then
records why it failed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fecbench.data.annotations import Clip
from fecbench.data.roots import VideoRoots
from fecbench.runner.probe import Shape, probe_shape
from fecbench.video.protocol import FrameProtocol


@dataclass(frozen=True)
class PlannedClip:
    """A clip to run, where its video was found (None: under none of the roots) and its input shape.

    ``refused`` says why its ``video`` path may not be read at all (data/roots.py), when it may not.
    """

    clip: Clip
    path: Path | None
    tried: tuple[str, ...] = ()
    shape: Shape | None = None
    refused: str | None = None


@dataclass
class Batch:
    """Clips sent to the model together.

    A batch given back after its worker died runs ``isolated`` (with nothing else in flight on its
    worker), so a later death is blamed on it alone; ``attempts`` counts those deaths.
    """

    items: list[PlannedClip]
    attempts: int = 0
    isolated: bool = False


def plan_clips(
    clips: Sequence[Clip], roots: VideoRoots, protocol: FrameProtocol, *, probe: bool = True, workers: int = 4
) -> list[PlannedClip]:
    """Resolve every clip's video and, with ``probe``, its input shape (in ``workers`` threads)."""
    paths = [roots.resolve(clip) for clip in clips]
    shapes: list[Shape | None] = [None] * len(clips)
    if probe:
        found = [(i, path) for i, path in enumerate(paths) if path is not None]
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fecbench-probe") as pool:
            probed = pool.map(lambda item: probe_shape(item[1], protocol), found)
            for (i, _), shape in zip(found, probed, strict=True):
                shapes[i] = shape
    return [
        PlannedClip(
            clip=clip,
            path=path,
            tried=() if path is not None else tuple(str(p) for p in roots.candidates(clip)),
            shape=shape,
            refused=roots.refusal(clip),
        )
        for clip, path, shape in zip(clips, paths, shapes, strict=True)
    ]


def group_by_shape(planned: Sequence[PlannedClip]) -> list[list[PlannedClip]]:
    """Clips grouped by shape, largest input first (frames x height x width); unknown shapes last.

    Within a group clips keep their annotation order, so the plan is deterministic.
    """
    groups: dict[Shape | None, list[PlannedClip]] = {}
    for item in planned:
        groups.setdefault(item.shape, []).append(item)

    def order(shape: Shape | None) -> tuple[int, ...]:
        if shape is None:
            return (1, 0, 0, 0)
        frames, height, width = shape
        return (0, -frames * height * width, -frames, -height)

    return [groups[shape] for shape in sorted(groups, key=order)]


class BatchQueue:
    """The clips still to run, cut into batches on demand at whatever size the taker can handle.

    Batches never mix shape groups. A batch given back (its worker died) goes to the front, whole,
    so it runs next.
    """

    def __init__(self, groups: Sequence[Sequence[PlannedClip]]) -> None:
        self._groups: deque[deque[PlannedClip]] = deque(deque(g) for g in groups if g)
        self._returned: deque[Batch] = deque()

    def __len__(self) -> int:
        return sum(len(g) for g in self._groups) + sum(len(b.items) for b in self._returned)

    def upcoming(self) -> Iterator[PlannedClip]:
        """The queued clips in the order they will be taken (batches given back first); do not take meanwhile."""
        for batch in self._returned:
            yield from batch.items
        for group in self._groups:
            yield from group

    def take(self, size: int, *, alone: bool = True) -> Batch | None:
        """The next batch of at most ``size`` clips, or None when there is none for this taker now.

        Batches given back come first, whole, and must run isolated: while one waits, a taker with
        work in flight (not ``alone``) gets nothing, so that it drains and takes the batch next.
        """
        if self._returned:
            return self._returned.popleft() if alone else None
        if not self._groups:
            return None
        group = self._groups[0]
        items = [group.popleft() for _ in range(min(max(1, size), len(group)))]
        if not group:
            self._groups.popleft()
        return Batch(items)

    def give_back(self, batch: Batch) -> None:
        """Queue a batch again, ahead of the untouched clips; it will run isolated."""
        batch.isolated = True
        self._returned.append(batch)
