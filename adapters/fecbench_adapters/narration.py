"""Caption writing for the baseline: measured cues and events, told in FEC-Bench's phase structure.

Honesty rule: every clause comes from a measurement. The appearance sentence states only what the
face box shows (frontal face, its size and place in the frame, how many faces); nothing about age,
gender, hair or clothes, which Haar cascades cannot see. Directions are as the viewer sees the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

from fecbench_adapters.face_cues import FrameCues
from fecbench_adapters.face_events import CueEvent, eyes_measurable

INTROS = (
    "At the beginning of the video",
    "As the video progresses",
    "In the middle of the video",
    "Towards the end of the video",
)
NO_FACE = (
    "The video shows a scene in which no face could be found, so no facial appearance or expression "
    "change can be described."
)
OPEN_MOUTH = 0.12  # mouth-area dark share above which the mouth reads as open
TEETH = 0.04  # bright share above which teeth read as showing

PHRASES = {
    "move_left": "moves their head to the left",
    "move_right": "moves their head to the right",
    "move_up": "moves their head up",
    "move_down": "moves their head down",
    "tilt_left": "tilts their head to the left",
    "tilt_right": "tilts their head to the right",
    "come_closer": "moves closer to the camera",
    "move_away": "moves away from the camera",
    "raise_brows": "raises their eyebrows",
    "lower_brows": "lowers their eyebrows",
    "open_mouth": "opens their mouth",
    "close_mouth": "closes their mouth",
    "blink": "blinks",
    "close_eyes": "closes their eyes",
    "open_eyes": "opens their eyes",
    "start_smile": "starts to smile",
    "stop_smile": "stops smiling",
}


def phase_of(time: float, phases: int = len(INTROS)) -> int:
    return min(phases - 1, int(time * phases))


def write_caption(cues: Sequence[FrameCues], times: Sequence[float], events: Sequence[CueEvent]) -> str:
    """The baseline's caption of one clip.

    The starting state (eyes, mouth, smile) is told where the face is first found, normally at the
    beginning; phases whose frames show no face say so instead of guessing.
    """
    faces = [c for c in cues if c.found]
    if not faces:
        return NO_FACE
    phases: list[list[FrameCues]] = [[] for _ in INTROS]
    for time, cue in zip(times, cues, strict=True):
        phases[phase_of(time)].append(cue)
    said: list[list[str]] = [[] for _ in INTROS]
    for event in sorted([*events, *_smile_events(phases)], key=lambda e: e.time):
        said[phase_of(event.time)].append(PHRASES[event.kind])
    eyes_known = eyes_measurable(cues)
    sentences = []
    introduced = False
    for index, (intro, frames, phrases) in enumerate(zip(INTROS, phases, said, strict=True)):
        seen = [c for c in frames if c.found]
        if seen and not introduced:
            introduced = True
            state = _initial_state(seen[0], eyes_known)
            then = f"; then the person {_join(phrases)}" if phrases else ""
            appears = "a face comes into view, and " if index else ""
            sentences.append(f"{intro}, {appears}{state}{then}.")
        elif frames and not seen:
            sentences.append(f"{intro}, no face can be found in the frame.")
        elif phrases:
            sentences.append(f"{intro}, the person {_join(phrases)}.")
        else:
            sentences.append(f"{intro}, there is no obvious change in the facial expression.")
    return f"{_appearance(faces)}\n{sentences[0]} {sentences[1]}\n{sentences[2]}\n{sentences[3]}"


def _appearance(faces: Sequence[FrameCues]) -> str:
    """Only what the detector measures: a frontal face, its size and position, other faces."""
    size = median(c.size for c in faces if c.size is not None)
    x = median(c.centre[0] for c in faces if c.centre is not None)
    shot = "in close-up" if size >= 0.45 else "small in the frame" if size < 0.18 else "in a medium shot"
    place = "on the left side" if x < 0.35 else "on the right side" if x > 0.65 else "near the centre"
    text = f"The video shows a person's face, seen from the front {shot} {place} of the frame."
    if sum(c.faces > 1 for c in faces) * 3 >= len(faces):
        text += " Other faces also appear; this description follows the largest one."
    return text


def _initial_state(first: FrameCues, eyes_known: bool) -> str:
    """Eyes (when the eye detector works on this face), mouth and smile in the first frame with a face."""
    features = []
    if eyes_known and first.eyes is not None:
        features.append("eyes open" if first.eyes > 0 else "eyes closed")
    smile = ""
    if (first.mouth_dark or 0.0) >= OPEN_MOUTH:
        features.append("mouth open")
    elif first.smile:
        smile = ", smiling with teeth showing" if (first.teeth or 0.0) >= TEETH else ", smiling"
    else:
        features.append("mouth closed")
    with_features = " with " + " and ".join(features) if features else ""
    return f"the person faces the camera{with_features}{smile}"


def _smile_events(phases: Sequence[Sequence[FrameCues]]) -> list[CueEvent]:
    """A smile that starts or stops: the smile cascade's majority flips between phases."""
    events: list[CueEvent] = []
    before: bool | None = None
    for index, frames in enumerate(phases):
        votes = [c.smile for c in frames if c.found and c.smile is not None]
        if not votes:
            continue
        if 2 * sum(votes) == len(votes):
            continue  # a tie says nothing new
        now = 2 * sum(votes) > len(votes)
        if before is not None and now != before:
            events.append(CueEvent("start_smile" if now else "stop_smile", (index + 0.5) / len(phases)))
        before = now
    return events


def _join(phrases: Sequence[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]
