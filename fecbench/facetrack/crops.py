"""Face crops: a window around the face box, cut from the frame and resized to a fixed output size.

The window is ``context`` face sides tall (so it holds hair, chin and a little background) and as
wide as the output's aspect ratio asks, centred on the face. It is then shifted, not padded, to lie
inside the frame, and shrunk (aspect kept) when the frame is smaller than it: a crop never shows
invented borders. Crops are cut from the frames the model sees (longer side at most the protocol's
``max_side``), so a small face is upsampled; a larger ``--max-side`` gives sharper crops.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fecbench.facetrack.boxes import Box


def crop_window(face: Box, width: int, height: int, aspect: float, context: float) -> Box:
    """The frame region (pixels) to cut for ``face``: ``aspect`` = output width / height."""
    win_h = max(2.0, face.side * context)
    win_h = min(win_h, float(height), width / aspect)
    win_w = win_h * aspect
    cx, cy = face.centre
    x0 = min(max(0.0, cx - win_w / 2.0), width - win_w)
    y0 = min(max(0.0, cy - win_h / 2.0), height - win_h)
    return Box(x0, y0, x0 + win_w, y0 + win_h)


def cut(frame: np.ndarray, window: Box, out_w: int, out_h: int) -> np.ndarray:
    """``window`` of ``frame`` resized to ``out_w`` x ``out_h`` (area filter down, bilinear up)."""
    import cv2

    height, width = frame.shape[:2]
    x0, y0 = round(window.x0), round(window.y0)
    x1 = min(width, max(x0 + 1, round(window.x1)))
    y1 = min(height, max(y0 + 1, round(window.y1)))
    patch = frame[y0:y1, x0:x1]
    shrinking = patch.shape[0] > out_h or patch.shape[1] > out_w
    return cv2.resize(patch, (out_w, out_h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def face_crops(frames: np.ndarray, boxes: Sequence[Box], out_w: int, out_h: int, context: float = 1.8) -> np.ndarray:
    """One crop per frame, (T, out_h, out_w, 3) uint8, around ``boxes[i]`` in ``frames[i]``."""
    if len(boxes) != len(frames):
        raise ValueError(f"{len(boxes)} boxes for {len(frames)} frames")
    height, width = frames.shape[1:3]
    aspect = out_w / out_h
    windows = [crop_window(box, width, height, aspect, context) for box in boxes]
    return np.stack([cut(frame, window, out_w, out_h) for frame, window in zip(frames, windows, strict=True)])
