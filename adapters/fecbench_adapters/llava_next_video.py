"""LLaVA-NeXT-Video through transformers: ``LlavaNextVideoForConditionalGeneration`` and its processor.

Each frame is resized (shortest edge) and centre-cropped to the checkpoint's square (336 px for the
7B model), encoded by CLIP, and its patch grid average-pooled 2x2 (144 tokens a frame at 336 px).
The processor stacks a batch's clips into one tensor, so clips with different frame counts are
generated in separate sub-batches. The hub checkpoints' chat template puts the video before the
prompt in Vicuna's ``USER: ... ASSISTANT:`` layout.
"""

from __future__ import annotations

from transformers import LlavaNextVideoForConditionalGeneration

from fecbench_adapters.hf_video import HFVideoChatAdapter


class LlavaNextVideoAdapter(HFVideoChatAdapter):
    """LLaVA-NeXT-Video (7B, 7B-DPO, 34B in the llava-hf layout) on the frames the runner sampled.

    Model arguments: those of :class:`~fecbench_adapters.hf_video.HFVideoChatAdapter`.
    """

    name = "llava-next-video"
    model_class = LlavaNextVideoForConditionalGeneration
    default_checkpoint = "llava-hf/LLaVA-NeXT-Video-7B-hf"
    equal_frame_counts = True
