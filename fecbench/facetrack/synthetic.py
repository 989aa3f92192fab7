"""Multi-person scenes with known face boxes, for the tracker's tests and its speed benchmark.

Each "person" is the demo's real face (scikit-image's astronaut photo, see :mod:`fecbench.demo.face`)
cut out with a soft elliptical mask, optionally mirrored and tinted so two people look different,
and moved along a straight line at a chosen face size. Because every face is drawn by a known affine
map, its true face box in every frame is known exactly: the photo's Haar face box mapped through the
same transform. A person can leave the picture for chosen stretches of time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from fecbench.demo import face as lm
from fecbench.demo.face import load_face
from fecbench.facetrack.boxes import Box

HEAD_RADII = (0.95, 1.25)  # the visible cut-out around the face: half width and half height, in face sides
FEATHER = 0.12  # soft edge of the cut-out, as a share of its radii


@dataclass(frozen=True)
class Person:
    """One face moving in a straight line from ``start`` to ``end`` (frame pixels of the face centre).

    ``side`` is the face box side in pixels (``end_side`` lets it grow or shrink over the clip);
    ``hidden`` lists ``(from, to)`` stretches of clip time, as fractions 0..1, when the person is not
    in the picture.
    """

    start: tuple[float, float]
    end: tuple[float, float]
    side: float
    end_side: float | None = None
    mirror: bool = False
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    hidden: tuple[tuple[float, float], ...] = ()

    def visible(self, t: float) -> bool:
        return not any(a <= t <= b for a, b in self.hidden)

    def face_box(self, t: float) -> Box:
        """The true face box at clip time ``t`` (0..1), whether or not the person is visible then."""
        cx = self.start[0] + (self.end[0] - self.start[0]) * t
        cy = self.start[1] + (self.end[1] - self.start[1]) * t
        side = self.side + ((self.end_side or self.side) - self.side) * t
        return Box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


@dataclass(frozen=True)
class Scene:
    """A clip of ``people`` over a fixed, face-free background."""

    width: int
    height: int
    people: Sequence[Person] = field(default_factory=tuple)
    seed: int = 0

    def truth(self, t: float) -> list[Box | None]:
        """Every person's face box at clip time ``t``, None where that person is hidden."""
        return [p.face_box(t) if p.visible(t) else None for p in self.people]

    def render(self, frames: int) -> np.ndarray:
        """(frames, height, width, 3) uint8 RGB; frame ``i`` shows clip time ``i / (frames - 1)``."""
        background = _background(self.width, self.height, self.seed)
        cutouts = [_cutout(p) for p in self.people]
        out = np.empty((frames, self.height, self.width, 3), np.uint8)
        for i in range(frames):
            t = i / (frames - 1) if frames > 1 else 0.0
            canvas = background.astype(np.float32)
            for person, (photo, mask) in zip(self.people, cutouts, strict=True):
                if person.visible(t):
                    _paste(canvas, photo, mask, person, t)
            out[i] = np.clip(canvas, 0, 255).astype(np.uint8)
        return out


def times_of(timestamps: Sequence[float]) -> list[float]:
    """Clip times (0..1) of sampled frames from their timestamps in seconds."""
    last = timestamps[-1] if timestamps and timestamps[-1] > 0 else 1.0
    return [float(ts) / last for ts in timestamps]


def _background(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth two-colour gradient with a few soft blocks: texture without anything face-like."""
    rng = np.random.default_rng(seed)
    top, bottom = rng.uniform(60, 200, 3), rng.uniform(60, 200, 3)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    image = (top * (1 - ramp) + bottom * ramp) * np.ones((1, width, 1), np.float32)
    for _ in range(4):
        x0, y0 = int(rng.uniform(0, width * 0.8)), int(rng.uniform(0, height * 0.8))
        w, h = int(rng.uniform(0.1, 0.3) * width), int(rng.uniform(0.1, 0.3) * height)
        image[y0 : y0 + h, x0 : x0 + w] = image[y0 : y0 + h, x0 : x0 + w] * 0.6 + rng.uniform(40, 220, 3) * 0.4
    return cv2.GaussianBlur(image, (0, 0), 3.0)


def _cutout(person: Person) -> tuple[np.ndarray, np.ndarray]:
    """The photo (mirrored and tinted as asked) and its soft elliptical head mask, both float32."""
    photo = load_face().image.astype(np.float32) * np.asarray(person.tint, np.float32)
    cx, cy = load_face().centre
    side = lm.FACE_BOX[2]
    ys, xs = np.mgrid[0 : photo.shape[0], 0 : photo.shape[1]].astype(np.float32)
    radius = np.sqrt(((xs - cx) / (HEAD_RADII[0] * side)) ** 2 + ((ys - cy) / (HEAD_RADII[1] * side)) ** 2)
    mask = np.clip((1.0 - radius) / FEATHER, 0.0, 1.0)
    return np.clip(photo, 0, 255), mask


def _paste(canvas: np.ndarray, photo: np.ndarray, mask: np.ndarray, person: Person, t: float) -> None:
    """Blend the cut-out into ``canvas`` so that the photo's face box lands on ``person.face_box(t)``."""
    box = person.face_box(t)
    scale = box.side / lm.FACE_BOX[2]
    (fx, fy), (bx, by) = load_face().centre, box.centre
    sx = -scale if person.mirror else scale
    matrix = np.array([[sx, 0.0, bx - sx * fx], [0.0, scale, by - scale * fy]], np.float32)
    size = (canvas.shape[1], canvas.shape[0])
    warped = cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_LINEAR)[..., None]
    canvas *= 1.0 - alpha
    canvas += warped * alpha
