"""fecbench against lmms-eval 0.7.3: whole-command wall time on the same model, clips and frame count.

Both harnesses run the same tiny random-weight Qwen2-VL (built here, loaded by path), over the same
generated clips (4 s at 25 fps, so lmms-eval's qwen_vl_utils, which samples at 2 fps, also feeds the
model 8 frames), with the FEC-Bench instruction, greedy, the same generation length. Each command is
timed from process start to exit, as a user experiences it; fecbench also scores its run (CIDEr-D,
ROUGE-L and the lexical judge's event metrics), lmms-eval computes its task metric. lmms-eval runs
video models at batch size 1; fecbench runs its default batching (``--batch-size``).

Two settings, because the two harnesses do not feed the model the same frame size by default:

- ``defaults``: each harness as a user runs it. fecbench follows Qwen's reference video
  preprocessing (qwen-vl-utils' floor of 128 merged patches a frame), which upscales the 128x128
  frames to 336x336 (576 visual tokens a clip); lmms-eval passes ``min_pixels=3136``, which keeps
  them at 140x140 (100 tokens). fecbench does more model work here.
- ``equal``: the same frames and visual tokens on both sides: fecbench gets lmms-eval's pixel limits
  (``min_pixels=3136,max_pixels=602112``), lmms-eval runs as in ``defaults``.

The visual tokens are not assumed, they are read: fecbench's from each run's ``run.json``
(``execution.visual_tokens``), lmms-eval's from an untimed probe run (``--limit``) that counts the
video tokens in every ``generate`` call's input. The script stops if the ``equal`` setting's counts differ.

Both sides run with the same thread settings (``--threads``, default: the CPU count) and
``OMP_WAIT_POLICY=PASSIVE``: with OpenMP's default spin-waiting, torch's idle threads busy-wait on a
loaded 2-core machine and can stall the other side's work ~10x, and the ratio would measure that.
Runs alternate (the order flips every repeat); the script prints each side's median with its range
and the ratio of medians with the range of the per-repeat ratios.
Target: fecbench time over lmms-eval time at most 0.5.

lmms-eval lives in a venv of its own (its pins clash with ours): ``bench/setup_lmms_eval.sh VENV``
builds it from PyPI (torch/torchvision from this machine's disk).

    python bench/vs_lmms_eval.py --lmms-python VENV/bin/python [--clips 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SECONDS, FPS, SIDE = 4, 25, 128

TASK_YAML = """task: fecbench_tiny
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_visual: !function utils.doc_to_visual
doc_to_text: !function utils.doc_to_text
doc_to_target: caption
generation_kwargs:
  max_new_tokens: {max_new_tokens}
  temperature: 0
  do_sample: false
  num_beams: 1
process_results: !function utils.process_results
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
metadata:
  version: 0.0
"""

TASK_UTILS = """
def doc_to_visual(doc):
    return [doc["video"]]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return doc["question"]


def process_results(doc, results):
    return {"exact_match": float(bool(results) and results[0].strip() == doc["caption"])}
"""


def write_clips(root: Path, count: int) -> list[dict[str, str]]:
    """``count`` H.264 clips of a moving square on a drifting gradient, under ``root/videos/TINY``."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    records = []
    for i in range(count):
        video = f"TINY/clip_{i:03d}.mp4"
        path = root / "videos" / video
        path.parent.mkdir(parents=True, exist_ok=True)
        colour = rng.integers(64, 256, 3)
        vx, vy = rng.integers(1, 4, size=2)
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=FPS)
            stream.width, stream.height, stream.pix_fmt = SIDE, SIDE, "yuv420p"
            stream.options = {"crf": "23", "preset": "veryfast"}
            for t in range(SECONDS * FPS):
                image = np.zeros((SIDE, SIDE, 3), np.uint8)
                image[..., 0] = (xx + 2 * t + i) % 256 // 4
                image[..., 1] = (yy + t) % 256 // 4
                image[..., 2] = 40
                x0, y0 = (10 + vx * t) % (SIDE - 32), (10 + vy * t) % (SIDE - 32)
                image[y0 : y0 + 32, x0 : x0 + 32] = colour
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        records.append({"id": str(i), "video": video, "caption": f"The square moves across clip {i}."})
    return records


def prepare(work: Path, clips: int, max_new_tokens: int) -> dict[str, Path]:
    """Model, clips, fecbench annotations and the lmms-eval task: everything both commands read."""
    sys.path.insert(0, str(REPO / "tests"))
    from tiny_models import build_tiny_qwen2_vl

    from fecbench.prompts import DEFAULT_INSTRUCTION

    model = build_tiny_qwen2_vl(work / "tiny-qwen2vl")
    records = write_clips(work, clips)
    annotations = work / "annotations.json"
    annotations.write_text(json.dumps(records), encoding="utf-8")
    task_dir = work / "tasks" / "fecbench_tiny"
    task_dir.mkdir(parents=True)
    data = work / "lmms_data.jsonl"
    with data.open("w", encoding="utf-8") as handle:
        for record in records:
            doc = {
                "id": record["id"],
                "video": str(work / "videos" / record["video"]),
                "question": DEFAULT_INSTRUCTION,
                "caption": record["caption"],
            }
            handle.write(json.dumps(doc) + "\n")
    (task_dir / "fecbench_tiny.yaml").write_text(
        TASK_YAML.format(data=data, max_new_tokens=max_new_tokens), encoding="utf-8"
    )
    (task_dir / "utils.py").write_text(TASK_UTILS, encoding="utf-8")
    return {"model": model, "annotations": annotations, "videos": work / "videos", "tasks": work / "tasks"}


#: lmms-eval 0.7.3's Qwen2-VL defaults, passed to qwen_vl_utils for every video.
LMMS_EVAL_PIXELS = {"min_pixels": 3136, "max_pixels": 602112}
SETTINGS = {"defaults": {}, "equal": LMMS_EVAL_PIXELS}

#: Runs lmms-eval as ``python -m lmms_eval`` does, counting the video tokens of every ``generate`` input (a JSON
#: line per clip in $FECBENCH_TOKEN_LOG); used only for the untimed probe run.
TOKEN_PROBE = """
import json, os, runpy, sys
import transformers

log = os.environ["FECBENCH_TOKEN_LOG"]
model_class = transformers.Qwen2VLForConditionalGeneration
original = model_class.generate

def counting_generate(self, *args, **kwargs):
    visual = kwargs["input_ids"] == self.config.video_token_id
    if kwargs.get("attention_mask") is not None:
        visual &= kwargs["attention_mask"].bool()
    with open(log, "a") as handle:
        handle.writelines(json.dumps(int(n)) + "\\n" for n in visual.sum(dim=1).tolist())
    return original(self, *args, **kwargs)

model_class.generate = counting_generate
sys.argv[0] = "lmms_eval"
runpy.run_module("lmms_eval", run_name="__main__", alter_sys=True)
"""


def bench_env(work: Path, threads: int) -> dict[str, str]:
    """Offline, quiet, and the same threading for both harnesses (passive OpenMP waits)."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HOME=str(work / "hf_home"),
        TOKENIZERS_PARALLELISM="false",
        WANDB_MODE="disabled",
        FECBENCH_CACHE_DIR=str(work / "fecbench_cache"),
        OMP_WAIT_POLICY="PASSIVE",
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
    )
    return env


def timed(command: list[str], env: dict[str, str], log: Path) -> float:
    started = time.perf_counter()
    with log.open("w") as handle:
        completed = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{command[0]} exited {completed.returncode}; see {log}")
    return elapsed


def lmms_command(python: str, paths: dict[str, Path], args: argparse.Namespace, out: Path) -> list[str]:
    model_args = f"pretrained={paths['model']},device=cpu,device_map=cpu,max_num_frames={args.frames}"
    return [
        python, "-m", "lmms_eval", "--model", "qwen2_vl", "--model_args", model_args,
        "--tasks", "fecbench_tiny", "--include_path", str(paths["tasks"]), "--batch_size", "1",
        "--gen_kwargs", f"max_new_tokens={args.max_new_tokens},temperature=0",
        "--output_path", str(out), "--log_samples",
    ]  # fmt: skip


def fecbench_command(paths: dict[str, Path], args: argparse.Namespace, setting: str, run_dir: Path) -> list[str]:
    model_args = ",".join(
        [f"pretrained={paths['model']}", "device=cpu", *(f"{k}={v}" for k, v in SETTINGS[setting].items())]
    )
    return [
        str(Path(sys.executable).with_name("fecbench")), "run", "--model", "qwen2-vl", "--model-args", model_args,
        "--annotations", str(paths["annotations"]), "--video-root", str(paths["videos"]),
        "--frames", str(args.frames), "--batch-size", str(args.batch_size),
        "--max-new-tokens", str(args.max_new_tokens), "--no-frame-cache", "--output", str(run_dir),
    ]  # fmt: skip


def lmms_visual_tokens(paths: dict[str, Path], args: argparse.Namespace, env: dict[str, str], work: Path) -> list[int]:
    """Visual tokens per clip as lmms-eval feeds them, from an untimed run over the first ``--probe-clips`` clips."""
    probe, log = work / "lmms_token_probe.py", work / "lmms_tokens.jsonl"
    probe.write_text(TOKEN_PROBE, encoding="utf-8")
    log.unlink(missing_ok=True)
    command = lmms_command(args.lmms_python, paths, args, work / "lmms_probe_out")
    command[1:3] = [str(probe)]  # the probe in place of "-m lmms_eval"
    timed([*command, "--limit", str(args.probe_clips)], {**env, "FECBENCH_TOKEN_LOG": str(log)}, work / "probe.log")
    counts = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    if len(counts) != args.probe_clips:
        raise SystemExit(f"the lmms-eval probe counted {len(counts)} clips, not {args.probe_clips}; see {work}")
    return counts


def fecbench_visual_tokens(run_dir: Path) -> dict[str, float]:
    tokens = json.loads((run_dir / "run.json").read_text())["execution"]["visual_tokens"]
    if tokens is None:
        raise SystemExit(f"{run_dir}: run.json records no visual tokens")
    return tokens


def spread(values: list[float]) -> dict[str, float]:
    """Median and range, rounded for printing."""
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lmms-python", required=True, help="python of a venv with lmms-eval 0.7.3")
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="OMP/MKL threads, both sides")
    parser.add_argument("--probe-clips", type=int, default=4, help="clips of the untimed lmms-eval token probe")
    parser.add_argument("--keep", type=Path, help="keep the work folder here (default: a temporary one)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fecbench-vs-lmms-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    paths = prepare(work, args.clips, args.max_new_tokens)
    env = bench_env(work, args.threads)
    lmms_tokens = lmms_visual_tokens(paths, args, env, work)
    print(f"lmms-eval feeds {sorted(set(lmms_tokens))} visual tokens a clip (probe over {len(lmms_tokens)} clips)")

    times: dict[str, list[float]] = {"lmms-eval": [], "defaults": [], "equal": []}
    tokens: dict[str, dict[str, float]] = {}
    for repeat in range(args.repeats):
        order = ["lmms-eval", "defaults", "equal"]
        for side in order if repeat % 2 == 0 else order[::-1]:
            if side == "lmms-eval":
                out = work / f"lmms_out_{repeat}"
                times[side].append(
                    timed(lmms_command(args.lmms_python, paths, args, out), env, work / f"lmms_{repeat}.log")
                )
                if not list(out.rglob("*_results.json")):  # lmms-eval exits 0 even when evaluation raised
                    raise SystemExit(f"lmms-eval wrote no results; see {work / f'lmms_{repeat}.log'}")
                continue
            run_dir = work / f"fecbench_{side}_{repeat}"
            shutil.rmtree(run_dir, ignore_errors=True)
            times[side].append(timed(fecbench_command(paths, args, side, run_dir), env, work / f"{run_dir.name}.log"))
            scored = json.loads((run_dir / "scores.json").read_text())
            if scored["n"] != args.clips:
                raise SystemExit(f"fecbench scored {scored['n']} of {args.clips} clips; see {run_dir}")
            tokens[side] = fecbench_visual_tokens(run_dir)
        print(f"repeat {repeat + 1}: " + ", ".join(f"{side} {t[-1]:.1f} s" for side, t in times.items()))

    equal = tokens["equal"]
    if not (equal["mean"] == equal["max"] and set(lmms_tokens) == {equal["max"]}):
        raise SystemExit(f"equal setting: fecbench fed {equal} visual tokens, lmms-eval {sorted(set(lmms_tokens))}")
    lmms = times["lmms-eval"]
    report: dict[str, object] = {
        "clips": args.clips,
        "frames": args.frames,
        "fecbench_batch_size": args.batch_size,
        "lmms_eval_batch_size": 1,
        "max_new_tokens": args.max_new_tokens,
        "threads": args.threads,
        "omp_wait_policy": "PASSIVE",
        "lmms_eval": {"visual_tokens_per_clip": sorted(set(lmms_tokens)), "seconds": spread(lmms)},
    }
    for setting in ("defaults", "equal"):
        ours = times[setting]
        report[setting] = {
            "fecbench_model_args": SETTINGS[setting],
            "fecbench_visual_tokens": tokens[setting],
            "fecbench_seconds": spread(ours),
            "ratio_of_medians": round(statistics.median(ours) / statistics.median(lmms), 3),
            "ratio_per_repeat": spread([a / b for a, b in zip(ours, lmms, strict=True)]),
        }
    report.update(target="<= 0.5", work=str(work))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
