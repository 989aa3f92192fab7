"""Per-frame facial measurements with OpenCV's Haar cascades and simple pixel statistics.

This is the measuring half of the baseline adapter: no neural weights, only the cascades that ship
inside ``opencv-python-headless`` 4.x. Every quantity is normalised (by the frame size, or inside a
face crop resized to a fixed side) so the same thresholds hold for a 256x256 demo clip and a 1080p
source video.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

FACE_WEIGHT = 0.5  # face boxes scoring under this share of the best box's cascade weight are dropped
BROW_DIP = 20.0  # grey levels a brow must be darker than the skin below it
CROP = 96  # face crops are resized to CROP x CROP before the eye, smile and mouth measurements


@dataclass(frozen=True)
class FrameCues:
    """What one frame shows about the largest face in it; face-dependent fields are None without a face."""

    faces: int  # how many faces the detector found
    centre: tuple[float, float] | None = None  # face box centre, fractions of frame width and height
    size: float | None = None  # face box side over the frame's shorter side
    eyes: int | None = None  # eyes found in the upper face (0, 1 or 2)
    eye_angle: float | None = None  # degrees of the line from the left to the right eye (+: clockwise)
    brow_height: float | None = None  # brows above the detected eyes, as a share of the face side
    mouth_dark: float | None = None  # share of dark pixels in the mouth area (an open mouth is dark)
    teeth: float | None = None  # share of pixels in the mouth area brighter than the skin (bared teeth)
    smile: bool | None = None  # the smile cascade fired in the lower face

    @property
    def found(self) -> bool:
        return self.faces > 0


@dataclass(frozen=True)
class CueSettings:
    """Detector settings; the adapter exposes them as model arguments."""

    max_side: int = 320  # frames are downscaled to this longer side before face detection
    min_face: float = 0.12  # smallest face side searched for, as a share of the shorter side
    face_scale_step: float = 1.1  # pyramid step of the face search: larger is faster and coarser
    face_neighbors: int = 5
    eye_neighbors: int = 4
    smile_neighbors: int = 15


def _cascade(name: str) -> cv2.CascadeClassifier:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if cascade.empty():
        raise RuntimeError(f"OpenCV Haar cascade {name} not found; install opencv-python-headless<5")
    return cascade


class CueMeter:
    """Measures :class:`FrameCues` on RGB frames; holds the three cascades (load once, reuse)."""

    def __init__(self, settings: CueSettings | None = None) -> None:
        self.settings = settings or CueSettings()
        self._face = _cascade("haarcascade_frontalface_default.xml")
        self._eye = _cascade("haarcascade_eye.xml")
        self._smile = _cascade("haarcascade_smile.xml")

    def measure(self, frame: np.ndarray) -> FrameCues:
        """Cues of one (H, W, 3) uint8 RGB frame."""
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {frame.shape}")
        height, width = frame.shape[:2]
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        factor = min(1.0, self.settings.max_side / max(height, width))
        small = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else gray
        side = max(12, int(self.settings.min_face * min(small.shape)))
        boxes = self._faces(small, side)
        if not boxes:
            return FrameCues(faces=0)
        x, y, w, h = (v / factor for v in max(boxes, key=lambda b: b[2] * b[3]))
        x0, y0 = max(0, int(x)), max(0, int(y))
        x1, y1 = min(width, int(x + w)), min(height, int(y + h))
        crop = cv2.resize(gray[y0:y1, x0:x1], (CROP, CROP), interpolation=cv2.INTER_AREA)
        eyes, angle = self._eyes(crop)
        dark, teeth = _mouth_stats(crop)
        return FrameCues(
            faces=len(boxes),
            centre=(float(x + w / 2) / width, float(y + h / 2) / height),
            size=float(w) / min(height, width),
            eyes=len(eyes),
            eye_angle=angle,
            brow_height=_brow_height(crop, eyes),
            mouth_dark=dark,
            teeth=teeth,
            smile=self._smiles(crop),
        )

    def _faces(self, gray: np.ndarray, side: int) -> list[tuple[int, int, int, int]]:
        """Confident face boxes: the cascade's stage weight within ``FACE_WEIGHT`` of the best one.

        Background texture (a patch, a logo) sometimes passes the cascade with a low weight; a second
        real face scores like the first, so it is kept and the largest box still wins.
        """
        boxes, _, weights = self._face.detectMultiScale3(
            gray,
            scaleFactor=self.settings.face_scale_step,
            minNeighbors=self.settings.face_neighbors,
            minSize=(side, side),
            outputRejectLevels=True,
        )
        if len(boxes) == 0:
            return []
        scores = np.asarray(weights, dtype=float).ravel()
        keep = scores >= FACE_WEIGHT * scores.max()
        return [tuple(int(v) for v in box) for box, kept in zip(boxes, keep, strict=True) if kept]

    def _eyes(self, crop: np.ndarray) -> tuple[list[tuple[float, float]], float | None]:
        """Eye centres in the upper face (at most one per side), and the angle of the line joining a pair."""
        upper = crop[: int(CROP * 0.58)]
        found = self._eye.detectMultiScale(
            upper, scaleFactor=1.1, minNeighbors=self.settings.eye_neighbors, minSize=(CROP // 8, CROP // 8)
        )
        centres = [(float(bx + bw / 2), float(by + bh / 2)) for bx, by, bw, bh in found]
        left = [c for c in centres if c[0] < CROP / 2]
        right = [c for c in centres if c[0] >= CROP / 2]
        chosen = ([min(left)] if left else []) + ([max(right)] if right else [])
        if len(chosen) < 2:
            return chosen, None
        (lx, ly), (rx, ry) = chosen
        return chosen, math.degrees(math.atan2(ry - ly, rx - lx))

    def _smiles(self, crop: np.ndarray) -> bool:
        lower = crop[int(CROP * 0.55) :]
        found = self._smile.detectMultiScale(
            lower, scaleFactor=1.1, minNeighbors=self.settings.smile_neighbors, minSize=(CROP // 3, CROP // 8)
        )
        return len(found) > 0


def _brow_height(crop: np.ndarray, eyes: Sequence[tuple[float, float]]) -> float | None:
    """Height of the brows above the detected eyes, as a share of the face side (mean of the eyes).

    Anchoring on the eyes rather than the face box matters: the box's size wobbles by several
    percent between frames (more when the head tilts), which would read as brows moving. Scanning
    a band above each eye upwards from just over the lashes, the brow is the first dip of at least
    ``BROW_DIP`` grey levels below the brightest skin passed so far.
    """
    heights = []
    for eye_x, eye_y in eyes:
        half = CROP * 0.06
        band = crop[:, max(0, int(eye_x - half)) : int(eye_x + half) + 1].astype(np.float32).mean(axis=1)
        brightest = -1.0
        for row in range(int(eye_y - CROP * 0.05), max(1, int(eye_y - CROP * 0.3)), -1):
            value = band[row]
            brightest = max(brightest, value)
            if value < brightest - BROW_DIP and value <= band[row - 1] and value <= band[row + 1]:
                heights.append((eye_y - row) / CROP)
                break
    return float(np.mean(heights)) if heights else None


def _mouth_stats(crop: np.ndarray) -> tuple[float, float]:
    """Dark and bright shares of the mouth area, relative to the face's own skin brightness.

    The references are the cheeks' median grey level, so lighting and skin tone cancel out: an open
    mouth shows pixels far darker than the skin, bared teeth pixels brighter than it.
    """
    mouth = crop[int(CROP * 0.68) : int(CROP * 0.92), int(CROP * 0.28) : int(CROP * 0.72)].astype(np.float32)
    cheeks = np.concatenate(
        [
            crop[int(CROP * 0.5) : int(CROP * 0.65), int(CROP * 0.15) : int(CROP * 0.3)].ravel(),
            crop[int(CROP * 0.5) : int(CROP * 0.65), int(CROP * 0.7) : int(CROP * 0.85)].ravel(),
        ]
    )
    skin = float(np.median(cheeks)) + 1.0
    return float(np.mean(mouth < 0.45 * skin)), float(np.mean(mouth > 1.08 * skin))
