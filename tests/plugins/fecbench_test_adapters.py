"""A plugin module used by the tests, loaded through ``FECBENCH_PLUGINS`` like any unpackaged plugin.

``frame-stats`` is a real (if simple) model: its caption is computed from the frames it is given,
so tests can check that the right frames reached the right clip, and it can be told to be slow
or to fail on chosen clips.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from fecbench import Adapter, AdapterSpec, GenerationConfig, VideoRequest, hookimpl


class FrameStatsAdapter(Adapter):
    name = "frame-stats"

    def __init__(self, delay: float = 0.0, fail_on: str = "", max_batch: int = 0) -> None:
        self.delay = delay
        self.fail_on = set(filter(None, fail_on.split("+")))
        self.calls: list[int] = []
        if max_batch:
            self.max_batch_size = max_batch

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        self.calls.append(len(requests))
        time.sleep(self.delay)
        for request in requests:
            if request.clip_id in self.fail_on:
                raise RuntimeError(f"cannot caption clip {request.clip_id}")
        return [
            f"the video shows {len(r.frames)} frames of {r.frames.shape[2]}x{r.frames.shape[1]} pixels; "
            f"mean brightness {float(r.frames.mean()):.1f}"
            for r in requests
        ]

    def describe(self) -> dict[str, object]:
        return {"delay": self.delay}


@hookimpl
def fecbench_register_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            name="frame-stats",
            factory="fecbench_test_adapters:FrameStatsAdapter",
            summary="test adapter: describes frame statistics",
            default_frames=4,
        ),
        AdapterSpec(
            name="needs-missing",
            factory="fecbench_test_adapters:FrameStatsAdapter",
            requires=("fecbench_no_such_package",),
            install_hint="pip install fecbench-no-such-package",
        ),
    ]
