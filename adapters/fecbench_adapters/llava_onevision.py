"""LLaVA-OneVision through transformers: ``LlavaOnevisionForConditionalGeneration`` and its processor.

Video frames are resized to the checkpoint's square (384 px), encoded by SigLIP and pooled
bilinearly 2x (196 tokens a frame), with one newline token closing the clip; unlike images, video
frames get no any-resolution tiling. The processor stacks a batch's clips into one tensor, so clips
with different frame counts are generated in separate sub-batches.
"""

from __future__ import annotations

from transformers import LlavaOnevisionForConditionalGeneration

from fecbench_adapters.hf_video import HFVideoChatAdapter


class LlavaOnevisionAdapter(HFVideoChatAdapter):
    """LLaVA-OneVision (0.5B/7B/72B, "ov" checkpoints in the llava-hf layout) on the runner's frames.

    Model arguments: those of :class:`~fecbench_adapters.hf_video.HFVideoChatAdapter`.
    """

    name = "llava-onevision"
    model_class = LlavaOnevisionForConditionalGeneration
    default_checkpoint = "llava-hf/llava-onevision-qwen2-7b-ov-hf"
    equal_frame_counts = True
