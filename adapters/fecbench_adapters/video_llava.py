"""Video-LLaVA through transformers: ``VideoLlavaForConditionalGeneration`` and its processor.

Every frame is resized and centre-cropped to 224 px and encoded by the same tower (257 tokens a
frame, CLS included); the model was trained on 8 frames. The hub checkpoint
(``LanguageBind/Video-LLaVA-7B-hf``) ships no chat template, so the prompt follows its model card,
``USER: <video>\\n{prompt} ASSISTANT:``; a checkpoint that has a chat template uses it instead.
"""

from __future__ import annotations

from transformers import VideoLlavaForConditionalGeneration

from fecbench_adapters.hf_video import HFVideoChatAdapter


class VideoLlavaAdapter(HFVideoChatAdapter):
    """Video-LLaVA 7B on the frames the runner sampled.

    Model arguments: those of :class:`~fecbench_adapters.hf_video.HFVideoChatAdapter`.
    """

    name = "video-llava"
    model_class = VideoLlavaForConditionalGeneration
    default_checkpoint = "LanguageBind/Video-LLaVA-7B-hf"
    equal_frame_counts = True
    prompt_format = "USER: <video>\n{prompt} ASSISTANT:"
