"""What does ``--model-env`` cost? The same adapter in-process and in a worker of another environment.

Two measurements, each from alternating runs (in-process, worker, in-process, ...), medians with ranges:

1. **Per batch**: ``generate`` on the same requests, in-process vs through the proxy (frames copied
   into shared memory, a JSON message each way, the worker's numpy views). The adapter is the test
   suite's ``frame-stats`` (it reads every frame byte: the same model work on both sides), so the
   difference is the proxy's cost per batch. Frames are the default protocol's size, 8 x 448 x 448 x 3.
2. **End to end**: ``fecbench.run`` over the same clips (decoding, batching, store; no scoring), so
   the worker's start (interpreter, imports, handshake) is counted too.

The worker environment is a venv with numpy 1.26.4, pluggy and fecbench ``--no-deps`` (built as
the tests build it) unless ``--model-env`` names one. OMP_WAIT_POLICY=PASSIVE on both sides.

    python bench/model_env_overhead.py [--model-env PATH] [--rounds 7] [--clips 24]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "plugins")]
os.environ["FECBENCH_PLUGINS"] = "fecbench_test_adapters"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS / "plugins"), os.environ.get("PYTHONPATH")]))
os.environ.setdefault("FECBENCH_OFFLINE", "1")

import numpy as np  # noqa: E402
from conftest import make_clip_set  # noqa: E402
from model_venv import build_model_venv  # noqa: E402

from fecbench import GenerationConfig, VideoRequest, api  # noqa: E402
from fecbench.model_env.interpreter import ModelEnv  # noqa: E402
from fecbench.plugins import get_adapter, load_adapter  # noqa: E402


def summary(values: list[float], unit: str = "ms", scale: float = 1000.0) -> str:
    scaled = [v * scale for v in values]
    return f"{statistics.median(scaled):8.2f} {unit} (range {min(scaled):.2f}-{max(scaled):.2f})"


def alternate(rounds: int, here: Callable[[], None], there: Callable[[], None]) -> tuple[list[float], list[float]]:
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for side, call in enumerate((here, there)):
            started = time.perf_counter()
            call()
            times[side].append(time.perf_counter() - started)
    return times


def per_batch(env: ModelEnv, rounds: int, frames: int, side: int) -> None:
    rng = np.random.default_rng(0)
    here = load_adapter("frame-stats", {})
    there = load_adapter("frame-stats", {}, env)
    config = GenerationConfig()
    print(f"per batch ({frames} x {side} x {side} x 3 uint8 frames per clip, {rounds} alternating rounds x 5 calls):")
    try:
        for size in (1, 4, 16):
            requests = [
                VideoRequest(str(i), rng.integers(0, 255, (frames, side, side, 3), dtype=np.uint8), "describe")
                for i in range(size)
            ]
            assert here.generate(requests, config) == there.generate(requests, config)

            def call(adapter: object, requests: list[VideoRequest] = requests) -> Callable[[], None]:
                return lambda: [adapter.generate(requests, config) for _ in range(5)]  # type: ignore[attr-defined]

            a, b = alternate(rounds, call(here), call(there))
            a, b = [t / 5 for t in a], [t / 5 for t in b]
            extra = [y - x for x, y in zip(a, b, strict=True)]
            megabytes = size * frames * side * side * 3 / 1e6
            print(f"  batch {size:2d} ({megabytes:5.1f} MB): in-process {summary(a)}, worker {summary(b)}")
            ratio = statistics.median(b) / statistics.median(a)
            print(f"             proxy cost per batch {summary(extra)}; ratio {ratio:.2f}")
    finally:
        here.close()
        there.close()


def end_to_end(env: ModelEnv, rounds: int, clips: int, batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        annotations = make_clip_set(Path(tmp) / "set", clips)
        count = iter(range(10**6))

        def run(model_env: ModelEnv | None) -> Callable[[], None]:
            def go() -> None:
                api.run(
                    "frame-stats",
                    annotations=annotations,
                    video_roots=[str(annotations.parent / "videos")],
                    output=Path(tmp) / f"run{next(count)}",
                    batch_size=batch_size,
                    score=False,
                    model_env=model_env.given if model_env else None,
                )

            return go

        run(None)()  # warm the frame cache: both sides then read the same cached frames
        a, b = alternate(rounds, run(None), run(env))
    print(f"end to end ({clips} clips, batch size {batch_size}, frame cache warm, {rounds} alternating rounds):")
    print(f"  in-process {summary(a, 's', 1.0)}, worker {summary(b, 's', 1.0)}")
    print(f"  worker - in-process: {summary([y - x for x, y in zip(a, b, strict=True)], 's', 1.0)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-env", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--side", type=int, default=448)
    args = parser.parse_args()
    get_adapter("frame-stats")
    with tempfile.TemporaryDirectory() as tmp:
        venv = args.model_env or build_model_venv(Path(tmp))
        env = ModelEnv.resolve(venv)
        print(f"driver: numpy {np.__version__}; worker: {env.python}")
        per_batch(env, args.rounds, args.frames, args.side)
        end_to_end(env, args.rounds, args.clips, args.batch_size)


if __name__ == "__main__":
    main()
