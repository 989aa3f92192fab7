"""fecbench's own adapters, registered through the same entry point a third-party plugin uses.

This module is imported at plugin discovery, so it only *describes* the adapters; each adapter's
module (and its heavy imports) is loaded when a run asks for it.
"""

from __future__ import annotations

from fecbench import AdapterSpec, hookimpl
from fecbench_adapters import specs_api, specs_authors, specs_facetrack, specs_hf

TRANSFORMERS_HINT = "pip install 'fecbench[transformers]'"


@hookimpl
def fecbench_register_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            name="baseline",
            factory="fecbench_adapters.baseline:BaselineAdapter",
            summary="Classical floor: OpenCV Haar cues (head, eyes, mouth) narrated phase by phase; no neural weights.",
            default_frames=16,  # blinks are short: 8 samples of a 3 s clip rarely land on one
            requires=("cv2",),
            install_hint="pip install 'opencv-python-headless<5'",
        ),
        AdapterSpec(
            name="qwen2-vl",
            factory="fecbench_adapters.qwen2_vl:Qwen2VLAdapter",
            summary="Qwen2-VL through transformers (Qwen2VLForConditionalGeneration + its processor).",
            default_checkpoint="Qwen/Qwen2-VL-7B-Instruct",
            default_frames=8,
            requires=("torch", "torchvision", "transformers"),
            install_hint=TRANSFORMERS_HINT,
            aliases=("qwen2_vl", "qwen2vl"),
            checkpoint_arg="pretrained",
        ),
        *specs_hf.SPECS,
        *specs_authors.SPECS,
        *specs_api.SPECS,
        *specs_facetrack.SPECS,
    ]
