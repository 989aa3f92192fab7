"""A tiny random-weight ShareGPT4Video checkpoint built from the authors' own classes (their LLaVA fork).

Run it under the ShareGPT4Video environment: ``VENV/bin/python tests/authors_tiny/build_sharegpt4video.py OUT``.
It writes what ``llava.model.builder.load_pretrained_model(OUT, None, name)`` loads for
ShareGPT4Video-8B, a LLaVA-NeXT model on Llama-3: an ``llava_llama`` config with the ``anyres``
image layout and ``spatial_unpad`` patch merging, an MLP projector, a CLIP tower named by path
(``OUT/clip-vision-tiny``, standing for ``openai/clip-vit-large-patch14-336``; the grid points are
the 8B's scaled from 336 to the tiny tower's 64 pixels), and Llama-3's fast tokenizer class with its
special tokens (``use_fast=False`` still loads it: Llama-3 ships no slow tokenizer).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import TINY_CLIP_VISION, byte_bpe_vocab, write_tiny_clip

LLAMA3_SPECIALS = ("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
SIDE = TINY_CLIP_VISION["image_size"]
GRID_POINTS = [[SIDE, 2 * SIDE], [2 * SIDE, SIDE], [2 * SIDE, 2 * SIDE], [3 * SIDE, SIDE], [SIDE, 3 * SIDE]]


def tokenizer_llama3():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab, merges = byte_bpe_vocab(LLAMA3_SPECIALS)
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges]))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", pad_token="<|end_of_text|>"
    )


def build(directory: Path, seed: int = 0) -> Path:
    import torch
    from llava.model.language_model.llava_llama import LlavaConfig, LlavaLlamaForCausalLM

    directory.mkdir(parents=True, exist_ok=True)
    vision = write_tiny_clip(directory / "clip-vision-tiny", seed)
    tokenizer = tokenizer_llama3()
    config = LlavaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        mm_vision_tower=str(vision),
        mm_hidden_size=TINY_CLIP_VISION["hidden_size"],
        mm_projector_type="mlp2x_gelu",
        mm_vision_select_layer=-2,
        mm_vision_select_feature="patch",
        mm_patch_merge_type="spatial_unpad",
        image_aspect_ratio="anyres",
        image_grid_pinpoints=GRID_POINTS,
        mm_use_im_start_end=False,
        mm_use_im_patch_token=False,
        tokenizer_model_max_length=4096,
        use_mm_proj=True,
    )
    torch.manual_seed(seed)
    model = LlavaLlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


if __name__ == "__main__":
    print(build(Path(sys.argv[1]).resolve()))
