"""Shared machinery for video chat models run through transformers (processor + chat template + generate).

A concrete adapter names its model class, its default checkpoint and, where the model needs it,
the video-processor settings; loading, prompt building, batching with left padding, decoding and
provenance live here, so that every transformers-backed adapter batches and decodes the same way.

The runner has already sampled the frames it wants the model to see. This module hands them to the
processor as they are: ``do_sample_frames=False`` (some checkpoints enable sampling in their
processor config) and, per clip, the video metadata of the *sampled* frames (their count and fps),
which processors use for time-aware position ids (Qwen2.5-VL's ``second_per_grid_ts``, Qwen3-VL's
timestamps) and which stops them from warning about, or guessing, a default fps.

The runner may call :meth:`HFVideoChatAdapter.prepare` for the next batch from a background thread
while the current batch generates: the chat template and the processor (tokenising, resizing and
patching the frames) then run ahead, and ``generate`` only moves the prepared tensors to the device.
Prepared inputs wait in a small bounded table keyed by the batch's clip ids and are used only if
every request still has the same frames (same array, same content checksum), prompt and timestamps;
otherwise, or when nothing was prepared, ``generate`` prepares inline. Either way the tensors come
from the same processor call on the same requests, so captions do not depend on it (tested).

Fast tokenizers are not safe to use from two threads at once (encoding sets their padding state,
and a concurrent decode can fail with "Already borrowed"), so no processor is ever used by two
threads at once: each has a lock, held for every call. Background preparation uses a copy of the
processor (``copy.deepcopy``, made on the second ``prepare`` call, so the first batch is not held
up by it), so that ``generate`` decoding one batch's tokens never waits for the next batch's
preparation. If the processor cannot be copied, preparation shares the one processor and its lock.

Each caption is a :class:`~fecbench.adapter.Caption` carrying the clip's visual-token count: the
video placeholder tokens in its row of the model's input ids (what the language model reads for the
frames, after the processor's resizing, merging or pruning), so a run records the model work.

This module imports torch and transformers at import time; it is only imported when a run asks for
one of these adapters.
"""

from __future__ import annotations

import copy
import gc
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import transformers
from transformers import AutoProcessor, BatchFeature, PreTrainedModel

from fecbench.adapter import Adapter, Caption, GenerationConfig, VideoRequest, check_frames
from fecbench.checkpoints import resolve_checkpoint
from fecbench.errors import ConfigError
from fecbench_adapters.prepared_batches import PREPARED_BATCHES, PreparedBatch, request_fingerprint
from fecbench_adapters.torch_runtime import resolve_device, resolve_dtype

log = logging.getLogger(__name__)


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
        self._processor_lock = threading.Lock()  # fast tokenizers must not be used from two threads at once
        self._prepared_lock = threading.Lock()
        self._prepared: OrderedDict[tuple[str, ...], PreparedBatch] = OrderedDict()
        self._prepare_calls = 0
        self._background: tuple[Any, threading.Lock] | None = None  # processor copy for prepare(), its lock
        self.pretrained = str(self.default_checkpoint if pretrained is None else pretrained)
        source = resolve_checkpoint(self.pretrained, model=self.name, revision=revision)
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

    def visual_token_ids(self) -> tuple[int, ...]:
        """Ids of the input tokens that stand for the video (counted per clip); empty when unknown."""
        token_id = getattr(self.processor, "video_token_id", None)
        return (token_id,) if isinstance(token_id, int) else ()

    def prompt_text(self, request: VideoRequest, processor: Any = None) -> str:
        """The full prompt of one clip: the checkpoint's chat template, else the model card's format.

        ``processor``: the processor to render with (default: the adapter's; a copy of it in background preparation).
        """
        processor = self.processor if processor is None else processor
        if processor.chat_template is None and self.prompt_format is not None:
            return self.prompt_format.format(prompt=request.prompt)
        return processor.apply_chat_template(self.conversation(request), tokenize=False, add_generation_prompt=True)

    # -- the adapter interface ------------------------------------------------------------------------

    def prepare_inputs(self, requests: Sequence[VideoRequest]) -> BatchFeature:
        """Tokenised, left-padded prompts plus processed videos for one batch (on the CPU)."""
        return self._process(requests, self.processor, self._processor_lock)

    def _process(self, requests: Sequence[VideoRequest], processor: Any, lock: threading.Lock) -> BatchFeature:
        """:meth:`prepare_inputs` with the given processor, used under its lock."""
        videos = [check_frames(r) for r in requests]
        with lock:
            return processor(
                text=[self.prompt_text(r, processor) for r in requests],
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

    def sub_batches(self, requests: Sequence[VideoRequest]) -> list[list[int]]:
        """Indices of the requests one processor call can take together: all of them, or (with
        ``equal_frame_counts``) one group per frame count."""
        if not self.equal_frame_counts:
            return [list(range(len(requests)))]
        by_count: dict[int, list[int]] = {}
        for index, request in enumerate(requests):
            by_count.setdefault(len(check_frames(request)), []).append(index)
        return list(by_count.values())

    def prepare(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> None:
        """Run the processor for an upcoming batch now (see the module doc); ``generate`` picks the result up.

        The inputs do not depend on ``config``. Raises what the processor raises; the batch is then
        prepared again, inline, by ``generate``, which reports the error per clip.
        """
        if not requests or getattr(self, "model", None) is None:
            return
        for indices in self.sub_batches(requests):
            batch = [requests[i] for i in indices]
            fingerprints = [request_fingerprint(r) for r in batch]
            entry = PreparedBatch(frames=[r.frames for r in batch], fingerprints=fingerprints)
            with self._prepared_lock:
                self._prepared[tuple(r.clip_id for r in batch)] = entry
                while len(self._prepared) > PREPARED_BATCHES:
                    self._prepared.popitem(last=False)
            try:
                entry.inputs = self._process(batch, *self._background_processor())
            finally:
                entry.ready.set()

    def _background_processor(self) -> tuple[Any, threading.Lock]:
        """The processor ``prepare`` uses, with its lock: the adapter's own on the first call, then a copy."""
        self._prepare_calls += 1
        if self._background is None and self._prepare_calls > 1:
            with self._processor_lock:
                try:
                    self._background = (copy.deepcopy(self.processor), threading.Lock())
                except Exception as exc:  # share the processor (and its lock) instead
                    log.debug("%s: cannot copy the processor (%s); preparation shares it", self.name, exc)
                    self._background = (self.processor, self._processor_lock)
        return self._background or (self.processor, self._processor_lock)

    def _take_prepared(self, requests: Sequence[VideoRequest]) -> BatchFeature | None:
        """The inputs prepared ahead for exactly these requests (waiting if still in the works), else None."""
        with self._prepared_lock:
            entry = self._prepared.pop(tuple(r.clip_id for r in requests), None)
        if entry is None or not entry.matches(requests):
            return None
        entry.ready.wait()
        return entry.inputs

    def count_visual_tokens(self, inputs: BatchFeature) -> list[int | None]:
        """Visual tokens per row of a prepared batch: its video tokens that are not padding (None when unknown)."""
        input_ids = inputs["input_ids"]
        ids = self.visual_token_ids()
        if not ids:
            return [None] * int(input_ids.shape[0])
        visual = torch.isin(input_ids, torch.tensor(ids, dtype=input_ids.dtype, device=input_ids.device))
        if "attention_mask" in inputs:
            visual &= inputs["attention_mask"].bool()
        return [int(n) for n in visual.sum(dim=1).tolist()]

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        if not requests:
            return []
        if getattr(self, "model", None) is None:
            raise RuntimeError(f"{self.name}: generate() called after close()")
        groups = self.sub_batches(requests)
        if len(groups) == 1:
            return self._generate_batch(requests, config)
        captions: list[str] = [""] * len(requests)  # Captions, put back in request order
        for indices in groups:
            sub_batch = self._generate_batch([requests[i] for i in indices], config)
            for index, caption in zip(indices, sub_batch, strict=True):
                captions[index] = caption
        return captions

    def _generate_batch(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        """One ``generate`` call over ``requests``, whose clips the processor can stack together."""
        inputs = self._take_prepared(requests)
        if inputs is None:
            inputs = self.prepare_inputs(requests)
        visual_tokens = self.count_visual_tokens(inputs)
        inputs = inputs.to(self.model.device, self.torch_dtype)
        kwargs = self.decoding_kwargs(config)
        if not config.greedy:
            torch.manual_seed(config.seed)
        with torch.inference_mode():
            output = self.model.generate(**inputs, **kwargs)
        # Left padding makes every prompt end at the same column: the rest is what the model generated.
        generated = output[:, inputs["input_ids"].shape[1] :]
        with self._processor_lock:
            texts = self.processor.batch_decode(generated, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        return [Caption(text.strip(), n) for text, n in zip(texts, visual_tokens, strict=True)]

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
        self._background = None
        with self._prepared_lock:
            self._prepared.clear()
        if torch.cuda.is_available():
            # Hand GPU memory back now: tensors held in reference cycles go only with a collection.
            # Without CUDA the next automatic collection frees them; a forced one costs 0.2 s here.
            gc.collect()
            torch.cuda.empty_cache()
