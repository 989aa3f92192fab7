"""A test plugin for the scale features: ``scale-stats`` captions like ``frame-stats`` and can misbehave on cue.

It runs out of memory (a real ``torch.cuda.OutOfMemoryError``, constructible without a GPU) above
a batch size, logs every call, records its process id, and can kill its own process or Ray actor,
so the tests exercise ``--batch-size auto``, shape grouping and Ray worker loss with the real runner.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from fecbench_test_adapters import FrameStatsAdapter

from fecbench import AdapterSpec, GenerationConfig, VideoRequest, hookimpl


def _first_time(marker: str) -> bool:
    """True in exactly one process: the one that creates ``marker``."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


class ScaleStatsAdapter(FrameStatsAdapter):
    """``frame-stats`` (its captions, ``delay`` and ``max_batch``) with the cues above."""

    name = "scale-stats"

    def __init__(
        self,
        delay: float = 0.0,
        max_batch: int = 0,
        oom_above: int = -1,
        log: str = "",
        pid_dir: str = "",
        kill_once: str = "",
        ray_kill_once: str = "",
        kill_on: str = "",
    ) -> None:
        super().__init__(delay=delay, max_batch=max_batch)
        self.oom_above = oom_above
        self.log = log
        self.kill_once = kill_once
        self.ray_kill_once = ray_kill_once
        self.kill_on = kill_on
        if pid_dir:
            Path(pid_dir, str(os.getpid())).write_text(str(os.getpid()))

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        if self.log:
            call = {"ids": [r.clip_id for r in requests], "shapes": [list(r.frames.shape) for r in requests]}
            with open(self.log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(call) + "\n")
        if 0 <= self.oom_above < len(requests):
            import torch

            raise torch.cuda.OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate {len(requests)} clips; this test GPU fits {self.oom_above}"
            )
        captions = super().generate(requests, config)  # after its delay
        if self.kill_on and self.kill_on in {r.clip_id for r in requests}:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.kill_once and _first_time(self.kill_once):
            os.kill(os.getpid(), signal.SIGKILL)
        if self.ray_kill_once and _first_time(self.ray_kill_once):
            import ray

            ray.kill(ray.get_runtime_context().current_actor, no_restart=True)
            time.sleep(30)  # the kill lands before this batch could finish
        return captions


@hookimpl
def fecbench_register_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            name="scale-stats",
            factory="fecbench_scale_adapters:ScaleStatsAdapter",
            summary="test adapter: frame statistics, with out-of-memory and worker-death cues",
            default_frames=4,
        )
    ]
