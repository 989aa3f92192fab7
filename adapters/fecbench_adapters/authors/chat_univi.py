"""Chat-UniVi through its authors' package (``ChatUniVi``), following the video example of their README.

The README loads ``load_pretrained_model(path, None, "ChatUniVi")``, adds the image patch (and
start/end) tokens the config asks for, loads the vision tower, and moves the clustering modules to
bfloat16 when the config uses them. Each frame goes through the vision tower's image processor
(their loader samples one frame per second, up to ``max_frames``; here the frames fecbench
sampled); the prompt is the ``simple`` conversation with one ``<image>`` per frame before the
question; ``generate`` stops at ``###`` and the reply is the text after the prompt.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench_adapters.authors import sources, templates
from fecbench_adapters.authors.base import (
    AuthorsAdapter,
    check_device,
    check_positive_int,
    cuda_or_fail,
    decoding_kwargs,
    import_authors,
    to_pil,
)

CODE = sources.CHAT_UNIVI
DEFAULT_CHECKPOINT = "Chat-UniVi/Chat-UniVi"
SIMPLE_SYSTEM = (
    "A chat between a curious human and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the human's questions."
)
SIMPLE_EXAMPLE = [("Human", "Hi!"), ("Assistant", "Hi there! How can I help you today?")]


def build_prompt(prompt: str, num_frames: int, *, im_start_end: bool = False) -> str:
    """The ``simple`` conversation: its greeting exchange, then ``<image>`` x frames, newline, question."""
    images = "<image>" * num_frames
    if im_start_end:
        images = f"<im_start>{images}<im_end>"
    turns = [*SIMPLE_EXAMPLE, ("Human", f"{images}\n{prompt}"), ("Assistant", None)]
    return templates.single(SIMPLE_SYSTEM, turns, sep="###")


def reply(decoded: str, stop: str = "###") -> str:
    text = decoded.strip()
    return text[: -len(stop)].strip() if text.endswith(stop) else text


class ChatUniViAdapter(AuthorsAdapter):
    """Chat-UniVi 7B / 13B / v1.5 (dynamic visual tokens shared by images and videos).

    Model arguments: ``pretrained`` (hub id or local path), ``max_frames`` (the README's cap on
    frames per clip: clips with more are refused), ``device`` (a CUDA device).
    """

    name = "chat-univi"
    code = CODE

    def __init__(self, pretrained: str = DEFAULT_CHECKPOINT, max_frames: int = 100, device: str = "cuda") -> None:
        self.checkpoint = str(pretrained)
        self.device = check_device(device)
        self.max_frames = check_positive_int("max_frames", max_frames)
        builder = import_authors(CODE, "ChatUniVi.model.builder")
        mm_utils = import_authors(CODE, "ChatUniVi.mm_utils")
        constants = import_authors(CODE, "ChatUniVi.constants")
        cuda_or_fail(CODE.project, self.device)
        import torch

        tokenizer, model, _, _ = builder.load_pretrained_model(self.checkpoint, None, "ChatUniVi")
        self.im_start_end = bool(getattr(model.config, "mm_use_im_start_end", False))
        if getattr(model.config, "mm_use_im_patch_token", True):
            tokenizer.add_tokens([constants.DEFAULT_IMAGE_PATCH_TOKEN], special_tokens=True)
        if self.im_start_end:
            tokenizer.add_tokens(
                [constants.DEFAULT_IM_START_TOKEN, constants.DEFAULT_IM_END_TOKEN], special_tokens=True
            )
        model.resize_token_embeddings(len(tokenizer))
        vision_tower = model.get_vision_tower()
        if not vision_tower.is_loaded:
            vision_tower.load_model()
        if model.config.config.get("use_cluster"):
            for module in model.modules():
                module.to(dtype=torch.bfloat16)
        self.tokenizer, self.model, self.image_processor = tokenizer, model, vision_tower.image_processor
        self.tokenizer_image_token = mm_utils.tokenizer_image_token
        self.stopping = mm_utils.KeywordsStoppingCriteria
        self.image_token_index = constants.IMAGE_TOKEN_INDEX

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        import torch

        if len(frames) > self.max_frames:
            raise ValueError(f"chat-univi: {len(frames)} frames is more than max_frames={self.max_frames}")
        pixels = [
            self.image_processor.preprocess(img, return_tensors="pt")["pixel_values"][0] for img in to_pil(frames)
        ]
        video = torch.stack(pixels).half().to(self.device)
        prompt = build_prompt(request.prompt, len(frames), im_start_end=self.im_start_end)
        input_ids = self.tokenizer_image_token(prompt, self.tokenizer, self.image_token_index, return_tensors="pt")
        input_ids = input_ids.unsqueeze(0).to(self.device)
        stopping = self.stopping(["###"], self.tokenizer, input_ids)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids,
                images=video,
                use_cache=True,
                stopping_criteria=[stopping],
                output_scores=True,
                return_dict_in_generate=True,
                **decoding_kwargs(config, top_p=None, num_beams=1),
            )
        decoded = self.tokenizer.batch_decode(output.sequences[:, input_ids.shape[1] :], skip_special_tokens=True)[0]
        return reply(decoded)

    def settings(self) -> dict[str, Any]:
        return {"conversation": "simple", "max_frames": self.max_frames, "mm_use_im_start_end": self.im_start_end}
