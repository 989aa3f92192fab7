"""A test plugin for ``--model-env``: ``env-probe`` runs in-process or in a model environment's worker.

It imports nothing but fecbench's light modules and numpy, so it loads in a bare environment with
numpy and pluggy only. Its caption is ``frame-stats``'s plus the sha256 of the frames' bytes, so a
prediction proves which bytes the adapter saw; on cue it runs out of memory above a batch size,
kills its own process on a clip (once, or every time), starts a child process that would outlive
it, records its process ids, and keeps the frames it was given (checking they never change).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from fecbench_test_adapters import FrameStatsAdapter

from fecbench import AdapterSpec, GenerationConfig, VideoRequest, hookimpl


def _first_time(marker: str) -> bool:
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


class EnvProbeAdapter(FrameStatsAdapter):
    name = "env-probe"

    def __init__(
        self,
        delay: float = 0.0,
        fail_on: str = "",
        max_batch: int = 0,
        oom_above: int = -1,
        crash_on: str | int = "",
        crash_once: str = "",
        pid_dir: str = "",
        child: bool = False,
        log: str = "",
        keep: bool = False,
    ) -> None:
        super().__init__(delay=delay, fail_on=fail_on, max_batch=max_batch)
        self.oom_above = oom_above
        self.crash_on = set(filter(None, str(crash_on).split("+")))
        self.crash_once = crash_once
        self.log = log
        self.keep = keep
        self.kept: list[tuple[str, np.ndarray]] = []  # frames held past generate(), as a caching model might
        if pid_dir:
            Path(pid_dir).mkdir(parents=True, exist_ok=True)
            Path(pid_dir, f"worker-{os.getpid()}").write_text(str(os.getpid()))
            if child:  # a process the model's code started: it must not outlive the run
                grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
                Path(pid_dir, f"child-{grandchild.pid}").write_text(str(grandchild.pid))

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        if self.log:
            with open(self.log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"pid": os.getpid(), "ids": [r.clip_id for r in requests]}) + "\n")
        if 0 <= self.oom_above < len(requests):
            raise RuntimeError(f"CUDA out of memory. Tried to allocate {len(requests)} clips; fits {self.oom_above}")
        ids = {r.clip_id for r in requests}
        if ids & self.crash_on or (self.crash_once and _first_time(self.crash_once)):
            os.kill(os.getpid(), signal.SIGKILL)
        for digest, frames in self.kept:
            if _digest(frames) != digest:
                raise RuntimeError("frames kept from an earlier batch changed under the adapter")
        if self.keep:
            self.kept += [(_digest(r.frames), r.frames) for r in requests]
        captions = super().generate(requests, config)
        return [f"{c}; sha256 {_digest(r.frames)}" for c, r in zip(captions, requests, strict=True)]

    def describe(self) -> dict[str, object]:
        return {"numpy": np.__version__, "python": sys.executable}


def _digest(frames: np.ndarray) -> str:
    array = np.ascontiguousarray(frames)
    return hashlib.sha256(array.tobytes() + str(array.shape).encode() + array.dtype.str.encode()).hexdigest()[:16]


@hookimpl
def fecbench_register_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            name="env-probe",
            factory="fecbench_env_adapters:EnvProbeAdapter",
            summary="test adapter for --model-env: frame statistics and the frames' sha256",
            default_frames=4,
        )
    ]
