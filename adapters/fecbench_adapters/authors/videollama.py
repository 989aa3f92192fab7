"""Video-LLaMA (the first one; vision branch only) through its authors' repository.

Follows ``demo_video.py``: the model is built from ``eval_configs/video_llama_eval_only_vl.yaml``
with ``llama_model`` and ``ckpt`` pointing at the released weights; a clip is read as 8 frames
resized to 224 x 224 (aspect not kept), normalised by the webvid eval processor's transform and
encoded with ``encode_videoQformer_visual``; the conversation is ``conv_llava_llama_2`` (for the
LLaMA-2-chat checkpoints) or the ``###`` one (Vicuna), with the demo's system text, whose user
turn is ``<Video><ImageHere></Video> The video contains N frames sampled at ... seconds.`` joined
with the question. Its ``Chat.answer`` always samples, so this adapter embeds the prompt around
the video embedding and generates itself, with fecbench's decoding settings and the demo's stop
tokens.

Name the clone with ``code_dir`` (or ``FECBENCH_VIDEOLLAMA_CODE``): the eval config lives there.
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
    build_from_lavis_config,
    check_choice,
    check_device,
    cuda_or_fail,
    decoding_kwargs,
    frame_times_message,
    import_authors,
    request_times,
    require_code_dir,
    resize_frames,
)

CODE = sources.VIDEOLLAMA
DEFAULT_CHECKPOINT = "DAMO-NLP-SG/Video-LLaMA-2-7B-Finetuned"
DEFAULT_CONFIG = "eval_configs/video_llama_eval_only_vl.yaml"
# Files of the released checkpoint folder (a download of DEFAULT_CHECKPOINT).
LLAMA_SUBDIR = "llama-2-7b-chat-hf"
VL_WEIGHTS = "VL_LLaMA_2_7B_Finetuned.pth"
FRAME_SIZE = 224
PLACEHOLDER = "<ImageHere>"
DEMO_SYSTEM = (
    "You are able to understand the visual content that the user provides. "
    "Follow the instructions carefully and explain your answers in detail."
)
EOS_STOP = ((2,),)
HASH_STOPS = ((835,), (2277, 29937))  # '###' tokenised two ways


def build_prompt(prompt: str, timestamps: list[float], conversation: str = "llama_2") -> str:
    """The demo's prompt after upload, ``ask`` (which joins the question to the video turn) and ``answer``."""
    video_turn = f"<Video>{PLACEHOLDER}</Video> " + frame_times_message(timestamps, trailing_space=True)
    user = " ".join([video_turn, prompt])
    if conversation == "llama_2":
        return templates.llama2(DEMO_SYSTEM, [("USER", user), ("ASSISTANT", None)])
    return templates.single(DEMO_SYSTEM, [("Human", user), ("Assistant", None)], sep="###")


def prepare_frames(frames: np.ndarray) -> Any:
    """(3, T, 224, 224) float tensor of 0-255 values: what the authors' decord loader hands the processor."""
    import torch

    resized = resize_frames(frames, FRAME_SIZE, FRAME_SIZE)
    return torch.from_numpy(np.ascontiguousarray(resized)).permute(3, 0, 1, 2).float()


def reply(text: str, conversation: str) -> str:
    if conversation == "llama_2":
        return embedding_chat.answer_text(text, stop="</s>", role_prefix="ASSISTANT:")
    return embedding_chat.answer_text(text, stop="###", role_prefix="Assistant:")


class VideoLLaMAAdapter(AuthorsAdapter):
    """Video-LLaMA-2 7B/13B (vision-language branch).

    Model arguments: ``pretrained`` (local folder of the released checkpoint, holding
    ``llama-2-7b-chat-hf/`` and ``VL_LLaMA_2_7B_Finetuned.pth``), ``llama_model`` / ``weights`` (to
    name those two directly), ``code_dir`` (the authors' clone), ``config`` (relative to
    ``code_dir``), ``conversation`` (``llama_2`` for the LLaMA-2-chat checkpoints, ``vicuna``
    otherwise), ``device`` (a CUDA device).
    """

    name = "videollama"
    code = CODE

    def __init__(
        self,
        pretrained: str = DEFAULT_CHECKPOINT,
        llama_model: str | None = None,
        weights: str | None = None,
        code_dir: str | None = None,
        config: str = DEFAULT_CONFIG,
        conversation: str = "llama_2",
        device: str = "cuda",
    ) -> None:
        self.checkpoint = str(pretrained)
        self.device = check_device(device)
        self.conversation = check_choice("conversation", conversation, ("llama_2", "vicuna"))
        self.code_dir = require_code_dir(CODE, code_dir, "video_llama/conversation/conversation_video.py")
        config_module = import_authors(CODE, "video_llama.common.config", self.code_dir)
        registry = import_authors(CODE, "video_llama.common.registry", self.code_dir).registry
        for module in ("video_llama.models", "video_llama.processors"):  # the demo's registering star imports
            import_authors(CODE, module, self.code_dir)
        folder = Path(self.checkpoint)
        self.llama_model = llama_model or str(folder / LLAMA_SUBDIR)
        self.weights = weights or str(folder / VL_WEIGHTS)
        if not Path(self.llama_model).is_dir() or not Path(self.weights).is_file():
            raise ConfigError(
                f"video-llama: need the LLaMA folder {self.llama_model} and the weights {self.weights}: download "
                f"https://huggingface.co/{DEFAULT_CHECKPOINT} and pass its folder as pretrained=..."
            )
        cfg_path = self.code_dir / config
        if not cfg_path.is_file():
            raise ConfigError(f"video-llama: config {cfg_path} not found")
        cuda_or_fail(CODE.project, self.device)
        cfg, self.model = build_from_lavis_config(
            config_module,
            registry,
            cfg_path,
            self.code_dir,
            self.device,
            llama_model=self.llama_model,
            ckpt=self.weights,
        )
        processor_cfg = cfg.datasets_cfg.webvid.vis_processor.train
        self.vis_processor = registry.get_processor_class(processor_cfg.name).from_config(processor_cfg)
        self.tokenizer = self.model.llama_tokenizer

    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        import torch

        video = self.vis_processor.transform(prepare_frames(frames)).unsqueeze(0).to(self.device)
        with torch.no_grad():
            video_emb, _ = self.model.encode_videoQformer_visual(video)
        prompt = build_prompt(request.prompt, request_times(request, frames), self.conversation)
        llm = self.model.llama_model
        stops = EOS_STOP if self.conversation == "llama_2" else HASH_STOPS
        embeds = embedding_chat.mixed_embeddings(self.tokenizer, llm, prompt, PLACEHOLDER, [video_emb])
        tokens = embedding_chat.generate_from_embeddings(
            llm, embeds, stops, **decoding_kwargs(config, top_p=0.9, num_beams=1, min_length=1)
        )
        text = self.tokenizer.decode(embedding_chat.strip_leading_special(tokens), add_special_tokens=False)
        return reply(text, self.conversation)

    def settings(self) -> dict[str, Any]:
        return {
            "conversation": self.conversation,
            "frame_size": FRAME_SIZE,
            "llama_model": self.llama_model,
            "weights": self.weights,
            "code_dir": str(self.code_dir),
        }
