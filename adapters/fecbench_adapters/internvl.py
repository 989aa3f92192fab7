"""InternVL through transformers (the ``-hf`` checkpoints): ``InternVLForConditionalGeneration``.

Each frame is resized to the checkpoint's square (448 px, no tiling for video) and becomes
``FrameN: <img>...</img>`` in the prompt, 256 tokens a frame after pixel shuffle. The processor
assumes every clip of a batch has the same frame count, so clips with different counts are generated
in separate sub-batches. Only the transformers-native layout is supported (e.g.
``OpenGVLab/InternVL3-8B-hf``); the original ``OpenGVLab/InternVL3-8B`` repositories need their
remote code and are not loaded by this adapter.
"""

from __future__ import annotations

from transformers import InternVLForConditionalGeneration

from fecbench_adapters.hf_video import HFVideoChatAdapter


class InternVLAdapter(HFVideoChatAdapter):
    """InternVL3 / InternVL3.5 (``-hf`` checkpoints) on the frames the runner sampled.

    Model arguments: those of :class:`~fecbench_adapters.hf_video.HFVideoChatAdapter`.
    """

    name = "internvl"
    model_class = InternVLForConditionalGeneration
    default_checkpoint = "OpenGVLab/InternVL3-8B-hf"
    equal_frame_counts = True

    def visual_token_ids(self) -> tuple[int, ...]:
        """Frames reach the model as images: their context tokens are the clip's visual tokens."""
        token_id = getattr(self.processor, "image_token_id", None)
        return (token_id,) if isinstance(token_id, int) else ()
