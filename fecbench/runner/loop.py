"""The run loop: batches of clips through an adapter, each result committed as soon as it exists."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest
from fecbench.data.annotations import Clip
from fecbench.errors import VideoError
from fecbench.runner.prefetch import prefetched
from fecbench.runner.store import ClipResult, RunStore
from fecbench.video.decode import SampledFrames


@dataclass(frozen=True)
class PlannedClip:
    """A clip to run and where its video was found (None: under none of the roots)."""

    clip: Clip
    path: Path | None
    tried: tuple[str, ...] = ()


def run_batches(
    planned: Sequence[PlannedClip],
    adapter: Adapter,
    store: RunStore,
    *,
    load_frames: Callable[[Path], SampledFrames],
    prompt: str,
    generation: GenerationConfig,
    batch_size: int,
    decode_workers: int = 2,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Run every planned clip; ``on_progress(done, failed)`` is called after each committed batch."""

    def load(item: PlannedClip) -> SampledFrames:
        if item.path is None:
            raise VideoError(f"video not found: {item.clip.video} (looked in: {', '.join(item.tried) or 'nowhere'})")
        return load_frames(item.path)

    batches = [planned[i : i + batch_size] for i in range(0, len(planned), batch_size)]
    for batch, outcomes in prefetched(batches, load, workers=decode_workers):
        results: list[ClipResult] = []
        ready: list[tuple[PlannedClip, SampledFrames]] = []
        for item, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                results.append(_failed(item.clip, _video_error_text(outcome)))
            else:
                ready.append((item, outcome))
        if ready:
            results += _generate(adapter, ready, prompt, generation)
        store.record(results)
        if on_progress:
            on_progress(len(results), sum(r.status != "ok" for r in results))


def _generate(
    adapter: Adapter, ready: list[tuple[PlannedClip, SampledFrames]], prompt: str, generation: GenerationConfig
) -> list[ClipResult]:
    """Generate for a batch; if the batch fails, retry clip by clip so one bad clip fails alone."""
    requests = [VideoRequest(p.clip.id, s.frames, prompt, list(s.timestamps)) for p, s in ready]
    started = time.perf_counter()
    try:
        outputs = _checked(adapter.generate(requests, generation), len(requests))
    except Exception as exc:
        if len(ready) == 1:
            return [_failed(ready[0][0].clip, f"model error: {type(exc).__name__}: {exc}")]
        return [result for single in ready for result in _generate(adapter, [single], prompt, generation)]
    per_clip = round((time.perf_counter() - started) / len(requests), 4)
    return [
        _result(p.clip, status="ok", prediction=text, seconds=per_clip)
        for (p, _), text in zip(ready, outputs, strict=True)
    ]


def _checked(outputs: object, expected: int) -> list[str]:
    if not isinstance(outputs, list) or len(outputs) != expected or not all(isinstance(o, str) for o in outputs):
        raise TypeError(f"adapter returned {type(outputs).__name__} of the wrong shape; expected {expected} strings")
    return outputs


def _video_error_text(exc: Exception) -> str:
    if isinstance(exc, VideoError):
        return f"video error: {exc}"
    return f"video error: {type(exc).__name__}: {exc}"


def _failed(clip: Clip, message: str) -> ClipResult:
    return _result(clip, status="error", error=message)


def _result(clip: Clip, **outcome: Any) -> ClipResult:
    """A stored result: the clip's identity and reference, plus what happened to it."""
    return ClipResult(
        id=clip.id, index=clip.index, video=clip.video, source=clip.source, reference=clip.caption, **outcome
    )
