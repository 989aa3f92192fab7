"""Face boxes in frame pixels, and the geometry the tracker needs (IoU, centre distance, interpolation).

Pure numpy-free arithmetic on four floats, so the tracker's logic stays readable and importable
without OpenCV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels: ``x0, y0`` top-left, ``x1, y1`` bottom-right (exclusive)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float) -> Box:
        return cls(float(x), float(y), float(x + w), float(y + h))

    @property
    def width(self) -> float:
        return max(0.0, self.x1 - self.x0)

    @property
    def height(self) -> float:
        return max(0.0, self.y1 - self.y0)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def side(self) -> float:
        """Geometric mean of width and height: one size number for square-ish face boxes."""
        return math.sqrt(self.area)

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0)

    def iou(self, other: Box) -> float:
        """Intersection over union; 0 for disjoint or empty boxes."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def centre_distance(self, other: Box) -> float:
        (ax, ay), (bx, by) = self.centre, other.centre
        return math.hypot(ax - bx, ay - by)

    def shifted(self, dx: float, dy: float) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def scaled(self, factor: float) -> Box:
        """The box grown (or shrunk) by ``factor`` about its centre."""
        cx, cy = self.centre
        hw, hh = self.width * factor / 2.0, self.height * factor / 2.0
        return Box(cx - hw, cy - hh, cx + hw, cy + hh)

    def as_xywh(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.width, self.height)

    def as_list(self, digits: int = 1) -> list[float]:
        """``[x0, y0, x1, y1]`` rounded, for JSON."""
        return [round(v, digits) for v in (self.x0, self.y0, self.x1, self.y1)]


def lerp(a: Box, b: Box, t: float) -> Box:
    """The box a fraction ``t`` of the way from ``a`` to ``b`` (linear in every coordinate)."""
    return Box(
        a.x0 + (b.x0 - a.x0) * t,
        a.y0 + (b.y0 - a.y0) * t,
        a.x1 + (b.x1 - a.x1) * t,
        a.y1 + (b.y1 - a.y1) * t,
    )
