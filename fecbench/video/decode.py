"""Decode the sampled frames of one clip with PyAV, or say precisely why it cannot be done.

Two passes keep memory flat whatever the clip's length: the first only demuxes packets to learn
every frame's presentation time, the second decodes and converts just the chosen frames. A clip
that stops decoding part-way keeps the frames decoded before the damage and records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from fecbench.errors import VideoError
from fecbench.video.protocol import FrameProtocol, output_size, select_frames


@dataclass
class SampledFrames:
    """The frames a model sees, with their times (seconds from the first frame) and facts about the source."""

    frames: np.ndarray
    timestamps: list[float]
    source: dict[str, Any] = field(default_factory=dict)


def check_video_file(path: Path) -> None:
    """Raise :class:`VideoError` for the two failures visible without opening the file."""
    if not path.is_file():
        raise VideoError(f"{path}: video file not found")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: video file is empty (0 bytes)")


def decode_clip(path: Path, protocol: FrameProtocol) -> SampledFrames:
    """Sample ``protocol.num_frames`` frames of ``path`` by the ``uniform-time-v1`` rule."""
    check_video_file(path)
    times = _packet_times(path)
    wanted = select_frames(times, protocol.num_frames) if times else []
    frames, decoded_times, note = _decode_selected(path, protocol, {times[i] for i in wanted})
    if not decoded_times:
        raise VideoError(f"{path}: no frame could be decoded{f' ({note})' if note else ''}")
    wanted_times = [times[i] for i in wanted]
    if not wanted_times or any(t not in frames for t in wanted_times):
        # Packet times did not match decoded frames (unusual muxing, damage): choose from what decodes.
        decoded_times = sorted(decoded_times)
        wanted_times = [decoded_times[i] for i in select_frames(decoded_times, protocol.num_frames)]
        frames, _, note2 = _decode_selected(path, protocol, set(wanted_times))
        note = note or note2
    first_time = min(decoded_times)
    array = np.stack([frames[t] for t in wanted_times])
    source = {
        "decoded_frames": len(decoded_times),
        "duration_s": round(max(decoded_times) - first_time, 4),
        "height": int(array.shape[1]),
        "width": int(array.shape[2]),
    }
    if note:
        source["warning"] = note
    return SampledFrames(frames=array, timestamps=[round(t - first_time, 6) for t in wanted_times], source=source)


def _open(path: Path) -> Any:
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{path}: cannot be opened as a video ({exc})") from exc


def _video_stream(container: Any, path: Path) -> Any:
    if not container.streams.video:
        raise VideoError(f"{path}: the file has no video stream")
    return container.streams.video[0]


def _packet_times(path: Path) -> list[float]:
    """Sorted, distinct presentation times (s) of the video packets; empty when the container has none."""
    with _open(path) as container:
        stream = _video_stream(container, path)
        base = stream.time_base
        try:
            pts = {packet.pts for packet in container.demux(stream) if packet.pts is not None and packet.size}
        except av.FFmpegError:
            return []
    return sorted(float(p * base) for p in pts) if base is not None else []


def _frame_time(frame: Any, fallback: int) -> float:
    return float(frame.time) if frame.time is not None else float(fallback)


def _decode_selected(
    path: Path, protocol: FrameProtocol, wanted: set[float]
) -> tuple[dict[float, np.ndarray], list[float], str]:
    """Decode the whole stream, converting only frames whose time is in ``wanted``."""
    frames: dict[float, np.ndarray] = {}
    seen: list[float] = []
    note = ""
    with _open(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        try:
            for count, frame in enumerate(container.decode(stream)):
                time = _frame_time(frame, count)
                seen.append(time)
                if time in wanted and time not in frames:
                    frames[time] = _to_rgb(frame, protocol.max_side)
        except (av.FFmpegError, ValueError) as exc:
            note = f"decoding stopped after {len(seen)} frames: {exc}"
    return frames, seen, note


def _to_rgb(frame: Any, max_side: int) -> np.ndarray:
    width, height = output_size(frame.width, frame.height, max_side)
    smaller = (width, height) != (frame.width, frame.height)
    rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA" if smaller else None)
    array = rgb.to_ndarray()
    quarter_turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    if quarter_turns:
        array = np.ascontiguousarray(np.rot90(array, k=quarter_turns))
    return array
