"""LLaMA-VID through its authors' package (``llamavid``), called as its Video-ChatGPT benchmark script does.

``load_pretrained_model(path, None, model_name)`` gives tokenizer, model and image processor;
the frames (the authors sample one per second; here fecbench's sampled frames) go through
``image_processor.preprocess`` as one batch; the question is handed to the model's text-guided
query generator with ``model.update_prompt([[question]])``; the prompt is Vicuna v1 with
``<image>`` before the question (``vicuna_v1`` conversation, the benchmark script's
``--conv-mode``); ``generate(input_ids, images=[video])`` stops at ``</s>`` and the reply is the
text after the prompt.
"""

from __future__ import annotations

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

CODE = sources.LLAMA_VID
DEFAULT_CHECKPOINT = "YanweiLi/llama-vid-7b-full-224-video-fps-1"
VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
IMAGE_TOKEN = "<image>"


def build_prompt(prompt: str, *, im_start_end: bool = False) -> str:
    """Vicuna v1: system, ``USER: <image>\\n{question}``, then the open ``ASSISTANT:`` turn."""
    image = f"<im_start>{IMAGE_TOKEN}<im_end>" if im_start_end else IMAGE_TOKEN
    return templates.two(VICUNA_SYSTEM, [("USER", f"{image}\n{prompt}"), ("ASSISTANT", None)], sep=" ", sep2="</s>")


def reply(decoded: str, stop: str = "</s>") -> str:
    text = decoded.strip()
    return text[: -len(stop)].strip() if text.endswith(stop) else text


class LlamaVIDAdapter(AuthorsAdapter):
    """LLaMA-VID (Vicuna-7B/13B, EVA-G, two tokens per frame).

    Model arguments: ``pretrained`` (hub id or local path; its name must contain "vid" so that the
    authors' loader recognises it), ``device`` (a CUDA device), ``load_4bit`` / ``load_8bit``.
    """

    name = "llama-vid"
    code = CODE

    def __init__(
        self,
        pretrained: str = DEFAULT_CHECKPOINT,
        device: str = "cuda",
        load_4bit: bool = False,
        load_8bit: bool = False,
    ) -> None:
        self.checkpoint = str(pretrained)
        self.device = check_device(device)
        builder = import_authors(CODE, "llamavid.model.builder")
        mm_utils = import_authors(CODE, "llava.mm_utils")  # LLaMA-VID's scripts take these helpers from LLaVA
        constants = import_authors(CODE, "llamavid.constants")
        cuda_or_fail(CODE.project, self.device)
        model_name = mm_utils.get_model_name_from_path(self.checkpoint)
        self.tokenizer, self.model, self.image_processor, _ = builder.load_pretrained_model(
            self.checkpoint, None, model_name, load_8bit, load_4bit, device=self.device
        )
        self.tokenizer_image_token = mm_utils.tokenizer_image_token
        self.stopping = mm_utils.KeywordsStoppingCriteria
        self.image_token_index = constants.IMAGE_TOKEN_INDEX
        self.im_start_end = bool(getattr(self.model.config, "mm_use_im_start_end", False))

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        import torch

        video = self.image_processor.preprocess(frames, return_tensors="pt")["pixel_values"]
        video = video.to(device=self.device, dtype=torch.float16)
        prompt = build_prompt(request.prompt, im_start_end=self.im_start_end)
        input_ids = self.tokenizer_image_token(prompt, self.tokenizer, self.image_token_index, return_tensors="pt")
        input_ids = input_ids.unsqueeze(0).to(self.device)
        stopping = self.stopping(["</s>"], self.tokenizer, input_ids)
        with torch.inference_mode():
            self.model.update_prompt([[request.prompt]])
            output = self.model.generate(
                input_ids,
                images=[video],
                use_cache=True,
                stopping_criteria=[stopping],
                **decoding_kwargs(config, top_p=None),
            )
        decoded = self.tokenizer.batch_decode(output[:, input_ids.shape[1] :], skip_special_tokens=True)[0]
        return reply(decoded)

    def settings(self) -> dict[str, Any]:
        return {"conversation": "vicuna_v1", "mm_use_im_start_end": self.im_start_end}
