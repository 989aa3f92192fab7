"""Reference captions written from a script, in FEC-Bench's style.

The layout follows the test set: an appearance sentence, a newline, the beginning and "as the video
progresses" phases, then the middle and the end on lines of their own. Only what the script makes the
face do is narrated, so every event a judge could extract from the caption is really in the clip.
"""

from __future__ import annotations

from fecbench.demo.face import APPEARANCE
from fecbench.demo.script import PHASES, Pose, Script, apply

INTROS = (
    "At the beginning of the video",
    "As the video progresses",
    "In the middle of the video",
    "Towards the end of the video",
)
NO_CHANGE = (
    "",
    "As the video progresses, her expression stays the same.",
    "In the middle of the video, there is no obvious change in her facial expression.",
    "Towards the end of the video, she holds this expression without obvious change.",
)
OPENING = "she looks straight at the camera with a broad smile that shows her upper teeth, her eyes open"

_PHRASES = {
    "move_left": "moves her head to the left",
    "move_right": "moves her head to the right",
    "move_up": "moves her head upwards",
    "move_down": "moves her head downwards",
    "tilt_left": "tilts her head to the left",
    "tilt_right": "tilts her head to the right",
    "come_closer": "moves closer to the camera, her face growing larger in the frame",
    "move_away": "moves away from the camera, her face becoming smaller in the frame",
    "blink": "blinks",
    "close_eyes": "closes her eyes",
    "open_eyes": "opens her eyes again",
    "open_mouth": "opens her mouth wide, her upper teeth still showing",
    "close_mouth": "closes her mouth back into a smile",
    "raise_brows": "raises her eyebrows",
    "lower_brows": "lowers her eyebrows again",
}
# Moves that bring a head axis back to rest read better as a return.
_RETURNS = {
    "move_left": "moves her head back to the left, to the centre of the frame",
    "move_right": "moves her head back to the right, to the centre of the frame",
    "move_up": "moves her head back up to where it started",
    "move_down": "moves her head back down to where it started",
    "tilt_left": "straightens her head",
    "tilt_right": "straightens her head",
    "come_closer": "comes closer again, back to her starting distance from the camera",
    "move_away": "moves back again, to her starting distance from the camera",
}


def event_phrase(kind: str, before: Pose) -> str:
    """The verb phrase for one event, aware of whether it returns the head to rest."""
    after = apply(before, kind)
    moved = [axis for axis in ("x", "y", "tilt", "zoom") if getattr(after, axis) != getattr(before, axis)]
    if moved and all(getattr(after, axis) == 0 for axis in moved):
        return _RETURNS[kind]
    return _PHRASES[kind]


def _join(phrases: list[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + ", and then " + phrases[-1]


def write_caption(script: Script) -> str:
    """The reference caption of a clip played from ``script``."""
    poses = script.poses()
    by_phase: list[list[str]] = [[] for _ in range(PHASES)]
    for event, before in zip(script.events, poses, strict=False):
        by_phase[event.phase].append(event_phrase(event.kind, before))
    sentences = []
    for phase, phrases in enumerate(by_phase):
        if phase == 0:
            then = f"; then she {_join(phrases)}" if phrases else ""
            sentences.append(f"{INTROS[0]}, {OPENING}{then}.")
        elif phrases:
            sentences.append(f"{INTROS[phase]}, she {_join(phrases)}.")
        else:
            sentences.append(NO_CHANGE[phase])
    return f"{APPEARANCE}\n{sentences[0]} {sentences[1]}\n{sentences[2]}\n{sentences[3]}"
