"""The qwen2-vl adapter end to end: plugin lookup, checkpoint loading, the real processor, generation.

A tiny random-weight Qwen2-VL is written to disk once per session (see tiny_models.py) and loaded
through ``fecbench.plugins.load_adapter`` exactly as a run would load a hub checkpoint.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
transformers = pytest.importorskip("transformers")

from tiny_models import HUB_IMAGE_MAX_PIXELS, build_tiny_qwen2_vl  # noqa: E402

from fecbench.adapter import GenerationConfig, VideoRequest  # noqa: E402
from fecbench.errors import ConfigError  # noqa: E402
from fecbench.plugins import load_adapter  # noqa: E402

GREEDY = GenerationConfig(max_new_tokens=12)


@pytest.fixture(scope="session")
def tiny_qwen2_vl(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_qwen2_vl(tmp_path_factory.mktemp("tiny-qwen2-vl")))


@pytest.fixture(scope="module")
def adapter(tiny_qwen2_vl: str):
    loaded = load_adapter("qwen2-vl", {"pretrained": tiny_qwen2_vl})
    yield loaded
    loaded.close()


def random_clip(seed: int, frames: int, height: int, width: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)


def moving_disk_clip(frames: int, height: int, width: int) -> np.ndarray:
    """A bright disk crossing a colour gradient: structured content, unlike noise."""
    yy, xx = np.mgrid[0:height, 0:width]
    clip = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        cx = width * (t + 1) / (frames + 1)
        inside = (yy - height / 2) ** 2 + (xx - cx) ** 2 < (min(height, width) / 4) ** 2
        clip[t, ..., 0] = (255 * xx / max(width - 1, 1)).astype(np.uint8)
        clip[t, ..., 1] = (255 * yy / max(height - 1, 1)).astype(np.uint8)
        clip[t, ..., 2] = 60
        clip[t][inside] = 250
    return clip


def request(
    clip_id: str, frames: np.ndarray, prompt: str = "Describe the facial expression.", fps: float = 4.0
) -> VideoRequest:
    return VideoRequest(clip_id, frames, prompt, [i / fps for i in range(len(frames))])


@pytest.fixture(scope="module")
def mixed_requests() -> list[VideoRequest]:
    """Different frame counts (odd ones included), odd sizes and prompt lengths, so rows pad differently."""
    return [
        request("eight-64", random_clip(0, 8, 64, 64)),
        request("eight-90x130", moving_disk_clip(8, 90, 130), "What does the face do? Describe each change in order."),
        request("one-frame", random_clip(1, 1, 56, 56), "Describe."),
        request("three-120x80", moving_disk_clip(3, 120, 80), "Describe the expression and the head movement."),
        request("two-200x90", random_clip(2, 2, 200, 90), "In one sentence, what happens to the mouth and eyes?"),
    ]


def test_generate_returns_one_caption_per_request(adapter, mixed_requests: list[VideoRequest]) -> None:
    captions = adapter.generate(mixed_requests, GREEDY)
    assert len(captions) == len(mixed_requests)
    assert all(isinstance(c, str) for c in captions)
    assert any(captions), "a random model may stop early on one clip, not on all of them"
    assert adapter.generate([], GREEDY) == []


def test_batched_greedy_equals_unbatched(adapter, mixed_requests: list[VideoRequest]) -> None:
    """Batch size and batch order must never change a caption (and hence a score)."""
    alone = [adapter.generate([r], GREEDY)[0] for r in mixed_requests]
    assert len(set(alone)) > 1, "outputs must depend on the input, else this comparison proves nothing"
    assert adapter.generate(mixed_requests, GREEDY) == alone
    assert adapter.generate(mixed_requests[::-1], GREEDY) == alone[::-1]
    assert adapter.generate(mixed_requests[1:3], GREEDY) == alone[1:3]


def test_frames_reach_the_model_as_sampled(adapter, mixed_requests: list[VideoRequest]) -> None:
    """No frame is dropped or resampled; an odd count gains one temporal patch; video pixel limits apply."""
    inputs = adapter.prepare_inputs(mixed_requests)
    grids = inputs["video_grid_thw"].tolist()
    assert [t for t, _, _ in grids] == [math.ceil(len(r.frames) / 2) for r in mixed_requests]
    # Sizes follow qwen-vl-utils' video limits (at least 128 merged patches a frame), not the image limits
    # stored in the checkpoint, under which a 64x64 frame would stay a 4x4 patch grid.
    assert [(h, w) for _, h, w in grids] == [(24, 24), (20, 28), (24, 24), (28, 20), (34, 16)]
    video_token = adapter.processor.video_token_id
    per_row = (inputs["input_ids"] == video_token).sum(dim=1).tolist()
    assert per_row == [t * h * w // 4 for t, h, w in grids]
    # Left padding: every row ends with its own prompt, padding sits in front.
    assert inputs["attention_mask"][:, -1].all()


def test_odd_frame_counts_repeat_the_last_frame(adapter) -> None:
    clip = moving_disk_clip(3, 84, 84)
    padded = adapter.prepare_inputs([request("three", clip)])["pixel_values_videos"]
    repeated = adapter.prepare_inputs([request("four", clip[[0, 1, 2, 2]])])["pixel_values_videos"]
    assert torch.equal(padded, repeated)
    single = adapter.prepare_inputs([request("one", clip[:1])])["pixel_values_videos"]
    doubled = adapter.prepare_inputs([request("two", clip[[0, 0]])])["pixel_values_videos"]
    assert torch.equal(single, doubled)


def test_processor_sampling_switched_on_in_a_checkpoint_is_overridden(tiny_qwen2_vl: str, tmp_path) -> None:
    """Some checkpoints turn frame sampling on in their processor config; the runner's frames must still pass."""
    checkpoint = shutil.copytree(tiny_qwen2_vl, tmp_path / "sampling-on")
    config = json.loads((checkpoint / "processor_config.json").read_text())
    config["video_processor"].update(do_sample_frames=True, fps=2.0)
    (checkpoint / "processor_config.json").write_text(json.dumps(config))
    sampling_adapter = load_adapter("qwen2-vl", {"pretrained": str(checkpoint), "max_pixels": 56 * 56})
    try:
        # Eight frames at 30 fps last 0.27 s: sampling at 2 fps would keep only the minimum of four.
        inputs = sampling_adapter.prepare_inputs([request("fast", random_clip(3, 8, 56, 56), fps=30.0)])
        assert inputs["video_grid_thw"].tolist() == [[4, 4, 4]]
    finally:
        sampling_adapter.close()


def test_sampled_decoding_is_seeded(adapter, mixed_requests: list[VideoRequest]) -> None:
    sampled = GenerationConfig(max_new_tokens=12, temperature=1.0, seed=7)
    first = adapter.generate(mixed_requests[:2], sampled)
    assert adapter.generate(mixed_requests[:2], sampled) == first


def test_bad_frames_name_the_clip(adapter) -> None:
    with pytest.raises(ValueError, match="float-clip"):
        adapter.generate([request("float-clip", np.zeros((2, 32, 32, 3), dtype=np.float32))], GREEDY)
    with pytest.raises(ValueError, match="gray-clip"):
        adapter.generate([request("gray-clip", np.zeros((2, 32, 32), dtype=np.uint8))], GREEDY)


def test_unknown_model_arg_is_named(tiny_qwen2_vl: str) -> None:
    with pytest.raises(ConfigError, match="frames_per_second") as excinfo:
        load_adapter("qwen2-vl", {"pretrained": tiny_qwen2_vl, "frames_per_second": 2})
    assert "max_pixels" in str(excinfo.value), "the error lists the accepted arguments"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"dtype": "int8"}, "dtype"),
        ({"device": "tpu:9"}, "device"),
        ({"min_pixels": 10**6}, "min_pixels"),
        ({"max_pixels": 0}, "max_pixels"),
        ({"attn_implementation": "no-such-kernel"}, "no-such-kernel"),
        ({"device": "cpu", "device_map": "auto"}, "device_map"),
    ],
)
def test_bad_model_arg_values_are_config_errors(tiny_qwen2_vl: str, args: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_adapter("qwen2-vl", {"pretrained": tiny_qwen2_vl, **args})


def test_missing_local_checkpoint_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_adapter("qwen2-vl", {"pretrained": str(tmp_path / "nowhere")})


def test_describe_records_provenance(adapter, tiny_qwen2_vl: str) -> None:
    info = adapter.describe()
    json.dumps(info)  # it goes into run.json
    on_gpu = torch.cuda.is_available()
    assert info["checkpoint"] == tiny_qwen2_vl
    assert info["commit"] is None  # a local directory has no hub commit
    assert info["model_class"] == "Qwen2VLForConditionalGeneration"
    assert info["dtype"] == ("bfloat16" if on_gpu else "float32")
    assert info["device"] == ("cuda:0" if on_gpu else "cpu")
    assert info["attn_implementation"] == "sdpa"
    assert info["video_processing"]["min_pixels"] == 128 * 28 * 28
    assert info["video_processing"]["max_pixels"] == 768 * 28 * 28 != HUB_IMAGE_MAX_PIXELS
    assert info["video_processing"]["temporal_patch_size"] == 2
    assert info["checkpoint_generation_config"]["eos_token_id"] == adapter.model.generation_config.eos_token_id
    assert info["transformers"] == transformers.__version__
    assert info["torch"] == torch.__version__


def test_close_releases_the_model(tiny_qwen2_vl: str) -> None:
    closing = load_adapter("qwen2-vl", {"pretrained": tiny_qwen2_vl, "dtype": "float32", "device": "cpu"})
    closing.close()
    assert closing.model is None
    with pytest.raises(RuntimeError, match="close"):
        closing.generate([request("late", random_clip(4, 2, 32, 32))], GREEDY)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_bfloat16_batched_greedy_equals_unbatched(tiny_qwen2_vl: str, mixed_requests: list[VideoRequest]) -> None:
    gpu = load_adapter("qwen2-vl", {"pretrained": tiny_qwen2_vl, "device": "cuda"})
    try:
        assert gpu.describe()["dtype"] == "bfloat16"
        alone = [gpu.generate([r], GREEDY)[0] for r in mixed_requests]
        assert gpu.generate(mixed_requests, GREEDY) == alone
    finally:
        gpu.close()


def test_fecbench_run_end_to_end_with_a_checkpoint_path(tiny_qwen2_vl: str, tmp_path, monkeypatch) -> None:
    """The command a user types, on generated mp4 clips, with the tiny checkpoint loaded by path."""
    import subprocess
    import sys

    from conftest import make_clip_set

    annotations = make_clip_set(tmp_path / "set", 4)
    command = [
        sys.executable,
        "-m",
        "fecbench.cli",
        "run",
        "--model",
        "qwen2-vl",
        "--model-args",
        f"pretrained={tiny_qwen2_vl},dtype=float32",
        "--annotations",
        str(annotations),
        "--video-root",
        str(annotations.parent / "videos"),
        "--frames",
        "4",
        "--max-new-tokens",
        "8",
        "--batch-size",
        "2",
        "--output",
        str(tmp_path / "run"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert [p["status"] for p in lines] == ["ok"] * 4
    spec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert spec["model"]["loaded"]["checkpoint"] == tiny_qwen2_vl
    assert spec["frame_protocol"]["num_frames"] == 4
    assert {"torch", "transformers"} <= set(spec["versions"])
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert scores["n"] == 4 and {"cider", "rouge_l", "autodq", "tem"} <= set(scores["metrics"])
