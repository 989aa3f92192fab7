"""A tiny random-weight VideoLLaMA2 checkpoint built from the authors' own classes.

Run it under the VideoLLaMA2 environment: ``VENV/bin/python tests/authors_tiny/build_videollama2.py OUT``.
It writes what ``videollama2.model_init(OUT)`` loads for the released 7B checkpoint: a
``videollama2_mistral`` config with the STC connector and 8 frames, the model's weights (two
decoder layers of width 64), a slow Llama tokenizer (sentencepiece, as ``use_fast=False`` loads)
and, in ``OUT/clip-vision-tiny``, the CLIP vision tower the config names instead of
``openai/clip-vit-large-patch14-336``.

The hub tokenizer's chat template cannot be read here; the one written follows the authors'
``conv_mistral`` (``SeparatorStyle.LLAMA2``): ``[INST] {system}\\n\\n{user} [/INST]``, where
``mm_infer`` passes the system text with its ``<<SYS>>`` markers already in it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import TINY_CLIP_VISION, sentencepiece_model, write_tiny_clip

CHAT_TEMPLATE = (
    "{{ bos_token }}{% set ns = namespace(system='') %}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set ns.system = message['content'] + '\\n\\n' %}"
    "{% elif message['role'] == 'user' %}{{ '[INST] ' + ns.system + message['content'] + ' [/INST]' }}"
    "{% set ns.system = '' %}{% else %}{{ ' ' + message['content'] + eos_token }}{% endif %}{% endfor %}"
)


def build(directory: Path, seed: int = 0) -> Path:
    import torch
    from transformers import LlamaTokenizer
    from videollama2.model import Videollama2MistralConfig, Videollama2MistralForCausalLM

    directory.mkdir(parents=True, exist_ok=True)
    vision = write_tiny_clip(directory / "clip-vision-tiny", seed)
    spm_path = sentencepiece_model(directory / "spm.model")
    tokenizer = LlamaTokenizer(vocab_file=str(spm_path), legacy=False)
    tokenizer.chat_template = CHAT_TEMPLATE
    config = Videollama2MistralConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        mm_vision_tower=str(vision),
        mm_projector_type="stc_connector",
        mm_hidden_size=TINY_CLIP_VISION["hidden_size"],
        mm_vision_select_layer=-2,
        mm_vision_select_feature="patch",
        num_frames=8,
        tune_mm_mlp_adapter=False,
        use_mm_proj=True,
        image_aspect_ratio="pad",
    )
    torch.manual_seed(seed)
    model = Videollama2MistralForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.unk_token_id
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    spm_path.unlink()
    return directory


if __name__ == "__main__":
    print(build(Path(sys.argv[1]).resolve()))
