"""``facetrack:<adapter>``: any adapter, shown the main character's face as well as the whole scene.

FaceTrack-MM's idea, offered to every model: the wrapper tracks faces through each clip's sampled
frames (:mod:`fecbench.facetrack`), picks the main character, and hands the wrapped adapter the
full frames plus close-ups of that face. How the close-ups reach the model is the ``mode``:

* ``append`` (default): the crops, cut with the frame's own aspect ratio and resized to the frame
  size, follow the full frames as extra frames of the same video (one per frame, or ``crop_frames``
  of them evenly spread). Their timestamps continue the clip's clock at its sampling step, so a
  processor sees one monotonic video at the original frame rate.
* ``inset``: a square close-up, ``inset_size`` of the frame's shorter side, is pasted with a thin
  white border into one corner of every frame (``inset_corner``; ``auto`` picks the corner farthest
  from the face). The frame count and timestamps are unchanged.
* ``only``: the frames are replaced by the crops (an ablation: the face without its scene).

With ``note`` (default true) one sentence describing the layout is put before the prompt. A clip in
which no main face is found is passed to the wrapped adapter unchanged. The wrapped adapter's own
model arguments are given as usual; the wrapper's take the prefix ``facetrack.`` (see
docs/facetrack.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest
from fecbench.errors import ConfigError
from fecbench.facetrack import FaceTracker, FaceTrackResult
from fecbench.facetrack.tracker import DEFAULT_CONTEXT, tracker_settings

MODES = ("append", "inset", "only")
CORNERS = ("auto", "top-left", "top-right", "bottom-left", "bottom-right")
INSET_BORDER = 2  # pixels of white around an inset

NOTES = {
    "append": (
        "The video has {total} frames: the first {frames} show the whole scene in order, and the last {crops} "
        "are close-ups of the main character's face cut from those frames, in the same order."
    ),
    "inset": "Each frame shows a close-up of the main character's face in its {corner} corner.",
    "only": "The video shows close-ups of the main character's face, cut from the original frames.",
}


class FaceTrackAdapter(Adapter):
    """Wraps ``inner``: tracks the main face and adds its close-ups to every request (see the module doc).

    Model arguments (prefix ``facetrack.`` on the command line): ``mode``, ``note``, ``crop_frames``,
    ``context``, ``inset_size``, ``inset_corner``, ``device`` (for MTCNN) and the tracker's settings
    (``detector``, ``detect_side``, ``min_face``, ``haar_scale_step``, ``haar_neighbors``,
    ``min_score``, ``max_gap``, ``max_shift``, ``min_iou``, ``max_scale_change``,
    ``min_track_frames``, ``centrality``).
    """

    name: ClassVar[str] = "facetrack"

    def __init__(
        self,
        inner: Adapter,
        *,
        mode: str = "append",
        note: bool = True,
        crop_frames: int = 0,
        context: float = DEFAULT_CONTEXT,
        inset_size: float = 0.4,
        inset_corner: str = "auto",
        device: str = "cpu",
        detector: str = "haar",
        detect_side: int = 320,
        min_face: float = 0.08,
        haar_scale_step: float = 1.1,
        haar_neighbors: int = 5,
        min_score: float = 0.9,
        max_gap: int = 3,
        max_shift: float = 1.0,
        min_iou: float = 0.3,
        max_scale_change: float = 1.8,
        min_track_frames: int = 2,
        centrality: float = 0.5,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"--model-args: facetrack.mode={mode!r} is not one of {', '.join(MODES)}")
        if inset_corner not in CORNERS:
            raise ConfigError(
                f"--model-args: facetrack.inset_corner={inset_corner!r} is not one of {', '.join(CORNERS)}"
            )
        if isinstance(crop_frames, bool) or not isinstance(crop_frames, int) or crop_frames < 0:
            raise ConfigError(f"--model-args: facetrack.crop_frames={crop_frames!r} must be 0 (all) or more")
        if not isinstance(context, (int, float)) or context <= 0:
            raise ConfigError(f"--model-args: facetrack.context={context!r} must be above 0")
        if not isinstance(inset_size, (int, float)) or not 0.1 <= inset_size <= 0.9:
            raise ConfigError(f"--model-args: facetrack.inset_size={inset_size!r} must be between 0.1 and 0.9")
        if not isinstance(note, bool):
            raise ConfigError(f"--model-args: facetrack.note={note!r} must be true or false")
        self.inner = inner
        self.mode = mode
        self.note = note
        self.crop_frames = crop_frames
        self.context = float(context)
        self.inset_size = float(inset_size)
        self.inset_corner = inset_corner
        self.max_batch_size = inner.max_batch_size
        self.tracker = FaceTracker(
            tracker_settings(
                detector=detector,
                detect_side=detect_side,
                min_face=min_face,
                haar_scale_step=haar_scale_step,
                haar_neighbors=haar_neighbors,
                min_score=min_score,
                max_gap=max_gap,
                max_shift=max_shift,
                min_iou=min_iou,
                max_scale_change=max_scale_change,
                min_track_frames=min_track_frames,
                centrality=centrality,
            ),
            device=device,
        )
        self.last_tracks: list[FaceTrackResult] = []  # the tracks of the last batch, for inspection

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        results = [self.tracker.track(_checked_frames(r)) for r in requests]
        self.last_tracks = results
        return self.inner.generate([self.focus(r, t) for r, t in zip(requests, results, strict=True)], config)

    def focus(self, request: VideoRequest, tracked: FaceTrackResult) -> VideoRequest:
        """The request the wrapped adapter sees: with the main face's close-ups, or as it was without one."""
        if not tracked.found:
            return request
        if self.mode == "append":
            return self._append(request, tracked)
        if self.mode == "inset":
            return self._inset(request, tracked)
        height, width = request.frames.shape[1:3]
        crops = tracked.crops(request.frames, width, height, self.context)
        return self._request(request, crops, list(request.timestamps), NOTES["only"])

    def _append(self, request: VideoRequest, tracked: FaceTrackResult) -> VideoRequest:
        frames = request.frames
        count, height, width = frames.shape[:3]
        crops = tracked.crops(frames, width, height, self.context)
        chosen = crop_indices(count, self.crop_frames)
        note = NOTES["append"].format(total=count + len(chosen), frames=count, crops=len(chosen))
        video = np.concatenate([frames, crops[chosen]])
        return self._request(request, video, appended_times(request.timestamps, chosen), note)

    def _inset(self, request: VideoRequest, tracked: FaceTrackResult) -> VideoRequest:
        frames = request.frames
        height, width = frames.shape[1:3]
        side = max(8, round(self.inset_size * min(height, width)))
        inner_side = side - 2 * INSET_BORDER
        crops = tracked.crops(frames, inner_side, inner_side, self.context)
        corner = self.inset_corner if self.inset_corner != "auto" else farthest_corner(tracked)
        y0 = 0 if corner.startswith("top") else height - side
        x0 = 0 if corner.endswith("left") else width - side
        video = frames.copy()
        video[:, y0 : y0 + side, x0 : x0 + side] = 255
        video[:, y0 + INSET_BORDER : y0 + side - INSET_BORDER, x0 + INSET_BORDER : x0 + side - INSET_BORDER] = crops
        return self._request(request, video, list(request.timestamps), NOTES["inset"].format(corner=corner))

    def _request(self, request: VideoRequest, frames: np.ndarray, times: list[float], note: str) -> VideoRequest:
        prompt = f"{note}\n{request.prompt}" if self.note else request.prompt
        return VideoRequest(request.clip_id, np.ascontiguousarray(frames), prompt, times)

    def describe(self) -> dict[str, Any]:
        return {
            "wrapper": "facetrack",
            "mode": self.mode,
            "note": self.note,
            "crop_frames": self.crop_frames,
            "context": self.context,
            **({"inset_size": self.inset_size, "inset_corner": self.inset_corner} if self.mode == "inset" else {}),
            "tracker": self.tracker.describe(),
            "inner": {
                "name": self.inner.name,
                "adapter": f"{type(self.inner).__module__}:{type(self.inner).__qualname__}",
                "loaded": self.inner.describe(),
            },
        }

    def close(self) -> None:
        self.inner.close()


def _checked_frames(request: VideoRequest) -> np.ndarray:
    frames = request.frames
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        shape = getattr(frames, "shape", None)
        raise ValueError(f"clip {request.clip_id!r}: expected (T, H, W, 3) frames, got {shape}")
    return frames


def crop_indices(count: int, wanted: int) -> list[int]:
    """Which frames' crops to append: all of them (``wanted`` 0 or at least ``count``) or ``wanted`` evenly spread."""
    if wanted <= 0 or wanted >= count:
        return list(range(count))
    return sorted({round(i * (count - 1) / max(1, wanted - 1)) for i in range(wanted)})


def appended_times(timestamps: Sequence[float], chosen: Sequence[int]) -> list[float]:
    """Timestamps of frames + appended crops: the crops continue the clock one sampling step after the last frame."""
    times = [float(t) for t in timestamps]
    if not times:
        return []
    step = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else 0.0
    step = step if step > 0 else 1.0
    offset = times[-1] - times[0] + step
    return times + [times[i] + offset for i in chosen]


def farthest_corner(tracked: FaceTrackResult) -> str:
    """The frame corner farthest from the main face's average centre, where an inset hides the least of it."""
    boxes = tracked.crop_boxes() or []
    cx = float(np.mean([b.centre[0] for b in boxes])) if boxes else tracked.width / 2
    cy = float(np.mean([b.centre[1] for b in boxes])) if boxes else tracked.height / 2
    vertical = "bottom" if cy < tracked.height / 2 else "top"
    horizontal = "right" if cx < tracked.width / 2 else "left"
    return f"{vertical}-{horizontal}"
