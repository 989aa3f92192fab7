"""ShareGPT4Video-8B through its authors' package (their LLaVA fork, import name ``llava``), as ``run.py`` calls it.

The model sees one image: the clip's frames arranged in a square grid separated by 50-pixel white
bands (empty cells white), scaled down so its longer side is at most 1920 pixels. ``run.py``
builds that grid from the 16 frames it samples; here it is built from fecbench's sampled frames.
The prompt is the ``llava_llama_3`` conversation with ``<image>``, the authors' grid explanation
and the question; ``process_images`` and ``tokenizer_image_token`` are the package's own, and the
reply is the whole decoded output (the model returns only new tokens).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench_adapters.authors import sources, templates
from fecbench_adapters.authors.base import (
    AuthorsAdapter,
    check_device,
    cuda_or_fail,
    decoding_kwargs,
    import_authors,
)

CODE = sources.SHAREGPT4VIDEO
DEFAULT_CHECKPOINT = "Lin-Chen/sharegpt4video-8b"
BAND = 50  # white band between grid cells, in pixels
MAX_GRID_SIDE = 1920
PRE_QUERY = (
    "The provided image arranges keyframes from a video in a grid view, keyframes are separated with white bands. "
    "Answer concisely with overall content and context of the video, highlighting any significant events, "
    "characters, or objects that appear throughout the frames."
)
LLAMA3_SYSTEM = (
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision assistant. "
    "You are able to understand the visual content that the user provides, and assist the user with a variety of "
    "tasks using natural language."
)
LLAMA3_ROLES = ("<|start_header_id|>user<|end_header_id|>\n\n", "<|start_header_id|>assistant<|end_header_id|>\n\n")


def frame_grid(frames: np.ndarray, band: int = BAND) -> np.ndarray:
    """Frames in a ceil(sqrt(T)) x ceil(sqrt(T)) grid, row by row, white bands between cells, white empty cells."""
    count, height, width, channels = frames.shape
    side = math.ceil(math.sqrt(count))
    grid = np.full((side * height + (side - 1) * band, side * width + (side - 1) * band, channels), 255, np.uint8)
    for index, frame in enumerate(frames):
        row, col = divmod(index, side)
        top, left = row * (height + band), col * (width + band)
        grid[top : top + height, left : left + width] = frame
    return grid


def limit_side(image: Any, max_side: int = MAX_GRID_SIDE) -> Any:
    """A PIL image scaled down (bilinear, sizes truncated) so its longer side is at most ``max_side``."""
    from PIL import Image

    width, height = image.size
    if max(width, height) <= max_side:
        return image
    scale = max_side / max(width, height)
    return image.resize((int(width * scale), int(height * scale)), Image.BILINEAR)


def build_prompt(prompt: str, pre_query: str | None = PRE_QUERY) -> str:
    """``llava_llama_3``: system, user turn ``<image>\\n{pre_query}{question}``, open assistant turn."""
    message = "<image>\n" + (pre_query or "") + prompt
    return templates.mpt(LLAMA3_SYSTEM, [(LLAMA3_ROLES[0], message), (LLAMA3_ROLES[1], None)], sep="<|eot_id|>")


class ShareGPT4VideoAdapter(AuthorsAdapter):
    """ShareGPT4Video-8B (LLaVA-NeXT with Llama-3-8B).

    Model arguments: ``pretrained`` (hub id or local path), ``pre_query`` (text put before the
    question; default the authors' grid explanation from ``run.py``; ``none`` for nothing),
    ``device`` (a CUDA device, or ``cpu`` for tiny-weight checks: float32, as torch 2.1 has no
    float16 LayerNorm on the CPU).
    """

    name = "sharegpt4video"
    code = CODE

    def __init__(
        self, pretrained: str = DEFAULT_CHECKPOINT, pre_query: str | None = PRE_QUERY, device: str = "cuda"
    ) -> None:
        self.checkpoint = str(pretrained)
        self.device = check_device(device, cpu=True)
        self.pre_query = None if pre_query is None else str(pre_query)
        builder = import_authors(CODE, "llava.model.builder")
        mm_utils = import_authors(CODE, "llava.mm_utils")
        constants = import_authors(CODE, "llava.constants")
        cuda_or_fail(CODE.project, self.device)
        model_name = mm_utils.get_model_name_from_path(self.checkpoint)
        self.tokenizer, model, self.image_processor, _ = builder.load_pretrained_model(
            self.checkpoint, None, model_name, device_map="cpu"
        )
        self.model = model.to(self.device).eval()
        if self.device == "cpu":
            self.model.float()
            self.dtype = "float32"
        self.process_images = mm_utils.process_images
        self.tokenizer_image_token = mm_utils.tokenizer_image_token
        self.image_token_index = constants.IMAGE_TOKEN_INDEX

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        import torch
        from PIL import Image

        grid = limit_side(Image.fromarray(frame_grid(frames)).convert("RGB"))
        image = self.process_images([grid], self.image_processor, self.model.config)[0]
        prompt = build_prompt(request.prompt, self.pre_query)
        input_ids = self.tokenizer_image_token(prompt, self.tokenizer, self.image_token_index, return_tensors="pt")
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token is not None else self.tokenizer.eos_token_id
        with torch.inference_mode():
            output = self.model.generate(
                input_ids.unsqueeze(0).to(self.model.device),
                images=image.to(dtype=self.model.dtype, device=self.model.device),
                image_sizes=[grid.size],
                pad_token_id=pad,
                use_cache=True,
                **decoding_kwargs(config, top_p=0.9, num_beams=1),
            )
        return self.tokenizer.batch_decode(output, skip_special_tokens=True)[0].strip()

    def settings(self) -> dict[str, Any]:
        return {"grid_band": BAND, "max_grid_side": MAX_GRID_SIDE, "pre_query": self.pre_query}
