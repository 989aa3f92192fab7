"""Face detectors whose weights ship inside a package: OpenCV's Haar cascade (default) and MTCNN.

Both return :class:`Detection` boxes in the pixels of the frame they were given. Haar needs nothing
beyond ``opencv-python-headless<5`` (a core dependency); MTCNN (facenet-pytorch, its three small
networks ship in the wheel) is optional and finds turned and tilted faces that a frontal cascade
misses. Heavy imports happen when a detector is built, never when this module is imported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from fecbench.errors import ConfigError, MissingDependencyError
from fecbench.facetrack.boxes import Box

MTCNN_HINT = "pip install --no-deps facenet-pytorch==2.6.0"  # its metadata pins an old torch; it runs on ours
DETECTORS = ("haar", "mtcnn")


@dataclass(frozen=True)
class Detection:
    """One face found in one frame, with the detector's confidence (its own scale)."""

    box: Box
    score: float


class FaceDetector(Protocol):
    name: str

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces in one (H, W, 3) uint8 RGB frame."""

    def describe(self) -> dict[str, Any]:
        """Settings worth recording with a run."""


@dataclass(frozen=True)
class DetectorSettings:
    """Settings shared by the detectors; the wrapper exposes them as model arguments."""

    detect_side: int = 320  # frames are downscaled to this longer side before detection (never upscaled)
    min_face: float = 0.08  # smallest face side searched for, as a share of the frame's shorter side
    haar_scale_step: float = 1.1  # Haar pyramid step: larger is faster and coarser
    haar_neighbors: int = 5  # Haar: overlapping hits a face needs; more means fewer false faces
    min_score: float = 0.9  # MTCNN: minimum face probability


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (``haarcascade_frontalface_default.xml``, inside the wheel).

    The score is the cascade's last-stage weight (``detectMultiScale3``): it is kept for the record
    and for ranking, not thresholded, because a second real face in the picture scores like the first.
    """

    name = "haar"

    def __init__(self, settings: DetectorSettings) -> None:
        import cv2

        self._cv2 = cv2
        self.settings = settings
        self._cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if self._cascade.empty():
            raise MissingDependencyError(
                "OpenCV's Haar cascades are missing (opencv-python-headless 5 dropped them): "
                "pip install 'opencv-python-headless<5'"
            )

    def detect(self, frame: np.ndarray) -> list[Detection]:
        cv2 = self._cv2
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        factor = min(1.0, self.settings.detect_side / max(gray.shape))
        if factor < 1.0:
            gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        side = max(20, int(self.settings.min_face * min(gray.shape)))
        if side > min(gray.shape):
            return []
        boxes, _, weights = self._cascade.detectMultiScale3(
            gray,
            scaleFactor=self.settings.haar_scale_step,
            minNeighbors=self.settings.haar_neighbors,
            minSize=(side, side),
            outputRejectLevels=True,
        )
        scores = np.asarray(weights, dtype=float).ravel()
        return [
            Detection(Box.from_xywh(*(float(v) / factor for v in box)), float(score))
            for box, score in zip(np.asarray(boxes).reshape(-1, 4), scores, strict=True)
        ]

    def describe(self) -> dict[str, Any]:
        settings = asdict(self.settings)
        settings.pop("min_score")
        return {"detector": "opencv haar frontalface_default", "opencv": self._cv2.__version__, **settings}


class MTCNNDetector:
    """facenet-pytorch's MTCNN (P/R/O-Net weights ship inside its wheel); runs on the CPU or a GPU."""

    name = "mtcnn"

    def __init__(self, settings: DetectorSettings, device: str = "cpu") -> None:
        try:
            import torch
            from facenet_pytorch import MTCNN
        except ImportError as exc:
            raise MissingDependencyError(f"detector=mtcnn needs facenet-pytorch ({exc}): {MTCNN_HINT}") from exc
        self.settings = settings
        self.device = device
        self._torch = torch
        self._mtcnn = MTCNN(keep_all=True, device=device, post_process=False)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        import cv2

        factor = min(1.0, self.settings.detect_side / max(frame.shape[:2]))
        small = cv2.resize(frame, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else frame
        min_side = self.settings.min_face * min(frame.shape[:2])
        # The smallest face searched for sets how deep MTCNN's image pyramid goes, hence most of its cost.
        self._mtcnn.min_face_size = max(12, int(self.settings.min_face * min(small.shape[:2])))
        with self._torch.inference_mode():
            boxes, probs = self._mtcnn.detect(np.ascontiguousarray(small))
        if boxes is None:
            return []
        found = []
        for box, prob in zip(np.asarray(boxes, dtype=float), np.asarray(probs, dtype=float).ravel(), strict=True):
            face = Box(*(float(v) / factor for v in box))
            if prob >= self.settings.min_score and face.side >= min_side:
                found.append(Detection(face, float(prob)))
        return found

    def describe(self) -> dict[str, Any]:
        settings = asdict(self.settings)
        for key in ("haar_scale_step", "haar_neighbors"):
            settings.pop(key)
        return {"detector": "facenet-pytorch MTCNN", "device": self.device, **settings}


def make_detector(name: str, settings: DetectorSettings | None = None, *, device: str = "cpu") -> FaceDetector:
    """A detector by name (``haar`` or ``mtcnn``)."""
    settings = settings or DetectorSettings()
    if name == "haar":
        return HaarDetector(settings)
    if name == "mtcnn":
        return MTCNNDetector(settings, device=device)
    raise ConfigError(f"--model-args: detector={name!r} is not one of {', '.join(DETECTORS)}")
