"""Any video chat model vLLM supports, run in process with ``vllm.LLM``: the fast path on GPUs.

One adapter serves every model: ``--model vllm --model-args pretrained=Qwen/Qwen2-VL-7B-Instruct``.
Each batch becomes one ``LLM.generate`` call, and vLLM schedules the clips itself, so large
``--batch-size`` values (32 and more) keep the GPU busy.

Per clip, vLLM gets the prompt text and the frames the runner sampled::

    {"prompt": <chat-templated prompt with the model's video placeholder>,
     "multi_modal_data": {"video": (frames, metadata)}}

The prompt is the checkpoint's own chat template (from its transformers processor) applied to one
user turn holding a video and the instruction, exactly the conversation the transformers adapters
build, so vLLM finds the placeholder it expects (``<|vision_start|><|video_pad|><|vision_end|>`` for
Qwen2-VL, ``<video>`` for the LLaVA video models). A checkpoint whose template has no video slot
needs ``prompt_template`` (a string holding the model's placeholder and ``{prompt}``). The metadata
describes the frames as sampled (count, their fps, ``do_sample_frames: False``), so models that
resample or time-stamp frames (Qwen2.5-VL, Qwen3-VL) neither resample nor guess the frame rate.

Decoding: the run's temperature (greedy by default) and ``max_new_tokens``; the checkpoint's
repetition penalty is kept, as the transformers adapters keep it; top-k/top-p stay off.

This module imports neither vllm nor transformers at import time.
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest
from fecbench.checkpoints import resolve_checkpoint
from fecbench.errors import ConfigError, MissingDependencyError
from fecbench_adapters.remote_chat import check_frames
from fecbench_adapters.specs_api import VLLM_HINT

PROMPT_SLOT = "{prompt}"
DTYPES = ("auto", "bfloat16", "float16", "float32", "half", "float")


def import_vllm() -> Any:
    try:
        return importlib.import_module("vllm")
    except ImportError as exc:
        raise MissingDependencyError(f"model 'vllm' needs vllm, which cannot be imported ({exc}): {VLLM_HINT}") from exc


def video_item(request: VideoRequest) -> tuple[np.ndarray, dict[str, Any]]:
    """vLLM's ``(frames, metadata)`` video item for the frames exactly as the runner sampled them."""
    frames = check_frames(request)
    fps = request.fps_sampled
    count = int(frames.shape[0])
    return frames, {
        "total_num_frames": count,
        "fps": fps,
        "duration": count / fps,
        "frames_indices": list(range(count)),
        "height": int(frames.shape[1]),
        "width": int(frames.shape[2]),
        "video_backend": "pyav",
        # Read by vLLM, not passed on: the processor must take these frames as they are.
        "do_sample_frames": False,
    }


class PromptRenderer:
    """Turns the instruction into the model's prompt text: its chat template, or a user-given template."""

    def __init__(self, pretrained: str, *, template: str | None, revision: str | None, trust_remote_code: bool) -> None:
        self.template = template
        self.pretrained = pretrained
        self.source = "prompt_template" if template is not None else "chat_template"
        if template is not None:
            if PROMPT_SLOT not in template:
                raise ConfigError(f"--model-args: vllm: prompt_template must contain {PROMPT_SLOT}, got {template!r}")
            self._processor = None
            return
        from transformers import AutoProcessor

        try:
            self._processor = AutoProcessor.from_pretrained(
                pretrained, revision=revision, trust_remote_code=trust_remote_code
            )
        except (OSError, ValueError, ImportError) as exc:
            raise ConfigError(f"vllm: cannot load the processor of {pretrained!r}: {exc}") from exc
        with_video = self._chat([{"type": "video"}, {"type": "text", "text": "X"}])
        without = self._chat([{"type": "text", "text": "X"}])
        if with_video == without:
            raise ConfigError(
                f"vllm: the chat template of {pretrained!r} has no place for a video; pass "
                "--model-args prompt_template='...{prompt}...' with the model's video placeholder"
            )

    def _chat(self, content: list[dict[str, Any]]) -> str:
        try:
            return self._processor.apply_chat_template(
                [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(
                f"vllm: cannot apply the chat template of {self.pretrained!r} ({exc}); pass "
                "--model-args prompt_template='...{prompt}...' with the model's video placeholder"
            ) from exc

    def render(self, instruction: str) -> str:
        if self.template is not None:
            return self.template.replace(PROMPT_SLOT, instruction)
        # The same conversation as the transformers adapters: the clip, then the instruction.
        return self._chat([{"type": "video"}, {"type": "text", "text": instruction}])


def vllm_inputs(renderer: PromptRenderer, requests: Sequence[VideoRequest]) -> list[dict[str, Any]]:
    """One vLLM prompt dict per clip, in order."""
    return [{"prompt": renderer.render(r.prompt), "multi_modal_data": {"video": video_item(r)}} for r in requests]


def sampling_kwargs(config: GenerationConfig, repetition_penalty: float | None) -> dict[str, Any]:
    """``SamplingParams`` arguments for the run's decoding settings (temperature 0 is greedy in vLLM)."""
    kwargs: dict[str, Any] = {"max_tokens": config.max_new_tokens, "temperature": max(0.0, config.temperature)}
    if repetition_penalty is not None:
        kwargs["repetition_penalty"] = repetition_penalty
    if not config.greedy:
        kwargs["seed"] = config.seed
    return kwargs


class VLLMAdapter(Adapter):
    """A vLLM-supported video chat model, in process.

    Model arguments (``--model-args``):

    * ``pretrained``: hub id or local checkpoint directory (required), e.g. ``Qwen/Qwen2-VL-7B-Instruct``,
      ``Qwen/Qwen2.5-VL-7B-Instruct``, ``llava-hf/llava-onevision-qwen2-7b-ov-hf``,
      ``llava-hf/LLaVA-NeXT-Video-7B-hf``.
    * ``dtype``: ``auto`` (default), ``bfloat16``, ``float16``, ``float32``.
    * ``tensor_parallel_size``: GPUs to shard the model over (default 1).
    * ``gpu_memory_utilization``: share of each GPU's memory vLLM may take (default 0.9).
    * ``max_model_len``, ``max_num_seqs``: vLLM's context length and concurrent sequences (vLLM's defaults).
    * ``enforce_eager``: skip CUDA graphs (slower, less memory, faster start).
    * ``prompt_template``: the prompt text with ``{prompt}`` for the instruction, for a checkpoint
      whose chat template has no video slot (default: the checkpoint's chat template).
    * ``revision``, ``trust_remote_code``: as for transformers.
    """

    name = "vllm"

    def __init__(
        self,
        pretrained: str | None = None,
        *,
        dtype: str = "auto",
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        max_num_seqs: int | None = None,
        enforce_eager: bool = False,
        prompt_template: str | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        self.engine_args = engine_kwargs(
            pretrained,
            dtype=dtype,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            max_num_seqs=max_num_seqs,
            enforce_eager=enforce_eager,
            revision=revision,
            trust_remote_code=trust_remote_code,
        )
        self.pretrained = self.engine_args["model"]
        self.revision = revision
        source = resolve_checkpoint(self.pretrained, model="vllm", revision=revision)
        self.engine_args["model"] = source
        vllm = import_vllm()
        self._vllm = vllm
        self.renderer = PromptRenderer(
            source,
            template=prompt_template,
            revision=revision,
            trust_remote_code=trust_remote_code,
        )
        try:
            self.llm = vllm.LLM(**self.engine_args)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ConfigError(f"vllm: cannot start the engine for {self.pretrained!r}: {exc}") from exc
        defaults = self.llm.get_default_sampling_params()
        self.repetition_penalty = getattr(defaults, "repetition_penalty", None)

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        if not requests:
            return []
        if getattr(self, "llm", None) is None:
            raise RuntimeError("vllm: generate() called after close()")
        params = self._vllm.SamplingParams(**sampling_kwargs(config, self.repetition_penalty))
        outputs = self.llm.generate(vllm_inputs(self.renderer, requests), params, use_tqdm=False)
        return [output.outputs[0].text.strip() for output in outputs]

    def describe(self) -> dict[str, Any]:
        return {
            "checkpoint": self.pretrained,
            "revision": self.revision,
            "engine": {k: v for k, v in self.engine_args.items() if k != "model"},
            "prompt_format": self.renderer.source,
            "repetition_penalty": self.repetition_penalty,
            "vllm": getattr(self._vllm, "__version__", "unknown"),
        }

    def close(self) -> None:
        self.llm = None
        gc.collect()
        try:  # frees the GPU and the worker processes when this vLLM offers it
            from vllm.distributed.parallel_state import cleanup_dist_env_and_memory
        except ImportError:
            return
        cleanup_dist_env_and_memory()


def engine_kwargs(
    pretrained: str | None,
    *,
    dtype: str,
    tensor_parallel_size: int,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    max_num_seqs: int | None,
    enforce_eager: bool,
    revision: str | None,
    trust_remote_code: bool,
) -> dict[str, Any]:
    """``vllm.LLM`` arguments from the model arguments, each checked and named when wrong."""
    if not pretrained:
        raise ConfigError(
            "--model-args: vllm needs pretrained=<hub id or checkpoint directory>, "
            "e.g. pretrained=Qwen/Qwen2-VL-7B-Instruct"
        )
    pretrained = str(pretrained)
    if pretrained.startswith(("/", "./", "../", "~")) and not os.path.isdir(os.path.expanduser(pretrained)):
        raise ConfigError(f"vllm: checkpoint directory {pretrained!r} does not exist")
    if dtype not in DTYPES:
        raise ConfigError(f"--model-args: vllm: dtype={dtype!r} is not one of {', '.join(DTYPES)}")
    for arg, value in (
        ("tensor_parallel_size", tensor_parallel_size),
        ("max_model_len", max_model_len),
        ("max_num_seqs", max_num_seqs),
    ):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"--model-args: vllm: {arg}={value!r} must be a positive integer")
    if (
        isinstance(gpu_memory_utilization, bool)
        or not isinstance(gpu_memory_utilization, (int, float))
        or not (0 < gpu_memory_utilization <= 1)
    ):
        raise ConfigError(
            f"--model-args: vllm: gpu_memory_utilization={gpu_memory_utilization!r} must be a number in (0, 1]"
        )
    if not isinstance(enforce_eager, bool) or not isinstance(trust_remote_code, bool):
        raise ConfigError("--model-args: vllm: enforce_eager and trust_remote_code take true or false")
    kwargs: dict[str, Any] = {
        "model": os.path.expanduser(pretrained),
        "dtype": dtype,
        "tensor_parallel_size": tensor_parallel_size,
        "gpu_memory_utilization": float(gpu_memory_utilization),
        "enforce_eager": enforce_eager,
        "trust_remote_code": trust_remote_code,
        "limit_mm_per_prompt": {"video": 1},
    }
    if revision is not None:
        kwargs["revision"] = revision
    if max_model_len is not None:
        kwargs["max_model_len"] = max_model_len
    if max_num_seqs is not None:
        kwargs["max_num_seqs"] = max_num_seqs
    return kwargs
