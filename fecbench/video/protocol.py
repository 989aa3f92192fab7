"""The frame-sampling protocol, recorded in every run so numbers are comparable.

``uniform-time-v1``: let t_first and t_last be the presentation times of the first and last
decoded frames. Targets are N evenly spaced times from t_first to t_last inclusive
(``linspace``), so the clip's first and last moments are always seen (they matter for
"at the beginning" / "towards the end"). For each target we take the frame whose presentation
time is nearest (the earlier one on a tie). Working in time rather than frame index keeps
variable-frame-rate clips uniform in time. A clip with fewer frames than N repeats frames.
Frames are converted to RGB, turned upright from the container's rotation metadata, and scaled
down (never up) so the longer side is at most ``max_side``, keeping the aspect ratio.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import asdict, dataclass

PROTOCOL_NAME = "uniform-time-v1"


@dataclass(frozen=True)
class FrameProtocol:
    """How frames are taken from a clip: which, how many, how large."""

    num_frames: int = 8
    max_side: int = 448
    name: str = PROTOCOL_NAME

    def __post_init__(self) -> None:
        if self.num_frames < 1:
            raise ValueError(f"num_frames must be at least 1, got {self.num_frames}")
        if self.max_side < 16:
            raise ValueError(f"max_side must be at least 16, got {self.max_side}")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def key(self) -> str:
        """Short stable hash of the protocol, part of every frame-cache key."""
        blob = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def target_times(first: float, last: float, n: int) -> list[float]:
    if n == 1:
        return [(first + last) / 2.0]
    step = (last - first) / (n - 1)
    return [first + i * step for i in range(n)]


def select_frames(times: list[float], n: int) -> list[int]:
    """Indices into ``times`` (sorted presentation times) chosen by ``uniform-time-v1``."""
    if not times:
        return []
    chosen = []
    for target in target_times(times[0], times[-1], n):
        right = bisect.bisect_left(times, target)
        if right >= len(times):
            chosen.append(len(times) - 1)
        elif right == 0:
            chosen.append(0)
        else:
            left = right - 1
            chosen.append(left if target - times[left] <= times[right] - target else right)
    return chosen


def output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Scaled (width, height) with the longer side at most ``max_side``; never upscales, never 0."""
    longer = max(width, height)
    if longer <= max_side:
        return width, height
    scale = max_side / longer
    return max(1, round(width * scale)), max(1, round(height * scale))
