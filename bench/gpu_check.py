"""The Python side of ``bench/gpu_check.sh``: one subcommand per check, each printing its one line.

A line starts with PASS or FAIL, names the check and says what was measured. The shell script runs
the subcommands in order, each under a time limit, in one work folder:

- ``probe``: exit 0 and name the GPU when torch sees CUDA; else print the skip line and exit 3
  (exit 2 when torch itself is missing).
- ``build WORK``: the checkpoint and clips the checks share (``bench/gpu_check_inputs.py``).
- ``test-lines JUNIT RC``: the lines of the GPU-marked tests and of bfloat16 batch invariance, read
  from the junit XML of ``pytest -m gpu`` (its exit status ``RC``).
- ``auto-batch WORK``: ``--batch-size auto`` against a real CUDA out-of-memory, with the memory the
  process may use capped (``torch.cuda.set_per_process_memory_fraction``) between what a batch of 4
  clips and a batch of 8 needs, as measured first.
- ``overlap WORK``: end-to-end over model-only time (goal <= 1.10) and the decoding rate over the
  generate rate, from ``fecbench run`` commands and model-only runs taking turns.
- ``model-only WORK``: one model-only run (a child of ``overlap``), its timings as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_check_inputs import SIZES, build_qwen2_vl, write_clip_set

MIB = 1024 * 1024
#: The transformers adapters whose bfloat16 batch invariance the GPU-marked tests check.
BF16_TEST = "test_gpu_bfloat16_batched_greedy_equals_unbatched"
TRANSFORMERS_ADAPTERS = 7
AUTO_FITS = 4  # the batch size the memory cap is set for: 4 fits, 8 does not
OVERLAP_GOAL = 1.10


def line(ok: bool, name: str, detail: str) -> str:
    return f"{'PASS' if ok else 'FAIL'} {name}: {detail}"


# ---------------------------------------------------------------- probe


def probe() -> int:
    try:
        import torch
    except ImportError:
        print("gpu-check: cannot run: torch is not installed here; in the repository: pip install -e '.[test]'")
        return 2
    if not torch.cuda.is_available():
        print(f"gpu-check: skipped: torch {torch.__version__} sees no CUDA GPU on this machine; nothing was checked")
        return 3
    props = torch.cuda.get_device_properties(0)
    print(f"gpu-check: {props.name}, {props.total_memory / 2**30:.0f} GiB, torch {torch.__version__}")
    return 0


# ---------------------------------------------------------------- the GPU-marked tests


def test_lines(junit: Path, returncode: int) -> list[str]:
    """Two lines from ``pytest -m gpu``'s junit XML: all GPU-marked tests, and the bf16 batch-invariance ones."""
    if not junit.is_file():
        why = f"pytest wrote no report (exit {returncode}{': timed out' if returncode == 124 else ''})"
        return [line(False, "gpu-marked tests (pytest -m gpu)", why), line(False, "bf16 batched == unbatched", why)]
    outcomes: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        for outcome in ("failure", "error", "skipped"):
            found = case.find(outcome)
            if found is not None:
                outcomes[name] = outcome
                reasons[name] = (found.get("message") or "").splitlines()[0][:80] if found.get("message") else ""
                break
        else:
            outcomes[name] = "passed"
    counts = {k: sum(v == k for v in outcomes.values()) for k in ("passed", "failure", "error", "skipped")}
    bad = sorted(n for n, v in outcomes.items() if v in ("failure", "error"))
    skips = sorted({reasons[n] for n, v in outcomes.items() if v == "skipped"})
    summary = f"{counts['passed']} passed, {counts['failure'] + counts['error']} failed, {counts['skipped']} skipped"
    detail = summary + (f"; failed: {', '.join(bad)}" if bad else "")
    detail += f"; skips: {'; '.join(skips)}" if skips else ""
    first = line(returncode == 0 and not bad and counts["passed"] > 0, "gpu-marked tests (pytest -m gpu)", detail)

    bf16 = {n: v for n, v in outcomes.items() if n.split("::", 1)[1].startswith(BF16_TEST)}
    adapters = sorted(n.split("[", 1)[1].rstrip("]") if "[" in n else "qwen2-vl" for n in bf16)
    wrong = sorted(n for n, v in bf16.items() if v != "passed")
    ok = len(bf16) == TRANSFORMERS_ADAPTERS and not wrong
    second = (
        f"{sum(v == 'passed' for v in bf16.values())} of {TRANSFORMERS_ADAPTERS} transformers adapters equal "
        f"({', '.join(adapters) or 'none ran'})" + (f"; not passed: {', '.join(wrong)}" if wrong else "")
    )
    return [first, line(ok, "bf16 batched == unbatched", second)]


# ---------------------------------------------------------------- --batch-size auto on a real out-of-memory


def memory_cap(peak_one: int, peak_four: int, fits: int = AUTO_FITS) -> int:
    """Bytes to allow so that a batch of ``fits`` clips fits and one of ``2 * fits`` does not.

    Peaks are linear in the batch size (weights plus a share per clip), measured at 1 and 4 clips;
    the cap sits halfway between the peaks of ``fits`` and ``2 * fits`` clips.
    """
    per_clip = (peak_four - peak_one) / 3
    if per_clip <= 0:
        raise ValueError(f"peak memory does not grow with the batch ({peak_one} B for 1 clip, {peak_four} B for 4)")
    return int(peak_one + per_clip * (fits - 1 + fits / 2))


def auto_batch(work: Path, size: str, clips: int) -> str:
    import torch

    from fecbench import api
    from fecbench.adapter import GenerationConfig, VideoRequest
    from fecbench.plugins import load_adapter
    from fecbench.video.decode import decode_clip
    from fecbench.video.protocol import FrameProtocol

    name = "--batch-size auto on a real CUDA out-of-memory"
    checkpoint, annotations = work / "model", work / "clips" / "annotations.json"
    new_tokens = SIZES[size].new_tokens
    config = GenerationConfig(max_new_tokens=new_tokens)
    sampled = decode_clip(annotations.parent / "videos" / "GPU" / "clip_000.mp4", FrameProtocol())
    request = VideoRequest("probe", sampled.frames, "Describe the face.", list(sampled.timestamps))
    adapter = load_adapter("qwen2-vl", {"pretrained": str(checkpoint), "device": "cuda"})
    peaks = {}
    for batch in (1, 4):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        adapter.generate([request] * batch, config)
        peaks[batch] = torch.cuda.max_memory_reserved()
    model_bytes = torch.cuda.memory_allocated()
    adapter.close()
    del adapter
    torch.cuda.empty_cache()
    try:
        cap = memory_cap(peaks[1], peaks[4])
    except ValueError as exc:
        return line(False, name, f"cannot calibrate: {exc}")
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(cap / total, 0)
    ooms_before = torch.cuda.memory_stats().get("num_ooms", 0)
    result = api.run(
        "qwen2-vl",
        model_args={"pretrained": str(checkpoint), "device": "cuda"},
        annotations=annotations,
        video_roots=[str(annotations.parent / "videos")],
        limit=clips,
        batch_size="auto",
        max_new_tokens=new_tokens,
        output=work / "auto-run",
        frame_cache=False,
        score=False,
    )
    ooms = torch.cuda.memory_stats().get("num_ooms", 0) - ooms_before
    execution = json.loads((work / "auto-run" / "run.json").read_text())["execution"]
    found, backoffs = execution["batch_size_found"], execution["oom_backoffs"]
    ok = result.n_ok == clips and backoffs >= 1 and ooms >= backoffs and found is not None and found < clips
    per_clip = (peaks[4] - peaks[1]) / 3
    return line(
        ok,
        name,
        f"settled on {found} (expected about {AUTO_FITS}) after {backoffs} back-offs from "
        f"{execution['batch_size_ceiling']} ({ooms} CUDA OOMs counted by the allocator), {result.n_ok}/{clips} "
        f"clips captioned; memory capped at {cap / MIB:.0f} MiB (weights {model_bytes / MIB:.0f} MiB, "
        f"about {per_clip / MIB:.1f} MiB a clip)",
    )


# ---------------------------------------------------------------- overlap and throughput


def model_only(work: Path, device: str, batch: int, clips: int, new_tokens: int, workers: int) -> dict[str, float]:
    """Decode the clips (timed apart), then load the model and generate batch by batch, preparing each batch
    untimed: the model's own time, which a run's decoding, preparation and bookkeeping should hide behind."""
    from fecbench.video.decode import decode_clip
    from fecbench.video.protocol import FrameProtocol

    annotations = work / "clips" / "annotations.json"
    paths = [annotations.parent / "videos" / r["video"] for r in json.loads(annotations.read_text())[:clips]]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        sampled = list(pool.map(decode_clip, paths, [FrameProtocol()] * len(paths)))
    decode_s = time.perf_counter() - started

    started = time.perf_counter()
    from fecbench.adapter import GenerationConfig, VideoRequest
    from fecbench.plugins import load_adapter
    from fecbench.prompts import DEFAULT_INSTRUCTION

    adapter = load_adapter("qwen2-vl", {"pretrained": str(work / "model"), "device": device})
    load_s = time.perf_counter() - started
    import torch

    config = GenerationConfig(max_new_tokens=new_tokens)
    requests = [VideoRequest(str(i), s.frames, DEFAULT_INSTRUCTION, list(s.timestamps)) for i, s in enumerate(sampled)]
    generate_s = 0.0
    for start in range(0, len(requests), batch):
        chunk = requests[start : start + batch]
        adapter.prepare(chunk, config)
        started = time.perf_counter()
        adapter.generate(chunk, config)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        generate_s += time.perf_counter() - started
    adapter.close()
    return {"decode_s": decode_s, "load_s": load_s, "generate_s": generate_s, "clips": len(requests)}


def end_to_end(work: Path, device: str, batch: int, clips: int, new_tokens: int, run_dir: Path) -> float:
    """Wall time of the ``fecbench run`` command a user types (no frame cache, not scored)."""
    command = [
        sys.executable, "-m", "fecbench.cli", "run", "--model", "qwen2-vl",
        "--model-args", f"pretrained={work / 'model'},device={device}",
        "--annotations", str(work / "clips" / "annotations.json"), "--video-root", str(work / "clips" / "videos"),
        "--limit", str(clips), "--batch-size", str(batch), "--max-new-tokens", str(new_tokens),
        "--no-frame-cache", "--no-score", "--output", str(run_dir),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"fecbench run exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return elapsed


def overlap_lines(e2e: list[float], models: list[dict[str, float]], workers: int) -> list[str]:
    """The two lines: end-to-end over model-only (medians, with the per-round range), decoding over generating."""
    model_s = [m["load_s"] + m["generate_s"] for m in models]
    ratios = [a / b for a, b in zip(e2e, model_s, strict=True)]
    ratio = statistics.median(e2e) / statistics.median(model_s)
    first = line(
        ratio <= OVERLAP_GOAL,
        "end-to-end / model-only",
        f"{ratio:.3f} (goal <= {OVERLAP_GOAL}; per round {min(ratios):.3f}-{max(ratios):.3f}): fecbench run "
        f"{statistics.median(e2e):.2f} s over load + generate {statistics.median(model_s):.2f} s, "
        f"medians of {len(e2e)}",
    )
    clips = models[0]["clips"]
    decode_rate = statistics.median([m["clips"] / m["decode_s"] for m in models])
    generate_rate = statistics.median([m["clips"] / m["generate_s"] for m in models])
    second = line(
        decode_rate >= generate_rate,
        "decode rate / generate rate",
        f"{decode_rate / generate_rate:.2f}: decoding {decode_rate:.1f} clips/s with {workers} workers "
        f"(--decode-workers default) against generating {generate_rate:.1f} clips/s ({clips} clips)",
    )
    return [first, second]


def overlap(work: Path, device: str, size: str, batch: int, clips: int, repeats: int, workers: int) -> list[str]:
    new_tokens = SIZES[size].new_tokens
    e2e: list[float] = []
    models: list[dict[str, float]] = []
    for round_ in range(repeats):
        order = ("e2e", "model") if round_ % 2 == 0 else ("model", "e2e")
        for kind in order:
            if kind == "e2e":
                run_dir = work / f"overlap-run-{round_}"
                e2e.append(end_to_end(work, device, batch, clips, new_tokens, run_dir))
                continue
            command = [sys.executable, __file__, "model-only", str(work), "--device", device, "--size", size]
            command += ["--batch", str(batch), "--clips", str(clips), "--workers", str(workers)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"model-only run exited {done.returncode}: {done.stderr.strip()[-300:]}")
            models.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return overlap_lines(e2e, models, workers)


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("probe")
    build = commands.add_parser("build")
    tests = commands.add_parser("test-lines")
    tests.add_argument("junit", type=Path)
    tests.add_argument("returncode", type=int)
    auto = commands.add_parser("auto-batch")
    over = commands.add_parser("overlap")
    only = commands.add_parser("model-only")
    for sub in (build, auto, over, only):
        sub.add_argument("work", type=Path)
        sub.add_argument("--size", choices=sorted(SIZES), default="gpu")
    for sub in (build, over, only):
        sub.add_argument("--device", default="cuda")
    for sub in (over, only):
        sub.add_argument("--batch", type=int, default=8)
        sub.add_argument("--workers", type=int, default=2)
    build.add_argument("--clips", type=int, default=64)
    auto.add_argument("--clips", type=int, default=32)
    over.add_argument("--clips", type=int, default=64)
    only.add_argument("--clips", type=int, default=64)
    over.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    if args.command == "probe":
        return probe()
    if args.command == "test-lines":
        print("\n".join(test_lines(args.junit, args.returncode)))
        return 0
    if args.command == "build":
        build_qwen2_vl(args.work / "model", SIZES[args.size], args.device)
        write_clip_set(args.work / "clips", args.clips)
        return 0
    if args.command == "auto-batch":
        print(auto_batch(args.work, args.size, args.clips))
        return 0
    if args.command == "model-only":
        new_tokens = SIZES[args.size].new_tokens
        print(json.dumps(model_only(args.work, args.device, args.batch, args.clips, new_tokens, args.workers)))
        return 0
    print("\n".join(overlap(args.work, args.device, args.size, args.batch, args.clips, args.repeats, args.workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
