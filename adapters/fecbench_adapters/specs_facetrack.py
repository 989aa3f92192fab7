"""Registrations (descriptions only, no heavy imports) of the FaceTrack family.

``facetrack:<adapter>`` is a wrapper registration: ``fecbench.plugins`` composes it around any
other adapter named after the colon (``facetrack:qwen2-vl``). ``facetrack-mm`` is the paper's own
model, loaded from a checkpoint that ships its modelling code. See docs/facetrack.md.
"""

from __future__ import annotations

from fecbench import AdapterSpec

SPECS: list[AdapterSpec] = [
    AdapterSpec(
        name="facetrack:<adapter>",
        factory="fecbench_adapters.facetrack_wrapper:FaceTrackAdapter",
        summary=(
            "Wraps any adapter: tracks the main character's face (Haar by default) and adds its close-ups "
            "to the frames (mode append, inset or only); wrapper args take the prefix 'facetrack.'. "
            "Frames: those of the wrapped adapter."
        ),
        requires=("cv2", "scipy"),
        install_hint="pip install 'opencv-python-headless<5' scipy",
    ),
    AdapterSpec(
        name="facetrack-mm",
        factory="fecbench_adapters.facetrack_mm:FaceTrackMMAdapter",
        summary=(
            "FaceTrack-MM (the FEC-Bench paper's model; weights unreleased): loads pretrained=PATH_OR_HUB_ID "
            "with its own modelling code (trust_remote_code) and passes it the tracked main-face crops."
        ),
        default_frames=8,
        requires=("torch", "transformers", "cv2", "scipy"),
        install_hint="pip install 'fecbench[transformers]'",
        aliases=("facetrack_mm", "facetrackmm"),
        checkpoint_arg="pretrained",
    ),
]
