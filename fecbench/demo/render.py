"""Frame animation: paint a face state onto the astronaut photo, then frame it like a moving head.

Each frame costs one copy of the photo, three small local edits around the face (eyelids, mouth,
brows) and one affine warp to the output size, about a millisecond, so a clip renders in well under
a tenth of a second. The local edits are drawn in photo pixels, before the head transform, so that
they tilt and scale with the face.
"""

from __future__ import annotations

import cv2
import numpy as np

from fecbench.demo import face as lm
from fecbench.demo.face import Face
from fecbench.demo.script import FaceState, Script

VIEW_SIDE = 300.0  # photo pixels shown across the output frame at rest (the face fills about 30%)
FACE_AT = (0.5, 0.41)  # where the face centre rests in the output, as fractions of the side
LASH = (70, 45, 40)
MOUTH_INSIDE = (45, 14, 18)
BROW_LIFT = 8.0  # photo pixels
JAW_DROP = 12.0  # photo pixels


def render_clip(script: Script, face: Face, *, frames: int, size: int = 256) -> np.ndarray:
    """All frames of a clip, (T, size, size, 3) uint8 RGB."""
    times = np.linspace(0.0, 1.0, frames)
    return np.stack([render_frame(face, script.state_at(float(t)), size) for t in times])


def render_frame(face: Face, state: FaceState, size: int = 256) -> np.ndarray:
    """One RGB frame of ``face`` in ``state``."""
    image = face.image.copy()
    if state.brows_raised > 0.01:
        _raise_brows(image, state.brows_raised)
    if state.mouth_open > 0.01:
        _open_mouth(image, state.mouth_open)
    if state.eyes_closed > 0.01:
        for eye in (lm.LEFT_EYE, lm.RIGHT_EYE):
            _close_eye(image, eye, state.eyes_closed, face.skin)
    matrix = view_matrix(face, state, size)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def view_matrix(face: Face, state: FaceState, size: int) -> np.ndarray:
    """Photo-to-frame affine map: head tilt and scale about the face centre, then shift and framing."""
    cx, cy = face.centre
    zoom = size / VIEW_SIDE
    head = cv2.getRotationMatrix2D((cx, cy), state.tilt, state.scale * zoom)
    head[0, 2] += size * (FACE_AT[0] + state.dx) - cx
    head[1, 2] += size * (FACE_AT[1] + state.dy) - cy
    return head


def _blend(image: np.ndarray, box: tuple[int, int, int, int], mask: np.ndarray, colour: np.ndarray) -> None:
    """Alpha-blend ``colour`` (per pixel or one RGB) into ``image[box]`` with a 0..1 ``mask``."""
    x0, y0, x1, y1 = box
    region = image[y0:y1, x0:x1].astype(np.float32)
    alpha = mask[..., None]
    image[y0:y1, x0:x1] = np.clip(region * (1.0 - alpha) + colour * alpha, 0, 255).astype(np.uint8)


def _close_eye(image: np.ndarray, eye: tuple[float, float], closure: float, skin: tuple[int, int, int]) -> None:
    """Lower an upper lid over the eye opening; a lash line marks the lid's edge.

    The lid is the cheek skin just below the eye, mirrored up and shaded towards the skin tone, so it
    keeps the photo's grain instead of looking like a flat sticker.
    """
    ex, ey = eye
    ax, ay = lm.EYE_HALF_SIZE[0] + 2.0, lm.EYE_HALF_SIZE[1] + 2.5
    x0, y0, x1, y1 = int(ex - ax - 3), int(ey - ay - 3), int(ex + ax + 4), int(ey + ay + 4)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    inside = ((xs - ex) / ax) ** 2 + ((ys - ey) / ay) ** 2
    lid_edge = ey - ay + 2.0 * ay * closure
    covered = np.clip(lid_edge - ys + 0.5, 0.0, 1.0) * np.clip((1.2 - inside) / 0.45, 0.0, 1.0)
    below = image[y1 + 2 : y1 + 2 + (y1 - y0), x0:x1][::-1].astype(np.float32)
    shade = 0.86 + 0.1 * np.clip((lid_edge - ys) / (2.0 * ay), 0.0, 1.0)  # darker towards the lash line
    lid = (0.6 * below + 0.4 * np.array(skin, np.float32)) * shade[..., None]
    _blend(image, (x0, y0, x1, y1), covered, lid)
    # The lashes: a soft dark band along the lid edge, as wide as the eye opening there (a curve when shut).
    edge_y = min(lid_edge, ey + 1.5)
    half_chord = ax * np.sqrt(max(0.0, 1.0 - ((edge_y - ey) / ay) ** 2)) if closure < 0.9 else ax - 1.5
    along = np.clip(1.0 - ((xs - ex) / max(half_chord, 1.0)) ** 2, 0.0, 1.0)
    lash = np.clip(1.4 - np.abs(ys - edge_y - 2.0 * closure * along), 0.0, 1.0) * np.sqrt(along)
    _blend(image, (x0, y0, x1, y1), lash * min(1.0, closure * 2.0) * 0.8, np.array(LASH, np.float32))


def _open_mouth(image: np.ndarray, amount: float) -> None:
    """Drop the jaw below the upper teeth and show the dark mouth inside.

    The drop follows an elliptic profile across the mouth, so the gap it opens is exactly the
    ellipse painted as the inside of the mouth (no stray lip lines at the corners).
    """
    mx, my = lm.MOUTH
    w = lm.MOUTH_HALF_WIDTH
    x0, y0, x1, y1 = int(mx - w - 2), int(my), int(mx + w + 3), int(my + 46)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    across = np.clip(1.0 - ((xs - mx) / w) ** 2, 0.0, 1.0)
    down = np.clip((y1 - ys) / 22.0, 0.0, 1.0)
    drop = JAW_DROP * amount * across * down
    src = image[y0 - 20 : y1, x0:x1]
    image[y0:y1, x0:x1] = cv2.remap(
        src, xs - x0, ys - drop - (y0 - 20), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    gap = JAW_DROP * amount
    top = my + 2.0
    depth = np.clip((ys - top) / np.maximum(gap * across, 0.5), 0.0, 1.0)
    opening = np.clip((gap * across + top - ys) * 1.5, 0.0, 1.0) * (ys >= top - 0.5)
    lit = np.array(MOUTH_INSIDE, np.float32) + np.array((60, 20, 22), np.float32) * (1.0 - depth)[..., None]
    _blend(image, (x0, y0, x1, y1), opening * np.clip(across * 3.0, 0.0, 1.0), lit)


def _raise_brows(image: np.ndarray, amount: float) -> None:
    """Lift each brow, and the forehead above it, by a monotone vertical remap.

    The forehead compresses upwards with the brow; the thin strip of skin between brow and lashes is
    stretched to fill the gap, so neither the brow nor the lashes are duplicated.
    """
    lift = BROW_LIFT * amount
    for bx, by in (lm.LEFT_BROW, lm.RIGHT_BROW):
        half = lm.BROW_HALF_WIDTH
        x0, y0, x1, y1 = int(bx - half - 6), int(by - 24), int(bx + half + 7), int(by + 6)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        strip_top, strip_bottom = by + 2.0, by + 5.0  # skin between the brow and the lashes
        fade = np.clip((ys - (by - 24.0)) / (21.0 - lift), 0.0, 1.0)
        source = np.where(
            ys <= strip_top - lift,
            ys + lift * fade,
            strip_top + (ys - (strip_top - lift)) * (strip_bottom - strip_top) / (lift + strip_bottom - strip_top),
        )
        source = np.where(ys > strip_bottom, ys, source)
        across = np.clip((half + 6.0 - np.abs(xs - bx)) / 6.0, 0.0, 1.0)
        map_y = ys + (source - ys) * across
        patch = image[y0:y1, x0:x1].copy()
        image[y0:y1, x0:x1] = cv2.remap(patch, xs - x0, map_y - y0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
