"""The transformers-native adapters end to end, each on a tiny random-weight checkpoint built here.

Every case writes its model's checkpoint once per module (tiny_models.py: the real model, processor
and tokenizer classes, random weights) and loads it by path through ``fecbench.plugins.load_adapter``,
exactly as a run loads a hub checkpoint. qwen2-vl itself is covered in test_qwen2_vl.py.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
transformers = pytest.importorskip("transformers")

import tiny_models  # noqa: E402
from fecbench_adapters import specs_hf  # noqa: E402

from fecbench.adapter import GenerationConfig, VideoRequest  # noqa: E402
from fecbench.errors import ConfigError  # noqa: E402
from fecbench.plugins import get_adapter, import_factory, load_adapter  # noqa: E402

GREEDY = GenerationConfig(max_new_tokens=12)


def qwen_tokens(adapter, inputs, requests) -> None:
    grids = inputs["video_grid_thw"].tolist()
    assert [t for t, _, _ in grids] == [math.ceil(len(r.frames) / 2) for r in requests]
    assert _video_tokens(adapter, inputs) == [t * h * w // 4 for t, h, w in grids]
    assert inputs["second_per_grid_ts"].tolist() == pytest.approx([2 / r.fps_sampled for r in requests])


def qwen_expected_tokens(adapter, request) -> int:
    (t, h, w), *_ = adapter.prepare_inputs([request])["video_grid_thw"].tolist()
    return t * h * w // 4  # merged 2x2


def per_frame(tokens_per_frame: int, extra: int = 0) -> Callable:
    return lambda adapter, request: len(request.frames) * tokens_per_frame + extra


def videollama3_expected_tokens(adapter, request) -> int:
    # Pruning depends on the content, so no closed formula: the video tokens of the clip's own input.
    return _video_tokens(adapter, adapter.prepare_inputs([request]))[0]


def stacked_frames(tokens_per_frame: int, extra: int = 0) -> Callable:
    """LLaVA family: one (T, 3, 64, 64) tensor a clip and ``tokens_per_frame`` video tokens a frame."""

    def check(adapter, inputs, requests) -> None:
        assert tuple(inputs["pixel_values_videos"].shape) == (len(requests), len(requests[0].frames), 3, 64, 64)
        assert _video_tokens(adapter, inputs) == [len(r.frames) * tokens_per_frame + extra for r in requests]

    return check


def internvl_tokens(adapter, inputs, requests) -> None:
    assert inputs["pixel_values"].shape[0] == sum(len(r.frames) for r in requests)
    context = adapter.processor.image_token_id
    assert (inputs["input_ids"] == context).sum(dim=1).tolist() == [4 * len(r.frames) for r in requests]
    last_frame = adapter.processor.tokenizer.encode(f"Frame{len(requests[0].frames)}:")
    assert _contains(inputs["input_ids"][0].tolist(), last_frame)


def videollama3_tokens(adapter, inputs, requests) -> None:
    assert [t for t, _, _ in inputs["video_grid_thw"].tolist()] == [len(r.frames) for r in requests]
    # Tokens of patches that barely change are pruned, but every frame keeps at least its first-frame share.
    assert all(n > 0 for n in _video_tokens(adapter, inputs))


@dataclass(frozen=True)
class Case:
    name: str
    builder: Callable
    model_class: str
    frames_check: Callable
    # The visual tokens a clip's caption reports: (adapter, request) -> count.
    expected_tokens: Callable
    # How the prompt reaches the model: the checkpoint's chat template, or the model card's format.
    uses_chat_template: bool = True
    # Extra model arguments for the tests (Qwen's default pixel floor makes CPU generation ~30x slower).
    extra_args: tuple[tuple[str, object], ...] = ()

    def model_args(self, checkpoint: str, **more: object) -> dict:
        return {"pretrained": checkpoint, **dict(self.extra_args), **more}


CASES = [
    # qwen2-vl's tests cover the default pixel limits, which qwen2.5-vl shares.
    Case(
        "qwen2.5-vl",
        tiny_models.build_tiny_qwen2_5_vl,
        "Qwen2_5_VLForConditionalGeneration",
        qwen_tokens,
        qwen_expected_tokens,
        extra_args=(("max_pixels", 112 * 112),),
    ),
    # 64 px frames in 16 px patches: 4x4, pooled 2x2 -> 4 tokens a frame.
    Case(
        "llava-next-video",
        tiny_models.build_tiny_llava_next_video,
        "LlavaNextVideoForConditionalGeneration",
        stacked_frames(4),
        per_frame(4),
    ),
    # Pooled to 2x2 a frame, plus one newline token a clip.
    Case(
        "llava-onevision",
        tiny_models.build_tiny_llava_onevision,
        "LlavaOnevisionForConditionalGeneration",
        stacked_frames(4, extra=1),
        per_frame(4, extra=1),
    ),
    # Every patch plus CLS: 17 tokens a frame.
    Case(
        "video-llava",
        tiny_models.build_tiny_video_llava,
        "VideoLlavaForConditionalGeneration",
        stacked_frames(17),
        per_frame(17),
        uses_chat_template=False,
    ),
    Case(
        "internvl", tiny_models.build_tiny_internvl, "InternVLForConditionalGeneration", internvl_tokens, per_frame(4)
    ),
    Case(
        "videollama3",
        tiny_models.build_tiny_videollama3,
        "VideoLlama3ForConditionalGeneration",
        videollama3_tokens,
        videollama3_expected_tokens,
    ),
]


def _video_tokens(adapter, inputs) -> list[int]:
    return (inputs["input_ids"] == adapter.processor.video_token_id).sum(dim=1).tolist()


def _contains(sequence: list[int], part: list[int]) -> bool:
    return any(sequence[i : i + len(part)] == part for i in range(len(sequence) - len(part) + 1))


@pytest.fixture(scope="module", params=CASES, ids=[c.name for c in CASES])
def case_and_checkpoint(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Case, str]:
    case: Case = request.param
    return case, str(case.builder(tmp_path_factory.mktemp(case.name)))


@pytest.fixture(scope="module")
def case(case_and_checkpoint) -> Case:
    return case_and_checkpoint[0]


@pytest.fixture(scope="module")
def checkpoint(case_and_checkpoint) -> str:
    return case_and_checkpoint[1]


@pytest.fixture(scope="module")
def adapter(case: Case, checkpoint: str):
    loaded = load_adapter(case.name, case.model_args(checkpoint))
    yield loaded
    loaded.close()


def random_clip(seed: int, frames: int, height: int, width: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, height, width, 3), dtype=np.uint8)


def request(clip_id: str, frames: np.ndarray, prompt: str = "Describe the facial expression.") -> VideoRequest:
    return VideoRequest(clip_id, frames, prompt, [i / 4.0 for i in range(len(frames))])


# What a run sends: the same frame count for every clip, with sizes and prompts that differ, so rows pad differently.
SAME_COUNT = [
    request("a-64", random_clip(0, 8, 64, 64)),
    request("b-90x130", random_clip(1, 8, 90, 130), "What does the face do? Describe each change in order."),
    request("c-56", random_clip(2, 8, 56, 56), "Describe."),
    request("d-120x80", random_clip(3, 8, 120, 80), "In one sentence, what happens to the mouth and eyes?"),
]
# Other callers may mix frame counts in one batch, odd counts and a single frame included.
MIXED = [
    SAME_COUNT[0],
    request("e-three", random_clip(4, 3, 72, 100), "Describe the expression and the head movement."),
    SAME_COUNT[1],
    request("f-one", random_clip(5, 1, 60, 60), "Describe."),
    SAME_COUNT[2],
]


def test_generate_returns_one_caption_per_request(adapter) -> None:
    captions = adapter.generate(MIXED, GREEDY)
    assert len(captions) == len(MIXED)
    assert all(isinstance(c, str) for c in captions)
    assert any(captions), "a random model may stop at once on one clip, not on all of them"
    assert adapter.generate([], GREEDY) == []


def test_batched_greedy_equals_unbatched(adapter, case: Case) -> None:
    """Batch size, batch order and frame-count mixes never change a caption (and hence a score)."""
    alone = {r.clip_id: adapter.generate([r], GREEDY)[0] for r in [*SAME_COUNT, *MIXED]}
    assert len(set(alone.values())) > 2, "outputs must depend on the input, else this comparison proves nothing"
    started = time.perf_counter()
    batched = adapter.generate(SAME_COUNT, GREEDY)
    print(f"\n{case.name}: batch of {len(SAME_COUNT)} x 8 frames, 12 new tokens: {time.perf_counter() - started:.3f} s")
    assert batched == [alone[r.clip_id] for r in SAME_COUNT]
    assert adapter.generate(SAME_COUNT[::-1], GREEDY) == [alone[r.clip_id] for r in SAME_COUNT[::-1]]
    assert adapter.generate(SAME_COUNT[1:3], GREEDY) == [alone[r.clip_id] for r in SAME_COUNT[1:3]]
    assert adapter.generate(MIXED, GREEDY) == [alone[r.clip_id] for r in MIXED]


def test_frames_reach_the_model_as_sampled(adapter, case: Case) -> None:
    """No frame is dropped or resampled, and each clip gets the video tokens its frames call for."""
    for batch in (SAME_COUNT, MIXED[1:2], MIXED[3:4]):
        inputs = adapter.prepare_inputs(batch)
        case.frames_check(adapter, inputs, batch)
        # Left padding: every row ends with its own prompt, padding sits in front.
        assert inputs["attention_mask"][:, -1].all()


def test_captions_report_their_clips_visual_tokens(adapter, case: Case) -> None:
    """Each caption carries the visual tokens its clip's frames call for, the same batched (padding is not
    counted, mixed frame counts are put back in order) as alone."""
    short = GenerationConfig(max_new_tokens=1)
    for batch in (SAME_COUNT, MIXED):
        expected = [case.expected_tokens(adapter, r) for r in batch]
        assert all(n > 0 for n in expected)
        assert [c.visual_tokens for c in adapter.generate(batch, short)] == expected
        assert [adapter.generate([r], short)[0].visual_tokens for r in batch] == expected


def test_prompt_follows_the_checkpoint_format(adapter, case: Case) -> None:
    text = adapter.prompt_text(request("p", random_clip(6, 2, 32, 32), "Describe the brows."))
    if case.uses_chat_template:
        assert adapter.processor.chat_template is not None
        expected = adapter.processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Describe the brows."}]}],
            tokenize=False,
            add_generation_prompt=True,
        )
        assert text == expected
    else:
        # The model card's format, for a hub checkpoint that ships no chat template.
        assert adapter.processor.chat_template is None
        assert text == "USER: <video>\nDescribe the brows. ASSISTANT:"


def test_sampled_decoding_is_seeded(adapter) -> None:
    sampled = GenerationConfig(max_new_tokens=8, temperature=1.0, seed=3)
    first = adapter.generate(SAME_COUNT[:2], sampled)
    assert adapter.generate(SAME_COUNT[:2], sampled) == first


def test_bad_frames_name_the_clip(adapter) -> None:
    with pytest.raises(ValueError, match="float-clip"):
        adapter.generate([request("float-clip", np.zeros((2, 32, 32, 3), dtype=np.float32))], GREEDY)


def test_describe_records_provenance(adapter, case: Case, checkpoint: str) -> None:
    info = adapter.describe()
    json.dumps(info)  # it goes into run.json
    on_gpu = torch.cuda.is_available()
    assert info["checkpoint"] == checkpoint
    assert info["model_class"] == case.model_class
    assert info["dtype"] == ("bfloat16" if on_gpu else "float32")
    assert info["attn_implementation"] == "sdpa"
    assert info["video_processing"]["video_processor"] == type(adapter.processor.video_processor).__name__
    assert info["transformers"] == transformers.__version__


def test_unknown_model_arg_is_named(case: Case, checkpoint: str) -> None:
    with pytest.raises(ConfigError, match="num_frames") as excinfo:
        load_adapter(case.name, case.model_args(checkpoint, num_frames=16))
    assert "attn_implementation" in str(excinfo.value), "the error lists the accepted arguments"


def test_conformance_kit(case: Case, checkpoint: str) -> None:
    """fecbench.testing's checks, as a third-party adapter package runs them (the run itself is tested below)."""
    from fecbench.testing import check_adapter

    report = check_adapter(case.name, case.model_args(checkpoint), run=False)
    assert {"registration", "spec", "model arguments", "describe", "generate", "batch invariance", "close"} <= set(
        report.passed
    )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_bfloat16_batched_greedy_equals_unbatched(case: Case, checkpoint: str) -> None:
    gpu = load_adapter(case.name, case.model_args(checkpoint, device="cuda"))
    try:
        assert gpu.describe()["dtype"] == "bfloat16"
        alone = [gpu.generate([r], GREEDY)[0] for r in SAME_COUNT]
        assert gpu.generate(SAME_COUNT, GREEDY) == alone
    finally:
        gpu.close()


def test_fecbench_run_end_to_end(case: Case, checkpoint: str, tmp_path) -> None:
    """A whole run on generated mp4 clips (decode, sample 8 frames, batch of 2), in process; scoring is tested apart."""
    from conftest import make_clip_set

    from fecbench.api import run

    annotations = make_clip_set(tmp_path / "set", 3)
    result = run(
        case.name,
        model_args=case.model_args(checkpoint, dtype="float32"),
        annotations=annotations,
        video_roots=[str(annotations.parent / "videos")],
        max_new_tokens=6,
        batch_size=2,
        output=tmp_path / "run",
        decode_workers=1,
        score=False,
    )
    assert (result.n_ok, result.n_failed) == (3, 0)
    spec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert spec["model"]["name"] == case.name
    assert spec["model"]["loaded"]["checkpoint"] == checkpoint
    assert spec["frame_protocol"]["num_frames"] == 8
    tokens = spec["execution"]["visual_tokens"]
    assert tokens["clips"] == 3 and 0 < tokens["mean"] <= tokens["max"]


# -- registrations and loading errors that need no model ------------------------------------------------------


def test_every_hf_spec_names_its_class_default() -> None:
    """What `fecbench models` shows is what loads: each spec's checkpoint is its class's default (no pretrained=)."""
    assert {c.name for c in CASES} | {"qwen2-vl-2b", "qwen2-vl-72b"} == {s.name for s in specs_hf.SPECS}
    for spec in specs_hf.SPECS:
        factory = import_factory(spec.factory)
        assert get_adapter(spec.name).spec == spec
        assert factory.name == spec.name
        assert factory.default_checkpoint == spec.default_checkpoint
        assert spec.default_frames == 8
        assert spec.requires == ("torch", "torchvision", "transformers")


def test_checkpoint_without_chat_template_or_prompt_format_is_refused(tmp_path) -> None:
    checkpoint = tiny_models.build_tiny_llava_next_video(tmp_path / "no-template")
    (checkpoint / "chat_template.jinja").unlink()
    with pytest.raises(ConfigError, match="no chat template"):
        load_adapter("llava-next-video", {"pretrained": str(checkpoint)})


def test_a_chat_template_shipped_with_video_llava_is_used(tmp_path) -> None:
    checkpoint = tiny_models.build_tiny_video_llava(tmp_path / "with-template")
    (checkpoint / "chat_template.jinja").write_text(
        "{% for m in messages %}HUMAN: <video>\n{{ m['content'][1]['text'] }}{% endfor %} GPT:"
    )
    adapter = load_adapter("video-llava", {"pretrained": str(checkpoint)})
    try:
        assert adapter.prompt_text(request("t", random_clip(7, 2, 32, 32), "Hi.")) == "HUMAN: <video>\nHi. GPT:"
    finally:
        adapter.close()


@pytest.mark.parametrize("name", ["qwen2-vl-2b", "qwen2-vl-72b"])
def test_qwen2_vl_size_variants_load_a_checkpoint_by_path(name: str, tmp_path) -> None:
    """The size variants are qwen2-vl with another default checkpoint; pretrained= still wins."""
    checkpoint = str(tiny_models.build_tiny_qwen2_vl(tmp_path / "tiny"))
    adapter = load_adapter(name, {"pretrained": checkpoint, "max_pixels": 56 * 56})
    try:
        assert adapter.name == name and adapter.describe()["checkpoint"] == checkpoint
        assert len(adapter.generate(SAME_COUNT[:2], GREEDY)) == 2
    finally:
        adapter.close()
