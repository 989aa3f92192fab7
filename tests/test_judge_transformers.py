"""The transformers judge on a tiny random-weight Qwen2 causal LM built here (no download).

Random weights never write a usable verdict, which is exactly what these tests need: garbage
answers must end as JudgeFailures after the retries. The checkpoint (``tiny_models.build_tiny_chat_lm``)
goes through the real loading path (``from_pretrained`` on a folder) with a tokenizer trained on the
spot and a ChatML template.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_models import build_tiny_chat_lm  # noqa: E402
from transformers import PreTrainedTokenizerFast, Qwen2ForCausalLM  # noqa: E402

from fecbench.errors import ConfigError  # noqa: E402
from fecbench.judges.base import JudgeFailure  # noqa: E402
from fecbench.judges.cache import VerdictCache  # noqa: E402
from fecbench.judges.engine import JudgeEngine  # noqa: E402
from fecbench.judges.registry import load_judge  # noqa: E402

CAPTIONS = ["He blinks.", "She raises her eyebrows and smiles broadly.", "The man turns his head to the left."]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_chat_lm(tmp_path_factory.mktemp("tiny-judge"))


@pytest.fixture(scope="module")
def judge(checkpoint: Path):
    judge = load_judge(
        "transformers",
        {
            "model": str(checkpoint),
            "device": "cpu",
            "dtype": "float32",
            "batch_size": 2,
            "max_new_tokens": 12,
            "max_retries": 1,
        },
    )
    yield judge
    judge.close()


def test_garbage_answers_end_as_judge_failures_after_the_retries(judge, tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path / "judges.sqlite")
    engine = JudgeEngine(judge, cache)
    results = engine.run("extract", [{"text": c} for c in CAPTIONS])
    assert len(results) == 3 and all(isinstance(r, JudgeFailure) for r in results)
    assert all(r.attempts == 2 and isinstance(r.raw, str) for r in results)
    assert all("unusable answer" in r.error for r in results)
    assert engine.stats["extract"] == {"requested": 3, "cache_hits": 0, "judge_calls": 3, "failures": 3}
    assert cache.count() == 0


def test_prompts_are_rendered_through_the_chat_template(judge) -> None:
    messages = judge.messages("classify", {"events": ["the man blinks"], "text": "He blinks."})
    text = judge.prompt_text(messages)
    assert text.startswith("<|im_start|>system\nYou are a careful annotator")
    assert "<|im_end|>\n<|im_start|>user\nTask: judge each numbered event" in text
    assert "1. the man blinks" in text and "<<<\nHe blinks.\n>>>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_the_answer_is_what_the_model_generates_from_its_templated_prompt(judge, checkpoint: Path) -> None:
    messages = judge.messages("extract", {"text": CAPTIONS[1]})
    tokenizer = PreTrainedTokenizerFast.from_pretrained(checkpoint)
    model = Qwen2ForCausalLM.from_pretrained(checkpoint, dtype=torch.float32).eval()
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    expected = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert judge.complete(messages) == expected


def test_left_padded_batches_give_the_answers_of_one_at_a_time(judge) -> None:
    conversations = [judge.messages("extract", {"text": c}) for c in CAPTIONS]
    lengths = {len(judge.tokenizer(judge.prompt_text(m))["input_ids"]) for m in conversations}
    assert len(lengths) == 3  # different lengths, so the batch really is padded
    assert judge.complete_batch(conversations) == [judge.complete(m) for m in conversations]


def test_a_template_without_a_system_turn_gets_it_in_the_user_turn(judge) -> None:
    original = judge.tokenizer.chat_template
    judge.tokenizer.chat_template = (
        "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
        "{% endfor %}<|im_start|>assistant\n"
    )
    try:
        text = judge.prompt_text(judge.messages("extract", {"text": "He nods."}))
    finally:
        judge.tokenizer.chat_template = original
    assert text.startswith("<|im_start|>user\nYou are a careful annotator")
    assert "\n\nTask: list the facial events" in text


def test_identity_and_description(judge, checkpoint: Path) -> None:
    identity = judge.identity()
    assert identity.backend == "transformers" and identity.model == str(checkpoint.resolve())
    facts = judge.describe()
    assert facts["device"] == "cpu" and facts["dtype"] == "float32" and facts["batch_size"] == 2


def test_bad_settings_are_config_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FECBENCH_JUDGE_MODEL", raising=False)
    with pytest.raises(ConfigError, match="needs a model"):
        load_judge("transformers", {})
    with pytest.raises(ConfigError, match="batch_size must be an integer"):
        load_judge("transformers", {"model": "x", "batch_size": 0})
    with pytest.raises(ConfigError, match="dtype must be one of"):
        load_judge("transformers", {"model": "x", "dtype": "float8"})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="cannot load"):
        load_judge("transformers", {"model": str(tmp_path / "no-such-model")})
