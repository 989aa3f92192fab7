"""A model-free adapter that narrates motion: enough to show every part of the adapter interface.

The "model" measures the mean absolute difference between consecutive sampled frames and says in
which part of the clip (beginning, middle, end) the picture changes most. It is deterministic and
handles each clip on its own, so batched output equals one-at-a-time output by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fecbench import Adapter, GenerationConfig, VideoRequest
from fecbench.errors import ConfigError

PARTS = ("beginning", "middle", "end")


class MotionAdapter(Adapter):
    """Model arguments: ``threshold``, the mean absolute frame difference (0-255) counted as movement."""

    name = "example-motion"
    max_batch_size = 16

    def __init__(self, threshold: float = 6.0) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 255:
            raise ConfigError(f"--model-args: threshold={threshold!r} must be a number between 0 and 255")
        self.threshold = float(threshold)
        self.closed = False

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        if self.closed:
            raise RuntimeError("the adapter was closed")
        return [self.caption(request, config.max_new_tokens) for request in requests]

    def caption(self, request: VideoRequest, max_words: int) -> str:
        frames = request.frames.astype(np.float32)
        if len(frames) < 2:
            text = "The video shows a single moment, so no change of expression can be seen."
        else:
            changes = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
            moving = changes > self.threshold
            if not moving.any():
                text = "The person stays still throughout the video, with no visible change of expression."
            else:
                peak = int(changes.argmax())
                part = PARTS[min(len(PARTS) - 1, peak * len(PARTS) // len(changes))]
                share = round(100 * float(moving.mean()))
                text = (
                    f"The face moves most at the {part} of the video; "
                    f"the picture changes in {share}% of the intervals between frames."
                )
        words = text.split()
        return " ".join(words[:max_words])  # the token budget, counted in words for this model-free example

    def describe(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "kind": "frame-difference heuristic, no weights"}

    def close(self) -> None:
        self.closed = True
