"""The one interface every model sits behind.

An adapter turns a batch of (frames, prompt) requests into captions. The runner never knows which
model it drives: it only reads the class attributes below and calls :meth:`Adapter.generate`.
A caption may be a :class:`Caption`, which also reports how many visual tokens the model read.
Adapters are constructed with the keyword arguments a user passed in ``--model-args``, so a
constructor's signature is its documented set of model arguments.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class GenerationConfig:
    """Decoding settings shared by every adapter; greedy by default, as the benchmark's authors ran it."""

    max_new_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass
class VideoRequest:
    """One clip's input: sampled RGB frames (T, H, W, 3) uint8, their times in seconds, and the prompt."""

    clip_id: str
    frames: np.ndarray
    prompt: str
    timestamps: list[float] = field(default_factory=list)

    @property
    def fps_sampled(self) -> float:
        """Frames per second of the sampled frames (what video processors call ``fps``)."""
        if len(self.timestamps) < 2 or self.timestamps[-1] <= self.timestamps[0]:
            return 1.0
        return (len(self.timestamps) - 1) / (self.timestamps[-1] - self.timestamps[0])


class Caption(str):
    """A caption that also says how many visual tokens the model read for its clip.

    Two runs may feed the same frames to a model at different sizes (a processor's minimum pixels
    upscales small frames), so the model work differs although the frame protocol is the same; the
    count puts that on the record (``store.sqlite`` per clip, ``run.json`` as mean and max). An
    adapter returns a ``Caption`` only when it knows the count (the tokens in the model's input);
    one that cannot count returns plain strings and reports nothing, never a guess. Being a
    ``str``, a ``Caption`` works wherever a caption does (compares equal to its text, pickles).
    """

    visual_tokens: int | None

    def __new__(cls, text: str, visual_tokens: int | None = None) -> Caption:
        if visual_tokens is not None and (
            isinstance(visual_tokens, bool) or not isinstance(visual_tokens, int) or visual_tokens < 0
        ):
            raise ValueError(f"visual_tokens must be a non-negative int or None, got {visual_tokens!r}")
        caption = super().__new__(cls, text)
        caption.visual_tokens = visual_tokens
        return caption


def visual_tokens_of(caption: str) -> int | None:
    """The visual-token count a caption reports; None for a plain string."""
    return getattr(caption, "visual_tokens", None)


def check_frames(request: VideoRequest) -> np.ndarray:
    """The request's frames as a contiguous (T, H, W, 3) uint8 array; anything else is that clip's error."""
    frames = request.frames
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        shape = getattr(frames, "shape", None)
        raise ValueError(f"clip {request.clip_id!r}: frames must be a (T, H, W, 3) array with T >= 1, got {shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"clip {request.clip_id!r}: frames must be uint8 RGB, got {frames.dtype}")
    return np.ascontiguousarray(frames)


class Adapter(abc.ABC):
    """Base class of every model adapter.

    Subclasses set ``name`` and implement :meth:`generate`. ``max_batch_size`` caps ``--batch-size``
    (None: no cap). The default frame count is declared in the adapter's registration
    (:class:`fecbench.AdapterSpec`), so runs can be planned without importing the model.
    """

    name: ClassVar[str] = ""
    max_batch_size: ClassVar[int | None] = None

    @abc.abstractmethod
    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        """Return one caption per request, in order. Raise to fail the batch; the runner then
        retries each clip alone so that one bad clip is recorded as that clip's error.

        A caption may be a :class:`Caption` carrying the clip's visual-token count, when the adapter knows it."""

    def prepare(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> None:  # noqa: B027 - optional
        """Get an upcoming batch's inputs ready ahead of time; optional, a no-op by default.

        The runner calls it from a background thread for the next batch, with the very requests
        :meth:`generate` will get later, while the current batch is generating, so that the CPU
        side of a call (chat template, processor, tensors) overlaps the model's work. It may run
        concurrently with :meth:`generate` on another batch: guard whatever the two share. It must
        never change a caption: :meth:`generate` gives the same output whether ``prepare`` ran or
        not (it redoes the work when the prepared inputs are missing or do not match the requests),
        and it keeps what it prepared small and bounded, since a prepared batch may never be asked
        for (``--batch-size auto`` may split it). An exception here is logged and ignored; the
        runner never fails a clip because of it. Device transfers belong in :meth:`generate`.
        """

    def describe(self) -> dict[str, Any]:
        """What to record in ``run.json`` about the loaded model (checkpoint, dtype, revision...)."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op unless the adapter holds resources
        """Release the model (GPU memory, sessions). Called once when the run ends."""
