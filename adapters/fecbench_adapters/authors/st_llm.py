"""ST-LLM through its authors' repository, called as their Video-ChatGPT benchmark script calls it.

That script builds the model from ``config/instructblipbase_stllm_conversation.yaml`` with the
conversation weights as ``ckpt``, wraps it in the repository's ``Chat`` and runs
``chat.upload_video(frames, conv, img_list, num_frames, question)``, ``chat.ask(question, conv)``
and ``chat.answer(conv, img_list, ...)`` with a copy of ``CONV_instructblip_Vicuna0``.
``upload_video`` takes a list of frames as well as a path, so fecbench's sampled frames go through
the authors' own transform (scale the shorter side to 224, centre crop, CLIP normalisation).
``Chat.answer`` fixes the repetition penalty at 1.5 for this conversation style.

The repository is not a pip package: name the clone with ``code_dir`` (or
``FECBENCH_STLLM_CODE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError
from fecbench_adapters.authors import sources
from fecbench_adapters.authors.base import (
    AuthorsAdapter,
    build_from_lavis_config,
    check_device,
    check_positive_int,
    cuda_or_fail,
    import_authors,
    require_code_dir,
    to_pil,
)

CODE = sources.ST_LLM
DEFAULT_CHECKPOINT = "farewellthree/ST_LLM_weight"  # its conversation_weight folder
DEFAULT_CONFIG = "config/instructblipbase_stllm_conversation.yaml"
# What the authors' benchmark script passes to Chat.answer besides the decoding mode.
ANSWER_SETTINGS = {"max_length": 2000}
REGISTRY_MODULES = ("stllm.datasets.builders", "stllm.models", "stllm.processors", "stllm.runners", "stllm.tasks")


def answer_kwargs(config: GenerationConfig, num_beams: int) -> dict[str, Any]:
    """``Chat.answer`` arguments: beam or greedy search by default, temperature sampling when asked."""
    kwargs: dict[str, Any] = {"max_new_tokens": config.max_new_tokens, "num_beams": num_beams, **ANSWER_SETTINGS}
    if config.greedy:
        kwargs.update(do_sample=False, temperature=1.0)
    else:
        kwargs.update(do_sample=True, temperature=config.temperature)
    return kwargs


class STLLMAdapter(AuthorsAdapter):
    """ST-LLM (InstructBLIP-Vicuna-7B base) conversation model.

    Model arguments: ``pretrained`` (local folder of the conversation weights, e.g.
    ``ST_LLM_weight/conversation_weight``), ``code_dir`` (the authors' clone), ``config`` (their
    YAML, relative to ``code_dir``), ``num_beams`` (1: greedy, as FEC-Bench decodes; the authors'
    benchmark scripts use 5), ``device`` (a CUDA device).
    """

    name = "st-llm"
    code = CODE

    def __init__(
        self,
        pretrained: str = DEFAULT_CHECKPOINT,
        code_dir: str | None = None,
        config: str = DEFAULT_CONFIG,
        num_beams: int = 1,
        device: str = "cuda",
    ) -> None:
        self.checkpoint = str(pretrained)
        self.device = check_device(device)
        self.num_beams = check_positive_int("num_beams", num_beams)
        self.code_dir = require_code_dir(CODE, code_dir, "stllm/conversation/conversation.py")
        config_module = import_authors(CODE, "stllm.common.config", self.code_dir)
        registry = import_authors(CODE, "stllm.common.registry", self.code_dir).registry
        conversation = import_authors(CODE, "stllm.conversation.conversation", self.code_dir)
        for module in REGISTRY_MODULES:  # the demo's star imports: they register models and processors
            import_authors(CODE, module, self.code_dir)
        cfg_path = self.code_dir / config
        if not cfg_path.is_file():
            raise ConfigError(f"st-llm: config {cfg_path} not found (give config= relative to code_dir)")
        if not Path(self.checkpoint).is_dir():
            raise ConfigError(
                f"st-llm: pretrained={self.checkpoint!r} must be a local folder: download "
                f"https://huggingface.co/{DEFAULT_CHECKPOINT}/tree/main/conversation_weight and pass its path"
            )
        cuda_or_fail(CODE.project, self.device)
        import torch

        _, model = build_from_lavis_config(
            config_module,
            registry,
            cfg_path,
            self.code_dir,
            self.device,
            llama_model=self.checkpoint,
            ckpt=self.checkpoint,
        )
        self.model = model.to(torch.float16)
        self.conv_template = conversation.CONV_instructblip_Vicuna0
        self.chat = conversation.Chat(self.model, device=self.device)

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        conv = self.conv_template.copy()
        img_list: list[Any] = []
        self.chat.upload_video(to_pil(frames), conv, img_list, len(frames), request.prompt)
        self.chat.ask(request.prompt, conv)
        return self.chat.answer(conv=conv, img_list=img_list, **answer_kwargs(config, self.num_beams))[0]

    def settings(self) -> dict[str, Any]:
        return {
            "num_beams": self.num_beams,
            "conversation": "CONV_instructblip_Vicuna0",
            "code_dir": str(self.code_dir),
        }
