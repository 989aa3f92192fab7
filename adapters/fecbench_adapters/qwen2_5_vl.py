"""Qwen2.5-VL through transformers: ``Qwen2_5_VLForConditionalGeneration`` and its own processor.

Qwen2.5-VL reads video with Qwen2-VL's video processor and the same reference limits of
qwen-vl-utils, so frame sizing, pixel limits and odd-frame padding are those of the qwen2-vl adapter
(see :mod:`fecbench_adapters.qwen2_vl`). What is new is time: its M-RoPE places each temporal patch
at its time in seconds (``second_per_grid_ts``), which the processor derives from the fps of the
sampled frames that the shared machinery passes as video metadata.
"""

from __future__ import annotations

from transformers import Qwen2_5_VLForConditionalGeneration

from fecbench_adapters.qwen2_vl import Qwen2VLAdapter


class Qwen25VLAdapter(Qwen2VLAdapter):
    """Qwen2.5-VL (3B/7B/32B/72B Instruct) on the frames the runner sampled; model arguments as qwen2-vl."""

    name = "qwen2.5-vl"
    model_class = Qwen2_5_VLForConditionalGeneration
    default_checkpoint = "Qwen/Qwen2.5-VL-7B-Instruct"
