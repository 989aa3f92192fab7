"""Link per-frame face detections into tracks, tolerating frames where a face was missed.

Frames are processed in order. Each live track predicts where its face is in the current frame
(its last box, moved by its recent velocity when it has two observations), and detections are
assigned to tracks by the Hungarian algorithm on a cost that adds ``1 - IoU`` to the centre
distance measured in face sides per frame step. A pair is allowed only when the face has not moved
more than ``max_shift`` face sides per frame step (or the boxes overlap by ``min_iou``) and its
size has not changed by more than ``max_scale_change``. A track that finds no detection stays live
for ``max_gap`` more frames; an unassigned detection starts a new track.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fecbench.facetrack.boxes import Box, lerp
from fecbench.facetrack.detect import Detection

INVALID = 1e6


@dataclass(frozen=True)
class LinkSettings:
    """How detections are linked across frames; the wrapper exposes these as model arguments."""

    max_gap: int = 3  # frames a track may miss its face and still be continued
    max_shift: float = 1.0  # largest move of the face centre per frame step, in face sides
    min_iou: float = 0.3  # boxes that overlap this much may always be linked, however the centre moved
    max_scale_change: float = 1.8  # largest size ratio between a track's predicted and a new box


@dataclass
class Track:
    """One face followed through the clip: its detections keyed by frame index."""

    id: int
    detections: dict[int, Detection] = field(default_factory=dict)

    @property
    def frames(self) -> list[int]:
        return sorted(self.detections)

    @property
    def first(self) -> int:
        return min(self.detections)

    @property
    def last(self) -> int:
        return max(self.detections)

    def box(self, frame: int) -> Box | None:
        """The detected box in ``frame``, None where the face was not detected."""
        found = self.detections.get(frame)
        return found.box if found else None

    def predict(self, frame: int) -> Box:
        """Where the face should be in ``frame`` (after the last detection), at constant velocity."""
        frames = self.frames
        last = self.detections[frames[-1]].box
        if len(frames) < 2:
            return last
        before = self.detections[frames[-2]].box
        steps = frames[-1] - frames[-2]
        (x1, y1), (x0, y0) = last.centre, before.centre
        ahead = frame - frames[-1]
        return last.shifted((x1 - x0) / steps * ahead, (y1 - y0) / steps * ahead)

    def filled(self, n_frames: int) -> list[Box]:
        """A box for every frame: detections, linear interpolation between them, the nearest one outside."""
        frames = self.frames
        boxes: list[Box] = []
        for i in range(n_frames):
            if i in self.detections:
                boxes.append(self.detections[i].box)
            elif i < frames[0]:
                boxes.append(self.detections[frames[0]].box)
            elif i > frames[-1]:
                boxes.append(self.detections[frames[-1]].box)
            else:
                after = next(f for f in frames if f > i)
                before = max(f for f in frames if f < i)
                t = (i - before) / (after - before)
                boxes.append(lerp(self.detections[before].box, self.detections[after].box, t))
        return boxes


def link_cost(predicted: Box, detected: Box, steps: int, settings: LinkSettings) -> float:
    """Cost of continuing a track (``predicted`` box, ``steps`` frames after its last detection) with a detection."""
    scale = max(1.0, (predicted.side + detected.side) / 2.0)
    shift = predicted.centre_distance(detected) / (scale * steps)
    overlap = predicted.iou(detected)
    ratio = max(predicted.side, detected.side) / max(1.0, min(predicted.side, detected.side))
    if ratio > settings.max_scale_change or (shift > settings.max_shift and overlap < settings.min_iou):
        return INVALID
    return (1.0 - overlap) + shift


def link_tracks(per_frame: Sequence[Sequence[Detection]], settings: LinkSettings | None = None) -> list[Track]:
    """Tracks from the detections of consecutive frames (``per_frame[i]``: the faces found in frame ``i``)."""
    from scipy.optimize import linear_sum_assignment

    settings = settings or LinkSettings()
    tracks: list[Track] = []
    for frame, detections in enumerate(per_frame):
        live = [t for t in tracks if frame - t.last <= settings.max_gap + 1]
        assigned: set[int] = set()
        if live and detections:
            costs = np.array(
                [[link_cost(t.predict(frame), d.box, frame - t.last, settings) for d in detections] for t in live]
            )
            for row, col in zip(*linear_sum_assignment(costs), strict=True):
                if costs[row, col] < INVALID:
                    live[row].detections[frame] = detections[col]
                    assigned.add(int(col))
        for col, detection in enumerate(detections):
            if col not in assigned:
                tracks.append(Track(id=len(tracks), detections={frame: detection}))
    return tracks
