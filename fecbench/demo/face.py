"""The demo's one real face: scikit-image's astronaut photo, with its landmarks measured once.

The photo (Eileen Collins, NASA, public domain) ships inside the scikit-image wheel, so the demo set
needs no download. Reading the PNG straight from the package folder avoids ``import skimage.data``,
which costs about a second; the slow import is only a fallback.

All coordinates are pixels of the 512x512 photo. The face box is what OpenCV's frontal-face Haar
cascade finds, the eye centres are what its eye cascade finds inside that box, and the mouth and brow
positions were read off an enlarged crop with a 10 px grid (checked by eye against the photo).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

Point = tuple[float, float]

FACE_BOX = (177, 66, 95, 95)  # x, y, w, h: Haar frontal face on the full photo
LEFT_EYE: Point = (202.0, 100.0)  # image-left eye (her right eye)
RIGHT_EYE: Point = (246.0, 104.0)
EYE_HALF_SIZE = (12.0, 6.0)  # half width, half height of the visible eye opening
LEFT_BROW: Point = (203.0, 89.0)  # centre of the brow arch
RIGHT_BROW: Point = (247.0, 92.0)
BROW_HALF_WIDTH = 15.0
MOUTH: Point = (224.0, 144.0)  # centre of the smiling mouth (upper teeth visible)
MOUTH_HALF_WIDTH = 21.0
SKIN_PATCHES = ((196, 114, 14, 8), (240, 117, 14, 8))  # x, y, w, h on the cheeks below each eye

APPEARANCE = (
    "This video shows the changing facial expressions of a middle-aged woman. She has short, wavy light brown "
    "hair with side-swept bangs, fair skin, thin arched eyebrows and brown eyes, and she wears an orange "
    "spacesuit with a black collar and a metal neck ring."
)


@dataclass(frozen=True)
class Face:
    """The photo (RGB uint8) plus the colours the animation paints with."""

    image: np.ndarray
    skin: tuple[int, int, int]

    @property
    def centre(self) -> Point:
        x, y, w, h = FACE_BOX
        return (x + w / 2, y + h / 2)


def _astronaut_png() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "astronaut.png"
    return path if path.is_file() else None


def _read_photo() -> np.ndarray:
    path = _astronaut_png()
    if path is not None:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is not None:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    from skimage import data  # slow import; only when the PNG is not where the wheel puts it

    return np.ascontiguousarray(data.astronaut()[..., :3])


def _skin_tone(image: np.ndarray) -> tuple[int, int, int]:
    """Median cheek colour: what closed eyelids are painted with."""
    pixels = np.concatenate([image[y : y + h, x : x + w].reshape(-1, 3) for x, y, w, h in SKIN_PATCHES])
    r, g, b = np.median(pixels, axis=0).astype(int)
    return (int(r), int(g), int(b))


@lru_cache(maxsize=1)
def load_face() -> Face:
    """Load the astronaut photo once per process."""
    image = _read_photo()
    image.setflags(write=False)
    return Face(image=image, skin=_skin_tone(image))
