"""Adapters that run through their authors' code: what can be checked without that code or its weights.

None of the authors' packages can be installed here (they pin old torch/transformers and live on
GitHub, which this machine cannot reach), so these tests cover fecbench's side: registration and
install hints, the error a run gets without the code, argument checks, the prompts each adapter
builds, the frame preparation it does itself, and the embedding-level generation loop shared by
the MiniGPT-4-style models (run for real on a tiny random Llama).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from fecbench_adapters.authors import (
    base,
    chat_univi,
    embedding_chat,
    llama_vid,
    pllava,
    sharegpt4video,
    sources,
    st_llm,
    tarsier,
    templates,
    videochat,
    videochat2,
    videollama,
    videollama2,
)
from import_probe import imported_by

from fecbench.adapter import GenerationConfig, VideoRequest
from fecbench.errors import ConfigError, MissingDependencyError
from fecbench.plugins import get_adapter, import_factory, load_adapter
from fecbench.testing import check_spec, write_clip_set

NAMES = {
    "videollama2": sources.VIDEOLLAMA2,
    "videochat2": sources.VIDEOCHAT2,
    "llama-vid": sources.LLAMA_VID,
    "pllava": sources.PLLAVA,
    "sharegpt4video": sources.SHAREGPT4VIDEO,
    "chat-univi": sources.CHAT_UNIVI,
    "st-llm": sources.ST_LLM,
    "tarsier": sources.TARSIER,
    "videollama": sources.VIDEOLLAMA,
    "videochat": sources.VIDEOCHAT,
    "humanomni": sources.HUMANOMNI,
}
PROMPT = "Please provide a detailed description of the facial appearance attributes and expression changes."


@pytest.fixture
def isolated_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo what the adapters add to sys.path and sys.modules when they import from a clone."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.split(".")[0] in ("tasks", "models", "utils", "humanomni", "stllm", "video_llama"):
            del sys.modules[name]


# -- registration and install hints -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NAMES))
def test_registered_with_sane_spec_and_a_pinned_install_hint(name: str) -> None:
    entry = get_adapter(name)
    check_spec(entry.spec)
    code = NAMES[name]
    assert entry.provider == "fecbench"
    assert entry.spec.default_checkpoint and entry.spec.default_frames >= 1
    hint = entry.spec.install_hint
    assert hint == code.hint
    assert hint.startswith(f"git clone {code.repo} {code.directory} && cd {code.directory} && git checkout ")
    assert f"git checkout {code.commit[:12]} && {code.install}" in hint
    assert len(code.commit) == 40 and all(c in "0123456789abcdef" for c in code.commit)
    if code.code_dir_env:
        suffix = f"/{code.code_subdir}" if code.code_subdir else ""
        assert f"&& export {code.code_dir_env}=$PWD{suffix}" in hint
    factory = import_factory(entry.spec.factory)  # the module imports without the authors' code or torch
    assert factory.code is code and factory.max_batch_size == 1


def test_adapter_modules_import_without_torch() -> None:
    code = (
        "import fecbench_adapters.specs_authors\n"
        "from fecbench_adapters.authors import (chat_univi, humanomni, llama_vid, pllava, sharegpt4video,\n"
        "    st_llm, tarsier, videochat, videochat2, videollama, videollama2)\n"
    )
    assert imported_by(code, ("torch", "transformers", "PIL", "cv2")) == []


def test_a_run_without_the_authors_code_exits_2_with_the_install_hint(tmp_path: Path) -> None:
    annotations, videos = write_clip_set(tmp_path / "clips", 2)
    args = ["--annotations", str(annotations), "--video-root", str(videos)]
    for name in ("videollama2", "pllava"):
        done = subprocess.run(
            [sys.executable, "-m", "fecbench.cli", "run", "--model", name, *args, "--output", str(tmp_path / name)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "COLUMNS": "400"},
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert NAMES[name].hint in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", sorted(NAMES))
def test_load_without_the_code_names_the_install_command(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whichever check meets the missing code first (the registry's or the adapter's), the hint is in the error."""
    for variable in {code.code_dir_env for code in NAMES.values()} - {None}:
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(MissingDependencyError) as caught:
        load_adapter(name, {})
    assert NAMES[name].hint in str(caught.value)
    entry = get_adapter(name)
    adapter_class = import_factory(entry.spec.factory)
    with pytest.raises(MissingDependencyError) as caught:
        adapter_class()  # past the registry's check: the adapter's own lazy import or clone lookup
    assert NAMES[name].hint in str(caught.value)


# -- finding and importing the authors' code -----------------------------------------------------------


def test_code_dir_must_be_a_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        tarsier.TarsierAdapter(code_dir=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"is not a clone of https://github.com/bytedance/tarsier \(no tasks/"):
        tarsier.TarsierAdapter(code_dir=str(tmp_path))
    monkeypatch.setenv("FECBENCH_TARSIER_CODE", str(tmp_path))
    with pytest.raises(ConfigError, match="FECBENCH_TARSIER_CODE="):
        tarsier.TarsierAdapter()


def _fake_clone(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.usefixtures("isolated_imports")
def test_a_clone_that_cannot_be_imported_is_reported_with_its_cause(tmp_path: Path) -> None:
    clone = _fake_clone(
        tmp_path / "broken",
        {
            "tasks/__init__.py": "",
            "tasks/inference_quick_start.py": "",
            "tasks/utils.py": "raise ImportError('cannot import name LlavaConfig from transformers')\n",
        },
    )
    with pytest.raises(MissingDependencyError) as caught:
        tarsier.TarsierAdapter(code_dir=str(clone))
    message = str(caught.value)
    assert "Tarsier code is installed but cannot be imported (cannot import name LlavaConfig" in message
    assert sources.TARSIER.hint in message


@pytest.mark.usefixtures("isolated_imports")
def test_a_missing_dependency_of_the_authors_code_is_named(tmp_path: Path) -> None:
    clone = _fake_clone(
        tmp_path / "needs",
        {
            "tasks/__init__.py": "",
            "tasks/inference_quick_start.py": "",
            "tasks/utils.py": "import fecbench_test_no_such_dependency\n",
        },
    )
    with pytest.raises(MissingDependencyError, match="needs fecbench_test_no_such_dependency, which is missing"):
        tarsier.TarsierAdapter(code_dir=str(clone))


@pytest.mark.usefixtures("isolated_imports")
def test_a_clone_whose_module_name_is_already_taken_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clone = _fake_clone(tmp_path / "clone", {"tasks/__init__.py": "", "tasks/inference_quick_start.py": ""})
    other = types.ModuleType("tasks")
    other.__file__ = str(tmp_path / "elsewhere" / "tasks" / "__init__.py")
    monkeypatch.setitem(sys.modules, "tasks", other)
    with pytest.raises(ConfigError, match="a module named 'tasks' is already imported from"):
        tarsier.TarsierAdapter(code_dir=str(clone))


@pytest.mark.usefixtures("isolated_imports")
def test_an_importable_clone_gets_as_far_as_the_gpu_check(tmp_path: Path) -> None:
    """With the code importable, the next thing a CPU-only machine meets is a clear one-line refusal."""
    pytest.importorskip("torch")
    if __import__("torch").cuda.is_available():
        pytest.skip("this machine has a GPU")
    # Tarsier's "tasks" has no __init__.py: a namespace package, found again on a second load.
    clone = _fake_clone(tmp_path / "ok", {"tasks/inference_quick_start.py": "", "tasks/utils.py": "VALUE = 1\n"})
    for _ in range(2):
        with pytest.raises(ConfigError, match="Tarsier: device='cuda' but torch sees no CUDA device"):
            tarsier.TarsierAdapter(code_dir=str(clone))


# -- model arguments (checked before anything is imported) --------------------------------------------


def test_model_arguments_are_checked_before_importing() -> None:
    with pytest.raises(ConfigError, match="device='cpu': the authors' code of this model runs on a CUDA GPU"):
        st_llm.STLLMAdapter(device="cpu")
    with pytest.raises(ConfigError, match=r"device='mps': .* runs on a CUDA GPU or the CPU \(cpu\)"):
        videollama2.VideoLLaMA2Adapter(device="mps")
    with pytest.raises(ConfigError, match="choose load_4bit or load_8bit, not both"):
        videollama2.VideoLLaMA2Adapter(load_4bit=True, load_8bit=True)
    with pytest.raises(ConfigError, match="num_beams=0 must be a positive integer"):
        st_llm.STLLMAdapter(num_beams=0)
    with pytest.raises(ConfigError, match="conversation='chatml' is not one of llama_2, vicuna"):
        videollama.VideoLLaMAAdapter(conversation="chatml")
    with pytest.raises(ConfigError, match="max_n_frames=True must be a positive integer"):
        tarsier.TarsierAdapter(max_n_frames=True)
    with pytest.raises(ConfigError, match="num_frames=-1"):
        pllava.PLLaVAAdapter(num_frames=-1)
    assert base.check_device("cuda:1") == "cuda:1"
    assert base.check_device("cpu", cpu=True) == "cpu"


def test_unknown_model_arguments_are_refused_with_the_accepted_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from fecbench.plugins import RegisteredAdapter

    entry = get_adapter("videochat2")
    monkeypatch.setattr(RegisteredAdapter, "missing_requirements", lambda self: [])
    with pytest.raises(ConfigError, match="does not take frames; it takes: weights, code_dir, config, device"):
        load_adapter(entry.spec.name, {"frames": 8})


# -- prompts ------------------------------------------------------------------------------------------


def test_conversation_templates() -> None:
    turns = [("Human", "Hi"), ("Assistant", "Hello"), ("Human", "Go"), ("Assistant", None)]
    assert templates.single("SYS", turns) == "SYS###Human: Hi###Assistant: Hello###Human: Go###Assistant:"
    assert templates.two("SYS", [("USER", "Q"), ("ASSISTANT", None)]) == "SYS USER: Q ASSISTANT:"
    assert templates.two("S", [("U", "a"), ("A", "b"), ("U", "c"), ("A", None)]) == "S U: a A: b</s>U: c A:"
    assert templates.single_bare("S", [("Human: ", "q"), ("Assistant: ", None)]) == "S###Human: q###Assistant: "
    assert templates.mpt("S", [("<u>", "q"), ("<a>", None)], sep="|") == "S|<u>q|<a>"
    assert templates.llama2("SYS", [("USER", "q"), ("ASSISTANT", None)]) == (
        "[INST] <<SYS>>\nSYS\n<</SYS>>\n\nq [/INST]"
    )


def test_videochat_prompt_carries_the_frame_times() -> None:
    prompt = videochat.build_prompt(PROMPT, [0.0, 1.04, 2.5])
    assert prompt == (
        "###Human: <Video><VideoHere></Video> The video contains 3 frames sampled at 0.0, 1.0, 2.5 seconds.\n"
        f"###Human: {PROMPT}\n###Assistant:"
    )
    assert prompt.count(videochat.PLACEHOLDER) == 1


def test_videochat2_prompt_is_the_mistral_notebook_one() -> None:
    assert videochat2.build_prompt(PROMPT) == f"[INST] <Video><VideoHere></Video> [/INST] [INST] {PROMPT} [/INST]"


def test_videollama_prompts_for_llama2_chat_and_vicuna() -> None:
    times = [0.0, 1.5]
    video = "<Video><ImageHere></Video> The video contains 2 frames sampled at 0.0, 1.5 seconds. "
    assert videollama.build_prompt(PROMPT, times) == (
        f"[INST] <<SYS>>\n{videollama.DEMO_SYSTEM}\n<</SYS>>\n\n{video} {PROMPT} [/INST]"
    )
    assert videollama.build_prompt(PROMPT, times, "vicuna") == (
        f"{videollama.DEMO_SYSTEM}###Human: {video} {PROMPT}###Assistant:"
    )
    assert videollama.reply("ASSISTANT: A smile.</s>junk", "llama_2") == "A smile."
    assert videollama.reply("Assistant: A frown.###Human:", "vicuna") == "A frown."


def test_pllava_prompt_is_the_vcg_benchmark_conversation() -> None:
    prompt = pllava.build_prompt(PROMPT)
    assert prompt.startswith("You are Video-ChatGPT, a large vision-language assistant. You are able to")
    assert "natural language.Follow the instructions carefully" in prompt  # the authors' own join, kept
    assert prompt.endswith(f"based on the provided video. USER: <image>\n USER: {PROMPT} ASSISTANT:")
    assert pllava.reply("... USER: q ASSISTANT: The man smiles.</s>") == "The man smiles."


def test_tarsier_prompt_has_one_image_token_per_frame() -> None:
    assert tarsier.build_prompt("Describe <video> it.", 3) == "USER: <image><image><image>\nDescribe  it. ASSISTANT: "


def test_llama_vid_prompt_is_vicuna_v1() -> None:
    expected = f"{llama_vid.VICUNA_SYSTEM} USER: <image>\n{PROMPT} ASSISTANT:"
    assert llama_vid.build_prompt(PROMPT) == expected
    assert llama_vid.build_prompt("q", im_start_end=True).endswith("USER: <im_start><image><im_end>\nq ASSISTANT:")
    assert llama_vid.reply(" The woman frowns.</s>") == "The woman frowns."


def test_chat_univi_prompt_is_the_simple_conversation() -> None:
    assert chat_univi.build_prompt("q", 2) == (
        f"{chat_univi.SIMPLE_SYSTEM}###Human: Hi!###Assistant: Hi there! How can I help you today?"
        "###Human: <image><image>\nq###Assistant:"
    )
    assert "###Human: <im_start><image><im_end>\nq" in chat_univi.build_prompt("q", 1, im_start_end=True)
    assert chat_univi.reply("He laughs.###") == "He laughs."


def test_sharegpt4video_prompt_is_llama3_with_the_grid_explanation() -> None:
    prompt = sharegpt4video.build_prompt("q")
    assert prompt == (
        sharegpt4video.LLAMA3_SYSTEM
        + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<image>\n"
        + sharegpt4video.PRE_QUERY
        + "q<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert "<image>\nq<|eot_id|>" in sharegpt4video.build_prompt("q", pre_query=None)


def test_decoding_settings_follow_the_run() -> None:
    greedy, sampled = GenerationConfig(max_new_tokens=64), GenerationConfig(max_new_tokens=64, temperature=0.7)
    assert base.decoding_kwargs(greedy, top_p=0.9, num_beams=1) == {
        "max_new_tokens": 64,
        "num_beams": 1,
        "do_sample": False,
    }
    assert base.decoding_kwargs(sampled, top_p=0.9) == {
        "max_new_tokens": 64,
        "do_sample": True,
        "temperature": 0.7,
        "top_p": 0.9,
    }
    assert videollama2.mm_infer_kwargs(greedy) == {"do_sample": False, "max_new_tokens": 64}
    assert st_llm.answer_kwargs(greedy, 5) == {
        "max_new_tokens": 64,
        "num_beams": 5,
        "max_length": 2000,
        "do_sample": False,
        "temperature": 1.0,
    }


# -- frames ---------------------------------------------------------------------------------------------


def _halves(height: int, width: int) -> np.ndarray:
    """One frame: left half black, right half white, a red column in the exact middle."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:, width // 2 :] = 255
    return frame[None]


def test_scale_and_center_crop_keeps_the_middle() -> None:
    wide = np.concatenate([_halves(60, 120)] * 2)
    out = base.scale_and_center_crop(wide, 30)
    assert out.shape == (2, 30, 30, 3) and out.dtype == np.uint8
    # 120x60 -> 60x30, central 30 columns: 15 black then 15 white
    assert out[0, :, :13].max() < 10 and out[0, :, 17:].min() > 245
    tall = base.scale_and_center_crop(np.zeros((1, 90, 30, 3), np.uint8), 30)
    assert tall.shape == (1, 30, 30, 3)


def test_resize_frames_and_normalisation() -> None:
    frames = np.full((3, 20, 40, 3), 255, np.uint8)
    assert base.resize_frames(frames, 224, 224).shape == (3, 224, 224, 3)
    tensor = base.normalized_tensor(base.resize_frames(frames, 8, 8))
    assert tuple(tensor.shape) == (3, 3, 8, 8)
    expected = [(1 - m) / s for m, s in zip(base.CLIP_MEAN, base.CLIP_STD, strict=True)]
    assert np.allclose(tensor[0, :, 0, 0].numpy(), expected, atol=1e-5)


def test_model_frame_tensors_have_the_authors_layout() -> None:
    frames = np.random.default_rng(0).integers(0, 255, (5, 48, 64, 3), dtype=np.uint8)
    assert tuple(videochat.prepare_frames(frames).shape) == (1, 5, 3, 224, 224)
    assert tuple(videochat2.prepare_frames(frames).shape) == (1, 5, 3, 224, 224)
    raw = videollama.prepare_frames(frames)
    assert tuple(raw.shape) == (3, 5, 224, 224) and float(raw.min()) >= 0 and float(raw.max()) <= 255


def test_frame_times_message_and_fallback_times() -> None:
    assert base.frame_times_message([0, 0.26, 1.0]) == "The video contains 3 frames sampled at 0.0, 0.3, 1.0 seconds."
    assert base.frame_times_message([2.0], trailing_space=True).endswith("seconds. ")
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    assert base.request_times(VideoRequest("a", frames, "p", [0.0, 0.5, 1.0]), frames) == [0.0, 0.5, 1.0]
    assert base.request_times(VideoRequest("a", frames, "p"), frames) == [0.0, 1.0, 2.0]


def test_sharegpt4video_grid_layout() -> None:
    frames = np.stack([np.full((10, 20, 3), 10 * (i + 1), np.uint8) for i in range(5)])
    grid = sharegpt4video.frame_grid(frames, band=4)
    assert grid.shape == (3 * 10 + 2 * 4, 3 * 20 + 2 * 4, 3)  # 5 frames -> a 3 x 3 grid
    assert grid[0, 0, 0] == 10 and grid[0, 24, 0] == 20 and grid[0, 48, 0] == 30  # first row, left to right
    assert grid[14, 0, 0] == 40 and grid[14, 24, 0] == 50  # second row
    assert grid[14, 48, 0] == 255 and grid[30, 0, 0] == 255  # empty cells are white
    assert grid[0, 21, 0] == 255 and grid[11, 0, 0] == 255  # bands
    from PIL import Image

    big = sharegpt4video.limit_side(Image.new("RGB", (4000, 1000)))
    assert big.size == (1920, 480)
    small = Image.new("RGB", (100, 50))
    assert sharegpt4video.limit_side(small) is small


def test_videochat2_position_table() -> None:
    base_table = videochat2.sinusoid_table(784, 1024)
    assert tuple(base_table.shape) == (1, 784, 1024)
    assert float(base_table[0, 0, 0]) == 0.0 and float(base_table[0, 0, 1]) == 1.0  # sin(0), cos(0)
    assert videochat2.position_table(4).equal(base_table)
    table = videochat2.position_table(8)
    assert tuple(table.shape) == (1, 8 * 196, 1024)
    per_frame = table.reshape(8, 196, 1024)
    source = base_table.reshape(4, 196, 1024)
    assert per_frame[0].allclose(source[0]) and per_frame[-1].allclose(source[-1])
    # linear interpolation: output frame 1 sits at source position 0.25 -> 0.75 * f0 + 0.25 * f1
    assert per_frame[1].allclose(0.75 * source[0] + 0.25 * source[1], atol=1e-6)


def test_videollama2_refuses_more_frames_than_it_keeps() -> None:
    videollama2.check_frame_count(np.zeros((32, 2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="at most 32 frames"):
        videollama2.check_frame_count(np.zeros((33, 2, 2, 3), np.uint8))


def test_bad_frames_fail_the_clip_not_the_run() -> None:
    with pytest.raises(ValueError, match="must be uint8 RGB"):
        base.check_frames(VideoRequest("c1", np.zeros((2, 4, 4, 3), np.float32), "p"))
    with pytest.raises(ValueError, match=r"clip 'c2': frames must be a \(T, H, W, 3\) array"):
        base.check_frames(VideoRequest("c2", np.zeros((4, 4, 3), np.uint8), "p"))


# -- the embedding-level chat loop, on a tiny random Llama ------------------------------------------------


@pytest.fixture(scope="module")
def tiny_llama() -> tuple[object, object]:
    pytest.importorskip("transformers")
    import torch
    from tiny_models import text_config, tiny_llama_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tiny_llama_tokenizer(())
    torch.manual_seed(0)
    config = LlamaConfig(**{k: v for k, v in text_config(tokenizer, "llama").items() if k != "model_type"})
    return tokenizer, LlamaForCausalLM(config).eval()


def test_mixed_embeddings_put_the_video_between_the_text_pieces(tiny_llama: tuple[object, object]) -> None:
    import torch

    tokenizer, llm = tiny_llama
    width = llm.config.hidden_size
    video = torch.full((1, 7, width), 0.5)
    prompt = "###Human: <Video><VideoHere></Video> smile###Assistant:"
    embeds = embedding_chat.mixed_embeddings(tokenizer, llm, prompt, "<VideoHere>", [video])
    first = tokenizer("###Human: <Video>", add_special_tokens=True).input_ids
    second = tokenizer("</Video> smile###Assistant:", add_special_tokens=False).input_ids
    assert first[0] == tokenizer.bos_token_id and second[0] != tokenizer.bos_token_id
    assert tuple(embeds.shape) == (1, len(first) + 7 + len(second), width)
    table = llm.get_input_embeddings().weight
    assert embeds[0, : len(first)].equal(table[first])
    assert embeds[0, len(first) : len(first) + 7].equal(video[0])
    assert embeds[0, len(first) + 7 :].equal(table[second])
    with pytest.raises(ValueError, match="1 '<VideoHere>' placeholders for 2 visual inputs"):
        embedding_chat.mixed_embeddings(tokenizer, llm, prompt, "<VideoHere>", [video, video])


def test_generation_from_embeddings_is_greedy_and_stops_on_a_sequence(tiny_llama: tuple[object, object]) -> None:
    import torch

    tokenizer, llm = tiny_llama
    video = torch.randn(1, 5, llm.config.hidden_size, generator=torch.Generator().manual_seed(1))
    embeds = embedding_chat.mixed_embeddings(tokenizer, llm, "Human: <VideoHere> describe", "<VideoHere>", [video])
    settings = base.decoding_kwargs(GenerationConfig(max_new_tokens=12), num_beams=1, min_length=1)
    free = embedding_chat.generate_from_embeddings(llm, embeds, (), **settings)
    assert 3 <= len(free) <= 12  # these seeds give 12 tokens without an early </s>
    assert free == embedding_chat.generate_from_embeddings(llm, embeds, (), **settings)  # greedy is deterministic
    stop = tuple(free[1:3])  # stop on the pair of tokens generated second and third
    stopped = embedding_chat.generate_from_embeddings(llm, embeds, (stop,), **settings)
    assert stopped == free[:3]
    text = tokenizer.decode(embedding_chat.strip_leading_special(free), add_special_tokens=False)
    assert isinstance(embedding_chat.answer_text(text + "###junk", stop="###"), str)


def test_leading_unk_and_bos_are_dropped_once() -> None:
    assert embedding_chat.strip_leading_special([0, 1, 5, 1]) == [5, 1]
    assert embedding_chat.strip_leading_special([1, 0, 5]) == [0, 5]
    assert embedding_chat.strip_leading_special([]) == []
    assert (
        embedding_chat.answer_text("Assistant: He nods.###Human: x", stop="###", role_prefix="Assistant:") == "He nods."
    )


def test_models_listing_shows_every_authors_adapter_with_its_hint() -> None:
    env = {**os.environ, "COLUMNS": "400"}
    done = subprocess.run(
        [sys.executable, "-m", "fecbench.cli", "models", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    for name, code in NAMES.items():
        row = rows[name]
        assert row["provider"] == "fecbench" and row["default_checkpoint"]
        if not row["dependencies_ok"]:
            assert row["install_hint"] == code.hint


# -- the CPU fallback for authors' code that hard-codes CUDA -----------------------------------------


def test_cuda_calls_stay_on_the_cpu_inside_the_block_and_only_there() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("checks what the authors' .cuda() calls do on a machine without CUDA")
    frames = torch.zeros(2, 3)
    with base.cuda_calls_on_cpu("cpu", torch.float32):
        assert frames.cuda().device.type == "cpu"
        assert frames.to("cuda").device.type == "cpu"
        assert frames.to(device=torch.device("cuda:0"), dtype=torch.float64).dtype == torch.float64
        assert frames.half().dtype == torch.float32  # old torch has no float16 LayerNorm on the CPU
        assert torch.cuda.current_device() == 0
    assert frames.half().dtype == torch.float16
    with pytest.raises((AssertionError, RuntimeError)):
        frames.cuda()
    # On a GPU the authors' calls are left alone.
    with base.cuda_calls_on_cpu("cuda:0"), pytest.raises((AssertionError, RuntimeError)):
        frames.to("cuda")
