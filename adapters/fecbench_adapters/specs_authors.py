"""Registrations (descriptions only, no heavy imports) of the adapters that run through their authors' code.

Each install hint is the repository's own documented install, pinned to the commit the adapter was
written against; these projects pin old torch/transformers releases, so they belong in an
environment of their own. None of these adapters has been run on real weights here.
"""

from __future__ import annotations

import dataclasses

from fecbench import AdapterSpec
from fecbench_adapters.authors import sources

_PREFIX = "fecbench_adapters.authors"


SPECS: list[AdapterSpec] = [
    AdapterSpec(
        name="videollama2",
        factory=f"{_PREFIX}.videollama2:VideoLLaMA2Adapter",
        summary="VideoLLaMA2 through its authors' package: model_init + mm_infer on fecbench's frames.",
        default_checkpoint="DAMO-NLP-SG/VideoLLaMA2-7B",
        default_frames=8,
        requires=("torch", "videollama2"),
        install_hint=sources.VIDEOLLAMA2.hint,
        aliases=("video-llama2",),
    ),
    AdapterSpec(
        name="videochat2",
        factory=f"{_PREFIX}.videochat2:VideoChat2Adapter",
        summary="VideoChat2 (Mistral-7B, stage 3) through Ask-Anything's video_chat2 code, as its Mistral demo.",
        default_checkpoint="OpenGVLab/VideoChat2_stage3_Mistral_7B",
        default_frames=16,
        requires=("torch", "transformers", "timm", "peft", "decord"),
        install_hint=sources.VIDEOCHAT2.hint,
    ),
    AdapterSpec(
        name="llama-vid",
        factory=f"{_PREFIX}.llama_vid:LlamaVIDAdapter",
        summary="LLaMA-VID through its authors' package, as its Video-ChatGPT benchmark script (vicuna_v1).",
        default_checkpoint="YanweiLi/llama-vid-7b-full-224-video-fps-1",
        default_frames=8,  # the authors sample 1 frame per second
        requires=("torch", "llamavid", "llava"),
        install_hint=sources.LLAMA_VID.hint,
        aliases=("llamavid",),
    ),
    AdapterSpec(
        name="pllava",
        factory=f"{_PREFIX}.pllava:PLLaVAAdapter",
        summary="PLLaVA through its authors' repository, as its Video-ChatGPT benchmark evaluation.",
        default_checkpoint="ermu2001/pllava-7b",
        default_frames=16,
        requires=("torch", "transformers", "peft", "accelerate", "decord"),
        install_hint=sources.PLLAVA.hint,
    ),
    AdapterSpec(
        name="sharegpt4video",
        factory=f"{_PREFIX}.sharegpt4video:ShareGPT4VideoAdapter",
        summary="ShareGPT4Video-8B through its authors' LLaVA fork: frames as one grid image, as run.py.",
        default_checkpoint="Lin-Chen/sharegpt4video-8b",
        default_frames=16,
        requires=("torch", "llava"),
        install_hint=sources.SHAREGPT4VIDEO.hint,
    ),
    AdapterSpec(
        name="chat-univi",
        factory=f"{_PREFIX}.chat_univi:ChatUniViAdapter",
        summary="Chat-UniVi through its authors' package, as the video example of their README.",
        default_checkpoint="Chat-UniVi/Chat-UniVi",
        default_frames=8,  # the authors sample 1 frame per second, at most 100
        requires=("torch", "ChatUniVi"),
        install_hint=sources.CHAT_UNIVI.hint,
        aliases=("chatunivi",),
    ),
    AdapterSpec(
        name="st-llm",
        factory=f"{_PREFIX}.st_llm:STLLMAdapter",
        summary="ST-LLM through its authors' repository and Chat class, as its Video-ChatGPT benchmark script.",
        default_checkpoint="farewellthree/ST_LLM_weight",
        default_frames=64,
        requires=("torch", "transformers", "timm", "peft", "omegaconf", "decord"),
        install_hint=sources.ST_LLM.hint,
        aliases=("stllm",),
    ),
    AdapterSpec(
        name="tarsier",
        factory=f"{_PREFIX}.tarsier:TarsierAdapter",
        summary="Tarsier (first release) through its authors' repository, as tasks/inference_quick_start.py.",
        default_checkpoint="omni-research/Tarsier-7b",
        default_frames=8,
        requires=("torch", "transformers", "decord"),
        install_hint=sources.TARSIER.hint,
    ),
    AdapterSpec(
        name="videollama",
        factory=f"{_PREFIX}.videollama:VideoLLaMAAdapter",
        summary="Video-LLaMA (vision branch) through its authors' repository, as demo_video.py.",
        default_checkpoint="DAMO-NLP-SG/Video-LLaMA-2-7B-Finetuned",
        default_frames=8,
        requires=("torch", "transformers", "timm", "omegaconf", "decord"),
        install_hint=sources.VIDEOLLAMA.hint,
        aliases=("video-llama",),
    ),
    AdapterSpec(
        name="videochat",
        factory=f"{_PREFIX}.videochat:VideoChatAdapter",
        summary="VideoChat (7B) through Ask-Anything's video_chat code, as its demo.",
        default_checkpoint="videochat_7b.pth (VideoChat-7B, linked from video_chat/README.md)",
        default_frames=8,
        requires=("torch", "transformers", "timm", "decord"),
        install_hint=sources.VIDEOCHAT.hint,
    ),
    AdapterSpec(
        name="humanomni",
        factory=f"{_PREFIX}.humanomni:HumanOmniAdapter",
        summary="HumanOmni-7B (video only) through its authors' repository: model_init + mm_infer, as inference.py.",
        default_checkpoint="StarJiaxing/HumanOmni-7B",
        default_frames=32,  # scripts/train/finetune_omni.sh: --num_frames 32; fewer are padded with black frames
        requires=("torch", "transformers", "decord"),
        install_hint=sources.HUMANOMNI.hint,
    ),
]

#: The repository of each adapter: ``fecbench env create NAME`` builds its environment from this recipe.
CODE: dict[str, sources.AuthorsCode] = {
    "videollama2": sources.VIDEOLLAMA2,
    "videochat2": sources.VIDEOCHAT2,
    "llama-vid": sources.LLAMA_VID,
    "pllava": sources.PLLAVA,
    "sharegpt4video": sources.SHAREGPT4VIDEO,
    "chat-univi": sources.CHAT_UNIVI,
    "st-llm": sources.ST_LLM,
    "tarsier": sources.TARSIER,
    "videollama": sources.VIDEOLLAMA,
    "videochat": sources.VIDEOCHAT,
    "humanomni": sources.HUMANOMNI,
}
SPECS = [dataclasses.replace(spec, recipe=CODE[spec.name].recipe()) for spec in SPECS]
