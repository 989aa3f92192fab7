"""Which track is the main character: the face that is large, central and on screen the longest.

The rule, in one line: a track's score is the sum, over the frames where its face was detected, of
``size * (1 - centrality * offset)``, where ``size`` is the face box side over the frame's shorter
side and ``offset`` is the distance from the box centre to the frame centre over half the frame's
diagonal (0 at the centre, 1 in a corner). Summing over frames makes time on screen count as much
as size: a face half as large that is seen twice as often ties. Tracks detected in fewer than
``min_frames`` frames (capped at the clip's frame count) are taken for false detections and never
chosen. Ties go to the track seen in more frames, then to the one that appeared first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from fecbench.facetrack.boxes import Box
from fecbench.facetrack.track import Track


@dataclass(frozen=True)
class SelectSettings:
    min_frames: int = 2  # a track must be detected in at least this many frames to be chosen
    centrality: float = 0.5  # 0: position does not matter; 1: a face in a corner counts for nothing


def frame_weight(box: Box, width: int, height: int, centrality: float) -> float:
    """One detection's contribution to its track's score."""
    size = box.side / max(1, min(width, height))
    cx, cy = box.centre
    offset = min(1.0, math.hypot(cx - width / 2.0, cy - height / 2.0) / max(1e-9, math.hypot(width, height) / 2.0))
    return size * (1.0 - centrality * offset)


def track_score(track: Track, width: int, height: int, centrality: float) -> float:
    return sum(frame_weight(d.box, width, height, centrality) for d in track.detections.values())


def choose_main(
    tracks: Sequence[Track], width: int, height: int, n_frames: int, settings: SelectSettings | None = None
) -> tuple[Track | None, dict[int, float]]:
    """The main track (None when no track qualifies) and every qualifying track's score by id."""
    settings = settings or SelectSettings()
    needed = max(1, min(settings.min_frames, n_frames))
    scores = {t.id: track_score(t, width, height, settings.centrality) for t in tracks if len(t.detections) >= needed}
    if not scores:
        return None, scores
    by_id = {t.id: t for t in tracks}
    best = max(scores, key=lambda i: (scores[i], len(by_id[i].detections), -by_id[i].first, -i))
    return by_id[best], scores
