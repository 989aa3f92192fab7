"""Where and in what precision a torch model runs, from ``--model-args device=... dtype=...``.

Shared by the transformers adapters (``hf_video.py``) and those that load their weights themselves
(FaceTrack-MM). Imports torch: only imported when a run asks for such a model.
"""

from __future__ import annotations

import torch

from fecbench.errors import ConfigError

__all__ = ["DTYPES", "resolve_device", "resolve_dtype"]

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
