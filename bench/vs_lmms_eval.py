"""fecbench against lmms-eval 0.7.3: whole-command wall time on the same model, clips and frame count.

Both harnesses run the same tiny random-weight Qwen2-VL (built here, loaded by path), over the same
generated clips (4 s at 25 fps, so lmms-eval's qwen_vl_utils, which samples at 2 fps, also feeds the
model 8 frames), with the FEC-Bench instruction, greedy, the same generation length. Each command is
timed from process start to exit, as a user experiences it, alternating the two; fecbench also scores
its run (CIDEr-D, ROUGE-L and the lexical judge's event metrics), lmms-eval computes its task metric.
lmms-eval runs video models at batch size 1; fecbench runs its default batching (``--batch-size``).
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


def offline_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HOME=str(work / "hf_home"),
        TOKENIZERS_PARALLELISM="false",
        WANDB_MODE="disabled",
        FECBENCH_CACHE_DIR=str(work / "fecbench_cache"),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lmms-python", required=True, help="python of a venv with lmms-eval 0.7.3")
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the work folder here (default: a temporary one)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fecbench-vs-lmms-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    paths = prepare(work, args.clips, args.max_new_tokens)
    env = offline_env(work)
    fecbench_exe = str(Path(sys.executable).with_name("fecbench"))
    times: dict[str, list[float]] = {"fecbench": [], "lmms-eval": []}
    for repeat in range(args.repeats):
        out = work / f"lmms_out_{repeat}"
        lmms = [
            args.lmms_python, "-m", "lmms_eval", "--model", "qwen2_vl",
            "--model_args", f"pretrained={paths['model']},device=cpu,device_map=cpu,max_num_frames={args.frames}",
            "--tasks", "fecbench_tiny", "--include_path", str(paths["tasks"]), "--batch_size", "1",
            "--gen_kwargs", f"max_new_tokens={args.max_new_tokens},temperature=0",
            "--output_path", str(out), "--log_samples",
        ]  # fmt: skip
        times["lmms-eval"].append(timed(lmms, env, work / f"lmms_{repeat}.log"))
        if not list(out.rglob("*_results.json")):  # lmms-eval exits 0 even when evaluation raised
            raise SystemExit(f"lmms-eval wrote no results; see {work / f'lmms_{repeat}.log'}")
        run_dir = work / f"fecbench_run_{repeat}"
        shutil.rmtree(run_dir, ignore_errors=True)
        ours = [
            fecbench_exe, "run", "--model", "qwen2-vl", "--model-args", f"pretrained={paths['model']},device=cpu",
            "--annotations", str(paths["annotations"]), "--video-root", str(paths["videos"]),
            "--frames", str(args.frames), "--batch-size", str(args.batch_size),
            "--max-new-tokens", str(args.max_new_tokens), "--no-frame-cache", "--output", str(run_dir),
        ]  # fmt: skip
        times["fecbench"].append(timed(ours, env, work / f"fecbench_{repeat}.log"))
        scored = json.loads((run_dir / "scores.json").read_text())
        if scored["n"] != args.clips:
            raise SystemExit(f"fecbench scored {scored['n']} of {args.clips} clips; see {run_dir}")
        print(f"repeat {repeat + 1}: lmms-eval {times['lmms-eval'][-1]:.1f} s, fecbench {times['fecbench'][-1]:.1f} s")
    lmms_median, ours_median = statistics.median(times["lmms-eval"]), statistics.median(times["fecbench"])
    print(
        json.dumps(
            {
                "clips": args.clips,
                "frames": args.frames,
                "fecbench_batch_size": args.batch_size,
                "lmms_eval_batch_size": 1,
                "max_new_tokens": args.max_new_tokens,
                "lmms_eval_s": [round(t, 2) for t in times["lmms-eval"]],
                "fecbench_s": [round(t, 2) for t in times["fecbench"]],
                "ratio_fecbench_over_lmms_eval": round(ours_median / lmms_median, 3),
                "target": "<= 0.5",
                "work": str(work),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
