"""The example plugin's own tests: fecbench's conformance kit, plus what is specific to this adapter."""

from __future__ import annotations

import numpy as np
import pytest
from fecbench_example_plugin.motion import MotionAdapter

from fecbench import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError
from fecbench.testing import AdapterConformance


class TestMotionConformance(AdapterConformance):
    adapter_name = "example-motion"
    model_args = {"threshold": 4.0}  # noqa: RUF012
    max_new_tokens = 64


def test_motion_is_located_in_time() -> None:
    frames = np.zeros((7, 32, 32, 3), dtype=np.uint8)
    frames[6:] = 200  # a change between the last two frames only
    request = VideoRequest("x", frames, "describe")
    caption = MotionAdapter().generate([request], GenerationConfig())[0]
    assert caption.startswith("The face moves most at the end of the video")
    still = VideoRequest("y", np.zeros((4, 32, 32, 3), dtype=np.uint8), "describe")
    assert "stays still" in MotionAdapter().generate([still], GenerationConfig())[0]


def test_bad_threshold_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="threshold=300"):
        MotionAdapter(threshold=300)
