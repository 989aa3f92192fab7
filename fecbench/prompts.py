"""The instruction every model is given, unless a benchmark variant says otherwise."""

from __future__ import annotations

#: The question of the benchmark authors' own inference script (see the shared FEC-Bench README).
DEFAULT_INSTRUCTION = (
    "Please provide a detailed description of the facial appearance attributes and expression changes "
    "of the character in the video"
)
