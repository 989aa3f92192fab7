"""VideoChat (the first one, Ask-Anything ``video_chat``) through its authors' code.

The authors' demo builds ``VideoChat(config=cfg.model)`` from ``configs/config.json`` (which
names the EVA-ViT, Q-Former, LLaMA and VideoChat weights), loads each clip with ``Chat.load_video``
(frames scaled to 224 on the shorter side, centre-cropped, CLIP-normalised), embeds it with
``model.encode_img`` and chats in a ``###``-separated conversation whose first user turn is
``<Video><VideoHere></Video> The video contains N frames sampled at ... seconds.``. Its
``Chat.answer`` always samples, so this adapter runs the same steps itself (prompt pieces embedded
around the video embedding, stop on ``###``) with fecbench's decoding settings.

The code is not a pip package: name the ``video_chat`` folder of an Ask-Anything clone with
``code_dir`` (or ``FECBENCH_VIDEOCHAT_CODE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError
from fecbench_adapters.authors import embedding_chat, sources, templates
from fecbench_adapters.authors.base import (
    AuthorsAdapter,
    check_device,
    cuda_or_fail,
    decoding_kwargs,
    frame_times_message,
    import_authors,
    normalized_tensor,
    request_times,
    require_code_dir,
    scale_and_center_crop,
    working_directory,
)

CODE = sources.VIDEOCHAT
DEFAULT_CONFIG = "configs/config_7b.json"  # names the weights (VideoChat-7B: videochat_7b.pth)
FRAME_SIZE = 224
PLACEHOLDER = "<VideoHere>"
STOPS = ((835,), (2277, 29937))  # '###' tokenised two ways by the LLaMA tokenizer, as the authors stop


def build_prompt(prompt: str, timestamps: list[float]) -> str:
    """The demo's conversation after upload, one question and the open assistant turn."""
    turns = [
        ("Human", f"<Video>{PLACEHOLDER}</Video> {frame_times_message(timestamps)}\n"),
        ("Human", prompt + "\n"),
        ("Assistant", None),
    ]
    return templates.single("", turns, sep="###")


def prepare_frames(frames: np.ndarray) -> Any:
    """(1, T, 3, 224, 224) float tensor: the loader's scale, centre crop and CLIP normalisation."""
    return normalized_tensor(scale_and_center_crop(frames, FRAME_SIZE)).unsqueeze(0)


class VideoChatAdapter(AuthorsAdapter):
    """VideoChat-7B/13B (EVA-ViT-G + Q-Former + Vicuna/StableVicuna).

    Model arguments: ``code_dir`` (the ``video_chat`` folder of the authors' clone), ``config`` (their
    JSON config naming the weights, relative to ``code_dir``), ``device`` (a CUDA device).
    """

    name = "videochat"
    code = CODE

    def __init__(self, code_dir: str | None = None, config: str = DEFAULT_CONFIG, device: str = "cuda") -> None:
        self.device = check_device(device)
        self.code_dir = require_code_dir(CODE, code_dir, "models/videochat.py")
        config_module = import_authors(CODE, "utils.config", self.code_dir)
        model_module = import_authors(CODE, "models.videochat", self.code_dir)
        config_path = self.code_dir / config
        if not Path(config_path).is_file():
            raise ConfigError(f"videochat: config {config_path} not found")
        self.checkpoint = str(config_path)
        cuda_or_fail(CODE.project, self.device)
        cfg = config_module.Config.from_file(str(config_path))
        with working_directory(self.code_dir):  # the config's weight paths are relative to the clone
            self.model = model_module.VideoChat(config=cfg.model).to(self.device).eval()
        self.tokenizer = self.model.llama_tokenizer

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        import torch

        video = prepare_frames(frames).to(self.device)
        with torch.no_grad():
            video_emb, _ = self.model.encode_img(video)
        prompt = build_prompt(request.prompt, request_times(request, frames))
        llm = self.model.llama_model
        embeds = embedding_chat.mixed_embeddings(self.tokenizer, llm, prompt, PLACEHOLDER, [video_emb])
        tokens = embedding_chat.generate_from_embeddings(
            llm, embeds, STOPS, **decoding_kwargs(config, top_p=0.9, num_beams=1, min_length=1)
        )
        text = self.tokenizer.decode(embedding_chat.strip_leading_special(tokens), add_special_tokens=False)
        return embedding_chat.answer_text(text, stop="###", role_prefix="Assistant:")

    def settings(self) -> dict[str, Any]:
        return {
            "frame_size": FRAME_SIZE,
            "conversation": "###-separated Human/Assistant",
            "code_dir": str(self.code_dir),
        }
