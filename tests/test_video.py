"""Decoding by the uniform-time-v1 protocol, every awkward input, and the frame cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clipgen import write_clip

from fecbench.errors import VideoError
from fecbench.video.cache import FrameCache
from fecbench.video.decode import decode_clip
from fecbench.video.protocol import FrameProtocol, output_size, select_frames


def brightness_index(frame: np.ndarray) -> int:
    """Recover the frame index written by clipgen.frame_pattern (brightness = index * 20)."""
    width = frame.shape[1]
    return round(float(frame[:, width // 4 :, :].mean()) / 20)


def test_select_frames_uniform_in_time() -> None:
    assert select_frames([i / 25 for i in range(25)], 5) == [0, 6, 12, 18, 24]
    assert select_frames([0.0, 1.0], 4) == [0, 0, 1, 1]
    assert select_frames([0.0], 8) == [0] * 8
    assert select_frames([0.0, 0.1, 0.2, 5.0], 3) == [0, 2, 3]  # target 2.5 is nearer 0.2 than 5.0


def test_output_size_never_upscales() -> None:
    assert output_size(1280, 720, 448) == (448, 252)
    assert output_size(97, 61, 448) == (97, 61)
    assert output_size(720, 1280, 448) == (252, 448)


def test_cfr_clip_takes_first_last_and_evenly_spaced(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "a.mp4", frames=12, width=64, height=48)
    sampled = decode_clip(path, FrameProtocol(num_frames=4))
    assert sampled.frames.shape == (4, 48, 64, 3) and sampled.frames.dtype == np.uint8
    assert [brightness_index(f) for f in sampled.frames] == [0, 4, 7, 11]
    assert sampled.timestamps == pytest.approx([0.0, 0.16, 0.28, 0.44])


def test_variable_frame_rate_is_uniform_in_time(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "vfr.mp4", times_ms=[0, 10, 20, 30, 40, 1000, 2000, 3000])
    sampled = decode_clip(path, FrameProtocol(num_frames=4))
    assert sampled.timestamps == pytest.approx([0.0, 1.0, 2.0, 3.0])
    assert [brightness_index(f) for f in sampled.frames] == [0, 5, 6, 7]


def test_odd_size_and_downscale(tmp_path: Path) -> None:
    odd = decode_clip(write_clip(tmp_path / "odd.mp4", frames=5, width=97, height=61), FrameProtocol(2))
    assert odd.frames.shape == (2, 61, 97, 3)
    big = decode_clip(write_clip(tmp_path / "big.mp4", frames=3, width=640, height=360), FrameProtocol(2, max_side=64))
    assert big.frames.shape == (2, 36, 64, 3)


@pytest.mark.parametrize(("rotation", "shape", "bar_side"), [(90, (64, 48, 3), "bottom"), (-90, (64, 48, 3), "top")])
def test_rotation_metadata_turns_frames_upright(tmp_path: Path, rotation: int, shape: tuple, bar_side: str) -> None:
    """The bright bar is on the left of the coded frame; display rotation moves it as ffmpeg would show it."""
    path = write_clip(tmp_path / "rot.mp4", frames=3, width=64, height=48, rotation=rotation)
    frame = decode_clip(path, FrameProtocol(1)).frames[0]
    assert frame.shape == shape
    top, bottom = frame[:4].mean(), frame[-4:].mean()
    assert (bottom > 200 and top < 100) if bar_side == "bottom" else (top > 200 and bottom < 100)


def test_very_short_clips_repeat_frames(tmp_path: Path) -> None:
    one = decode_clip(write_clip(tmp_path / "one.mp4", frames=1), FrameProtocol(8))
    assert one.frames.shape[0] == 8 and one.timestamps == [0.0] * 8
    three = decode_clip(write_clip(tmp_path / "three.mp4", frames=3), FrameProtocol(8))
    assert [brightness_index(f) for f in three.frames] == [0, 0, 1, 1, 1, 1, 2, 2]


def test_broken_inputs_give_reasons(tmp_path: Path) -> None:
    protocol = FrameProtocol(4)
    with pytest.raises(VideoError, match="video file not found"):
        decode_clip(tmp_path / "missing.mp4", protocol)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty.mp4: video file is empty"):
        decode_clip(tmp_path / "empty.mp4", protocol)
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match="noise.mp4: cannot be opened as a video"):
        decode_clip(tmp_path / "noise.mp4", protocol)
    (tmp_path / "text.mp4").write_text("hello, I am not a video\n" * 20)
    with pytest.raises(VideoError, match="text.mp4"):
        decode_clip(tmp_path / "text.mp4", protocol)


def test_truncated_clip_gives_frames_or_a_reason(tmp_path: Path) -> None:
    """Cut a clip short: whatever is left either decodes into frames or fails with a VideoError, never a crash."""
    whole = write_clip(tmp_path / "whole.mp4", frames=50, width=128, height=96).read_bytes()
    for fraction in (0.3, 0.6, 0.9):
        cut = tmp_path / f"cut{fraction}.mp4"
        cut.write_bytes(whole[: int(len(whole) * fraction)])
        try:
            sampled = decode_clip(cut, FrameProtocol(4))
        except VideoError as exc:
            assert str(cut) in str(exc)
        else:
            assert sampled.frames.shape[0] == 4


def test_frame_cache_hits_and_keys(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "a.mp4", frames=10)
    cache = FrameCache(FrameProtocol(4), root=tmp_path / "cache")
    first = cache.load(path)
    copy = tmp_path / "elsewhere" / "same.mp4"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    second = cache.load(copy)  # same content elsewhere: a hit
    assert (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(first.frames, second.frames)
    assert first.timestamps == second.timestamps
    other = FrameCache(FrameProtocol(5), root=tmp_path / "cache")
    other.load(path)
    assert other.misses == 1  # another protocol never reuses frames
    entry = next((tmp_path / "cache").glob(f"*{FrameProtocol(4).key}/*/*.npz"))
    entry.write_bytes(b"torn")
    third = FrameCache(FrameProtocol(4), root=tmp_path / "cache").load(path)
    np.testing.assert_array_equal(third.frames, first.frames)


def test_frame_cache_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="not found"):
        FrameCache(FrameProtocol(4), root=tmp_path / "cache").load(tmp_path / "nope.mp4")


def test_without_packet_times_frames_are_chosen_among_decoded_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some containers give packets no pts; the fallback decodes first, then picks by the same rule."""
    from fractions import Fraction

    import fecbench.video.decode as decode_module

    path = write_clip(tmp_path / "a.mp4", frames=12, width=64, height=48)
    expected = decode_clip(path, FrameProtocol(num_frames=4))
    monkeypatch.setattr(decode_module, "_packet_pts", lambda _path: ([], Fraction(1)))
    fallback = decode_clip(path, FrameProtocol(num_frames=4))
    np.testing.assert_array_equal(fallback.frames, expected.frames)
    assert fallback.timestamps == expected.timestamps
