"""Registrations (descriptions only, no heavy imports) of the transformers-native video chat adapters.

Each adapter's module is imported only when a run asks for it. ``default_checkpoint`` repeats the
adapter class's own default (a test keeps the two equal), so ``fecbench models`` can show it
without importing torch. ``qwen2-vl`` itself is registered in ``fecbench_adapters/__init__.py``.
"""

from __future__ import annotations

from fecbench import AdapterSpec

REQUIRES = ("torch", "torchvision", "transformers")
INSTALL_HINT = "pip install 'fecbench[transformers]'"


def _spec(name: str, factory: str, summary: str, checkpoint: str, frames: int = 8, aliases=()) -> AdapterSpec:
    return AdapterSpec(
        name=name,
        factory=f"fecbench_adapters.{factory}",
        summary=summary,
        default_checkpoint=checkpoint,
        default_frames=frames,
        requires=REQUIRES,
        install_hint=INSTALL_HINT,
        aliases=tuple(aliases),
        checkpoint_arg="pretrained",
    )


# Eight frames everywhere: what each model card's video example samples, and what the benchmark
# authors' related work uses.
SPECS: list[AdapterSpec] = [
    _spec(
        "qwen2-vl-2b",
        "qwen2_vl:Qwen2VL2BAdapter",
        "Qwen2-VL 2B Instruct through transformers (as qwen2-vl, smaller checkpoint).",
        "Qwen/Qwen2-VL-2B-Instruct",
        aliases=("qwen2_vl_2b",),
    ),
    _spec(
        "qwen2-vl-72b",
        "qwen2_vl:Qwen2VL72BAdapter",
        "Qwen2-VL 72B Instruct through transformers; shard it with --model-args device_map=auto.",
        "Qwen/Qwen2-VL-72B-Instruct",
        aliases=("qwen2_vl_72b",),
    ),
    _spec(
        "qwen2.5-vl",
        "qwen2_5_vl:Qwen25VLAdapter",
        "Qwen2.5-VL through transformers (Qwen2_5_VLForConditionalGeneration + its processor).",
        "Qwen/Qwen2.5-VL-7B-Instruct",
        aliases=("qwen2_5_vl", "qwen25vl", "qwen2.5vl"),
    ),
    _spec(
        "llava-next-video",
        "llava_next_video:LlavaNextVideoAdapter",
        "LLaVA-NeXT-Video through transformers (LlavaNextVideoForConditionalGeneration + its processor).",
        "llava-hf/LLaVA-NeXT-Video-7B-hf",
        aliases=("llava_next_video", "llavanextvideo"),
    ),
    _spec(
        "llava-onevision",
        "llava_onevision:LlavaOnevisionAdapter",
        "LLaVA-OneVision through transformers (LlavaOnevisionForConditionalGeneration + its processor).",
        "llava-hf/llava-onevision-qwen2-7b-ov-hf",
        aliases=("llava_onevision", "llavaonevision"),
    ),
    _spec(
        "video-llava",
        "video_llava:VideoLlavaAdapter",
        "Video-LLaVA through transformers (VideoLlavaForConditionalGeneration + its processor).",
        "LanguageBind/Video-LLaVA-7B-hf",
        aliases=("video_llava", "videollava"),
    ),
    _spec(
        "internvl",
        "internvl:InternVLAdapter",
        "InternVL3 / 3.5 '-hf' checkpoints through transformers (InternVLForConditionalGeneration).",
        "OpenGVLab/InternVL3-8B-hf",
        aliases=("internvl3",),
    ),
    _spec(
        "videollama3",
        "videollama3:VideoLlama3Adapter",
        "VideoLLaMA3 in the transformers-native layout (VideoLlama3ForConditionalGeneration).",
        "lkhl/VideoLLaMA3-2B-Image-HF",
        aliases=("video_llama3", "videollama-3"),
    ),
]
