"""Generation for decoded clips: fixed or automatic batch size, out-of-memory back-off, per-clip failures.

``--batch-size auto`` starts at a ceiling (the adapter's ``max_batch_size``, else
:data:`AUTO_CEILING`) and halves the size each time the model runs out of memory, retrying the same
clips at once; it settles on the largest size that fits and keeps it. An out-of-memory error is
recorded as a clip's failure only once a single clip does not fit. With a fixed size, a batch that
raises (out of memory included) is retried clip by clip, so one bad clip fails alone.

Requests are built once per decoded batch (:meth:`BatchGenerator.decoded`), so that
:meth:`BatchGenerator.prepare_ahead`, run in a background thread, hands the adapter's optional
``prepare`` hook exactly the requests, cut into exactly the chunks, that ``generate`` gets later.

torch is never imported here: a CUDA out-of-memory error is recognised through ``sys.modules``
(an adapter that raised one has imported torch already), see :mod:`fecbench.memory`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest, visual_tokens_of
from fecbench.data.annotations import Clip
from fecbench.errors import ConfigError, ModelWorkerError, VideoError
from fecbench.memory import is_out_of_memory, release_memory
from fecbench.runner.plan import PlannedClip
from fecbench.runner.store import ClipResult
from fecbench.video.decode import SampledFrames

log = logging.getLogger(__name__)

AUTO = "auto"
#: Where ``--batch-size auto`` starts when the adapter declares no ``max_batch_size``.
AUTO_CEILING = 32


@dataclass(frozen=True)
class BatchSize:
    """A fixed batch size, or ``auto`` with the ceiling it starts from."""

    size: int
    auto: bool = False

    @classmethod
    def parse(cls, value: int | str) -> BatchSize:
        """An int >= 1, its string, or ``"auto"``; anything else is a :class:`ConfigError` naming ``--batch-size``."""
        if isinstance(value, str) and value.strip().lower() == AUTO:
            return cls(AUTO_CEILING, auto=True)
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", text):
            raise ConfigError(f"--batch-size must be a positive integer or 'auto', got {value!r}")
        if int(text) < 1:
            raise ConfigError(f"--batch-size must be at least 1 (or 'auto'), got {value!r}")
        return cls(int(text))

    @property
    def spec_value(self) -> int | str:
        """What ``run.json`` records as the requested batch size."""
        return AUTO if self.auto else self.size

    def start(self, adapter_max: int | None) -> int:
        """The size to start with: auto starts at the adapter's cap when it has one; any size is capped by it."""
        if self.auto and adapter_max:
            return adapter_max
        return min(self.size, adapter_max or self.size)


@dataclass
class DecodedBatch:
    """A batch once decoded: the results of clips that failed to decode, and the requests of the others."""

    failures: list[ClipResult] = field(default_factory=list)
    ready: list[tuple[PlannedClip, VideoRequest]] = field(default_factory=list)


class BatchGenerator:
    """Captions for decoded clips through one adapter, in chunks of the current batch size.

    ``size`` is the current size; with ``auto`` it only ever shrinks (halving on out-of-memory), and
    ``backoffs`` counts the halvings.
    """

    def __init__(self, adapter: Adapter, *, prompt: str, generation: GenerationConfig, size: int, auto: bool) -> None:
        self.adapter = adapter
        self.prompt = prompt
        self.generation = generation
        self.size = max(1, size)
        self.ceiling = self.size
        self.auto = auto
        self.backoffs = 0
        self.prepare_failures = 0

    def decoded(self, batch: Sequence[PlannedClip], outcomes: Sequence[SampledFrames | Exception]) -> DecodedBatch:
        """Split a batch's decoding outcomes into failed clips and the requests to generate from."""
        decoded = DecodedBatch()
        for item, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                decoded.failures.append(failed(item.clip, video_error_text(outcome)))
            else:
                request = VideoRequest(item.clip.id, outcome.frames, self.prompt, list(outcome.timestamps))
                decoded.ready.append((item, request))
        return decoded

    def prepare_ahead(self, decoded: DecodedBatch) -> None:
        """Let the adapter prepare the chunks :meth:`run` will cut from ``decoded`` at the current size.

        Called from a background thread; never raises. A failure is logged (a warning the first
        time) and otherwise ignored: ``generate`` then does the work itself and reports any real
        error per clip. If ``auto`` shrinks the size meanwhile, the chunks differ and the adapter
        prepares them inline.
        """
        size = self.size
        for start in range(0, len(decoded.ready), size):
            chunk = [request for _, request in decoded.ready[start : start + size]]
            try:
                self.adapter.prepare(chunk, self.generation)
            except Exception as exc:
                self.prepare_failures += 1
                level = logging.WARNING if self.prepare_failures == 1 else logging.DEBUG
                log.log(
                    level,
                    "%s: preparing a batch ahead failed (%s: %s); generate() will prepare it itself",
                    self.adapter.name or type(self.adapter).__name__,
                    type(exc).__name__,
                    exc,
                    exc_info=level == logging.DEBUG,
                )

    def run(self, ready: Sequence[tuple[PlannedClip, VideoRequest]]) -> Iterator[list[ClipResult]]:
        """Yield the results of each chunk as soon as it is done (so the caller can commit it)."""
        start = 0
        while start < len(ready):
            chunk = ready[start : start + self.size]
            outcome = self._attempt(chunk)
            if outcome is None:  # out of memory with room to shrink: the same clips again, smaller
                self.size = max(1, min(self.size, len(chunk)) // 2)
                self.backoffs += 1
                release_memory()
                continue
            start += len(chunk)
            yield outcome

    def _attempt(self, chunk: Sequence[tuple[PlannedClip, VideoRequest]]) -> list[ClipResult] | None:
        """The chunk's results; None when ``auto`` should halve and retry it."""
        started = time.perf_counter()
        try:
            outputs = self._generate(chunk)
        except ModelWorkerError:  # the model's worker cannot go on: stop the run, not just these clips
            raise
        except Exception as exc:
            if self.auto and len(chunk) > 1 and is_out_of_memory(exc):
                return None
            if len(chunk) == 1:
                return [failed(chunk[0][0].clip, f"model error: {type(exc).__name__}: {exc}")]
            return [result for single in chunk for result in self._one_by_one(single)]
        per_clip = round((time.perf_counter() - started) / len(chunk), 4)
        return [generated(p.clip, text, seconds=per_clip) for (p, _), text in zip(chunk, outputs, strict=True)]

    def _one_by_one(self, single: tuple[PlannedClip, VideoRequest]) -> list[ClipResult]:
        started = time.perf_counter()
        try:
            (text,) = self._generate([single])
        except ModelWorkerError:
            raise
        except Exception as exc:
            return [failed(single[0].clip, f"model error: {type(exc).__name__}: {exc}")]
        return [generated(single[0].clip, text, seconds=round(time.perf_counter() - started, 4))]

    def _generate(self, chunk: Sequence[tuple[PlannedClip, VideoRequest]]) -> list[str]:
        requests = [request for _, request in chunk]
        return _checked(self.adapter.generate(requests, self.generation), len(requests))


def batch_results(decoded: DecodedBatch, generator: BatchGenerator) -> Iterator[list[ClipResult]]:
    """Results of one decoded batch, chunk by chunk; clips that failed to decode come with the first chunk."""
    failures = list(decoded.failures)
    for chunk in generator.run(decoded.ready):
        yield failures + chunk
        failures = []
    if failures:
        yield failures


def missing_video_error(item: PlannedClip) -> VideoError:
    if item.refused is not None:
        return VideoError(item.refused)
    return VideoError(f"video not found: {item.clip.video} (looked in: {', '.join(item.tried) or 'nowhere'})")


def _checked(outputs: object, expected: int) -> list[str]:
    if not isinstance(outputs, list) or len(outputs) != expected or not all(isinstance(o, str) for o in outputs):
        raise TypeError(f"adapter returned {type(outputs).__name__} of the wrong shape; expected {expected} strings")
    return outputs


def video_error_text(exc: Exception) -> str:
    if isinstance(exc, VideoError):
        return f"video error: {exc}"
    return f"video error: {type(exc).__name__}: {exc}"


def generated(clip: Clip, caption: str, *, seconds: float) -> ClipResult:
    """A clip's caption as stored: plain text, plus the visual-token count when the adapter reported one."""
    return clip_result(
        clip, status="ok", prediction=str(caption), seconds=seconds, visual_tokens=visual_tokens_of(caption)
    )


def failed(clip: Clip, message: str) -> ClipResult:
    return clip_result(clip, status="error", error=message)


def clip_result(clip: Clip, **outcome: Any) -> ClipResult:
    """A stored result: the clip's identity and reference, plus what happened to it."""
    return ClipResult(
        id=clip.id, index=clip.index, video=clip.video, source=clip.source, reference=clip.caption, **outcome
    )
