"""VideoChat2 (Mistral-7B) through its authors' code in Ask-Anything ``video_chat2``.

Follows the authors' ``demo/demo_mistral.ipynb``: build ``VideoChat2_it_mistral`` from
``configs/config_mistral.json`` with a 4-frame vision encoder, wrap the Mistral model in the LoRA
of stage 3, load the stage-3 weights, and per clip

* scale frames to 224 on the shorter side, centre-crop, CLIP-normalise (their ``load_video``
  transform, applied to fecbench's sampled frames);
* give the UMT vision encoder a sinusoidal position table for the clip's frame count
  (interpolated in time from the 4 frames it was trained with, as the notebook's
  ``get_sinusoid_encoding_table`` does);
* ``encode_img(video, "Watch the video and answer the question.")``;
* prompt ``[INST] <Video><VideoHere></Video> [/INST] [INST] {question} [/INST]``, embed the text
  around the video embedding and generate, stopping at ``</s>``.

The code is not a pip package: name the ``video_chat2`` folder of an Ask-Anything clone with
``code_dir`` (or ``FECBENCH_VIDEOCHAT2_CODE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError
from fecbench_adapters.authors import embedding_chat, sources
from fecbench_adapters.authors.base import (
    AuthorsAdapter,
    check_device,
    cuda_or_fail,
    decoding_kwargs,
    import_authors,
    normalized_tensor,
    require_code_dir,
    scale_and_center_crop,
    working_directory,
)

CODE = sources.VIDEOCHAT2
DEFAULT_CHECKPOINT = "OpenGVLab/VideoChat2_stage3_Mistral_7B"
DEFAULT_CONFIG = "configs/config_mistral.json"
FRAME_SIZE = 224
PATCH = 16
CKPT_FRAMES = 4  # the vision encoder's position table was trained for 4 frames of 14x14 patches
EMBED_DIM = 1024
PLACEHOLDER = "<VideoHere>"
QFORMER_INSTRUCTION = "Watch the video and answer the question."
STOPS = ((2,), (29871, 2))  # '</s>' tokenised two ways, as the notebook stops
# The notebook's LoRA for the stage-3 Mistral model.
LORA = {
    "r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.0,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"],
}


def build_prompt(prompt: str) -> str:
    """The notebook's prompt: an [INST] turn holding the video, then an [INST] turn holding the question."""
    return f"[INST] <Video>{PLACEHOLDER}</Video> [/INST] [INST] {prompt} [/INST]"


def prepare_frames(frames: np.ndarray) -> Any:
    """(1, T, 3, 224, 224) float tensor: scale the shorter side, centre-crop, CLIP-normalise."""
    return normalized_tensor(scale_and_center_crop(frames, FRAME_SIZE)).unsqueeze(0)


def sinusoid_table(positions: int, dim: int) -> Any:
    """The standard sinusoidal position table, (1, positions, dim) float32."""
    import torch

    position = torch.arange(positions, dtype=torch.float64).unsqueeze(1)
    exponent = 2 * (torch.arange(dim, dtype=torch.float64) // 2) / dim
    angles = position / torch.pow(torch.tensor(10000.0, dtype=torch.float64), exponent)
    table = angles.clone()
    table[:, 0::2] = torch.sin(angles[:, 0::2])
    table[:, 1::2] = torch.cos(angles[:, 1::2])
    return table.float().unsqueeze(0)


def position_table(num_frames: int, *, grid: int = FRAME_SIZE // PATCH, dim: int = EMBED_DIM) -> Any:
    """(1, num_frames * grid**2, dim): the 4-frame table, linearly interpolated in time to ``num_frames``."""
    import torch

    base = sinusoid_table(CKPT_FRAMES * grid * grid, dim)
    if num_frames == CKPT_FRAMES:
        return base
    per_frame = base.reshape(1, CKPT_FRAMES, grid, grid, dim).permute(0, 2, 3, 4, 1).reshape(-1, dim, CKPT_FRAMES)
    stretched = torch.nn.functional.interpolate(per_frame, size=num_frames, mode="linear")
    stretched = stretched.reshape(1, grid, grid, dim, num_frames).permute(0, 4, 1, 2, 3)
    return stretched.flatten(1, 3)


class VideoChat2Adapter(AuthorsAdapter):
    """VideoChat2 with Mistral-7B-Instruct (stage 3).

    Model arguments: ``weights`` (local path of the stage-3 ``.pth`` downloaded from
    ``OpenGVLab/VideoChat2_stage3_Mistral_7B``), ``code_dir`` (the ``video_chat2`` folder of the
    authors' clone), ``config`` (relative to ``code_dir``), ``device`` (a CUDA device).
    """

    name = "videochat2"
    code = CODE

    def __init__(
        self,
        weights: str | None = None,
        code_dir: str | None = None,
        config: str = DEFAULT_CONFIG,
        device: str = "cuda",
    ) -> None:
        self.device = check_device(device)
        self.code_dir = require_code_dir(CODE, code_dir, "models/videochat_mistra/videochat2_it_mistral.py")
        config_module = import_authors(CODE, "utils.config", self.code_dir)
        models = import_authors(CODE, "models", self.code_dir)
        peft = import_authors(CODE, "peft")
        if weights is None or not Path(weights).is_file():
            raise ConfigError(
                f"videochat2: weights={weights!r}: download the stage-3 weights (.pth) from "
                f"https://huggingface.co/{DEFAULT_CHECKPOINT} and pass --model-args weights=/path/to/file.pth"
            )
        self.checkpoint = str(weights)
        config_path = self.code_dir / config
        if not config_path.is_file():
            raise ConfigError(f"videochat2: config {config_path} not found")
        cuda_or_fail(CODE.project, self.device)
        import torch

        cfg = config_module.Config.from_file(str(config_path))
        cfg.model.vision_encoder.num_frames = CKPT_FRAMES
        with working_directory(self.code_dir):
            model = models.VideoChat2_it_mistral(config=cfg.model)
            lora = peft.LoraConfig(task_type=peft.TaskType.CAUSAL_LM, inference_mode=False, **LORA)
            model.mistral_model = peft.get_peft_model(model.mistral_model, lora)
            state = torch.load(self.checkpoint, map_location="cpu")
            model.load_state_dict(state.get("model", state), strict=False)
        self.model = model.to(torch.device(self.device)).eval()
        self.tokenizer = self.model.mistral_tokenizer
        self._frames_in_table: int | None = None

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        import torch

        if self._frames_in_table != len(frames):
            self.model.vision_encoder.encoder.pos_embed = position_table(len(frames))
            self._frames_in_table = len(frames)
        video = prepare_frames(frames).to(self.device)
        with torch.no_grad():
            video_emb, _ = self.model.encode_img(video, QFORMER_INSTRUCTION)
        llm = self.model.mistral_model
        embeds = embedding_chat.mixed_embeddings(
            self.tokenizer, llm, build_prompt(request.prompt), PLACEHOLDER, [video_emb]
        )
        tokens = embedding_chat.generate_from_embeddings(
            llm, embeds, STOPS, **decoding_kwargs(config, top_p=0.9, num_beams=1, min_length=1)
        )
        text = self.tokenizer.decode(embedding_chat.strip_leading_special(tokens), add_special_tokens=False)
        return embedding_chat.answer_text(text, stop="</s>")

    def settings(self) -> dict[str, Any]:
        return {"frame_size": FRAME_SIZE, "lora": LORA, "code_dir": str(self.code_dir)}
