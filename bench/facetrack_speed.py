"""How long does face tracking add per clip? The tracker's time per clip and per frame, in one run.

Clips are generated multi-person scenes (the astronaut face, two or three people of different sizes
moving, one of them leaving the picture for a while), sampled at the run protocol's frame sizes:
448x252 (a 16:9 source) and 448x448. For each frame count the tracker runs on every clip after one
warm-up clip (which pays for loading the cascade and importing scipy); the numbers are wall-clock
seconds on however many cores OpenCV uses here. "crops" is the extra time to cut the 224x224 face
crops, and "main IoU" the smallest IoU of the chosen track with the true main face over all frames
where it is visible (a check that the timed work is the real thing).

    python bench/facetrack_speed.py [--clips 10] [--frames 8 16] [--detector haar|mtcnn] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from fecbench.facetrack import FaceTracker
from fecbench.facetrack.synthetic import Person, Scene
from fecbench.facetrack.tracker import tracker_settings

SIZES = ((448, 252), (448, 448))


def scenes(width: int, height: int, count: int) -> list[Scene]:
    """``count`` scenes; person 0 (the largest, most central one) is the main character."""
    rng = np.random.default_rng(0)
    found = []
    for i in range(count):
        side = min(width, height)
        main = Person(
            (width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.55)),
            (width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.55)),
            side * rng.uniform(0.3, 0.4),
            hidden=((0.4, 0.55),) if i % 2 else (),
        )
        others = [
            Person((width * 0.15, height * 0.3), (width * 0.2, height * 0.35), side * 0.15, mirror=True),
            Person((width * 0.85, height * 0.7), (width * 0.8, height * 0.65), side * 0.2, tint=(0.9, 1.0, 1.1)),
        ]
        found.append(Scene(width, height, [main, *others[: 1 + i % 2]], seed=i))
    return found


def measure(tracker: FaceTracker, width: int, height: int, frames: int, clips: int) -> dict[str, float]:
    tracked, cropped, worst = [], [], 1.0
    all_scenes = scenes(width, height, clips + 1)
    for index, scene in enumerate(all_scenes):
        video = scene.render(frames)
        started = time.perf_counter()
        result = tracker.track(video)
        middle = time.perf_counter()
        result.crops(video, 224)
        ended = time.perf_counter()
        if index == 0:
            continue  # warm-up
        tracked.append(middle - started)
        cropped.append(ended - middle)
        times = np.linspace(0.0, 1.0, frames)
        for box, t in zip(result.main_boxes(), times, strict=True):
            truth = scene.truth(float(t))[0]
            if truth is not None:
                worst = min(worst, box.iou(truth) if box is not None else 0.0)
    clip = statistics.median(tracked)
    return {
        "size": f"{width}x{height}",
        "frames": frames,
        "clips": clips,
        "track_s_per_clip": round(clip, 4),
        "track_ms_per_frame": round(1000 * clip / frames, 2),
        "crops_s_per_clip": round(statistics.median(cropped), 4),
        "main_iou_min": round(worst, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--detector", default="haar")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    tracker = FaceTracker(tracker_settings(detector=args.detector))
    rows = [measure(tracker, w, h, n, args.clips) for w, h in SIZES for n in args.frames]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"detector {args.detector}, median over {args.clips} clips after one warm-up clip")
    print(f"{'size':>9} {'frames':>6} {'s/clip':>8} {'ms/frame':>9} {'crops s/clip':>12} {'main IoU min':>12}")
    for r in rows:
        print(
            f"{r['size']:>9} {r['frames']:>6} {r['track_s_per_clip']:>8.3f} {r['track_ms_per_frame']:>9.1f} "
            f"{r['crops_s_per_clip']:>12.4f} {r['main_iou_min']:>12.3f}"
        )


if __name__ == "__main__":
    main()
