"""FaceTrack: follow the main character's face through a clip's sampled frames.

FaceTrack-MM (the FEC-Bench paper's model) tracks the main face and gives the model that face at a
higher resolution; its weights are not released, so this package offers the idea to every model:

* :mod:`~fecbench.facetrack.detect`: face detectors whose weights ship inside a package (OpenCV's
  Haar cascade by default, MTCNN optionally);
* :mod:`~fecbench.facetrack.track`: detections linked into tracks across frames (Hungarian
  assignment on IoU and centre distance, missed frames tolerated);
* :mod:`~fecbench.facetrack.select`: the documented main-character rule (size, centrality, time on screen);
* :mod:`~fecbench.facetrack.crops`: face crops at a fixed output size;
* :mod:`~fecbench.facetrack.tracker`: the pipeline, :class:`FaceTracker` -> :class:`FaceTrackResult`.

The ``facetrack:<adapter>`` wrapper and the ``facetrack-mm`` adapter live in ``fecbench_adapters``.
Importing this package imports neither OpenCV nor scipy; they load when a tracker is built or run.
See docs/facetrack.md.
"""

from __future__ import annotations

from fecbench.facetrack.boxes import Box
from fecbench.facetrack.detect import Detection, DetectorSettings
from fecbench.facetrack.select import SelectSettings
from fecbench.facetrack.track import LinkSettings, Track
from fecbench.facetrack.tracker import FaceTracker, FaceTrackResult, TrackerSettings, track_video

__all__ = [
    "Box",
    "Detection",
    "DetectorSettings",
    "FaceTrackResult",
    "FaceTracker",
    "LinkSettings",
    "SelectSettings",
    "Track",
    "TrackerSettings",
    "track_video",
]
