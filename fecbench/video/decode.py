"""Decode the sampled frames of one clip with PyAV, or say precisely why it cannot be done.

Two passes keep memory flat whatever the clip's length: the first only demuxes packets to learn
every frame's presentation time, the second decodes and converts just the chosen frames. A clip
that stops decoding part-way keeps the frames decoded before the damage and records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
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
    """Sample ``protocol.num_frames`` frames of ``path`` by the ``uniform-time-v1`` rule.

    Frames are matched by their integer presentation timestamp (pts), never by float seconds.
    """
    check_video_file(path)
    pts, base = _packet_pts(path)
    chosen = [pts[i] for i in select_frames([float(p * base) for p in pts], protocol.num_frames)] if pts else []
    frames, seen, note = _decode_selected(path, protocol, set(chosen))
    if not seen:
        raise VideoError(f"{path}: no frame could be decoded{f' ({note})' if note else ''}")
    if not chosen or any(key not in frames for key in chosen):
        # Packets did not match the decoded frames (unusual muxing, damage): choose among what decodes.
        keys = sorted(seen, key=seen.__getitem__)
        chosen = [keys[i] for i in select_frames([seen[k] for k in keys], protocol.num_frames)]
        frames, _, retry_note = _decode_selected(path, protocol, set(chosen))
        note = note or retry_note
    first_time = min(seen.values())
    array = np.stack([frames[key] for key in chosen])
    source: dict[str, Any] = {
        "decoded_frames": len(seen),
        "duration_s": round(max(seen.values()) - first_time, 4),
        "height": int(array.shape[1]),
        "width": int(array.shape[2]),
    }
    if note:
        source["warning"] = note
    return SampledFrames(frames=array, timestamps=[round(seen[k] - first_time, 6) for k in chosen], source=source)


def _open(path: Path) -> Any:
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{path}: cannot be opened as a video ({exc})") from exc


def _video_stream(container: Any, path: Path) -> Any:
    if not container.streams.video:
        raise VideoError(f"{path}: the file has no video stream")
    return container.streams.video[0]


def _packet_pts(path: Path) -> tuple[list[int], Fraction]:
    """Sorted, distinct pts of the video packets, and the stream's time base; no pts when the demuxer gives none."""
    with _open(path) as container:
        stream = _video_stream(container, path)
        base = stream.time_base
        if base is None:
            return [], Fraction(1)
        try:
            pts = {packet.pts for packet in container.demux(stream) if packet.pts is not None and packet.size}
        except av.FFmpegError:
            return [], base
    return sorted(pts), base


def _decode_selected(
    path: Path, protocol: FrameProtocol, wanted: set[int]
) -> tuple[dict[int, np.ndarray], dict[int, float], str]:
    """Decode the whole stream, converting only frames whose key is in ``wanted``.

    A frame's key is its pts, or its decode position when it has none; ``seen`` maps every decoded
    frame's key to its time in seconds (its position when there is no pts).
    """
    frames: dict[int, np.ndarray] = {}
    seen: dict[int, float] = {}
    note = ""
    with _open(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        try:
            for count, frame in enumerate(container.decode(stream)):
                key = frame.pts if frame.pts is not None else count
                seen[key] = float(frame.time) if frame.time is not None else float(count)
                if key in wanted and key not in frames:
                    frames[key] = _to_rgb(frame, protocol.max_side)
        except (av.FFmpegError, ValueError) as exc:
            note = f"decoding stopped after {len(seen)} frames: {exc}"
    return frames, seen, note


def _to_rgb(frame: Any, max_side: int) -> np.ndarray:
    width, height = output_size(frame.width, frame.height, max_side)
    smaller = (width, height) != (frame.width, frame.height)
    rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA" if smaller else None)
    array: np.ndarray = rgb.to_ndarray()
    quarter_turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    if quarter_turns:
        array = np.ascontiguousarray(np.rot90(array, k=quarter_turns))
    return array
