"""A tiny random-weight HumanOmni checkpoint built from the authors' own classes.

Run it under the HumanOmni environment, from the authors' clone on ``PYTHONPATH`` (the repository
is not a package): ``PYTHONPATH=CLONE VENV/bin/python tests/authors_tiny/build_humanomni.py OUT``.
It writes what ``humanomni.model_init(OUT)`` loads, shaped as the authors' training script
(``scripts/train/finetune_omni.sh``) builds the 7B model: a ``HumanOmni_qwen2`` config with the
``all_in_one`` projector, 32 frames, a SigLIP vision tower and a Whisper audio tower (both named by
path, in ``OUT/siglip-tiny`` and ``OUT/whisper-tiny``), modality start/end tokens, the slow Qwen2
tokenizer (``use_fast=False``) with Qwen2's chat template.

The model class loads ``bert-base-uncased`` by hub id in its constructor, which no argument
changes; a tiny BERT is written to ``OUT/bert-base-uncased`` and, laid out as the hub cache
does, to ``OUT/hub``: run the model with ``HF_HUB_CACHE=OUT/hub HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    write_byte_bpe_files,
    write_hub_cache_entry,
    write_wordpiece_vocab,
)

QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
MODAL_TOKENS = ("<vi_start>", "<vi_end>", "<im_start>", "<im_end>", "<au_start>", "<au_end>")
# Qwen2-Instruct's chat template.
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
NUM_FRAMES = 32  # finetune_omni.sh: --num_frames 32


def write_siglip(directory: Path) -> Path:
    """A 5 x 5 patch grid: odd, like SigLIP-so400m's 27 x 27, which the ``all_in_one`` projector needs.

    Its strided convolution gives (n + 1) / 2 a side and the face branch's pooling ceil(n / 2); the
    two branches are summed, so they agree only for an odd grid.
    """
    from transformers import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel

    config = SiglipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=70, patch_size=14
    )
    SiglipVisionModel(config).save_pretrained(directory)
    SiglipImageProcessor(size={"height": 70, "width": 70}).save_pretrained(directory)
    return directory


def write_whisper(directory: Path) -> Path:
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForAudioClassification

    config = WhisperConfig(
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_mel_bins=80,
        max_source_positions=1500,
        vocab_size=100,
    )
    WhisperForAudioClassification(config).save_pretrained(directory)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(directory)
    return directory


def write_bert(directory: Path) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    vocab = write_wordpiece_vocab(directory / "vocab.txt")
    tokenizer = BertTokenizer(vocab_file=str(vocab))
    tokenizer.save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(directory)
    return directory


def build(directory: Path, seed: int = 0) -> Path:
    import os

    # Read by huggingface_hub when it is first imported: set before torch/transformers come in.
    os.environ["HF_HUB_CACHE"] = str(directory / "hub")
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from transformers import Qwen2Tokenizer

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    siglip = write_siglip(directory / "siglip-tiny")
    whisper = write_whisper(directory / "whisper-tiny")
    bert = write_bert(directory / "bert-base-uncased")
    write_hub_cache_entry(directory / "hub", "bert-base-uncased", bert)
    from humanomni.model.humanomni_model import HumanOmniQwen2Config, HumanOmniQwen2ForCausalLM

    vocab_file, merges_file = write_byte_bpe_files(directory / "bpe", QWEN_SPECIALS)
    tokenizer = Qwen2Tokenizer(
        vocab_file=str(vocab_file),
        merges_file=str(merges_file),
        unk_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", *MODAL_TOKENS]})
    tokenizer.chat_template = CHAT_TEMPLATE
    config = HumanOmniQwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        mm_vision_tower=str(siglip),
        mm_audio_tower=str(whisper),
        mm_projector_type="all_in_one",
        mm_audio_projector_type="mlp2x_gelu",
        mm_hidden_size=32,
        audio_hidden_size=32,
        mm_vision_select_layer=-2,
        mm_vision_select_feature="patch",
        mm_use_x_start_end=True,
        num_frames=NUM_FRAMES,
        tune_mm_mlp_adapter=False,
        use_mm_proj=True,
        image_aspect_ratio="pad",
    )
    torch.manual_seed(seed)
    model = HumanOmniQwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


if __name__ == "__main__":
    print(build(Path(sys.argv[1]).resolve()))
