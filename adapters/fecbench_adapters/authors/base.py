"""Shared machinery for adapters that run a model through its authors' own code.

These models (VideoLLaMA2, VideoChat2, PLLaVA...) are not in transformers: each lives in its
authors' repository, pinned to old torch/transformers releases, and is called the way that
repository's own inference script calls it. What is common lives here:

* :class:`AuthorsCode` names the repository, the commit the adapter was written against and the
  exact install command; :func:`import_authors` imports the authors' modules lazily and turns a
  missing or broken installation into a :class:`MissingDependencyError` carrying that command.
  Repositories that are not pip packages are found through a clone named by ``code_dir`` (or an
  environment variable).
* :class:`AuthorsAdapter` runs clips one at a time (the authors' inference code takes one clip per
  call), maps fecbench's decoding settings onto ``generate`` arguments and records provenance.
* Frame helpers do, on the frames fecbench already sampled, the resizing and cropping that the
  authors' video loaders do after their own frame sampling.

Nothing here imports torch at module level; the functions that need it import it when called.
"""

from __future__ import annotations

import abc
import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, ClassVar

import numpy as np

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest, check_frames
from fecbench.errors import ConfigError, MissingDependencyError
from fecbench_adapters.authors.sources import AuthorsCode

# CLIP's normalisation, used by the EVA/CLIP/UMT vision towers of these models.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def resolve_code_dir(code: AuthorsCode, code_dir: str | None, marker: str) -> Path | None:
    """The authors' clone named by ``code_dir`` or the project's environment variable, checked for ``marker``.

    Returns None when neither is set (the code must then be importable as installed packages).
    """
    given = code_dir or (os.environ.get(code.code_dir_env) if code.code_dir_env else None)
    if not given:
        return None
    source = "--model-args code_dir" if code_dir else code.code_dir_env
    path = Path(given).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{source}={given!r}: no such directory; {code.hint}")
    if not (path / marker).exists():
        raise ConfigError(f"{source}={given!r} is not a clone of {code.repo} (no {marker} in it); {code.hint}")
    return path.resolve()


def build_from_lavis_config(
    config_module: ModuleType,
    registry: Any,
    cfg_path: Path,
    code_dir: Path | None,
    device: str,
    *,
    llama_model: str,
    ckpt: str,
) -> tuple[Any, Any]:
    """Build a model the way MiniGPT-4-style projects (Video-LLaMA, ST-LLM) do: from their LAVIS config.

    Returns the parsed config (callers read their processors from it) and the model on ``device``
    in eval mode. The build runs inside the authors' folder because their configs use relative paths.
    """
    import torch

    cfg = config_module.Config(SimpleNamespace(cfg_path=str(cfg_path), options=None))
    model_config = cfg.model_cfg
    model_config.device_8bit = torch.device(device).index or 0
    model_config.llama_model = llama_model
    model_config.ckpt = ckpt
    with working_directory(code_dir):
        model = registry.get_model_class(model_config.arch).from_config(model_config)
    return cfg, model.to(device).eval()


@contextlib.contextmanager
def working_directory(path: Path | None) -> Iterator[None]:
    """Run a block from the authors' clone: their configs name weights by paths relative to it."""
    if path is None:
        yield
        return
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def require_code_dir(code: AuthorsCode, code_dir: str | None, marker: str) -> Path:
    """The authors' clone, for code that is not a package and cannot be imported without it."""
    path = resolve_code_dir(code, code_dir, marker)
    if path is None:
        raise MissingDependencyError(
            f"{code.project} runs from a clone of {code.repo}: name it with --model-args code_dir=... "
            f"or the environment variable {code.code_dir_env}; {code.hint}"
        )
    return path


def import_authors(code: AuthorsCode, module: str, code_dir: Path | None = None) -> ModuleType:
    """Import one of the authors' modules, from ``code_dir`` when given, or say exactly how to install it.

    A module that is absent and a module that is installed but fails to import (the usual case:
    the authors pin old torch/transformers releases) are both a :class:`MissingDependencyError`
    whose message names the module, the cause and the install command.
    """
    top = module.split(".")[0]
    if code_dir is not None:
        loaded = sys.modules.get(top)
        # A regular package has __file__; a namespace package (a folder without __init__.py) only __path__.
        origins = [*getattr(loaded, "__path__", []), getattr(loaded, "__file__", None) or ""]
        if loaded is not None and not any(o and Path(o).resolve().is_relative_to(code_dir) for o in origins):
            where = ", ".join(o for o in origins if o) or "elsewhere"
            raise ConfigError(
                f"{code.project}: a module named {top!r} is already imported from {where}, "
                f"so the one in {code_dir} cannot be; run this model in its own process"
            )
        if str(code_dir) not in sys.path:
            sys.path.insert(0, str(code_dir))
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (exc.name == top or module.startswith(exc.name + ".")):
            where = f" (looked in {code_dir} and the installed packages)" if code_dir else ""
            raise MissingDependencyError(
                f"{code.project} code is not installed: cannot import {module}{where}; {code.hint}"
            ) from exc
        raise MissingDependencyError(
            f"{code.project} code is installed but needs {exc.name}, which is missing ({exc}); {code.hint}"
        ) from exc
    except ImportError as exc:
        raise MissingDependencyError(
            f"{code.project} code is installed but cannot be imported ({exc}); it was written for the "
            f"versions its repository pins, so install it in its own environment: {code.hint}"
        ) from exc


# -- frames ------------------------------------------------------------------------------------------


def to_pil(frames: np.ndarray) -> list[Any]:
    """One RGB PIL image per frame (what most of the authors' loaders hand their processors)."""
    from PIL import Image

    return [Image.fromarray(frame, mode="RGB") if frame.ndim == 3 else Image.fromarray(frame) for frame in frames]


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Every frame resized to exactly (height, width), aspect not kept (bicubic)."""
    from PIL import Image

    return np.stack([np.asarray(img.resize((width, height), Image.BICUBIC)) for img in to_pil(frames)])


def scale_and_center_crop(frames: np.ndarray, size: int) -> np.ndarray:
    """Shorter side scaled to ``size`` (aspect kept, bicubic), then the central ``size`` x ``size`` crop.

    This is the ``GroupScale(size)`` + ``GroupCenterCrop(size)`` step of the VideoChat family's
    video loaders, applied to the frames fecbench sampled.
    """
    from PIL import Image

    out = []
    for img in to_pil(frames):
        width, height = img.size
        if width <= height:
            new_w, new_h = size, max(size, round(height * size / width))
        else:
            new_w, new_h = max(size, round(width * size / height)), size
        img = img.resize((new_w, new_h), Image.BICUBIC)
        left, top = (new_w - size) // 2, (new_h - size) // 2
        out.append(np.asarray(img.crop((left, top, left + size, top + size))))
    return np.stack(out)


def normalized_tensor(frames: np.ndarray, mean: Sequence[float] = CLIP_MEAN, std: Sequence[float] = CLIP_STD) -> Any:
    """(T, H, W, 3) uint8 -> float32 torch tensor (T, 3, H, W), scaled to [0, 1] then normalised."""
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div(255.0)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (tensor - mean_t) / std_t


def frame_times_message(timestamps: Sequence[float], *, trailing_space: bool = False) -> str:
    """The sentence the VideoChat / Video-LLaMA loaders put after the video: when each frame was taken.

    The authors compute it from frame index / fps; here it comes from the sampled frames' own times.
    """
    seconds = ", ".join(str(round(float(t), 1)) for t in timestamps)
    text = f"The video contains {len(timestamps)} frames sampled at {seconds} seconds."
    return text + " " if trailing_space else text


def request_times(request: VideoRequest, frames: np.ndarray) -> list[float]:
    """The request's frame times, or evenly spaced indices at 1 fps when the runner gave none."""
    if len(request.timestamps) == len(frames):
        return [float(t) for t in request.timestamps]
    return [float(i) for i in range(len(frames))]


# -- decoding ----------------------------------------------------------------------------------------


def decoding_kwargs(config: GenerationConfig, *, top_p: float | None = None, **fixed: Any) -> dict[str, Any]:
    """``generate`` arguments for fecbench's decoding settings.

    Greedy (the benchmark's setting) turns sampling off; sampling uses the run's temperature and the
    authors' ``top_p`` where their scripts set one. ``fixed`` holds settings the authors' scripts
    always pass (``num_beams``, ``repetition_penalty``...).
    """
    kwargs: dict[str, Any] = {"max_new_tokens": config.max_new_tokens, **fixed}
    if config.greedy:
        kwargs["do_sample"] = False
    else:
        kwargs.update(do_sample=True, temperature=config.temperature)
        if top_p is not None:
            kwargs["top_p"] = top_p
    return kwargs


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise ConfigError(f"--model-args: {name}={value!r} is not one of {', '.join(map(str, choices))}")
    return value


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"--model-args: {name}={value!r} must be a positive integer")
    return value


DTYPES = ("float16", "bfloat16", "float32")
DEVICES_HINT = "e.g. cuda, cuda:1"


def check_device(device: Any, *, cpu: bool = False) -> str:
    """A CUDA device, or ``cpu`` for the adapters whose authors' code runs on CPU with :func:`cuda_calls_on_cpu`.

    The authors' inference code moves tensors to CUDA itself; ``cpu`` exists so that tiny-weight
    checks of that code can run on machines without a GPU.
    """
    if cpu and device == "cpu":
        return device
    if not isinstance(device, str) or not (device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        where = "a CUDA GPU or the CPU (cpu)" if cpu else "a CUDA GPU"
        raise ConfigError(
            f"--model-args: device={device!r}: the authors' code of this model runs on {where} ({DEVICES_HINT})"
        )
    return device


@contextlib.contextmanager
def cuda_calls_on_cpu(device: str, dtype: Any = None) -> Iterator[None]:
    """Run authors' code that hard-codes CUDA on the CPU, for this block only.

    Their ``mm_infer`` functions move inputs with ``tensor.cuda()`` or ``tensor.to('cuda')``, ask
    ``torch.cuda.current_device()`` and cast frames with ``.half()``. On ``device='cpu'`` the moves
    keep tensors on the CPU, the current device is 0, and ``.half()`` casts to ``dtype`` (when given:
    old torch has no float16 LayerNorm on the CPU). On a CUDA device the block runs untouched.
    """
    if device != "cpu":
        yield
        return
    import torch

    saved = torch.Tensor.cuda, torch.Tensor.to, torch.Tensor.half, torch.cuda.current_device
    original_to = torch.Tensor.to

    def to(self: Any, *args: Any, **kwargs: Any) -> Any:
        args = tuple("cpu" if _is_cuda(a) else a for a in args)
        if _is_cuda(kwargs.get("device")):
            kwargs["device"] = "cpu"
        return original_to(self, *args, **kwargs)

    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
    torch.Tensor.to = to  # type: ignore[method-assign]
    torch.cuda.current_device = lambda: 0
    if dtype is not None:
        torch.Tensor.half = lambda self, *args, **kwargs: self.to(dtype)  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.Tensor.cuda, torch.Tensor.to, torch.Tensor.half, torch.cuda.current_device = saved  # type: ignore[method-assign]


def _is_cuda(value: Any) -> bool:
    return (isinstance(value, str) and value.startswith("cuda")) or getattr(value, "type", None) == "cuda"


def torch_dtype(name: str) -> Any:
    import torch

    return {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}[name]


def cuda_or_fail(project: str, device: str) -> None:
    """Fail with one clear line when a CUDA device is asked for and torch sees none."""
    if device == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"{project}: device={device!r} but torch sees no CUDA device; this model needs a GPU")


# -- the adapter base --------------------------------------------------------------------------------


class AuthorsAdapter(Adapter):
    """Base of the adapters that call a model through its authors' code, one clip per call.

    Subclasses set ``code`` and ``name``, check their model arguments *before* importing anything
    (so a bad argument is reported even where the code is not installed), load the model in
    ``__init__`` and implement :meth:`caption`.
    """

    code: ClassVar[AuthorsCode]
    max_batch_size: ClassVar[int | None] = 1  # the authors' inference functions take one clip

    checkpoint: str = ""
    device: str = "cuda"
    dtype: str = "float16"
    model: Any = None

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        return [self.caption(check_frames(request), request, config) for request in requests]

    @abc.abstractmethod
    def caption(self, frames: np.ndarray, request: VideoRequest, config: GenerationConfig) -> str:
        """The model's caption of one clip's frames."""

    def settings(self) -> dict[str, Any]:
        """Model-specific settings worth recording in run.json (frame size, conversation template...)."""
        return {}

    def describe(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "device": self.device,
            "dtype": self.dtype,
            "authors_code": {"project": self.code.project, "repo": self.code.repo, "written_for": self.code.commit},
            "batch": "one clip per call, as the authors' inference code runs",
            **self.settings(),
        }

    def close(self) -> None:
        self.model = None
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()
