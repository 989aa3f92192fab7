"""The offline baseline adapter, on scripted demo clips written to mp4 and decoded back with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from fecbench_adapters import fecbench_register_adapters
from fecbench_adapters.baseline import BaselineAdapter
from fecbench_adapters.narration import INTROS, NO_FACE

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.demo import FPS, render_script, script_from
from fecbench.demo.writer import write_mp4
from fecbench.plugins import get_adapter

BASELINE_FRAMES = get_adapter("baseline").spec.default_frames

CONFIG = GenerationConfig()


def decode(path: Path, count: int) -> tuple[np.ndarray, list[float]]:
    """``count`` uniformly spaced RGB frames of a video and their times, as the runner samples them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [(frame.to_ndarray(format="rgb24"), float(frame.time)) for frame in container.decode(stream)]
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return np.stack([frames[i][0] for i in picks]), [frames[i][1] for i in picks]


def phase_text(caption: str, phase: int) -> str:
    start = caption.index(INTROS[phase])
    end = caption.index(INTROS[phase + 1]) if phase + 1 < len(INTROS) else len(caption)
    return caption[start:end]


@pytest.fixture(scope="module")
def adapter() -> BaselineAdapter:
    return BaselineAdapter()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, VideoRequest]:
    """Scripted clips: one event or two per clip, at known phases."""
    scripts = {
        "mouth_at_end": [[], [], [], ["open_mouth"]],
        "left_then_eyes": [["move_left"], [], ["close_eyes"], []],
        "closer_then_brows": [[], ["come_closer"], ["raise_brows"], []],
        "tilt": [[], ["tilt_left"], [], []],
    }
    folder = tmp_path_factory.mktemp("baseline")
    requests = {}
    for name, phases in scripts.items():
        path = folder / f"{name}.mp4"
        write_mp4(path, render_script(script_from(phases)), FPS)
        frames, times = decode(path, BASELINE_FRAMES)
        requests[name] = VideoRequest(clip_id=name, frames=frames, prompt="Describe the face.", timestamps=times)
    return requests


def test_registered_under_its_name() -> None:
    spec = next(s for s in fecbench_register_adapters() if s.name == "baseline")
    assert spec.factory == "fecbench_adapters.baseline:BaselineAdapter"
    assert BaselineAdapter.name == "baseline"


def test_face_found_on_every_sampled_frame(adapter: BaselineAdapter, clips: dict[str, VideoRequest]) -> None:
    cues = [adapter.meter.measure(frame) for frame in clips["left_then_eyes"].frames]
    assert all(c.found for c in cues)
    assert cues[0].eyes == 2 and cues[-1].eyes == 0  # eyes open at the start, shut at the end
    assert cues[-1].centre[0] < cues[0].centre[0] - 0.08  # the face moved left


def test_mouth_opening_at_the_end_is_told_at_the_end(adapter: BaselineAdapter, clips: dict[str, VideoRequest]) -> None:
    caption = adapter.generate([clips["mouth_at_end"]], CONFIG)[0]
    assert "opens their mouth" in phase_text(caption, 3)
    assert "opens their mouth" not in caption[: caption.index(INTROS[3])]
    assert caption.startswith("The video shows a person's face")


def test_head_move_and_eye_closing(adapter: BaselineAdapter, clips: dict[str, VideoRequest]) -> None:
    caption = adapter.generate([clips["left_then_eyes"]], CONFIG)[0]
    assert "moves their head to the left" in phase_text(caption, 0)
    assert "closes their eyes" in phase_text(caption, 2)
    assert "right" not in caption


def test_coming_closer_raising_brows_and_tilting(adapter: BaselineAdapter, clips: dict[str, VideoRequest]) -> None:
    closer, tilt = adapter.generate([clips["closer_then_brows"], clips["tilt"]], CONFIG)
    assert "moves closer to the camera" in phase_text(closer, 1)
    assert "raises their eyebrows" in phase_text(closer, 2)
    assert "tilts their head to the left" in phase_text(tilt, 1)


def test_any_frame_size_and_position(adapter: BaselineAdapter, clips: dict[str, VideoRequest]) -> None:
    """A letterboxed 480x854 copy: coordinates are normalised, so the same face reads the same."""
    small = clips["mouth_at_end"].frames
    wide = np.zeros((len(small), 480, 854, 3), np.uint8)
    wide[:, 112:368, 598:854] = small  # the 256 clip pasted at the right edge
    cues = adapter.meter.measure(wide[0])
    assert cues.found and cues.centre[0] > 0.75
    caption = adapter.caption(VideoRequest("wide", wide, "", clips["mouth_at_end"].timestamps))
    assert "on the right side of the frame" in caption
    assert "opens their mouth" in phase_text(caption, 3)


def test_no_face_is_said_plainly(adapter: BaselineAdapter) -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=(6, 240, 320, 3), dtype=np.uint8)
    blank = np.full((3, 100, 100, 3), 128, np.uint8)
    captions = adapter.generate([VideoRequest("noise", noise, ""), VideoRequest("blank", blank, "")], CONFIG)
    assert captions == [NO_FACE, NO_FACE]
    assert "no face" in NO_FACE


def test_face_missing_at_first_is_not_invented(adapter: BaselineAdapter, clips: dict[str, VideoRequest]) -> None:
    request = clips["mouth_at_end"]
    frames = request.frames.copy()
    frames[:4] = np.random.default_rng(1).integers(0, 256, size=frames[:4].shape, dtype=np.uint8)
    caption = adapter.caption(VideoRequest("late", frames, "", request.timestamps))
    assert phase_text(caption, 0).startswith(f"{INTROS[0]}, no face can be found")
    assert "a face comes into view" in phase_text(caption, 1)
    assert "opens their mouth" in phase_text(caption, 3)


def test_batch_equals_one_by_one(adapter: BaselineAdapter, clips: dict[str, VideoRequest]) -> None:
    requests = [VideoRequest(r.clip_id, r.frames[::4], r.prompt, r.timestamps[::4]) for r in clips.values()]
    assert adapter.generate(requests, CONFIG) == [adapter.generate([r], CONFIG)[0] for r in requests]


def test_settings_are_model_arguments(clips: dict[str, VideoRequest]) -> None:
    strict = BaselineAdapter(mouth_threshold=0.9, min_face=0.2)
    described = strict.describe()
    assert described["thresholds"]["mouth"] == 0.9 and described["cue_settings"]["min_face"] == 0.2
    # A mouth threshold no mouth can reach: the opening is no longer told.
    assert "opens their mouth" not in strict.caption(clips["mouth_at_end"])


def test_bad_frames_are_refused(adapter: BaselineAdapter) -> None:
    with pytest.raises(ValueError, match="expected"):
        adapter.caption(VideoRequest("gray", np.zeros((4, 64, 64), np.uint8), ""))
