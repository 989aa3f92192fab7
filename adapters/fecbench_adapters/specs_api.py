"""Registrations (descriptions only, no heavy imports) of the API, served and vLLM adapters."""

from __future__ import annotations

from fecbench import AdapterSpec

API_HINT = "pip install 'fecbench[api]'"
VLLM_HINT = "pip install 'fecbench[vllm]' (vLLM pins its own torch and transformers: use a separate environment)"

# The paper does not publish its frame sampling; the same authors' related work samples 8 frames.
PAPER_FRAMES = 8

SPECS: list[AdapterSpec] = [
    AdapterSpec(
        name="gpt-4o",
        factory="fecbench_adapters.api_models:GPT4oAdapter",
        summary="GPT-4o through the official openai client: frames as JPEG images with their times, greedy.",
        default_checkpoint="gpt-4o-2024-08-06",
        default_frames=PAPER_FRAMES,
        requires=("openai",),
        install_hint=API_HINT,
        aliases=("gpt4o",),
    ),
    AdapterSpec(
        name="claude-3.5-sonnet",
        factory="fecbench_adapters.api_models:ClaudeAdapter",
        summary="Claude 3.5 Sonnet through the official anthropic client: frames as JPEG images with their times.",
        default_checkpoint="claude-3-5-sonnet-20240620",
        default_frames=PAPER_FRAMES,
        requires=("anthropic",),
        install_hint=API_HINT,
        aliases=("claude", "claude-3-5-sonnet"),
    ),
    AdapterSpec(
        name="openai-server",
        factory="fecbench_adapters.openai_server:OpenAIServerAdapter",
        summary="Any OpenAI-compatible chat server that takes video (vllm serve, SGLang, hosted APIs); concurrent.",
        default_frames=PAPER_FRAMES,
        requires=("openai",),
        install_hint=API_HINT,
        aliases=("openai-compatible",),
    ),
    AdapterSpec(
        name="vllm",
        factory="fecbench_adapters.vllm_backend:VLLMAdapter",
        summary="Video models vLLM supports (Qwen2/2.5-VL, LLaVA-OneVision, LLaVA-NeXT-Video...), in process.",
        default_frames=PAPER_FRAMES,
        requires=("vllm", "transformers"),
        install_hint=VLLM_HINT,
        checkpoint_arg="pretrained",
    ),
]
