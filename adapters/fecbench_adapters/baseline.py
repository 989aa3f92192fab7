"""The offline floor: a classical face-cue narrator, with no neural weights at all.

It measures each sampled frame with OpenCV's Haar cascades (face, eyes, smile) and pixel statistics
(:mod:`fecbench_adapters.face_cues`), turns the cue tracks into timed events
(:mod:`fecbench_adapters.face_events`) and tells them phase by phase in FEC-Bench's caption layout
(:mod:`fecbench_adapters.narration`). Any real model should beat it; if one does not, that is news.
The prompt is ignored: the baseline can only ever describe what it measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, ClassVar

import cv2

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest
from fecbench_adapters.face_cues import CueMeter, CueSettings
from fecbench_adapters.face_events import Thresholds, clip_times, detect_events
from fecbench_adapters.narration import write_caption


class BaselineAdapter(Adapter):
    """Haar-cascade face cues narrated as a caption. Constructor arguments are its model arguments."""

    name: ClassVar[str] = "baseline"

    def __init__(
        self,
        *,
        max_side: int = 320,
        min_face: float = 0.12,
        face_scale_step: float = 1.1,
        face_neighbors: int = 5,
        eye_neighbors: int = 4,
        smile_neighbors: int = 15,
        move_threshold: float = 0.06,
        zoom_threshold: float = 0.15,
        tilt_threshold: float = 6.0,
        brow_threshold: float = 0.04,
        mouth_threshold: float = 0.08,
    ) -> None:
        self.settings = CueSettings(
            max_side=int(max_side),
            min_face=float(min_face),
            face_scale_step=float(face_scale_step),
            face_neighbors=int(face_neighbors),
            eye_neighbors=int(eye_neighbors),
            smile_neighbors=int(smile_neighbors),
        )
        self.thresholds = Thresholds(
            move=float(move_threshold),
            zoom=float(zoom_threshold),
            tilt=float(tilt_threshold),
            brow=float(brow_threshold),
            mouth=float(mouth_threshold),
        )
        self.meter = CueMeter(self.settings)

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        # Deterministic by construction: decoding settings do not apply to a measurement.
        return [self.caption(request) for request in requests]

    def caption(self, request: VideoRequest) -> str:
        """Caption of one clip from its sampled frames."""
        frames = request.frames
        if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
            raise ValueError(f"clip {request.clip_id}: expected (T, H, W, 3) frames, got shape {frames.shape}")
        cues = [self.meter.measure(frame) for frame in frames]
        times = clip_times(len(cues), request.timestamps)
        return write_caption(cues, times, detect_events(cues, times, self.thresholds))

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "classical baseline (no neural weights)",
            "detectors": "OpenCV Haar cascades: frontalface_default, eye, smile",
            "opencv": cv2.__version__,
            "cue_settings": asdict(self.settings),
            "thresholds": asdict(self.thresholds),
        }
