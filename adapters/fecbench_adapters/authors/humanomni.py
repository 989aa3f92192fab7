"""HumanOmni (the FEC-Bench authors' later human-centric model) through its authors' repository.

Called as the repository's ``inference.py --modal video`` does: ``model_init(path)``, the BERT
tokenizer that encodes the instruction for the model's instruction-guided fusion, then
``mm_infer(processor['video'](video), instruct, model, tokenizer, modal='video', question=instruct,
bert_tokeni=..., do_sample=False)``. ``processor['video']`` accepts an array of frames, so the
frames fecbench sampled go through the authors' own preprocessing. fecbench hands adapters frames
only, so the audio branch (``--modal video_audio``) is not used.

The repository is not a pip package: clone it and name the clone with ``code_dir`` (or the
``FECBENCH_HUMANOMNI_CODE`` environment variable). Its requirements pin pydantic 1.10 and numpy
1.22, older than fecbench's; expect to relax those pins in the environment you build.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench_adapters.authors import sources
from fecbench_adapters.authors.base import (
    AuthorsAdapter,
    check_device,
    cuda_calls_on_cpu,
    cuda_or_fail,
    import_authors,
    resolve_code_dir,
)
from fecbench_adapters.authors.videollama2 import mm_infer_kwargs, point_cuda_calls

CODE = sources.HUMANOMNI
DEFAULT_CHECKPOINT = "StarJiaxing/HumanOmni-7B"
DEFAULT_BERT = "bert-base-uncased"  # what inference.py loads for the instruction encoder


class HumanOmniAdapter(AuthorsAdapter):
    """HumanOmni-7B, video only.

    Model arguments: ``pretrained`` (hub id or local path), ``code_dir`` (the authors' clone),
    ``bert_tokenizer`` (hub id or path of the BERT tokenizer), ``device`` (a CUDA device, or ``cpu``
    for tiny-weight checks: float32, the authors' CUDA calls kept on the CPU), ``use_flash_attn``.
    """

    name = "humanomni"
    code = CODE

    def __init__(
        self,
        pretrained: str = DEFAULT_CHECKPOINT,
        code_dir: str | None = None,
        bert_tokenizer: str = DEFAULT_BERT,
        device: str = "cuda",
        use_flash_attn: bool = False,
    ) -> None:
        self.checkpoint = str(pretrained)
        self.device = check_device(device, cpu=True)
        self.bert_name = str(bert_tokenizer)
        self.code_dir = resolve_code_dir(CODE, code_dir, "humanomni/__init__.py")
        package = import_authors(CODE, "humanomni", self.code_dir)
        cuda_or_fail(CODE.project, self.device)
        from transformers import BertTokenizer

        self.bert = BertTokenizer.from_pretrained(self.bert_name)
        self.model, self.processor, self.tokenizer = package.model_init(
            self.checkpoint, device=self.device, use_flash_attn=use_flash_attn
        )
        self.cpu_dtype = point_cuda_calls(self)
        self.mm_infer = package.mm_infer
        self.num_frames = int(getattr(self.model.config, "num_frames", 8))

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        if len(frames) > self.num_frames:
            raise ValueError(
                f"HumanOmni's checkpoint takes {self.num_frames} frames (its encoder reshapes by that count); "
                f"got {len(frames)}: sample at most {self.num_frames} with --frames"
            )
        video = self.processor["video"](frames)  # pads a shorter clip with black frames, as the authors' code does
        with cuda_calls_on_cpu(self.device, self.cpu_dtype):
            return self.mm_infer(
                video,
                request.prompt,
                model=self.model,
                tokenizer=self.tokenizer,
                modal="video",
                question=request.prompt,
                bert_tokeni=self.bert,
                **mm_infer_kwargs(config),
            )

    def settings(self) -> dict[str, Any]:
        return {
            "modal": "video",
            "bert_tokenizer": self.bert_name,
            "code_dir": str(self.code_dir),
            "checkpoint_num_frames": self.num_frames,
        }
