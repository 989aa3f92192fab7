"""FaceTrack-MM, the FEC-Bench paper's model, from a checkpoint that ships its own modelling code.

The paper's architecture and weights are not public. Such models usually appear on the Hugging
Face hub with their modelling code beside the weights (``auto_map`` in ``config.json``), loaded
through transformers' remote-code path; this adapter loads exactly that, from the path or hub id
given as ``pretrained``. Without one it stops with an explanation and points to
``facetrack:<adapter>``, which gives any model the same face focus.

The contract with the checkpoint's code (documented in docs/facetrack.md):

1. ``AutoConfig`` / ``AutoProcessor`` / the model class are loaded with ``trust_remote_code``; the
   model class is the first of ``AutoModelForImageTextToText``, ``AutoModelForCausalLM`` and
   ``AutoModel`` that the config's ``auto_map`` names (``AutoModelForImageTextToText`` for a
   checkpoint without an ``auto_map``).
2. The prompt is the processor's chat template applied to one user turn ``[video, text]``; a
   processor without a chat template gets the bare instruction.
3. ``processor(text=[...], videos=[(T, H, W, 3) uint8, ...], padding=True, return_tensors="pt")``,
   plus ``face_videos=[(T, S, S, 3) uint8 or None, ...]`` (the tracked main face, one square crop
   per frame; None for a clip without a face) when the processor's ``__call__`` names a
   ``face_videos`` parameter (``faces=auto``), always (``faces=true``) or never (``faces=false``).
4. ``model.generate(**inputs, max_new_tokens=..., do_sample=...)``; the tokens after the prompt are
   decoded with ``processor.batch_decode(..., skip_special_tokens=True)``.

This adapter has been exercised only with a tiny random-weight checkpoint built in the tests.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import transformers
from transformers import AutoConfig, AutoProcessor

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest, check_frames
from fecbench.checkpoints import resolve_checkpoint
from fecbench.errors import ConfigError
from fecbench.facetrack import FaceTracker
from fecbench.facetrack.tracker import DEFAULT_CONTEXT, tracker_settings
from fecbench_adapters.torch_runtime import resolve_device, resolve_dtype

MODEL_AUTO_CLASSES = ("AutoModelForImageTextToText", "AutoModelForCausalLM", "AutoModel")

UNRELEASED = (
    "facetrack-mm: FaceTrack-MM's weights (and its modelling code) are not released, so there is nothing to "
    "load by default. If you have a checkpoint that ships its own modelling code (auto_map in config.json), "
    "pass it with --model-args pretrained=PATH_OR_HUB_ID; it is loaded with trust_remote_code. To evaluate "
    "the FaceTrack idea with any released model, use --model facetrack:<adapter>, e.g. --model facetrack:qwen2-vl "
    "(see docs/facetrack.md)."
)


class FaceTrackMMAdapter(Adapter):
    """A FaceTrack-MM checkpoint with its own code; the tracked main-face crops go to its processor.

    Model arguments (``--model-args``):

    * ``pretrained``: local directory or hub id of the checkpoint (required: there is no public one).
    * ``dtype``: ``auto`` (bfloat16 on GPU, float32 on CPU), ``bfloat16``, ``float16``, ``float32``.
    * ``device``: ``auto``, ``cpu``, ``cuda``, ``cuda:1``...
    * ``revision``: branch, tag or commit of a hub checkpoint.
    * ``trust_remote_code``: run the code shipped with the checkpoint (default true: that is the point).
    * ``faces``: ``auto`` (pass ``face_videos`` if the processor takes it), ``true`` or ``false``.
    * ``face_size``: side of the square face crops, in pixels (default 224).
    * ``context``: crop window height in face sides (default 1.8).
    * ``detector``, ``detect_side``, ``min_face``, ``tracker_device``: the face tracker's detector.
    """

    name: ClassVar[str] = "facetrack-mm"

    def __init__(
        self,
        pretrained: str | None = None,
        *,
        dtype: str = "auto",
        device: str = "auto",
        revision: str | None = None,
        trust_remote_code: bool = True,
        faces: bool | str = "auto",
        face_size: int = 224,
        context: float = DEFAULT_CONTEXT,
        detector: str = "haar",
        detect_side: int = 320,
        min_face: float = 0.08,
        tracker_device: str = "cpu",
    ) -> None:
        if pretrained is None or not str(pretrained).strip():
            raise ConfigError(UNRELEASED)
        if faces not in ("auto", True, False):
            raise ConfigError(f"--model-args: faces={faces!r} must be auto, true or false")
        if isinstance(face_size, bool) or not isinstance(face_size, int) or face_size < 16:
            raise ConfigError(f"--model-args: face_size={face_size!r} must be an integer of at least 16")
        if not isinstance(context, (int, float)) or context <= 0:
            raise ConfigError(f"--model-args: context={context!r} must be above 0")
        self.pretrained = str(pretrained)
        self.revision = revision
        self.face_size = face_size
        self.context = float(context)
        self.tracker = FaceTracker(
            tracker_settings(detector=detector, detect_side=detect_side, min_face=min_face), device=tracker_device
        )
        self.device = resolve_device(device)
        self.torch_dtype = resolve_dtype(dtype, self.device)
        source = resolve_checkpoint(self.pretrained, model="facetrack-mm", revision=revision)
        load = {"revision": revision, "trust_remote_code": trust_remote_code}
        try:
            config = AutoConfig.from_pretrained(source, **load)
            self.auto_class = model_auto_class(config)
            self.model = getattr(transformers, self.auto_class).from_pretrained(
                source, config=config, dtype=self.torch_dtype, **load
            )
            self.processor = AutoProcessor.from_pretrained(source, **load)
        except (OSError, ValueError, ImportError, KeyError) as exc:
            raise ConfigError(f"facetrack-mm: cannot load checkpoint {self.pretrained!r}: {exc}") from exc
        if not callable(getattr(self.model, "generate", None)):
            raise ConfigError(
                f"facetrack-mm: the model class of {self.pretrained!r} ({type(self.model).__name__}) has no generate()"
            )
        self.model.to(self.device)
        self.model.eval()
        tokenizer = getattr(self.processor, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.padding_side = "left"
        self.pass_faces = takes_face_videos(self.processor) if faces == "auto" else bool(faces)

    def prompt_text(self, request: VideoRequest) -> str:
        if getattr(self.processor, "chat_template", None):
            turn = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": request.prompt}]}]
            return self.processor.apply_chat_template(turn, tokenize=False, add_generation_prompt=True)
        return request.prompt

    def prepare_inputs(self, requests: Sequence[VideoRequest]) -> Any:
        """Processor inputs of one batch: prompts, frames and (when passed) the main-face crops."""
        videos = [check_frames(r) for r in requests]
        kwargs: dict[str, Any] = {
            "text": [self.prompt_text(r) for r in requests],
            "videos": videos,
            "padding": True,
            "return_tensors": "pt",
        }
        if self.pass_faces:
            tracks = [self.tracker.track(v) for v in videos]
            kwargs["face_videos"] = [
                t.crops(v, self.face_size, self.face_size, self.context) for t, v in zip(tracks, videos, strict=True)
            ]
        return self.processor(**kwargs)

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        inputs = self.prepare_inputs(requests)
        inputs = {
            k: (v.to(self.device, self.torch_dtype) if torch.is_floating_point(v) else v.to(self.device))
            if isinstance(v, torch.Tensor)
            else v
            for k, v in inputs.items()
        }
        kwargs: dict[str, Any] = {"max_new_tokens": config.max_new_tokens}
        if config.greedy:
            kwargs["do_sample"] = False
        else:
            torch.manual_seed(config.seed)
            kwargs.update(do_sample=True, temperature=config.temperature, top_k=0, top_p=1.0)
        tokenizer = getattr(self.processor, "tokenizer", None)
        if getattr(self.model.generation_config, "pad_token_id", None) is None and tokenizer is not None:
            kwargs["pad_token_id"] = tokenizer.pad_token_id
        with torch.inference_mode():
            output = self.model.generate(**inputs, **kwargs)
        prompt = inputs.get("input_ids")
        if prompt is not None and torch.equal(output[:, : prompt.shape[1]], prompt):  # decoder-only: drop the prompt
            output = output[:, prompt.shape[1] :]
        decode = getattr(self.processor, "batch_decode", None) or tokenizer.batch_decode
        return [text.strip() for text in decode(output, skip_special_tokens=True)]

    def describe(self) -> dict[str, Any]:
        model_type = type(self.model)
        return {
            "checkpoint": self.pretrained,
            "revision": self.revision,
            "model_class": f"{model_type.__module__}.{model_type.__qualname__}",
            "auto_class": self.auto_class,
            "remote_code": model_type.__module__.startswith("transformers_modules"),
            "dtype": str(self.torch_dtype).removeprefix("torch."),
            "device": str(self.device),
            "faces_passed": self.pass_faces,
            "face_size": self.face_size,
            "context": self.context,
            "tracker": self.tracker.describe(),
            "transformers": transformers.__version__,
        }

    def close(self) -> None:
        self.model = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def model_auto_class(config: Any) -> str:
    """The auto class to load the model with: the first generation-capable one the checkpoint's auto_map names."""
    auto_map = getattr(config, "auto_map", None) or {}
    for name in MODEL_AUTO_CLASSES:
        if name in auto_map and hasattr(transformers, name):
            return name
    if auto_map:
        raise ConfigError(
            f"facetrack-mm: the checkpoint's auto_map names none of {', '.join(MODEL_AUTO_CLASSES)} "
            f"(it has: {', '.join(sorted(auto_map))})"
        )
    return "AutoModelForImageTextToText"


def takes_face_videos(processor: Any) -> bool:
    """Whether the processor's ``__call__`` declares a ``face_videos`` parameter."""
    try:
        return "face_videos" in inspect.signature(processor.__call__).parameters
    except (TypeError, ValueError):
        return False
