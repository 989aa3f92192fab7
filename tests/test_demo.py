"""The demo set: files in test.json's format, decodable clips, deterministic scripts, truthful captions."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from fecbench.demo import FPS, SECONDS, SIZE, SOURCE, clip_script, make_demo, render_script, script_from
from fecbench.demo.caption import INTROS, event_phrase
from fecbench.demo.face import APPEARANCE, FACE_BOX, load_face
from fecbench.demo.script import Pose, apply

CLIPS = 3


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo"), clips=CLIPS, seed=0)


def _phase_sentences(caption: str) -> list[str]:
    """The caption cut at each phase intro; element i is the text of phase i."""
    starts = [caption.index(intro) for intro in INTROS]
    assert starts == sorted(starts), "phase intros out of order"
    return [caption[a:b] for a, b in zip(starts, [*starts[1:], len(caption)], strict=True)]


def test_annotations_have_test_json_format(demo: Path) -> None:
    records = json.loads(demo.read_text(encoding="utf-8"))
    assert demo.name == "annotations.json"
    assert isinstance(records, list)
    assert [r["id"] for r in records] == [str(i) for i in range(CLIPS)]
    for record in records:
        assert set(record) == {"id", "video", "caption"}
        assert all(isinstance(v, str) for v in record.values())
        assert Path(record["video"]).parts[0] == SOURCE
        assert (demo.parent / "videos" / record["video"]).is_file()


def test_videos_decode_to_stated_size_and_length(demo: Path) -> None:
    records = json.loads(demo.read_text(encoding="utf-8"))
    with av.open(str(demo.parent / "videos" / records[0]["video"])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.average_rate == FPS
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(frames) == round(FPS * SECONDS)
    assert frames[0].shape == (SIZE, SIZE, 3)
    assert frames[0].std() > 20  # a picture, not a blank


def test_same_seed_same_set_other_seed_other_scripts(demo: Path, tmp_path: Path) -> None:
    again = make_demo(tmp_path / "again", clips=CLIPS, seed=0)
    assert again.read_text(encoding="utf-8") == demo.read_text(encoding="utf-8")
    video = f"{SOURCE}/clip_001.mp4"
    assert (again.parent / "videos" / video).read_bytes() == (demo.parent / "videos" / video).read_bytes()
    assert [clip_script(1, i) for i in range(CLIPS)] != [clip_script(0, i) for i in range(CLIPS)]


def test_captions_follow_phase_structure_and_tell_every_scripted_event(demo: Path) -> None:
    records = json.loads(demo.read_text(encoding="utf-8"))
    for index, record in enumerate(records):
        caption = record["caption"]
        assert caption.startswith(APPEARANCE + "\n")
        assert 44 <= len(caption.split()) <= 225  # the test set's caption length range
        phases = _phase_sentences(caption)
        script = clip_script(0, index)
        assert script.events, "every clip does something"
        for event, before in zip(script.events, script.poses(), strict=False):
            assert event_phrase(event.kind, before) in phases[event.phase]


def test_script_states_follow_the_events() -> None:
    script = script_from([["move_left"], ["blink"], ["close_eyes", "open_mouth"], ["tilt_left"]])
    start, end = script.state_at(0.0), script.state_at(1.0)
    assert start.dx == 0 and start.eyes_closed == 0 and start.mouth_open == 0
    assert end.dx < 0 and end.eyes_closed == 1 and end.mouth_open == 1 and end.tilt > 0
    blink = script.events[1]
    assert script.state_at((blink.start + blink.end) / 2).eyes_closed == pytest.approx(1.0)
    assert script.state_at(blink.end + 0.01).eyes_closed == 0  # a blink reopens


def test_impossible_scripts_are_refused() -> None:
    with pytest.raises(ValueError, match="open_eyes"):
        script_from([["open_eyes"], [], [], []])
    with pytest.raises(ValueError, match="move_left"):
        apply(Pose(x=-1), "move_left")  # already at the left edge
    with pytest.raises(ValueError, match="4 phases"):
        script_from([["blink"]])


def test_rendering_changes_the_scripted_region_only() -> None:
    frames = render_script(script_from([[], [], [], ["open_mouth"]]), fps=5, seconds=2.0)
    assert frames.shape == (10, SIZE, SIZE, 3) and frames.dtype == np.uint8
    diff = np.abs(frames[-1].astype(int) - frames[0].astype(int)).sum(axis=2)
    rows = np.nonzero(diff.max(axis=1) > 60)[0]
    assert rows.size, "the mouth did not open"
    # The change sits in the lower half of the face: below the eyes and above the collar.
    assert SIZE * 0.45 < rows.mean() < SIZE * 0.65


def test_face_landmarks_sit_on_the_photo() -> None:
    face = load_face()
    assert face.image.shape == (512, 512, 3)
    x, y, w, h = FACE_BOX
    skin = np.array(face.skin)
    assert skin[0] > skin[1] > skin[2]  # a warm skin tone, sampled from the cheeks
    assert face.image[y : y + h, x : x + w].mean() > face.image.mean()  # a bright face on a darker suit
