"""Shared machinery for video chat models run through transformers (processor + chat template + generate).

A concrete adapter names its model class, its default checkpoint and, where the model needs it,
the video-processor settings; loading, prompt building, batching with left padding, decoding and
provenance live here, so that every transformers-backed adapter batches and decodes the same way.

The runner has already sampled the frames it wants the model to see. This module hands them to the
processor as they are: ``do_sample_frames=False`` (some checkpoints enable sampling in their
processor config) and, per clip, the video metadata of the *sampled* frames (their count and fps),
which processors use for time-aware position ids (Qwen2.5-VL's ``second_per_grid_ts``, Qwen3-VL's
timestamps) and which stops them from warning about, or guessing, a default fps.

This module imports torch and transformers at import time; it is only imported when a run asks for
one of these adapters.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import transformers
from transformers import AutoProcessor, BatchFeature, PreTrainedModel

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest
from fecbench.errors import ConfigError

DTYPES: dict[str, torch.dtype] = {
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "float32": torch.float32,
    "fp32": torch.float32,
    "float": torch.float32,
}


def resolve_device(device: str) -> torch.device:
    """``auto`` is the first CUDA device when there is one, else the CPU; anything else must exist here."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(
            f"--model-args: device={device!r} is not a torch device (e.g. auto, cpu, cuda, cuda:1)"
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--model-args: device={device!r} asks for CUDA, but torch sees no CUDA device here")
    return resolved


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto`` is bfloat16 on a GPU that has it (float16 on older GPUs) and float32 on CPU, where half is slow."""
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in DTYPES:
        raise ConfigError(f"--model-args: dtype={dtype!r} is not one of auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def video_metadata(request: VideoRequest) -> dict[str, Any]:
    """Metadata describing the frames exactly as sampled: every frame kept, at the sampled frame rate."""
    frames = request.frames
    fps = request.fps_sampled
    return {
        "total_num_frames": int(frames.shape[0]),
        "fps": fps,
        "duration": frames.shape[0] / fps,
        "frames_indices": list(range(frames.shape[0])),
        "height": int(frames.shape[1]),
        "width": int(frames.shape[2]),
    }


def check_frames(request: VideoRequest) -> np.ndarray:
    """The request's frames as a contiguous (T, H, W, 3) uint8 array; anything else is that clip's error."""
    frames = request.frames
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        shape = getattr(frames, "shape", None)
        raise ValueError(f"clip {request.clip_id!r}: frames must be a (T, H, W, 3) array with T >= 1, got {shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"clip {request.clip_id!r}: frames must be uint8 RGB, got {frames.dtype}")
    return np.ascontiguousarray(frames)


# Generation-config entries that do not affect decoding.
_BOOKKEEPING = frozenset({"transformers_version", "output_attentions", "output_hidden_states", "use_cache"})


def _json_safe(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_json_safe(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


class HFVideoChatAdapter(Adapter):
    """Base of the transformers video chat adapters.

    Subclasses set ``model_class`` and ``default_checkpoint`` and may override
    :meth:`video_processor_kwargs`, :meth:`conversation` and :meth:`describe_video_processing`.
    Their ``__init__`` spells out the accepted ``--model-args`` and calls ``super().__init__``;
    subclasses without model arguments of their own take these (``--model-args``):

    * ``pretrained``: hub id or local checkpoint directory (default: ``default_checkpoint``).
    * ``dtype``: ``auto`` (bfloat16 on GPU, float32 on CPU), ``bfloat16``, ``float16`` or ``float32``.
    * ``attn_implementation``: ``sdpa`` (default), ``eager``, ``flash_attention_2``...; ``none``: transformers
      chooses.
    * ``device``: ``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda``, ``cuda:1``...
    * ``device_map``: e.g. ``auto`` to shard a large checkpoint over several GPUs (needs accelerate);
      replaces ``device``.
    * ``revision``: branch, tag or commit of a hub checkpoint.
    * ``trust_remote_code``: let transformers run code shipped with the checkpoint.

    ``prompt_format`` is the model card's prompt (``{prompt}`` marks the request's text), used only
    for checkpoints that ship no chat template; without either, loading fails.

    ``equal_frame_counts`` is set by models whose processor stacks the clips of a batch into one
    tensor (LLaVA family, InternVL): a batch mixing frame counts is then run as one sub-batch per
    count, which gives the same captions because batching never changes a caption.
    """

    model_class: ClassVar[type[PreTrainedModel]]
    default_checkpoint: ClassVar[str]
    equal_frame_counts: ClassVar[bool] = False
    prompt_format: ClassVar[str | None] = None

    def __init__(
        self,
        pretrained: str | None = None,
        *,
        dtype: str = "auto",
        attn_implementation: str | None = "sdpa",
        device: str = "auto",
        device_map: str | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        self.pretrained = str(self.default_checkpoint if pretrained is None else pretrained)
        source = os.path.expanduser(self.pretrained)
        if self.pretrained.startswith(("/", "./", "../", "~")) and not os.path.isdir(source):
            raise ConfigError(f"{self.name}: checkpoint directory {self.pretrained!r} does not exist")
        self.revision = revision
        self.device_map = device_map
        if device_map is not None and device != "auto":
            raise ConfigError(f"--model-args: give either device ({device!r}) or device_map ({device_map!r}), not both")
        # With a device_map, accelerate places the weights; the default dtype still follows whether CUDA is there.
        self.device = resolve_device("auto" if device_map is not None else device)
        self.torch_dtype = resolve_dtype(dtype, self.device)
        load_kwargs: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
        try:
            self.processor = AutoProcessor.from_pretrained(source, **load_kwargs)
            self.model = self.model_class.from_pretrained(
                source,
                dtype=self.torch_dtype,
                attn_implementation=attn_implementation,
                device_map=device_map,
                **load_kwargs,
            )
        except (OSError, ValueError, ImportError) as exc:
            raise ConfigError(f"{self.name}: cannot load checkpoint {self.pretrained!r}: {exc}") from exc
        if self.processor.chat_template is None and self.prompt_format is None:
            raise ConfigError(
                f"{self.name}: checkpoint {self.pretrained!r} has no chat template, so the prompt format is unknown"
            )
        if device_map is None:
            self.model.to(self.device)
        self.model.eval()
        # Decoder-only batching: pad on the left so every row's last prompt token sits at the same index.
        self.processor.tokenizer.padding_side = "left"

    # -- hooks for subclasses -------------------------------------------------------------------------

    def video_processor_kwargs(self) -> dict[str, Any]:
        """Extra per-call video-processor settings (frame size limits and the like)."""
        return {}

    def conversation(self, request: VideoRequest) -> list[dict[str, Any]]:
        """One user turn: the clip, then the prompt, as the models' own examples order them."""
        return [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": request.prompt}]}]

    def describe_video_processing(self) -> dict[str, Any]:
        """Video-processing settings worth recording with the run: the checkpoint's resize and crop."""
        video_processor = self.processor.video_processor
        settings: dict[str, Any] = {"video_processor": type(video_processor).__name__}
        for key in ("size", "crop_size", "do_center_crop", "do_resize"):
            value = getattr(video_processor, key, None)
            if value is not None:
                settings[key] = value if _json_safe(value) else dict(value)
        return settings

    def prompt_text(self, request: VideoRequest) -> str:
        """The full prompt of one clip: the checkpoint's chat template, else the model card's format."""
        if self.processor.chat_template is None and self.prompt_format is not None:
            return self.prompt_format.format(prompt=request.prompt)
        return self.processor.apply_chat_template(
            self.conversation(request), tokenize=False, add_generation_prompt=True
        )

    # -- the adapter interface ------------------------------------------------------------------------

    def prepare_inputs(self, requests: Sequence[VideoRequest]) -> BatchFeature:
        """Tokenised, left-padded prompts plus processed videos for one batch (on the CPU)."""
        texts = [self.prompt_text(r) for r in requests]
        videos = [check_frames(r) for r in requests]
        return self.processor(
            text=texts,
            videos=videos,
            text_kwargs={"padding": True, "padding_side": "left"},
            videos_kwargs={
                "do_sample_frames": False,
                "video_metadata": [video_metadata(r) for r in requests],
                **self.video_processor_kwargs(),
            },
            return_tensors="pt",
        )

    def decoding_kwargs(self, config: GenerationConfig) -> dict[str, Any]:
        """``generate`` arguments for the run's decoding settings.

        Greedy turns sampling off. Sampling is plain temperature sampling: top-k/top-p are reset,
        because a checkpoint's generation config may pin them (Qwen2-VL ships top_k=1, which would
        silently make every temperature greedy). Other checkpoint defaults, such as a repetition
        penalty, still apply; :meth:`describe` records them.
        """
        kwargs: dict[str, Any] = {"max_new_tokens": config.max_new_tokens}
        if config.greedy:
            kwargs["do_sample"] = False
        else:
            kwargs.update(do_sample=True, temperature=config.temperature, top_k=0, top_p=1.0)
        if self.model.generation_config.pad_token_id is None:
            kwargs["pad_token_id"] = self.processor.tokenizer.pad_token_id
        return kwargs

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        if not requests:
            return []
        if getattr(self, "model", None) is None:
            raise RuntimeError(f"{self.name}: generate() called after close()")
        if not self.equal_frame_counts:
            return self._generate_batch(requests, config)
        by_count: dict[int, list[int]] = {}
        for index, request in enumerate(requests):
            by_count.setdefault(len(check_frames(request)), []).append(index)
        captions: list[str] = [""] * len(requests)
        for indices in by_count.values():
            sub_batch = self._generate_batch([requests[i] for i in indices], config)
            for index, caption in zip(indices, sub_batch, strict=True):
                captions[index] = caption
        return captions

    def _generate_batch(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        """One ``generate`` call over ``requests``, whose clips the processor can stack together."""
        inputs = self.prepare_inputs(requests).to(self.model.device, self.torch_dtype)
        kwargs = self.decoding_kwargs(config)
        if not config.greedy:
            torch.manual_seed(config.seed)
        with torch.inference_mode():
            output = self.model.generate(**inputs, **kwargs)
        # Left padding makes every prompt end at the same column: the rest is what the model generated.
        generated = output[:, inputs["input_ids"].shape[1] :]
        texts = self.processor.batch_decode(generated, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        return [text.strip() for text in texts]

    def describe(self) -> dict[str, Any]:
        model = self.model
        generation = model.generation_config.to_diff_dict()
        return {
            "checkpoint": self.pretrained,
            "revision": self.revision,
            "commit": getattr(model.config, "_commit_hash", None),
            "model_class": type(model).__name__,
            "dtype": str(model.dtype).removeprefix("torch."),
            "device": self.device_map if self.device_map is not None else str(model.device),
            "attn_implementation": model.config._attn_implementation,
            "video_processing": self.describe_video_processing(),
            "checkpoint_generation_config": {
                k: v
                for k, v in sorted(generation.items())
                if k not in _BOOKKEEPING and not k.startswith("_") and _json_safe(v)
            },
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        }

    def close(self) -> None:
        self.model = None
        self.processor = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
