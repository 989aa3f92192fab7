"""Qwen2-VL through transformers: ``Qwen2VLForConditionalGeneration`` and its own processor.

Frame size follows Qwen's reference video pipeline (qwen-vl-utils): each frame is resized, aspect
kept, to between ``VIDEO_MIN_PIXELS`` and ``VIDEO_MAX_PIXELS`` pixels in multiples of 28, and the
whole clip is held to the reference total-pixel budget (``cap_pixels_per_frame``). These limits are
passed on every call instead of being read from the checkpoint because the hub checkpoints ship
only ``preprocessor_config.json``, whose *image* limits (up to 12.8 Mpx) transformers would
otherwise apply to video frames.

The vision tower packs two consecutive frames into one temporal patch. An odd frame count is padded
by the processor, which repeats the last frame (1 frame -> 2, 3 -> 4); no frame is ever dropped.
"""

from __future__ import annotations

from typing import Any

from transformers import Qwen2VLForConditionalGeneration

from fecbench.errors import ConfigError
from fecbench_adapters.hf_video import HFVideoChatAdapter

# qwen-vl-utils' video defaults: 128 and 768 merged 28x28 patches per frame.
VIDEO_MIN_PIXELS = 128 * 28 * 28
VIDEO_MAX_PIXELS = 768 * 28 * 28


class Qwen2VLAdapter(HFVideoChatAdapter):
    """Qwen2-VL (2B/7B/72B Instruct) on the frames the runner sampled.

    Model arguments (``--model-args``):

    * ``pretrained``: hub id or local checkpoint directory (default: ``default_checkpoint``).
    * ``dtype``: ``auto`` (bfloat16 on GPU, float32 on CPU), ``bfloat16``, ``float16`` or ``float32``.
    * ``attn_implementation``: ``sdpa`` (default), ``eager``, ``flash_attention_2``...; ``none``: transformers
      chooses.
    * ``device``: ``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda``, ``cuda:1``...
    * ``device_map``: e.g. ``auto`` to shard a large checkpoint over several GPUs (needs accelerate);
      overrides ``device``.
    * ``min_pixels`` / ``max_pixels``: per-frame pixel limits; default to qwen-vl-utils' video limits
      (a ``max_pixels`` below the default floor lowers the floor to it).
    * ``revision``: branch, tag or commit of a hub checkpoint.
    * ``trust_remote_code``: let transformers run code shipped with the checkpoint.
    """

    name = "qwen2-vl"
    model_class = Qwen2VLForConditionalGeneration
    default_checkpoint = "Qwen/Qwen2-VL-7B-Instruct"

    def __init__(
        self,
        pretrained: str | None = None,
        *,
        dtype: str = "auto",
        attn_implementation: str | None = "sdpa",
        device: str = "auto",
        device_map: str | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        for arg, value in (("min_pixels", min_pixels), ("max_pixels", max_pixels)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 28 * 28):
                raise ConfigError(f"--model-args: {arg}={value!r} must be an integer of at least {28 * 28}")
        self.max_pixels = VIDEO_MAX_PIXELS if max_pixels is None else max_pixels
        # A small max_pixels alone lowers the default floor with it rather than contradicting it.
        self.min_pixels = min(VIDEO_MIN_PIXELS, self.max_pixels) if min_pixels is None else min_pixels
        if self.min_pixels > self.max_pixels:
            raise ConfigError(f"--model-args: min_pixels={self.min_pixels} is larger than max_pixels={self.max_pixels}")
        super().__init__(
            pretrained,
            dtype=dtype,
            attn_implementation=attn_implementation,
            device=device,
            device_map=device_map,
            revision=revision,
            trust_remote_code=trust_remote_code,
        )

    def video_processor_kwargs(self) -> dict[str, Any]:
        return {
            "size": {"shortest_edge": self.min_pixels, "longest_edge": self.max_pixels},
            "cap_pixels_per_frame": True,
        }

    def describe_video_processing(self) -> dict[str, Any]:
        video_processor = self.processor.video_processor
        return {
            "video_processor": type(video_processor).__name__,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "cap_pixels_per_frame": True,
            "temporal_patch_size": video_processor.temporal_patch_size,
            "patch_size": video_processor.patch_size,
            "merge_size": video_processor.merge_size,
        }


class Qwen2VL2BAdapter(Qwen2VLAdapter):
    """Qwen2-VL 2B Instruct, which the benchmark's authors report in their later work (HumanOmni)."""

    name = "qwen2-vl-2b"
    default_checkpoint = "Qwen/Qwen2-VL-2B-Instruct"


class Qwen2VL72BAdapter(Qwen2VLAdapter):
    """Qwen2-VL 72B Instruct (HumanOmni's table); in bfloat16 it needs more than one 80 GB GPU: ``device_map=auto``."""

    name = "qwen2-vl-72b"
    default_checkpoint = "Qwen/Qwen2-VL-72B-Instruct"
