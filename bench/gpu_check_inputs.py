"""What the GPU check runs on, built by code (no download): a Qwen2-VL large enough to keep a GPU busy, and clips.

The model is the real ``Qwen2VLForConditionalGeneration`` with random weights and the tiny test
tokenizer and processor (``tests/tiny_models.py``), at a size where one batch of generation takes
about a second on a current GPU, as a 7B model's batch takes seconds, so that "end-to-end over
model-only" measures the pipeline around a real CUDA generate rather than around a toy. Its
generation config sets ``min_new_tokens``, so every clip generates the same number of tokens and the
model work does not depend on where random weights happen to emit an end token.

Heavy imports (torch, transformers, PyAV) happen inside the functions, so that ``gpu_check.py probe``
can say what is missing on a machine that lacks them.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ModelSize:
    """Dimensions of the generated Qwen2-VL (text decoder, vision tower) and the tokens each clip generates."""

    layers: int
    hidden: int
    heads: int
    vision_depth: int
    vision_dim: int
    vision_heads: int
    new_tokens: int

    def mrope_section(self) -> list[int]:
        """M-RoPE's (temporal, height, width) split of half the head dimension, in Qwen2-VL's proportions."""
        half = self.hidden // self.heads // 2
        temporal = max(1, half // 4)
        return [temporal, (half - temporal) // 2, half - temporal - (half - temporal) // 2]


SIZES = {
    # About 330M parameters (24 layers of width 1024, an 8-block vision tower of width 640), 660 MB in bfloat16.
    "gpu": ModelSize(layers=24, hidden=1024, heads=16, vision_depth=8, vision_dim=640, vision_heads=10, new_tokens=64),
    # For running the check's code paths on a CPU (tests/test_gpu_check.py): the size of the test models.
    "cpu": ModelSize(layers=2, hidden=64, heads=4, vision_depth=1, vision_dim=32, vision_heads=2, new_tokens=4),
}


def build_qwen2_vl(directory: Path, size: ModelSize, device: str = "cpu") -> Path:
    """Write a random-weight Qwen2-VL checkpoint of ``size`` into ``directory`` (bfloat16 when built on CUDA)."""
    sys.path.insert(0, str(REPO / "tests"))
    import torch
    from tiny_models import (
        qwen_token_ids,
        qwen_vl_media_fields,
        qwen_vl_processor_parts,
        qwen_vl_text_config,
        tiny_qwen_tokenizer,
    )
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor

    tokenizer = tiny_qwen_tokenizer()
    ids = qwen_token_ids(tokenizer)
    text = qwen_vl_text_config(tokenizer, "qwen2_vl_text")
    text.update(
        hidden_size=size.hidden,
        intermediate_size=size.hidden * 11 // 4,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        num_key_value_heads=2,
    )
    text["rope_parameters"] = {**text["rope_parameters"], "mrope_section": size.mrope_section()}
    vision = {
        "depth": size.vision_depth,
        "embed_dim": size.vision_dim,
        "hidden_size": size.hidden,
        "num_heads": size.vision_heads,
    }
    config = Qwen2VLConfig(text_config=text, vision_config=vision, **qwen_vl_media_fields(ids))
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2VLForConditionalGeneration(config)
    model = model.to(torch.bfloat16 if device.startswith("cuda") else torch.float32).eval()
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = None
    model.generation_config.min_new_tokens = size.new_tokens
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    Qwen2VLProcessor(**qwen_vl_processor_parts(tokenizer)).save_pretrained(directory)
    return directory


def _write_clip(path: Path, index: int, frames: int, width: int, height: int) -> None:
    """A 25 fps H.264 clip of drifting noise: real decoding work, a little different per clip."""
    import av
    import numpy as np

    base = np.random.default_rng(index).integers(0, 255, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast"}
        for t in range(frames):
            frame = av.VideoFrame.from_ndarray(np.roll(base, 4 * t, axis=1), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_clip_set(root: Path, count: int, *, seconds: float = 4.0, width: int = 640, height: int = 360) -> Path:
    """``count`` clips under ``root/videos/GPU/`` (written in parallel) and their ``annotations.json``."""
    videos = root / "videos"
    records = [{"id": str(i), "video": f"GPU/clip_{i:03d}.mp4", "caption": "A face."} for i in range(count)]
    with ProcessPoolExecutor(max_workers=max(1, min(count, os.cpu_count() or 1))) as pool:
        jobs = [
            pool.submit(_write_clip, videos / r["video"], i, int(seconds * 25), width, height)
            for i, r in enumerate(records)
        ]
        for job in jobs:
            job.result()
    annotations = root / "annotations.json"
    annotations.write_text(json.dumps(records), encoding="utf-8")
    return annotations
