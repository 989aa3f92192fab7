"""``facetrack:<adapter>``: composition through the plugin system, the three modes, and a full run.

The wrapped adapter in most tests records what it is given (a real adapter whose caption is
computed from its input), so the tests check exactly which frames, timestamps and prompt reach it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fecbench_adapters.facetrack_wrapper import NOTES, FaceTrackAdapter, appended_times, crop_indices

from fecbench import api
from fecbench.adapter import Adapter, GenerationConfig, VideoRequest
from fecbench.demo.writer import write_annotations, write_mp4
from fecbench.errors import ConfigError, UnknownPluginError
from fecbench.facetrack import FaceTracker
from fecbench.facetrack.synthetic import Person, Scene
from fecbench.facetrack.tracker import DEFAULT_CONTEXT
from fecbench.plugins import get_adapter, load_adapter
from fecbench.video.decode import SampledFrames, decode_clip
from fecbench.video.protocol import FrameProtocol

FRAMES = 8
PROMPT = "Describe the face."
TWO_PEOPLE = Scene(320, 240, [Person((130, 110), (160, 115), 80), Person((270, 60), (260, 65), 40, mirror=True)])
NOBODY = Scene(320, 240, [], seed=7)


class Recorder(Adapter):
    """Captions each clip with what it received; keeps the requests."""

    name = "recorder"
    max_batch_size = 3

    def __init__(self) -> None:
        self.seen: list[VideoRequest] = []
        self.closed = False

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        self.seen.extend(requests)
        return [f"{len(r.frames)} frames {r.frames.shape[2]}x{r.frames.shape[1]}" for r in requests]

    def describe(self) -> dict[str, object]:
        return {"records": True}

    def close(self) -> None:
        self.closed = True


def sampled(scene: Scene, folder: Path, name: str) -> SampledFrames:
    path = folder / f"{name}.mp4"
    write_mp4(path, scene.render(30), 10)
    return decode_clip(path, FrameProtocol(num_frames=FRAMES))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, VideoRequest]:
    folder = tmp_path_factory.mktemp("wrapper")
    found = {name: sampled(scene, folder, name) for name, scene in (("two", TWO_PEOPLE), ("nobody", NOBODY))}
    return {name: VideoRequest(name, s.frames, PROMPT, list(s.timestamps)) for name, s in found.items()}


def run_wrapped(request: VideoRequest, **args: object) -> VideoRequest:
    recorder = Recorder()
    FaceTrackAdapter(recorder, **args).generate([request], GenerationConfig())
    return recorder.seen[0]


def largest_face(frame: np.ndarray) -> float:
    faces = FaceTracker().detector.detect(np.ascontiguousarray(frame))
    return max((f.box.side for f in faces), default=0.0)


def test_append_mode_adds_close_ups_after_the_frames(clips: dict[str, VideoRequest]) -> None:
    request = clips["two"]
    seen = run_wrapped(request)
    assert seen.frames.shape == (2 * FRAMES, 240, 320, 3)
    assert np.array_equal(seen.frames[:FRAMES], request.frames)
    # The appended frames are close-ups: the face fills 1 / context of the frame's height.
    assert largest_face(seen.frames[FRAMES]) == pytest.approx(240 / DEFAULT_CONTEXT, rel=0.15)
    assert largest_face(request.frames[0]) < 0.7 * 240 / DEFAULT_CONTEXT
    # The close-ups continue the clock one mean sampling step after the last frame, keeping the spacing.
    times, step = request.timestamps, (request.timestamps[-1] - request.timestamps[0]) / (FRAMES - 1)
    assert seen.timestamps == pytest.approx(times + [t + times[-1] - times[0] + step for t in times])
    assert seen.fps_sampled == pytest.approx(request.fps_sampled, rel=0.01)
    assert seen.prompt == NOTES["append"].format(total=16, frames=8, crops=8) + "\n" + PROMPT


def test_append_mode_can_add_fewer_crops(clips: dict[str, VideoRequest]) -> None:
    seen = run_wrapped(clips["two"], crop_frames=3, note=False)
    assert len(seen.frames) == FRAMES + 3 and seen.prompt == PROMPT
    assert crop_indices(8, 3) == [0, 4, 7] and crop_indices(8, 0) == list(range(8))
    assert appended_times([0.0, 1.0, 2.0], [0, 2]) == [0.0, 1.0, 2.0, 3.0, 5.0]


def test_inset_mode_pastes_the_face_in_the_corner_away_from_it(clips: dict[str, VideoRequest]) -> None:
    request = clips["two"]
    seen = run_wrapped(request, mode="inset", inset_size=0.5)
    assert seen.frames.shape == request.frames.shape and seen.timestamps == request.timestamps
    side = 120  # 0.5 of the shorter side; the main face is in the upper left half, so the inset goes bottom right
    assert "bottom-right corner" in seen.prompt
    assert np.array_equal(seen.frames[:, : 240 - side], request.frames[:, : 240 - side])
    inset = seen.frames[:, 240 - side :, 320 - side :]
    assert (inset[:, 0] == 255).all() and (inset[:, :, 0] == 255).all()  # the white border
    assert largest_face(inset[0]) == pytest.approx((side - 4) / DEFAULT_CONTEXT, rel=0.15)
    fixed = run_wrapped(request, mode="inset", inset_corner="top-left")
    assert "top-left corner" in fixed.prompt and (fixed.frames[:, 0, 0] == 255).all()


def test_only_mode_replaces_the_frames_with_the_close_ups(clips: dict[str, VideoRequest]) -> None:
    request = clips["two"]
    seen = run_wrapped(request, mode="only")
    assert seen.frames.shape == request.frames.shape and seen.timestamps == request.timestamps
    assert largest_face(seen.frames[0]) == pytest.approx(240 / DEFAULT_CONTEXT, rel=0.15)
    assert seen.prompt.startswith(NOTES["only"])


def test_a_clip_without_a_face_reaches_the_model_unchanged(clips: dict[str, VideoRequest]) -> None:
    recorder = Recorder()
    wrapper = FaceTrackAdapter(recorder)
    captions = wrapper.generate([clips["nobody"], clips["two"]], GenerationConfig())
    assert captions == [f"{FRAMES} frames 320x240", f"{2 * FRAMES} frames 320x240"]
    assert recorder.seen[0] is clips["nobody"]
    assert [t.found for t in wrapper.last_tracks] == [False, True]
    assert wrapper.max_batch_size == 3
    wrapper.close()
    assert recorder.closed


def test_wrapper_arguments_are_checked() -> None:
    for bad, match in (
        ({"mode": "side"}, "facetrack.mode='side' is not one of append, inset, only"),
        ({"inset_corner": "middle"}, "facetrack.inset_corner"),
        ({"crop_frames": -1}, "facetrack.crop_frames"),
        ({"detector": "yolo"}, "detector='yolo'"),
    ):
        with pytest.raises(ConfigError, match=match):
            FaceTrackAdapter(Recorder(), **bad)


def test_composition_through_the_plugin_system() -> None:
    entry = get_adapter("facetrack:qwen2vl")  # an alias of the inner adapter works too
    inner = get_adapter("qwen2-vl")
    assert entry.spec.name == "facetrack:qwen2-vl" and entry.inner == inner
    assert entry.spec.default_frames == inner.spec.default_frames
    assert set(entry.spec.requires) == {"cv2", "scipy", "torch", "torchvision", "transformers"}
    assert entry.spec.factory == "fecbench_adapters.facetrack_wrapper:FaceTrackAdapter"
    with pytest.raises(UnknownPluginError, match="unknown model 'no-such-model'"):
        get_adapter("facetrack:no-such-model")
    with pytest.raises(UnknownPluginError, match="is a wrapper: name the adapter it wraps"):
        get_adapter("facetrack:<adapter>")
    with pytest.raises(ConfigError, match="facetrack cannot wrap itself"):
        get_adapter("facetrack:facetrack:baseline")


def test_model_args_go_to_the_wrapper_with_its_prefix_and_to_the_inner_adapter_without() -> None:
    adapter = load_adapter("facetrack:baseline", {"facetrack.mode": "inset", "facetrack.max_gap": 1, "max_side": 200})
    assert adapter.mode == "inset" and adapter.tracker.settings.linking.max_gap == 1
    assert adapter.inner.settings.max_side == 200
    described = adapter.describe()
    assert described["inner"]["name"] == "baseline" and described["tracker"]["linking"]["max_gap"] == 1
    with pytest.raises(ConfigError, match=r"facetrack does not take facetrack\.bogus; it takes: facetrack\.mode"):
        load_adapter("facetrack:baseline", {"facetrack.bogus": 1})
    with pytest.raises(ConfigError, match="model 'baseline' does not take mode"):
        load_adapter("facetrack:baseline", {"mode": "inset"})


def test_runs_with_and_without_face_focus_side_by_side(
    test_plugins: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    videos = tmp_path / "videos"
    names = ["SRC/two.mp4", "SRC/nobody.mp4"]
    for name, scene in zip(names, (TWO_PEOPLE, NOBODY), strict=True):
        write_mp4(videos / name, scene.render(20), 10)
    annotations = write_annotations(tmp_path / "set.json", names, ["A face.", "No face."])
    monkeypatch.chdir(tmp_path)
    plain = api.run("frame-stats", annotations=annotations, video_roots=[str(videos)], score=False)
    focused = api.run(
        "facetrack:frame-stats",
        model_args={"facetrack.crop_frames": 2},
        annotations=annotations,
        video_roots=[str(videos)],
        score=False,
    )
    assert plain.n_ok == focused.n_ok == 2
    assert plain.run_dir != focused.run_dir and focused.run_dir.name.startswith("facetrack+frame-stats-")
    spec = json.loads((focused.run_dir / "run.json").read_text())
    assert spec["model"]["name"] == "facetrack:frame-stats"
    assert spec["model"]["args"] == {"facetrack.crop_frames": 2}
    assert spec["model"]["loaded"]["inner"]["name"] == "frame-stats"
    assert spec["frame_protocol"]["num_frames"] == get_adapter("frame-stats").spec.default_frames
    read = {
        p.name: [json.loads(line)["prediction"] for line in (p / "predictions.jsonl").open()]
        for p in (plain.run_dir, focused.run_dir)
    }
    frames = get_adapter("frame-stats").spec.default_frames
    assert [p.split(" of ")[0] for p in read[plain.run_dir.name]] == [f"the video shows {frames} frames"] * 2
    assert [p.split(" of ")[0] for p in read[focused.run_dir.name]] == [
        f"the video shows {frames + 2} frames",  # two close-ups appended
        f"the video shows {frames} frames",  # no face: unchanged
    ]


def test_models_command_lists_the_wrapper() -> None:
    env = {**os.environ, "COLUMNS": "250"}
    done = subprocess.run(
        [sys.executable, "-m", "fecbench.cli", "models"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "facetrack:<adapter>" in done.stdout and "facetrack-mm" in done.stdout
