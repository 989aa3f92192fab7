"""The ``vllm`` judge: a model loaded in-process by vLLM, for batch judging on GPUs.

Every pending item of a round goes to vLLM in one ``LLM.chat`` call (vLLM schedules the batch
itself), greedy (``temperature=0``). Weights come from a path or a hub id, as ``vllm.LLM`` loads them.

This backend has never been run by fecbench's authors or tests: vLLM needs a CUDA GPU, and the
machines fecbench is developed on have none. Its test (``-m gpu``) skips without CUDA and vLLM.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from fecbench.errors import ConfigError, MissingDependencyError
from fecbench.judges.chat import ChatJudge, Messages

INSTALL_HINT = "pip install 'fecbench[vllm]'"


class VLLMJudge(ChatJudge):
    """A judge model served by an in-process ``vllm.LLM``."""

    backend: ClassVar[str] = "vllm"

    def __init__(
        self,
        *,
        model: str | None = None,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        dtype: str = "auto",
        max_tokens: int = 1024,
        max_retries: int = 2,
        seed: int = 0,
        trust_remote_code: bool = False,
        prompt_dir: str | None = None,
    ) -> None:
        model = model or os.environ.get("FECBENCH_JUDGE_MODEL")
        if not model:
            raise ConfigError("the vllm judge needs a model: --judge-args model=PATH_OR_HUB_ID")
        super().__init__(
            model=str(model),
            max_retries=max_retries,
            backoff=0.0,
            backoff_max=0.0,
            max_concurrency=1,
            temperature=0.0,
            max_tokens=max_tokens,
            prompt_dir=prompt_dir,
        )
        try:
            import vllm
        except ImportError as exc:
            raise MissingDependencyError(f"the vllm judge needs vLLM (and a CUDA GPU): {INSTALL_HINT}") from exc
        self.tensor_parallel_size = tensor_parallel_size
        self.gpu_memory_utilization = gpu_memory_utilization
        engine_args: dict[str, Any] = {
            "model": self.model,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "dtype": dtype,
            "seed": seed,
            "trust_remote_code": trust_remote_code,
        }
        if max_model_len is not None:
            engine_args["max_model_len"] = max_model_len
        self.llm = vllm.LLM(**engine_args)
        self.sampling = vllm.SamplingParams(temperature=0.0, max_tokens=max_tokens)

    def describe(self) -> dict[str, Any]:
        return {
            "tensor_parallel_size": self.tensor_parallel_size,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            **super().describe(),
        }

    def complete(self, messages: Messages) -> str:
        return self.complete_batch([messages])[0]

    def complete_batch(self, conversations: list[Messages]) -> list[str]:
        if not conversations:
            return []
        outputs = self.llm.chat(list(conversations), sampling_params=self.sampling, use_tqdm=False)
        return [output.outputs[0].text for output in outputs]

    def close(self) -> None:
        self.llm = None
