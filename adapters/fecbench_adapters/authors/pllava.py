"""PLLaVA through its authors' repository, called as their Video-ChatGPT-benchmark evaluation calls it.

``load_pllava(repo_id, num_frames, use_lora=True, weight_dir=repo_id, lora_alpha=4,
pooling_shape=(16, 12, 12))`` builds the model and its ``PllavaProcessor``; each clip's frames go
to the processor as PIL images (the benchmark dataset's ``video_pils``, here fecbench's sampled
frames); the prompt is their ``eval_vcgbench`` conversation (Video-ChatGPT system prompt, the
video as its own ``USER:`` turn); ``generate(..., media_type='video')`` stops at ``###`` or
``USER`` and the reply is the text after the last ``ASSISTANT:``.

The repository is not a pip package: name the clone with ``code_dir`` (or
``FECBENCH_PLLAVA_CODE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench_adapters.authors import sources
from fecbench_adapters.authors.base import (
    AuthorsAdapter,
    check_device,
    check_positive_int,
    cuda_or_fail,
    decoding_kwargs,
    import_authors,
    require_code_dir,
    to_pil,
)

CODE = sources.PLLAVA
DEFAULT_CHECKPOINT = "ermu2001/pllava-7b"
VCG_SYSTEM = (
    "You are Video-ChatGPT, a large vision-language assistant. "
    "You are able to understand the video content that the user provides, and assist the user with a variety of "
    "tasks using natural language."
    "Follow the instructions carefully and explain your answers in detail based on the provided video."
)
STOP_KEYWORDS = ["###", "USER"]  # what their VCG evaluation stops on


def build_prompt(prompt: str) -> str:
    """``eval_vcgbench``: system, a ``USER:`` turn holding only ``<image>``, the question, then ``ASSISTANT:``."""
    return f"{VCG_SYSTEM} USER: <image>\n USER: {prompt} ASSISTANT:"


def reply(decoded: str) -> str:
    """The text after the last ``ASSISTANT:``, without the closing ``</s>``."""
    return decoded.split("ASSISTANT:")[-1].removesuffix("</s>").strip()


class PLLaVAAdapter(AuthorsAdapter):
    """PLLaVA 7B/13B/34B (LLaVA-NeXT with adaptive pooling over frames, LoRA-tuned).

    Model arguments: ``pretrained`` (hub id or local folder; downloaded with huggingface_hub when
    not local, since the LoRA weights are read from its files), ``code_dir`` (the authors' clone),
    ``num_frames`` (the pooling projector's frame count; the authors use 16), ``lora_alpha`` (4 in
    the authors' scripts), ``device`` (a CUDA device).
    """

    name = "pllava"
    code = CODE

    def __init__(
        self,
        pretrained: str = DEFAULT_CHECKPOINT,
        code_dir: str | None = None,
        num_frames: int = 16,
        lora_alpha: int = 4,
        device: str = "cuda",
    ) -> None:
        self.checkpoint = str(pretrained)
        self.device = check_device(device)
        self.dtype = "bfloat16"  # load_pllava loads in bfloat16
        self.num_frames = check_positive_int("num_frames", num_frames)
        self.lora_alpha = check_positive_int("lora_alpha", lora_alpha)
        self.code_dir = require_code_dir(CODE, code_dir, "tasks/eval/model_utils.py")
        model_utils = import_authors(CODE, "tasks.eval.model_utils", self.code_dir)
        cuda_or_fail(CODE.project, self.device)
        weight_dir = self.checkpoint
        if not Path(weight_dir).is_dir():
            from huggingface_hub import snapshot_download

            weight_dir = snapshot_download(self.checkpoint)
        self.model, self.processor = model_utils.load_pllava(
            weight_dir,
            self.num_frames,
            use_lora=True,
            weight_dir=weight_dir,
            lora_alpha=self.lora_alpha,
            pooling_shape=(self.num_frames, 12, 12),
        )
        self.model = self.model.to(self.device).eval()
        self.stopping = model_utils.KeywordsStoppingCriteria

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        import torch

        inputs = self.processor(text=build_prompt(request.prompt), images=[to_pil(frames)], return_tensors="pt")
        inputs = inputs.to(self.model.device)
        stopping = [self.stopping(STOP_KEYWORDS, self.processor.tokenizer, inputs["input_ids"])]
        with torch.no_grad():
            output = self.model.generate(
                **inputs,
                media_type="video",
                stopping_criteria=stopping,
                **decoding_kwargs(config, top_p=0.9, num_beams=1, min_length=1),
            )
        decoded = self.processor.batch_decode(output, skip_special_tokens=True, clean_up_tokenization_spaces=False)[0]
        return reply(decoded)

    def settings(self) -> dict[str, Any]:
        return {
            "num_frames": self.num_frames,
            "pooling_shape": [self.num_frames, 12, 12],
            "lora_alpha": self.lora_alpha,
            "conversation": "eval_vcgbench",
            "code_dir": str(self.code_dir),
        }
