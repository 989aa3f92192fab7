"""VideoLLaMA2 through its authors' package (``videollama2``), called as their README's inference example.

The authors' API is ``model, processor, tokenizer = model_init(path)`` and
``mm_infer(processor['video'](video), instruction, model, tokenizer, modal='video', ...)``.
``processor['video']`` accepts an array of frames as well as a path, so fecbench's sampled frames
go through the authors' own preprocessing (their CLIP/SigLIP image processor) instead of a second
decode of the file; ``mm_infer`` builds the chat prompt (with the Mistral system prompt for the
Mistral-based checkpoints), splices the ``<video>`` token and generates.

Their processor pads a clip with fewer frames than the checkpoint's ``num_frames`` with black
frames and silently drops frames beyond 32; this adapter refuses more than 32 frames instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError
from fecbench_adapters.authors import sources
from fecbench_adapters.authors.base import (
    AuthorsAdapter,
    check_device,
    cuda_calls_on_cpu,
    cuda_or_fail,
    import_authors,
)

CODE = sources.VIDEOLLAMA2
DEFAULT_CHECKPOINT = "DAMO-NLP-SG/VideoLLaMA2-7B"
MAX_FRAMES = 32  # videollama2.constants.MAX_FRAMES: the processor keeps at most this many


def check_frame_count(frames: np.ndarray) -> None:
    if len(frames) > MAX_FRAMES:
        raise ValueError(
            f"VideoLLaMA2 takes at most {MAX_FRAMES} frames (its processor drops the rest); got {len(frames)}"
        )


def mm_infer_kwargs(config: GenerationConfig) -> dict[str, Any]:
    """``mm_infer``'s decoding arguments: greedy by default; its own top_p (0.9) when sampling."""
    if config.greedy:
        return {"do_sample": False, "max_new_tokens": config.max_new_tokens}
    return {"do_sample": True, "temperature": config.temperature, "max_new_tokens": config.max_new_tokens}


def point_cuda_calls(adapter: AuthorsAdapter) -> Any:
    """Make the authors' bare ``.cuda()`` calls land on the chosen device; returns the CPU dtype, or None.

    On a GPU, ``torch.cuda.set_device``. On the CPU, :func:`cuda_calls_on_cpu` around each call
    keeps them there, and the model runs in float32: ``load_pretrained_model`` always loads float16,
    and torch 2.2 has no float16 LayerNorm on the CPU, so the model is cast and the authors'
    ``.half()`` on the frames casts to float32 too.
    """
    import torch

    if adapter.device != "cpu":
        torch.cuda.set_device(torch.device(adapter.device))
        return None
    adapter.model.float()
    adapter.dtype = "float32"
    return torch.float32


class VideoLLaMA2Adapter(AuthorsAdapter):
    """VideoLLaMA2 (7B, 7B-16F, 8x7B, 72B and the 2.1 Qwen2 checkpoints).

    Model arguments: ``pretrained`` (hub id or local path), ``device`` (a CUDA device, or ``cpu``
    for tiny-weight checks: float32, the authors' ``.cuda()`` calls kept on the CPU),
    ``use_flash_attn`` (needs flash-attn installed), ``load_4bit`` / ``load_8bit`` (bitsandbytes).
    """

    name = "videollama2"
    code = CODE

    def __init__(
        self,
        pretrained: str = DEFAULT_CHECKPOINT,
        device: str = "cuda",
        use_flash_attn: bool = False,
        load_4bit: bool = False,
        load_8bit: bool = False,
    ) -> None:
        self.checkpoint = str(pretrained)
        self.device = check_device(device, cpu=True)
        if load_4bit and load_8bit:
            raise ConfigError("--model-args: choose load_4bit or load_8bit, not both")
        self.dtype = "4bit" if load_4bit else "8bit" if load_8bit else "float16"
        package = import_authors(CODE, "videollama2")
        cuda_or_fail(CODE.project, self.device)
        self.model, self.processor, self.tokenizer = package.model_init(
            self.checkpoint, device=self.device, use_flash_attn=use_flash_attn, load_4bit=load_4bit, load_8bit=load_8bit
        )
        self.cpu_dtype = point_cuda_calls(self)
        self.mm_infer = package.mm_infer
        self.num_frames = getattr(self.model.config, "num_frames", None)

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        check_frame_count(frames)
        video = self.processor["video"](frames)
        with cuda_calls_on_cpu(self.device, self.cpu_dtype):
            return self.mm_infer(
                video, request.prompt, self.model, self.tokenizer, modal="video", **mm_infer_kwargs(config)
            )

    def settings(self) -> dict[str, Any]:
        return {"checkpoint_num_frames": self.num_frames, "model_type": self.model.config.model_type}
