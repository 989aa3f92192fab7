"""VideoLLaMA3 through transformers: ``VideoLlama3ForConditionalGeneration`` and its processor.

VideoLLaMA3 (DAMO Academy's successor to VideoLLaMA2, which the benchmark's table evaluates) writes
each frame's time into the prompt (``Time 1.5s:``) and drops the tokens of patches that barely
change from the previous frame. Both depend on the sampled frames' timestamps, which the shared
machinery passes as video metadata. Only the transformers-native layout is loaded (e.g.
``lkhl/VideoLLaMA3-2B-Image-HF``, the checkpoint transformers documents); the
``DAMO-NLP-SG/VideoLLaMA3-*`` repositories need their remote code instead.
"""

from __future__ import annotations

from transformers import VideoLlama3ForConditionalGeneration

from fecbench_adapters.hf_video import HFVideoChatAdapter


class VideoLlama3Adapter(HFVideoChatAdapter):
    """VideoLLaMA3 on the frames the runner sampled.

    Model arguments: those of :class:`~fecbench_adapters.hf_video.HFVideoChatAdapter`.
    """

    name = "videollama3"
    model_class = VideoLlama3ForConditionalGeneration
    default_checkpoint = "lkhl/VideoLLaMA3-2B-Image-HF"
