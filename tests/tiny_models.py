"""Tiny random-weight checkpoints of the real model classes, built offline for adapter tests.

No weights can be downloaded here, so each builder writes a complete checkpoint directory (config,
random weights, a tokenizer trained on the spot, the model's real processor and a chat template)
with ``save_pretrained``. Adapters then load it through exactly the code path a hub checkpoint
takes (``from_pretrained`` on a path), so the tests exercise real preprocessing, prompt building
and generation. Builders are seeded, so the same call always writes the same checkpoint.

Import this module only after ``pytest.importorskip("torch")``: it needs torch, torchvision,
transformers and tokenizers.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    Qwen2Tokenizer,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessor,
    Qwen2VLProcessor,
    Qwen2VLVideoProcessor,
)

# Sentences the toy BPE is trained on: vocabulary in the benchmark's domain keeps decoded text readable.
CORPUS = (
    "The person smiles, then frowns and raises the eyebrows.",
    "Her eyes widen and the mouth opens in surprise; then she relaxes.",
    "He tilts the head, narrows the eyes and presses the lips together.",
    "A neutral face turns into a broad grin, showing the teeth.",
)

QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# Same structure as the Qwen2-VL instruct template (default system turn, one vision block per media item).
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# What the hub's Qwen2-VL checkpoints resolve to for video: they ship only preprocessor_config.json, whose
# *image* limits transformers then applies to video. The adapter must not inherit these; tests check that.
HUB_IMAGE_MIN_PIXELS = 3136
HUB_IMAGE_MAX_PIXELS = 12845056


def train_bpe(special_tokens: tuple[str, ...], vocab_size: int = 400) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary and merge list, trained locally in well under a second."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(CORPUS) * 50, trainer)
    model = json.loads(tokenizer.to_str())["model"]
    return model["vocab"], [tuple(merge) for merge in model["merges"]]


def tiny_qwen_tokenizer() -> Qwen2Tokenizer:
    """The real Qwen2 tokenizer class (its pre-tokenizer regex, its special-token roles) on a toy vocabulary."""
    vocab, merges = train_bpe(QWEN_SPECIAL_TOKENS)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=merges, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIAL_TOKENS[1:])})
    return tokenizer


def build_tiny_qwen2_vl(directory: str | Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen2-VL checkpoint (about 1 MB) into ``directory`` and return its path.

    Two decoder layers of width 64 and a one-block vision tower: generation takes a fraction of a
    second on CPU, yet every Qwen2-VL mechanism (3D patches, merger, M-RoPE over video tokens) runs.
    """
    directory = Path(directory)
    tokenizer = tiny_qwen_tokenizer()
    ids = dict(zip(QWEN_SPECIAL_TOKENS, tokenizer.convert_tokens_to_ids(list(QWEN_SPECIAL_TOKENS)), strict=True))
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "bos_token_id": None,
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
            # mrope_section sums to head_dim / 2 = 8 (temporal, height, width).
            "rope_parameters": {"rope_type": "default", "mrope_section": [4, 2, 2], "rope_theta": 10000.0},
        },
        vision_config={"depth": 1, "embed_dim": 32, "hidden_size": 64, "num_heads": 2},
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).eval()
    # As on the hub: stop on <|im_end|> or <|endoftext|>, pad with <|endoftext|>.
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = None
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=HUB_IMAGE_MIN_PIXELS, max_pixels=HUB_IMAGE_MAX_PIXELS),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(min_pixels=HUB_IMAGE_MIN_PIXELS, max_pixels=HUB_IMAGE_MAX_PIXELS),
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory
