"""The ``vllm`` adapter: what can be checked without a GPU, and a GPU test that runs where there is one.

vLLM has no CPU backend in its wheel and is not installed here, so these tests check the adapter's
own work: its arguments, the install hint, the prompt built from each checkpoint's real chat
template (tiny random-weight checkpoints from ``tiny_models.py``), the ``(frames, metadata)``
video items and the sampling settings. One test drives ``generate`` through a stand-in for the
four names of vLLM's API the adapter uses (``LLM``, ``LLM.generate``,
``LLM.get_default_sampling_params``, ``SamplingParams``), to check what is handed to the engine
and that the answers come back in order; it is no substitute for vLLM, which was never run.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fecbench_adapters.vllm_backend import (
    PromptRenderer,
    engine_kwargs,
    sampling_kwargs,
    video_item,
    vllm_inputs,
)

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError, MissingDependencyError
from fecbench.plugins import load_adapter

VLLM_INSTALLED = importlib.util.find_spec("vllm") is not None
ENGINE_DEFAULTS = {
    "dtype": "auto",
    "tensor_parallel_size": 1,
    "gpu_memory_utilization": 0.9,
    "max_model_len": None,
    "max_num_seqs": None,
    "enforce_eager": False,
    "revision": None,
    "trust_remote_code": False,
}


def clip(number: int, frames: int = 4) -> VideoRequest:
    array = np.stack([np.full((28, 42, 3), 10 * i + number, dtype=np.uint8) for i in range(frames)])
    return VideoRequest(f"c{number}", array, f"Describe clip {number}.", [0.5 * i for i in range(frames)])


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import tiny_models

    root = tmp_path_factory.mktemp("vllm-checkpoints")
    return {
        "qwen2-vl": str(tiny_models.build_tiny_qwen2_vl(root / "qwen2-vl")),
        "llava-next-video": str(tiny_models.build_tiny_llava_next_video(root / "llava-next-video")),
        "llava-onevision": str(tiny_models.build_tiny_llava_onevision(root / "llava-onevision")),
    }


# -- without vLLM ---------------------------------------------------------------------------------


@pytest.mark.skipif(VLLM_INSTALLED, reason="vllm is installed here")
def test_missing_vllm_gives_the_install_command(clip_set: Path) -> None:
    import fecbench

    with pytest.raises(MissingDependencyError, match=r"needs vllm.*pip install 'fecbench\[vllm\]'"):
        fecbench.run(
            "vllm",
            model_args={"pretrained": "Qwen/Qwen2-VL-7B-Instruct"},
            annotations=clip_set,
            video_roots=[str(clip_set.parent / "videos")],
            output=clip_set.parent / "run",
        )


def test_engine_arguments() -> None:
    assert engine_kwargs("Qwen/Qwen2-VL-7B-Instruct", **{**ENGINE_DEFAULTS, "max_model_len": 8192}) == {
        "model": "Qwen/Qwen2-VL-7B-Instruct",
        "dtype": "auto",
        "tensor_parallel_size": 1,
        "gpu_memory_utilization": 0.9,
        "enforce_eager": False,
        "trust_remote_code": False,
        "limit_mm_per_prompt": {"video": 1},
        "max_model_len": 8192,
    }


@pytest.mark.parametrize(
    ("pretrained", "changes", "message"),
    [
        (None, {}, "vllm needs pretrained="),
        ("/no/such/checkpoint", {}, "checkpoint directory '/no/such/checkpoint' does not exist"),
        ("m", {"dtype": "int3"}, "dtype='int3' is not one of auto"),
        ("m", {"tensor_parallel_size": 0}, "tensor_parallel_size=0 must be a positive integer"),
        ("m", {"max_num_seqs": 2.5}, "max_num_seqs=2.5 must be a positive integer"),
        ("m", {"gpu_memory_utilization": 1.5}, r"gpu_memory_utilization=1.5 must be a number in \(0, 1\]"),
        ("m", {"enforce_eager": "yes"}, "enforce_eager and trust_remote_code take true or false"),
    ],
)
def test_bad_engine_arguments_are_named(pretrained: str | None, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        engine_kwargs(pretrained, **{**ENGINE_DEFAULTS, **changes})


def test_video_item_describes_the_frames_as_sampled() -> None:
    request = clip(1, frames=5)
    frames, metadata = video_item(request)
    assert frames.shape == (5, 28, 42, 3) and np.array_equal(frames, request.frames)
    assert metadata == {
        "total_num_frames": 5,
        "fps": 2.0,
        "duration": 2.5,
        "frames_indices": [0, 1, 2, 3, 4],
        "height": 28,
        "width": 42,
        "video_backend": "pyav",
        "do_sample_frames": False,
    }
    with pytest.raises(ValueError, match="clip 'c1': frames must be uint8 RGB"):
        video_item(VideoRequest("c1", request.frames.astype(np.float32), "p"))


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("qwen2-vl", "<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>Describe.<|im_end|>\n"),
        ("llava-next-video", "USER: <video>\nDescribe. ASSISTANT:"),  # vLLM's documented LLaVA-NeXT-Video prompt
        ("llava-onevision", "<|im_start|>user\n<video>\nDescribe.<|im_end|>\n<|im_start|>assistant\n"),
    ],
)
def test_prompt_carries_the_models_video_placeholder(checkpoints: dict[str, str], model: str, expected: str) -> None:
    renderer = PromptRenderer(checkpoints[model], template=None, revision=None, trust_remote_code=False)
    prompt = renderer.render("Describe.")
    assert expected in prompt and prompt.endswith(("assistant\n", "ASSISTANT:"))
    assert renderer.source == "chat_template"


def test_prompt_is_the_one_the_transformers_adapters_build(checkpoints: dict[str, str]) -> None:
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(checkpoints["qwen2-vl"])
    conversation = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Describe clip 1."}]}]
    expected = processor.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    renderer = PromptRenderer(checkpoints["qwen2-vl"], template=None, revision=None, trust_remote_code=False)
    (inputs,) = vllm_inputs(renderer, [clip(1)])
    assert inputs["prompt"] == expected
    frames, metadata = inputs["multi_modal_data"]["video"]
    assert frames.shape == (4, 28, 42, 3) and metadata["do_sample_frames"] is False


def test_template_without_a_video_slot_is_refused(checkpoints: dict[str, str], tmp_path: Path) -> None:
    copy = tmp_path / "no-video"
    shutil.copytree(checkpoints["qwen2-vl"], copy)
    (copy / "chat_template.jinja").write_text(
        "{% for m in messages %}{% for c in m['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}"
        "{% endif %}{% endfor %}{% endfor %}"
    )
    with pytest.raises(ConfigError, match="has no place for a video; pass --model-args prompt_template="):
        PromptRenderer(str(copy), template=None, revision=None, trust_remote_code=False)


def test_prompt_template_argument() -> None:
    renderer = PromptRenderer(
        "unused", template="USER: <video>\n{prompt} ASSISTANT:", revision=None, trust_remote_code=False
    )
    assert renderer.render("Describe {x}.") == "USER: <video>\nDescribe {x}. ASSISTANT:"
    assert renderer.source == "prompt_template"
    with pytest.raises(ConfigError, match="prompt_template must contain"):
        PromptRenderer("unused", template="USER: <video>", revision=None, trust_remote_code=False)


def test_sampling_settings() -> None:
    assert sampling_kwargs(GenerationConfig(max_new_tokens=64), 1.05) == {
        "max_tokens": 64,
        "temperature": 0.0,
        "repetition_penalty": 1.05,
    }
    assert sampling_kwargs(GenerationConfig(max_new_tokens=8, temperature=0.7, seed=3), None) == {
        "max_tokens": 8,
        "temperature": 0.7,
        "seed": 3,
    }


# -- generate(), through a stand-in for the part of vLLM's API the adapter calls ----------------------


def stand_in_vllm(calls: list[tuple[str, Any]]) -> types.ModuleType:
    """A module named ``vllm`` with ``LLM`` and ``SamplingParams`` shaped like vLLM's, recording calls."""

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    class LLM:
        def __init__(self, **kwargs: Any) -> None:
            calls.append(("LLM", kwargs))

        def get_default_sampling_params(self) -> Any:
            return types.SimpleNamespace(repetition_penalty=1.05, temperature=0.01, top_k=1)

        def generate(self, prompts: list[dict[str, Any]], sampling_params: Any, *, use_tqdm: bool = True) -> list:
            calls.append(("generate", (prompts, sampling_params.kwargs, use_tqdm)))
            return [
                types.SimpleNamespace(
                    outputs=[types.SimpleNamespace(text=f" {p['multi_modal_data']['video'][0].shape[0]} frames ")]
                )
                for p in prompts
            ]

    module = types.ModuleType("vllm")
    module.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    module.__version__ = "stand-in"
    module.LLM, module.SamplingParams = LLM, SamplingParams
    return module


def test_generate_hands_each_clip_to_the_engine_and_keeps_the_order(
    checkpoints: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, Any]] = []
    monkeypatch.setitem(sys.modules, "vllm", stand_in_vllm(calls))
    adapter = load_adapter("vllm", {"pretrained": checkpoints["qwen2-vl"], "max_model_len": 4096})
    ((name, engine),) = calls
    assert name == "LLM" and engine["model"] == checkpoints["qwen2-vl"] and engine["max_model_len"] == 4096
    requests = [clip(1, frames=3), clip(2, frames=5), clip(3, frames=2)]
    assert adapter.generate(requests, GenerationConfig(max_new_tokens=20)) == ["3 frames", "5 frames", "2 frames"]
    prompts, params, use_tqdm = calls[1][1]
    assert [p["prompt"].count("<|video_pad|>") for p in prompts] == [1, 1, 1]
    assert [p["prompt"].split("<|vision_end|>")[1].split("<|im_end|>")[0] for p in prompts] == [
        "Describe clip 1.",
        "Describe clip 2.",
        "Describe clip 3.",
    ]
    assert all(
        np.array_equal(p["multi_modal_data"]["video"][0], r.frames) for p, r in zip(prompts, requests, strict=True)
    )
    assert [p["multi_modal_data"]["video"][1]["total_num_frames"] for p in prompts] == [3, 5, 2]
    assert params == {"max_tokens": 20, "temperature": 0.0, "repetition_penalty": 1.05} and use_tqdm is False
    described = adapter.describe()
    assert described["checkpoint"] == checkpoints["qwen2-vl"] and described["vllm"] == "stand-in"
    assert described["prompt_format"] == "chat_template" and described["engine"]["limit_mm_per_prompt"] == {"video": 1}
    adapter.close()
    with pytest.raises(RuntimeError, match="after close"):
        adapter.generate(requests, GenerationConfig())


# -- on a GPU with vLLM ---------------------------------------------------------------------------


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not (VLLM_INSTALLED and _cuda()), reason="needs vllm and a CUDA GPU")
def test_vllm_on_a_gpu_batched_greedy_equals_one_at_a_time(checkpoints: dict[str, str]) -> None:
    adapter = load_adapter(
        "vllm", {"pretrained": checkpoints["qwen2-vl"], "enforce_eager": True, "gpu_memory_utilization": 0.3}
    )
    try:
        requests = [clip(1, frames=4), clip(2, frames=6), clip(3, frames=2)]
        config = GenerationConfig(max_new_tokens=12)
        batched = adapter.generate(requests, config)
        assert len(batched) == 3 and all(isinstance(text, str) for text in batched)
        assert [adapter.generate([r], config)[0] for r in requests] == batched
    finally:
        adapter.close()
