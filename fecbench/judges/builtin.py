"""fecbench's own judges, registered through the ``fecbench`` entry-point group like any plugin.

Imported at plugin discovery, so it only *describes* the judges; a judge's module (and openai,
torch or vllm) is imported when scoring asks for that judge.
"""

from __future__ import annotations

from fecbench.hookspecs import hookimpl
from fecbench.judges.base import JudgeSpec


@hookimpl
def fecbench_register_judges() -> list[JudgeSpec]:
    return [
        JudgeSpec(
            name="lexical",
            factory="fecbench.judges.lexical:LexicalJudge",
            summary="Offline rules: events from caption structure and a facial-action vocabulary, "
            "relations from lemmas, synonyms, antonyms and negation. No model download.",
            tasks=("extract", "classify", "align"),
        ),
        JudgeSpec(
            name="openai",
            factory="fecbench.judges.openai_judge:OpenAIJudge",
            summary="Any OpenAI-compatible chat endpoint: OpenAI, Azure OpenAI, vllm serve, SGLang, "
            "llama.cpp server, Ollama.",
            requires=("openai", "aiohttp"),
            install_hint="pip install 'fecbench[openai]'",
        ),
        JudgeSpec(
            name="transformers",
            factory="fecbench.judges.transformers_judge:TransformersJudge",
            summary="A causal LM loaded in-process with transformers (path or hub id), batched greedy decoding.",
            requires=("torch", "transformers"),
            install_hint="pip install 'fecbench[transformers]'",
        ),
        JudgeSpec(
            name="vllm",
            factory="fecbench.judges.vllm_judge:VLLMJudge",
            summary="A model loaded in-process with vLLM for batch judging on GPUs (never run by fecbench's tests).",
            requires=("vllm",),
            install_hint="pip install 'fecbench[vllm]'",
        ),
    ]
