"""Face tracking on generated multi-person clips whose true face boxes are known.

Every clip is rendered from the real astronaut face (one or more people of different sizes and
positions, some leaving the picture for a while), written to an H.264 mp4 with PyAV and sampled
back by the run protocol, so the tracker sees exactly what an adapter would. The main face must be
matched with IoU above ``MIN_IOU`` on every sampled frame where it is visible.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

from fecbench.demo.writer import write_mp4
from fecbench.errors import ConfigError, MissingDependencyError
from fecbench.facetrack import Box, Detection, FaceTracker, LinkSettings
from fecbench.facetrack.boxes import lerp
from fecbench.facetrack.crops import crop_window
from fecbench.facetrack.select import SelectSettings, choose_main
from fecbench.facetrack.synthetic import Person, Scene, times_of
from fecbench.facetrack.track import link_tracks
from fecbench.facetrack.tracker import tracker_settings
from fecbench.video.decode import SampledFrames, decode_clip
from fecbench.video.protocol import FrameProtocol

MIN_IOU = 0.6  # the stated threshold: the chosen track's box against the true main-face box
FRAMES = 12  # frames sampled per clip, as a run with --frames 12 would
FPS = 12
SECONDS = 3

# Person 0 is the main character in every scene.
SCENES = {
    "two_people": Scene(
        320,
        240,
        [
            Person((150, 110), (175, 118), 80),
            Person((270, 60), (250, 70), 40, mirror=True, tint=(0.85, 1.0, 1.15)),
        ],
        seed=1,
    ),
    "main_leaves_and_nobody_in_the_middle": Scene(
        320,
        240,
        [
            Person((165, 105), (150, 110), 72, hidden=((0.35, 0.62),)),
            Person((60, 175), (70, 170), 46, mirror=True, tint=(1.1, 0.95, 0.9), hidden=((0.33, 0.58),)),
        ],
        seed=2,
    ),
    "long_on_screen_beats_large_briefly": Scene(
        320,
        240,
        [
            Person((160, 120), (165, 115), 60),
            Person((260, 110), (255, 112), 92, mirror=True, hidden=((0.0, 0.75),)),
            Person((50, 60), (55, 65), 38, tint=(0.9, 0.9, 1.1)),
        ],
        seed=3,
    ),
    "people_passing": Scene(
        400,
        224,
        [
            Person((90, 70), (310, 80), 70, end_side=78),
            Person((320, 165), (100, 160), 50, mirror=True, tint=(1.0, 0.9, 0.85)),
        ],
        seed=4,
    ),
}


def sample(scene: Scene, folder: Path, name: str) -> SampledFrames:
    path = folder / f"{name}.mp4"
    write_mp4(path, scene.render(FPS * SECONDS), FPS)
    return decode_clip(path, FrameProtocol(num_frames=FRAMES))


@pytest.fixture(scope="module")
def tracker() -> FaceTracker:
    return FaceTracker()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SampledFrames]:
    folder = tmp_path_factory.mktemp("facetrack")
    return {name: sample(scene, folder, name) for name, scene in SCENES.items()}


@pytest.mark.parametrize("name", list(SCENES))
def test_the_main_face_is_followed_on_every_frame_where_it_is_visible(
    name: str, clips: dict[str, SampledFrames], tracker: FaceTracker
) -> None:
    scene, sampled = SCENES[name], clips[name]
    result = tracker.track(sampled.frames)
    assert result.found
    truths = [scene.truth(t)[0] for t in times_of(sampled.timestamps)]
    boxes = result.main_boxes()
    for i, (truth, box) in enumerate(zip(truths, boxes, strict=True)):
        if truth is None:
            assert box is None, f"{name} frame {i}: the main face is hidden but the track has a box"
        else:
            assert box is not None, f"{name} frame {i}: the visible main face was not tracked"
            assert box.iou(truth) > MIN_IOU, f"{name} frame {i}: IoU {box.iou(truth):.2f}"
    # One track for the main face: no visible frame is left to another track.
    visible = sum(t is not None for t in truths)
    assert len(result.main.detections) == visible


def test_a_gap_with_no_face_at_all_keeps_one_track_and_fills_crop_boxes(
    clips: dict[str, SampledFrames], tracker: FaceTracker
) -> None:
    sampled = clips["main_leaves_and_nobody_in_the_middle"]
    result = tracker.track(sampled.frames)
    detected = [i for i, b in enumerate(result.main_boxes()) if b is not None]
    missing = [i for i in range(FRAMES) if i not in detected]
    assert missing and min(detected) < min(missing) and max(detected) > max(missing)
    # Some frames show nobody at all, and the main track still spans the gap.
    empty = [i for i, frame in enumerate(tracker.detect(sampled.frames)) if not frame]
    assert empty
    filled = result.crop_boxes()
    assert filled is not None and all(isinstance(b, Box) for b in filled)
    first, last = max(i for i in detected if i < min(missing)), min(i for i in detected if i > max(missing))
    for i in missing:  # interpolated linearly between the detections around the gap
        assert filled[i] == lerp(result.main.box(first), result.main.box(last), (i - first) / (last - first))


def test_a_clip_without_faces_has_no_main_face(tmp_path: Path, tracker: FaceTracker) -> None:
    sampled = sample(Scene(320, 240, [], seed=5), tmp_path, "empty")
    result = tracker.track(sampled.frames)
    assert not result.found
    assert result.main_boxes() == [None] * FRAMES
    assert result.crop_boxes() is None and result.crops(sampled.frames) is None
    assert result.as_dict()["main_track"] is None


def test_crops_show_the_main_face(clips: dict[str, SampledFrames], tracker: FaceTracker) -> None:
    sampled = clips["two_people"]
    result = tracker.track(sampled.frames)
    crops = result.crops(sampled.frames, 96)
    assert crops.shape == (FRAMES, 96, 96, 3) and crops.dtype == np.uint8
    # The crop is a close-up: the detector finds one face in it, filling a large share of the crop.
    found = tracker.detector.detect(np.ascontiguousarray(crops[0]))
    assert len(found) == 1 and found[0].box.side > 0.4 * 96
    wide = result.crops(sampled.frames, 160, 90)
    assert wide.shape == (FRAMES, 90, 160, 3)


def test_crop_window_stays_inside_the_frame_and_keeps_the_aspect() -> None:
    near_edge = crop_window(Box(0, 0, 40, 40), 320, 240, aspect=4 / 3, context=1.8)
    assert near_edge.x0 == 0 and near_edge.y0 == 0
    assert near_edge.width / near_edge.height == pytest.approx(4 / 3)
    huge = crop_window(Box(-50, -50, 400, 300), 320, 240, aspect=1.0, context=1.8)
    assert huge.height <= 240 and huge.width <= 320 and huge.x0 >= 0 and huge.y0 >= 0


def det(x: float, y: float, side: float) -> Detection:
    return Detection(Box(x, y, x + side, y + side), 1.0)


def test_linking_tolerates_missed_frames_up_to_max_gap() -> None:
    frames = [[det(10, 10, 50)], [], [], [det(14, 12, 50)], [], [], [], [], [det(20, 14, 50)]]
    tracks = link_tracks(frames, LinkSettings(max_gap=3))
    assert [t.frames for t in tracks] == [[0, 3], [8]]
    assert [t.frames for t in link_tracks(frames, LinkSettings(max_gap=5))] == [[0, 3, 8]]


def test_linking_follows_motion_and_does_not_swap_neighbours() -> None:
    # Two faces side by side, both moving right by 0.6 face sides per frame.
    frames = [[det(100 + 30 * i, 50, 50), det(10 + 30 * i, 50, 50)] for i in range(6)]
    tracks = link_tracks(frames)
    assert len(tracks) == 2
    for track in tracks:
        xs = [track.box(i).x0 for i in track.frames]
        assert xs == sorted(xs) and len(xs) == 6 and all(b - a == 30 for a, b in itertools.pairwise(xs))


def test_linking_refuses_jumps_and_sudden_size_changes() -> None:
    assert len(link_tracks([[det(0, 0, 40)], [det(200, 0, 40)]])) == 2  # 5 face sides away
    assert len(link_tracks([[det(0, 0, 40)], [det(0, 0, 100)]])) == 2  # 2.5 times larger


def test_main_face_rule_weighs_size_centrality_and_time() -> None:
    central = [[det(130, 100, 40)] for _ in range(4)]
    corner = [[det(0, 0, 40)] for _ in range(4)]
    both = [a + b for a, b in zip(central, corner, strict=True)]
    main, scores = choose_main(link_tracks(both), 320, 240, 4)
    assert main.box(0).x0 == 130 and len(scores) == 2
    # Position ignored: equal faces tie and the first-appearing track wins.
    main, _ = choose_main(link_tracks(both), 320, 240, 4, SelectSettings(centrality=0.0))
    assert main.id == 0
    # A track seen once is never the main face unless the clip has one frame.
    single = [[det(130, 100, 80)], [], [], []]
    assert choose_main(link_tracks(single), 320, 240, 4)[0] is None
    assert choose_main(link_tracks(single[:1]), 320, 240, 1)[0] is not None


def test_settings_errors_name_the_argument() -> None:
    with pytest.raises(ConfigError, match=r"detector='yolo' must be one of haar, mtcnn"):
        tracker_settings(detector="yolo")
    with pytest.raises(ConfigError, match=r"max_gap=-1 must be an integer of at least 0; centrality=2"):
        tracker_settings(max_gap=-1, centrality=2)


@pytest.mark.skipif(importlib.util.find_spec("facenet_pytorch") is not None, reason="facenet-pytorch is installed")
def test_mtcnn_without_facenet_pytorch_says_how_to_install_it() -> None:
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps facenet-pytorch==2\.6\.0"):
        FaceTracker(tracker_settings(detector="mtcnn"))


@pytest.mark.skipif(importlib.util.find_spec("facenet_pytorch") is None, reason="facenet-pytorch not installed")
def test_mtcnn_detector_tracks_the_main_face_too(clips: dict[str, SampledFrames]) -> None:
    scene, sampled = SCENES["two_people"], clips["two_people"]
    picked = [0, 4, 8, 11]  # MTCNN costs about 0.1-0.7 s a frame on a CPU: four frames are enough
    result = FaceTracker(tracker_settings(detector="mtcnn")).track(sampled.frames[picked])
    times = times_of(sampled.timestamps)
    truths = [scene.truth(times[i])[0] for i in picked]
    assert all(box.iou(truth) > MIN_IOU for box, truth in zip(result.main_boxes(), truths, strict=True))
