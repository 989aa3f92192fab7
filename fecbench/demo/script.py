"""Expression scripts: what the demo face does, phase by phase, as data.

A script is the single source of truth of a demo clip: the renderer animates it and the reference
caption is written from it, so the caption is right by construction. A clip has four phases (the
quarters FEC-Bench captions name: beginning, "as the video progresses", middle, end); each phase holds
zero to two events, played one after another inside the phase.

Directions are as the viewer sees the frame: "left" is the left of the picture. ``tilt`` follows
OpenCV's sign (positive is counter-clockwise on screen, the top of the head going to the left).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

PHASES = 4
MOVE_STEP = 0.12  # head shift per move event, as a fraction of the frame side
TILT_STEP = 12.0  # degrees per tilt event
SCALE_STEP = 1.3  # size ratio per closer / away event
LEVELS = (-1, 0, 1)  # each head axis rests at one of three positions

HEAD_KINDS = (
    "move_left",
    "move_right",
    "move_up",
    "move_down",
    "tilt_left",
    "tilt_right",
    "come_closer",
    "move_away",
)
FACE_KINDS = (
    "blink",
    "close_eyes",
    "open_eyes",
    "open_mouth",
    "close_mouth",
    "raise_brows",
    "lower_brows",
)
EVENT_KINDS = HEAD_KINDS + FACE_KINDS

# kind -> (state field, level change or absolute target)
_HEAD_AXIS = {
    "move_left": ("x", -1),
    "move_right": ("x", 1),
    "move_up": ("y", -1),
    "move_down": ("y", 1),
    "tilt_left": ("tilt", 1),
    "tilt_right": ("tilt", -1),
    "come_closer": ("zoom", 1),
    "move_away": ("zoom", -1),
}
_FACE_TARGET = {
    "close_eyes": ("eyes", 1),
    "open_eyes": ("eyes", 0),
    "open_mouth": ("mouth", 1),
    "close_mouth": ("mouth", 0),
    "raise_brows": ("brows", 1),
    "lower_brows": ("brows", 0),
}
_GROUP = {**dict.fromkeys(HEAD_KINDS, "head"), "blink": "eyes", "close_eyes": "eyes", "open_eyes": "eyes"}
_GROUP.update(open_mouth="mouth", close_mouth="mouth", raise_brows="brows", lower_brows="brows")


@dataclass(frozen=True)
class Pose:
    """Discrete resting state between events: head levels in {-1, 0, 1}, face parts 0 or 1."""

    x: int = 0
    y: int = 0
    tilt: int = 0
    zoom: int = 0
    eyes: int = 0  # 1: closed
    mouth: int = 0  # 1: wide open
    brows: int = 0  # 1: raised


@dataclass(frozen=True)
class FaceState:
    """Continuous state at one instant, what the renderer draws."""

    dx: float = 0.0  # face shift, fraction of frame side, + is right
    dy: float = 0.0  # + is down
    tilt: float = 0.0  # degrees, + is counter-clockwise on screen
    scale: float = 1.0
    eyes_closed: float = 0.0  # 0 open .. 1 shut
    mouth_open: float = 0.0
    brows_raised: float = 0.0


@dataclass(frozen=True)
class Event:
    """One scripted change, from ``start`` to ``end`` (fractions of the clip), inside ``phase``."""

    kind: str
    phase: int
    start: float
    end: float


@dataclass(frozen=True)
class Script:
    """A clip's events in time order, plus the small framing jitter that makes clips differ."""

    events: tuple[Event, ...]
    jitter: tuple[float, float, float] = (0.0, 0.0, 1.0)  # dx, dy, scale of the resting framing

    def poses(self) -> list[Pose]:
        """The pose before the first event, then after each event."""
        out = [Pose()]
        for event in self.events:
            out.append(apply(out[-1], event.kind))
        return out

    def state_at(self, t: float) -> FaceState:
        """Face state at clip fraction ``t`` in [0, 1]: rest poses joined by smooth transitions."""
        poses = self.poses()
        state = to_state(poses[0], self.jitter)
        for i, event in enumerate(self.events):
            if t <= event.start:
                break
            p = _smoothstep((t - event.start) / (event.end - event.start))
            after = to_state(poses[i + 1], self.jitter)
            if event.kind == "blink":
                state = replace(state, eyes_closed=_blink_profile((t - event.start) / (event.end - event.start)))
            else:
                state = _lerp(state, after, p)
        return state


def allowed(pose: Pose, kind: str) -> bool:
    """Whether ``kind`` makes sense from ``pose`` (no moving past the frame edge, no closing closed eyes)."""
    if kind in _HEAD_AXIS:
        axis, step = _HEAD_AXIS[kind]
        return getattr(pose, axis) + step in LEVELS
    if kind == "blink":
        return pose.eyes == 0
    field, target = _FACE_TARGET[kind]
    return getattr(pose, field) != target


def apply(pose: Pose, kind: str) -> Pose:
    """The rest pose after ``kind``; raise if the event is impossible from ``pose``."""
    if kind not in EVENT_KINDS or not allowed(pose, kind):
        raise ValueError(f"event {kind!r} is not possible from {pose}")
    if kind in _HEAD_AXIS:
        axis, step = _HEAD_AXIS[kind]
        return replace(pose, **{axis: getattr(pose, axis) + step})
    if kind == "blink":
        return pose
    field, target = _FACE_TARGET[kind]
    return replace(pose, **{field: target})


def to_state(pose: Pose, jitter: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> FaceState:
    jx, jy, js = jitter
    return FaceState(
        dx=jx + pose.x * MOVE_STEP,
        dy=jy + pose.y * MOVE_STEP,
        tilt=pose.tilt * TILT_STEP,
        scale=js * SCALE_STEP**pose.zoom,
        eyes_closed=float(pose.eyes),
        mouth_open=float(pose.mouth),
        brows_raised=float(pose.brows),
    )


def script_from(phases: Sequence[Iterable[str]], jitter: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> Script:
    """Build a script from event kinds per phase, e.g. ``[[], [], [], ["open_mouth"]]``.

    Events of a phase share it in equal slots; each change takes the middle 60% of its slot, so the
    rest poses are held long enough for a sampled frame to land on them.
    """
    if len(phases) != PHASES:
        raise ValueError(f"a script has {PHASES} phases, got {len(phases)}")
    events: list[Event] = []
    pose = Pose()
    for phase, kinds in enumerate(phases):
        kinds = list(kinds)
        for slot, kind in enumerate(kinds):
            pose = apply(pose, kind)
            width = 1.0 / PHASES / len(kinds)
            left = phase / PHASES + slot * width
            events.append(Event(kind, phase, left + 0.2 * width, left + 0.8 * width))
    return Script(tuple(events), jitter)


def random_script(rng: np.random.Generator) -> Script:
    """A plausible random script: one or two events per phase from different face parts."""
    pose = Pose()
    phases: list[list[str]] = []
    for phase in range(PHASES):
        count = int(rng.choice([0, 1, 2], p=[0.1, 0.5, 0.4])) if phase else int(rng.choice([1, 2]))
        kinds: list[str] = []
        used: set[str] = set()
        for _ in range(count):
            options = [k for k in EVENT_KINDS if _GROUP[k] not in used and allowed(pose, k)]
            kind = str(rng.choice(options))
            kinds.append(kind)
            used.add(_GROUP[kind])
            pose = apply(pose, kind)
        phases.append(kinds)
    jitter = (float(rng.uniform(-0.03, 0.03)), float(rng.uniform(-0.03, 0.03)), float(rng.uniform(0.93, 1.07)))
    return script_from(phases, jitter)


def _smoothstep(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def _blink_profile(u: float) -> float:
    """Lids shut over the first quarter, stay shut for half, reopen over the last quarter."""
    if u <= 0.0 or u >= 1.0:
        return 0.0
    return _smoothstep(min(u, 1.0 - u) / 0.25)


def _lerp(a: FaceState, b: FaceState, p: float) -> FaceState:
    return FaceState(
        dx=a.dx + (b.dx - a.dx) * p,
        dy=a.dy + (b.dy - a.dy) * p,
        tilt=a.tilt + (b.tilt - a.tilt) * p,
        scale=a.scale * (b.scale / a.scale) ** p,
        eyes_closed=a.eyes_closed + (b.eyes_closed - a.eyes_closed) * p,
        mouth_open=a.mouth_open + (b.mouth_open - a.mouth_open) * p,
        brows_raised=a.brows_raised + (b.brows_raised - a.brows_raised) * p,
    )
