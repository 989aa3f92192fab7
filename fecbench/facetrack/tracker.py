"""The face-tracking pipeline: detect on every sampled frame, link into tracks, choose the main face.

``FaceTracker(...).track(frames)`` returns a :class:`FaceTrackResult`: every track, the main one,
the main face's box in each frame (None where it was not detected), boxes for every frame filled in
by interpolation (what crops are cut around), and the crops themselves.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fecbench.facetrack.boxes import Box
from fecbench.facetrack.crops import face_crops
from fecbench.facetrack.detect import Detection, DetectorSettings, FaceDetector, make_detector
from fecbench.facetrack.select import SelectSettings, choose_main
from fecbench.facetrack.track import LinkSettings, Track, link_tracks

DEFAULT_CONTEXT = 1.8  # crop window height, in face sides


@dataclass
class FaceTrackResult:
    """What the tracker found in one clip's frames."""

    width: int
    height: int
    n_frames: int
    tracks: list[Track]
    main: Track | None
    scores: dict[int, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def found(self) -> bool:
        """Whether a main face was chosen (False for a clip with no face, or only one-frame hits)."""
        return self.main is not None

    def main_boxes(self) -> list[Box | None]:
        """The main face's detected box in each frame; None where it was not detected (or there is none)."""
        if self.main is None:
            return [None] * self.n_frames
        return [self.main.box(i) for i in range(self.n_frames)]

    def crop_boxes(self) -> list[Box] | None:
        """A main-face box for every frame (detected, interpolated, or the nearest held); None without a main face."""
        return self.main.filled(self.n_frames) if self.main is not None else None

    def crops(
        self, frames: np.ndarray, out_w: int = 224, out_h: int | None = None, context: float = DEFAULT_CONTEXT
    ) -> np.ndarray | None:
        """Main-face crops, (T, out_h, out_w, 3) uint8 (square unless ``out_h`` is given); None without a main face."""
        boxes = self.crop_boxes()
        if boxes is None:
            return None
        return face_crops(frames, boxes, out_w, out_h or out_w, context)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: the main track, per-frame boxes (``[x0, y0, x1, y1]`` or null), all tracks."""
        return {
            "frames": self.n_frames,
            "size": [self.width, self.height],
            "main_track": self.main.id if self.main is not None else None,
            "main_boxes": [b.as_list() if b else None for b in self.main_boxes()],
            "tracks": [
                {"id": t.id, "frames": t.frames, "score": round(self.scores[t.id], 4) if t.id in self.scores else None}
                for t in self.tracks
            ],
            "seconds": round(self.seconds, 4),
        }


@dataclass(frozen=True)
class TrackerSettings:
    """Everything that decides what the tracker outputs, recorded with a run."""

    detector: str = "haar"
    detection: DetectorSettings = field(default_factory=DetectorSettings)
    linking: LinkSettings = field(default_factory=LinkSettings)
    selection: SelectSettings = field(default_factory=SelectSettings)


class FaceTracker:
    """Detector + linker + main-face rule; build once (the detector loads its weights) and reuse."""

    def __init__(self, settings: TrackerSettings | None = None, *, device: str = "cpu") -> None:
        self.settings = settings or TrackerSettings()
        self.detector: FaceDetector = make_detector(self.settings.detector, self.settings.detection, device=device)

    def detect(self, frames: np.ndarray) -> list[list[Detection]]:
        return [self.detector.detect(np.ascontiguousarray(frame)) for frame in frames]

    def track(self, frames: np.ndarray) -> FaceTrackResult:
        """Track faces through (T, H, W, 3) uint8 RGB frames."""
        if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"expected (T, H, W, 3) uint8 RGB frames, got {getattr(frames, 'shape', frames)}")
        started = time.perf_counter()
        n_frames, height, width = frames.shape[:3]
        tracks = link_tracks(self.detect(frames), self.settings.linking)
        main, scores = choose_main(tracks, width, height, n_frames, self.settings.selection)
        return FaceTrackResult(
            width=width,
            height=height,
            n_frames=n_frames,
            tracks=tracks,
            main=main,
            scores=scores,
            seconds=time.perf_counter() - started,
        )

    def describe(self) -> dict[str, Any]:
        return {
            **self.detector.describe(),
            "linking": asdict(self.settings.linking),
            "selection": asdict(self.settings.selection),
        }


def track_video(path: str | Path, *, frames: int = 8, max_side: int = 448, tracker: FaceTracker | None = None) -> Any:
    """Sample a video by the run protocol (``uniform-time-v1``) and track faces in it; returns (sampled, result)."""
    from fecbench.video.decode import decode_clip
    from fecbench.video.protocol import FrameProtocol

    sampled = decode_clip(Path(path), FrameProtocol(num_frames=frames, max_side=max_side))
    return sampled, (tracker or FaceTracker()).track(sampled.frames)


def tracker_settings(
    *,
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
) -> TrackerSettings:
    """Tracker settings from flat model arguments, each checked, so a bad value names its argument."""
    from fecbench.errors import ConfigError
    from fecbench.facetrack.detect import DETECTORS

    def whole(value: object, least: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= least

    def number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    checks = [
        ("detector", detector, detector in DETECTORS, f"one of {', '.join(DETECTORS)}"),
        ("detect_side", detect_side, whole(detect_side, 32), "an integer of at least 32"),
        ("min_face", min_face, number(min_face) and 0 < min_face < 1, "between 0 and 1"),
        ("haar_scale_step", haar_scale_step, number(haar_scale_step) and haar_scale_step > 1, "above 1"),
        ("haar_neighbors", haar_neighbors, whole(haar_neighbors, 0), "an integer of at least 0"),
        ("min_score", min_score, number(min_score) and 0 <= min_score <= 1, "between 0 and 1"),
        ("max_gap", max_gap, whole(max_gap, 0), "an integer of at least 0"),
        ("max_shift", max_shift, number(max_shift) and max_shift > 0, "above 0"),
        ("min_iou", min_iou, number(min_iou) and 0 <= min_iou <= 1, "between 0 and 1"),
        ("max_scale_change", max_scale_change, number(max_scale_change) and max_scale_change >= 1, "at least 1"),
        ("min_track_frames", min_track_frames, whole(min_track_frames, 1), "an integer of at least 1"),
        ("centrality", centrality, number(centrality) and 0 <= centrality <= 1, "between 0 and 1"),
    ]
    wrong = [f"{name}={value!r} must be {expected}" for name, value, ok, expected in checks if not ok]
    if wrong:
        raise ConfigError("--model-args: " + "; ".join(wrong))
    return TrackerSettings(
        detector=detector,
        detection=DetectorSettings(
            detect_side=detect_side,
            min_face=float(min_face),
            haar_scale_step=float(haar_scale_step),
            haar_neighbors=haar_neighbors,
            min_score=float(min_score),
        ),
        linking=LinkSettings(
            max_gap=max_gap,
            max_shift=float(max_shift),
            min_iou=float(min_iou),
            max_scale_change=float(max_scale_change),
        ),
        selection=SelectSettings(min_frames=min_track_frames, centrality=float(centrality)),
    )
