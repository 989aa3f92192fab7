"""From per-frame cues to timed events: "the head moved left at 40% of the clip", "the eyes closed".

Continuous cues (face position, size, eye-line angle, brow height, mouth darkness) become events when a
run of same-direction changes between sampled frames adds up past a threshold; the event's time is
where half of that change is reached. The eyes are a yes/no cue: a single sampled frame without eyes
between frames with eyes is a blink, a longer stretch is a closing and a reopening.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from fecbench_adapters.face_cues import FrameCues


@dataclass(frozen=True)
class Thresholds:
    """How big a change must be to be narrated; each is a baseline model argument."""

    move: float = 0.06  # face centre shift, share of the frame width or height
    zoom: float = 0.15  # relative change of face size
    tilt: float = 6.0  # degrees of eye-line rotation
    brow: float = 0.04  # change of brow height above the eyes, share of the face side
    mouth: float = 0.08  # share of the mouth area turning dark (open) or back


@dataclass(frozen=True)
class CueEvent:
    """One measured change; ``time`` is its position in the clip, from 0 (first frame) to 1 (last)."""

    kind: str
    time: float


# cue name -> (how to read it from a frame, kind when it falls, kind when it rises, threshold field)
_CONTINUOUS: dict[str, tuple[Callable[[FrameCues], float | None], str, str, str]] = {
    "x": (lambda c: c.centre[0] if c.centre else None, "move_left", "move_right", "move"),
    "y": (lambda c: c.centre[1] if c.centre else None, "move_up", "move_down", "move"),
    "size": (lambda c: math.log(c.size) if c.size else None, "move_away", "come_closer", "zoom"),
    # The eye line turning counter-clockwise on screen (angle falling) is the head tilting to the viewer's left.
    "tilt": (lambda c: c.eye_angle, "tilt_left", "tilt_right", "tilt"),
    "brow": (lambda c: c.brow_height, "lower_brows", "raise_brows", "brow"),
    "mouth": (lambda c: c.mouth_dark, "close_mouth", "open_mouth", "mouth"),
}


def clip_times(count: int, timestamps: Sequence[float] = ()) -> list[float]:
    """Position of each sampled frame in the clip, 0..1, from timestamps when they are usable."""
    if len(timestamps) == count and count > 1 and timestamps[-1] > timestamps[0]:
        span = timestamps[-1] - timestamps[0]
        return [(t - timestamps[0]) / span for t in timestamps]
    return [i / (count - 1) if count > 1 else 0.0 for i in range(count)]


def eyes_measurable(cues: Sequence[FrameCues]) -> bool:
    """Eye statements need eyes found in enough face frames; otherwise the eye detector is just failing."""
    seen = [c.eyes for c in cues if c.found and c.eyes is not None]
    return sum(1 for e in seen if e > 0) >= max(2, 0.15 * len(seen))


def detect_events(cues: Sequence[FrameCues], times: Sequence[float], thresholds: Thresholds) -> list[CueEvent]:
    """All measured events of a clip, in time order."""
    events: list[CueEvent] = []
    for read, falls, rises, field in _CONTINUOUS.values():
        limit = getattr(thresholds, field)
        if field == "zoom":
            limit = math.log1p(limit)
        points = [(t, v) for t, c in zip(times, cues, strict=True) if c.found and (v := read(c)) is not None]
        for time, delta in _steps(_median3(points), limit):
            events.append(CueEvent(rises if delta > 0 else falls, time))
    if eyes_measurable(cues):
        events.extend(_eye_events(cues, times))
    return sorted(events, key=lambda e: e.time)


def _steps(points: Sequence[tuple[float, float]], limit: float) -> list[tuple[float, float]]:
    """(time, total change) of each run of same-sign changes whose total reaches ``limit``.

    Changes smaller than a third of the limit count as stillness and end a run, so detector jitter
    neither starts events nor glues two separate movements together.
    """
    out: list[tuple[float, float]] = []

    def close(first: int, last: int) -> None:
        total = points[last][1] - points[first][1]
        if last > first and abs(total) >= limit:
            out.append((_half_way(points[first : last + 1], total), total))

    start, direction = 0, 0
    for i in range(1, len(points)):
        step = points[i][1] - points[i - 1][1]
        sign = 0 if abs(step) < limit / 3 else (1 if step > 0 else -1)
        if sign and sign == direction:
            continue
        if direction:
            close(start, i - 1)
        start, direction = (i - 1, sign) if sign else (i, 0)
    if direction:
        close(start, len(points) - 1)
    return out


def _median3(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Running median of three over the interior points: one-frame detector glitches vanish, steps stay."""
    out = list(points)
    for i in range(1, len(points) - 1):
        out[i] = (points[i][0], sorted(p[1] for p in points[i - 1 : i + 2])[1])
    return out


def _half_way(run: Sequence[tuple[float, float]], total: float) -> float:
    """Time at which a run has covered half of its change, by linear interpolation."""
    target = run[0][1] + total / 2
    for (t0, v0), (t1, v1) in pairwise(run):
        if (v0 - target) * (v1 - target) <= 0 and v1 != v0:
            return t0 + (t1 - t0) * (target - v0) / (v1 - v0)
    return run[-1][0]


def _eye_events(cues: Sequence[FrameCues], times: Sequence[float]) -> list[CueEvent]:
    """Blinks (one closed frame between open ones), closings and reopenings of the eyes."""
    track = [(t, c.eyes > 0) for t, c in zip(times, cues, strict=True) if c.found and c.eyes is not None]
    events: list[CueEvent] = []
    i = 1
    while i < len(track):
        (t0, was_open), (t1, is_open) = track[i - 1], track[i]
        if was_open and not is_open:
            reopens = i + 1 < len(track) and track[i + 1][1]
            if reopens:
                events.append(CueEvent("blink", t1))
                i += 2
                continue
            events.append(CueEvent("close_eyes", (t0 + t1) / 2))
        elif is_open and not was_open:
            events.append(CueEvent("open_eyes", (t0 + t1) / 2))
        i += 1
    return events
