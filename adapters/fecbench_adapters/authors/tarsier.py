"""Tarsier (the first release, ``tarsier`` branch) through its authors' repository.

Called as ``tasks/inference_quick_start.py`` does: ``load_model_and_processor(path, max_n_frames)``
gives ``TarsierForConditionalGeneration`` (fp16, ``device_map='auto'``) and the repository's
``Processor``; the processor takes the frames as PIL images (here fecbench's sampled frames instead
of its own sampler's) and the prompt ``USER: <image>...<image>\\n{instruction} ASSISTANT: ``, one
``<image>`` per frame (what its ``process_prompt`` makes of ``<video>\\n{instruction}``); the
reply is the decoded text after the prompt.

The repository is not a pip package: name a clone checked out at the pinned commit of the
``tarsier`` branch with ``code_dir`` (or ``FECBENCH_TARSIER_CODE``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench_adapters.authors import sources
from fecbench_adapters.authors.base import (
    AuthorsAdapter,
    check_positive_int,
    cuda_or_fail,
    decoding_kwargs,
    import_authors,
    require_code_dir,
    to_pil,
)

CODE = sources.TARSIER
DEFAULT_CHECKPOINT = "omni-research/Tarsier-7b"


def build_prompt(prompt: str, num_frames: int) -> str:
    """The quick-start prompt after the processor's editing: one ``<image>`` per frame, then the instruction."""
    instruction = prompt.replace("<image>", "").replace("<video>", "")
    return f"USER: {'<image>' * num_frames}\n{instruction} ASSISTANT: "


class TarsierAdapter(AuthorsAdapter):
    """Tarsier-7b / Tarsier-34b.

    Model arguments: ``pretrained`` (hub id or local path), ``code_dir`` (the authors' clone),
    ``max_n_frames`` (the processor's frame limit; clips with more frames are refused).
    The model is placed by ``device_map='auto'``, as in the authors' loader.
    """

    name = "tarsier"
    code = CODE

    def __init__(
        self, pretrained: str = DEFAULT_CHECKPOINT, code_dir: str | None = None, max_n_frames: int = 8
    ) -> None:
        self.checkpoint = str(pretrained)
        self.device = "auto"
        self.max_n_frames = check_positive_int("max_n_frames", max_n_frames)
        self.code_dir = require_code_dir(CODE, code_dir, "tasks/inference_quick_start.py")
        utils = import_authors(CODE, "tasks.utils", self.code_dir)
        cuda_or_fail(CODE.project, "cuda")
        self.model, self.processor = utils.load_model_and_processor(self.checkpoint, max_n_frames=self.max_n_frames)

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        if len(frames) > self.max_n_frames:
            raise ValueError(f"tarsier: {len(frames)} frames is more than max_n_frames={self.max_n_frames}")
        prompt = build_prompt(request.prompt, len(frames))
        inputs = self.processor(prompt, images=to_pil(frames), edit_prompt=False)
        inputs = {k: v.to(self.model.device) for k, v in inputs.items() if v is not None}
        output = self.model.generate(**inputs, use_cache=True, **decoding_kwargs(config, top_p=1.0))
        prompt_length = inputs["input_ids"][0].shape[0]
        return self.processor.tokenizer.decode(output[0][prompt_length:], skip_special_tokens=True)

    def settings(self) -> dict[str, Any]:
        return {"max_n_frames": self.max_n_frames, "code_dir": str(self.code_dir)}
