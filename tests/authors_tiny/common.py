"""Pieces every tiny authors'-code checkpoint needs, built offline inside the model's own environment.

The builders in this folder run as scripts under the model's venv (``VENV/bin/python
tests/authors_tiny/build_videollama2.py OUT``), so they may import only what that venv has: the
authors' package, its pinned torch/transformers, and sentencepiece or tokenizers. Nothing here
imports fecbench.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

# Sentences the toy tokenizers are trained on: vocabulary in the benchmark's domain keeps decoded text readable.
CORPUS = (
    "The person smiles, then frowns and raises the eyebrows.",
    "Her eyes widen and the mouth opens in surprise; then she relaxes.",
    "He tilts the head, narrows the eyes and presses the lips together.",
    "A neutral face turns into a broad grin, showing the teeth.",
    "Describe the facial expression of the person in the video.",
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible.",
)

# A tiny CLIP vision tower: 64-px input, 16-px patches (a 4 x 4 grid), two layers of width 32.
TINY_CLIP_VISION = {
    "model_type": "clip_vision_model",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": 64,
    "patch_size": 16,
    "projection_dim": 32,
}


def sentencepiece_model(path: Path, vocab_size: int = 400) -> Path:
    """A Llama-style sentencepiece BPE (unk 0, bos 1, eos 2, byte fallback) trained on :data:`CORPUS`."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(CORPUS) * 20),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="bpe",
        byte_fallback=True,
        hard_vocab_limit=False,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        minloglevel=2,
    )
    path.write_bytes(model.getvalue())
    return path


def write_tiny_clip(directory: Path, seed: int = 0) -> Path:
    """A local CLIP vision tower (config, random weights, image processor) standing for openai/clip-vit-*.

    The authors' configs name the tower by hub id (``mm_vision_tower``); their code reads its
    config and image processor from that name, so the tiny checkpoint points it here instead.
    """
    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = CLIPVisionConfig(**{k: v for k, v in TINY_CLIP_VISION.items() if k != "model_type"})
    CLIPVisionModel(config).save_pretrained(directory)
    size = TINY_CLIP_VISION["image_size"]
    CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}).save_pretrained(
        directory
    )
    return directory


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def byte_bpe_vocab(special_tokens: tuple[str, ...], vocab_size: int = 500) -> tuple[dict[str, int], list[str]]:
    """A byte-level BPE vocabulary and merges (GPT-2/Qwen2 style) trained on :data:`CORPUS`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

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
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return model["vocab"], merges


def write_byte_bpe_files(directory: Path, special_tokens: tuple[str, ...]) -> tuple[Path, Path]:
    """``vocab.json`` and ``merges.txt`` for a slow byte-level BPE tokenizer class (Qwen2Tokenizer...)."""
    vocab, merges = byte_bpe_vocab(special_tokens)
    directory.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = directory / "vocab.json", directory / "merges.txt"
    vocab_file.write_text(json.dumps(vocab))
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return vocab_file, merges_file


WORDPIECE_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def write_wordpiece_vocab(path: Path) -> Path:
    """A BERT ``vocab.txt``: the special tokens, then every lower-cased word and character of :data:`CORPUS`."""
    import re

    words = sorted({w for line in CORPUS for w in re.findall(r"\w+|[^\w\s]", line.lower())})
    chars = sorted({c for w in words for c in w})
    pieces = [*WORDPIECE_SPECIALS, *chars, *(f"##{c}" for c in chars), *words]
    path.write_text("\n".join(dict.fromkeys(pieces)) + "\n")
    return path


def write_hub_cache_entry(cache: Path, repo_id: str, files_from: Path, revision: str = "0" * 40) -> Path:
    """Lay ``files_from`` out as the Hugging Face hub cache does, so ``from_pretrained(repo_id)`` finds it offline.

    For code that loads a hub id it does not let the caller change (HumanOmni's ``bert-base-uncased``):
    run it with ``HF_HUB_CACHE=cache`` and ``HF_HUB_OFFLINE=1``.
    """
    import shutil

    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(files_from, snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot
