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
import string
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    GotOcr2ImageProcessor,
    InternVLConfig,
    InternVLForConditionalGeneration,
    InternVLProcessor,
    InternVLVideoProcessor,
    LlamaTokenizer,
    LlavaNextImageProcessor,
    LlavaNextVideoConfig,
    LlavaNextVideoForConditionalGeneration,
    LlavaNextVideoProcessor,
    LlavaNextVideoVideoProcessor,
    LlavaOnevisionConfig,
    LlavaOnevisionForConditionalGeneration,
    LlavaOnevisionImageProcessor,
    LlavaOnevisionProcessor,
    LlavaOnevisionVideoProcessor,
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen2Tokenizer,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessor,
    Qwen2VLProcessor,
    Qwen2VLVideoProcessor,
    VideoLlama3Config,
    VideoLlama3ForConditionalGeneration,
    VideoLlama3ImageProcessor,
    VideoLlama3Processor,
    VideoLlama3VideoProcessor,
    VideoLlavaConfig,
    VideoLlavaForConditionalGeneration,
    VideoLlavaImageProcessor,
    VideoLlavaProcessor,
    VideoLlavaVideoProcessor,
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


def trained_byte_bpe(
    special_tokens: tuple[str, ...], vocab_size: int = 400, corpus: tuple[str, ...] = CORPUS, repeats: int = 50
) -> Tokenizer:
    """A byte-level BPE tokenizer trained locally on ``corpus`` in well under a second."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(corpus) * repeats, trainer)
    return tokenizer


def train_bpe(special_tokens: tuple[str, ...], vocab_size: int = 400) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary and merge list, trained locally in well under a second."""
    model = json.loads(trained_byte_bpe(special_tokens, vocab_size).to_str())["model"]
    return model["vocab"], [tuple(merge) for merge in model["merges"]]


def tiny_qwen_tokenizer() -> Qwen2Tokenizer:
    """The real Qwen2 tokenizer class (its pre-tokenizer regex, its special-token roles) on a toy vocabulary."""
    vocab, merges = train_bpe(QWEN_SPECIAL_TOKENS)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=merges, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIAL_TOKENS[1:])})
    return tokenizer


def qwen_token_ids(tokenizer: Qwen2Tokenizer) -> dict[str, int]:
    """The id of every Qwen special token in :func:`tiny_qwen_tokenizer`'s vocabulary."""
    return dict(zip(QWEN_SPECIAL_TOKENS, tokenizer.convert_tokens_to_ids(list(QWEN_SPECIAL_TOKENS)), strict=True))


def qwen_vl_text_config(tokenizer: Qwen2Tokenizer, model_type: str) -> dict:
    """The text model of Qwen2-VL and Qwen2.5-VL: :func:`text_config` without BOS, with M-RoPE."""
    # mrope_section sums to head_dim / 2 = 8 (temporal, height, width).
    rope = {"rope_type": "default", "mrope_section": [4, 2, 2], "rope_theta": 10000.0}
    return text_config(tokenizer, model_type, bos_token_id=None, rope_parameters=rope)


def qwen_vl_media_fields(ids: dict[str, int]) -> dict[str, int]:
    """The config fields that name the media tokens, the same in Qwen2-VL and Qwen2.5-VL."""
    return {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }


def qwen_vl_processor_parts(tokenizer: Qwen2Tokenizer) -> dict[str, object]:
    """What Qwen2-VL's and Qwen2.5-VL's processors are built from: the hub's pixel limits, the chat template."""
    return {
        "image_processor": Qwen2VLImageProcessor(min_pixels=HUB_IMAGE_MIN_PIXELS, max_pixels=HUB_IMAGE_MAX_PIXELS),
        "tokenizer": tokenizer,
        "video_processor": Qwen2VLVideoProcessor(min_pixels=HUB_IMAGE_MIN_PIXELS, max_pixels=HUB_IMAGE_MAX_PIXELS),
        "chat_template": QWEN_CHAT_TEMPLATE,
    }


def build_tiny_qwen2_vl(directory: str | Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen2-VL checkpoint (about 1 MB) into ``directory`` and return its path.

    Two decoder layers of width 64 and a one-block vision tower: generation takes a fraction of a
    second on CPU, yet every Qwen2-VL mechanism (3D patches, merger, M-RoPE over video tokens) runs.
    """
    directory = Path(directory)
    tokenizer = tiny_qwen_tokenizer()
    ids = qwen_token_ids(tokenizer)
    config = Qwen2VLConfig(
        text_config=qwen_vl_text_config(tokenizer, "qwen2_vl_text"),
        vision_config={"depth": 1, "embed_dim": 32, "hidden_size": 64, "num_heads": 2},
        **qwen_vl_media_fields(ids),
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).eval()
    # As on the hub: stop on <|im_end|> or <|endoftext|>, pad with <|endoftext|>.
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.bos_token_id = None
    processor = Qwen2VLProcessor(**qwen_vl_processor_parts(tokenizer))
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


# ---------------------------------------------------------------------------------------------------------
# The other transformers-native video chat models. Each builder mirrors its hub checkpoint's layout: the
# same model, processor and tokenizer classes, the same special tokens and a chat template of the same shape,
# with a two-layer text model of width 64 and a vision tower of one or two tiny layers on 64x64 inputs.
# ---------------------------------------------------------------------------------------------------------

LLAMA_BYTE_TOKENS = tuple(f"<0x{b:02X}>" for b in range(256))


def train_metaspace_bpe(special_tokens: tuple[str, ...], vocab_size: int = 700) -> tuple[dict[str, int], list]:
    """A sentencepiece-style BPE (``▁`` marks word starts, byte fallback tokens) as Llama tokenizers use."""
    tokenizer = Tokenizer(models.BPE(byte_fallback=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    alphabet = sorted(set(string.ascii_letters + string.digits + string.punctuation) | {"▁"})
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[*special_tokens, *LLAMA_BYTE_TOKENS],
        initial_alphabet=alphabet,
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(CORPUS) * 50, trainer)
    model = json.loads(tokenizer.to_str())["model"]
    return model["vocab"], [tuple(merge) for merge in model["merges"]]


def tiny_llama_tokenizer(extra_special: tuple[str, ...], pad_token: str = "<unk>") -> LlamaTokenizer:
    """The Llama (Vicuna) tokenizer class on a toy vocabulary: ``<s>`` prepended, byte fallback, ``</s>`` ends."""
    vocab, merges = train_metaspace_bpe(("<unk>", "<s>", "</s>", *extra_special))
    tokenizer = LlamaTokenizer(
        vocab=vocab, merges=merges, pad_token=pad_token, add_prefix_space=True, add_bos_token=True
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(extra_special)})
    return tokenizer


def tiny_qwen_style_tokenizer(special_tokens: tuple[str, ...], **named: object) -> Qwen2Tokenizer:
    """Qwen2's tokenizer class with ``special_tokens`` (the first is ``<|endoftext|>``) on a toy vocabulary."""
    vocab, merges = train_bpe(special_tokens)
    named = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", **named}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, **named)
    tokenizer.add_special_tokens({"additional_special_tokens": list(special_tokens[1:])})
    return tokenizer


def text_config(tokenizer, model_type: str, **extra: object) -> dict:
    """A two-layer decoder of width 64 whose special-token ids match ``tokenizer``."""
    return {
        "model_type": model_type,
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        **extra,
    }


CLIP_VISION = {
    "model_type": "clip_vision_model",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": 64,
    "patch_size": 16,
    "projection_dim": 32,
}
SIGLIP_VISION = {**CLIP_VISION, "model_type": "siglip_vision_model"}


def clip_resize() -> dict[str, dict[str, int]]:
    """How the LLaVA-style image and video processors bring frames to ``CLIP_VISION``'s 64-px input."""
    return {"size": {"shortest_edge": 64}, "crop_size": {"height": 64, "width": 64}}


# How those processors count a frame's tokens for ``CLIP_VISION``: 16-px patches plus the CLS token it keeps.
CLIP_TOKEN_COUNT = {"patch_size": 16, "vision_feature_select_strategy": "default", "num_additional_image_tokens": 1}


def save_checkpoint(directory: str | Path, model, processor, stop_ids: list[int], pad_id: int) -> Path:
    """Write model and processor; generation stops on ``stop_ids`` and pads with ``pad_id`` as on the hub."""
    directory = Path(directory)
    model.generation_config.eos_token_id = stop_ids if len(stop_ids) > 1 else stop_ids[0]
    model.generation_config.pad_token_id = pad_id
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def build_tiny_qwen2_5_vl(directory: str | Path, seed: int = 0) -> Path:
    """Qwen2.5-VL: windowed-attention vision tower (one full-attention block) and time-aware M-RoPE."""
    tokenizer = tiny_qwen_tokenizer()
    ids = qwen_token_ids(tokenizer)
    config = Qwen2_5_VLConfig(
        text_config=qwen_vl_text_config(tokenizer, "qwen2_5_vl_text"),
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "out_hidden_size": 64,
            "num_heads": 2,
            "fullatt_block_indexes": [1],
            "window_size": 56,
        },
        **qwen_vl_media_fields(ids),
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    processor = Qwen2_5_VLProcessor(**qwen_vl_processor_parts(tokenizer))
    return save_checkpoint(directory, model, processor, [ids["<|im_end|>"], ids["<|endoftext|>"]], ids["<|endoftext|>"])


# Vicuna's "USER: ... ASSISTANT:" layout with media first, as in llava-hf/LLaVA-NeXT-Video-7B-hf.
VICUNA_MEDIA_FIRST_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] != 'system' %}{{ message['role'].upper() + ': ' }}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] + ' ' }}{% endfor %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def build_tiny_llava_next_video(directory: str | Path, seed: int = 0) -> Path:
    """LLaVA-NeXT-Video: CLIP tower, 2x2 average pooling of each frame's patch grid, Vicuna (Llama) text model."""
    tokenizer = tiny_llama_tokenizer(("<image>", "<video>"))
    image_id, video_id = tokenizer.convert_tokens_to_ids(["<image>", "<video>"])
    config = LlavaNextVideoConfig(
        vision_config=CLIP_VISION,
        text_config=text_config(tokenizer, "llama"),
        image_token_index=image_id,
        video_token_index=video_id,
        image_grid_pinpoints=[[64, 64]],
        vision_feature_layer=-1,
        image_seq_length=16,
    )
    torch.manual_seed(seed)
    model = LlavaNextVideoForConditionalGeneration(config).eval()
    processor = LlavaNextVideoProcessor(
        video_processor=LlavaNextVideoVideoProcessor(**clip_resize()),
        image_processor=LlavaNextImageProcessor(**clip_resize(), image_grid_pinpoints=[[64, 64]]),
        tokenizer=tokenizer,
        chat_template=VICUNA_MEDIA_FIRST_TEMPLATE,
        **CLIP_TOKEN_COUNT,
    )
    return save_checkpoint(directory, model, processor, [tokenizer.eos_token_id], tokenizer.pad_token_id)


# Qwen's im_start/im_end turns with media first and no default system turn, as in llava-onevision-qwen2-*-hf.
ONEVISION_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{{ content['text'] }}{% endfor %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tiny_llava_onevision(directory: str | Path, seed: int = 0) -> Path:
    """LLaVA-OneVision: SigLIP tower, bilinear 2x pooling of video frames plus one newline token, Qwen2 text model."""
    tokenizer = tiny_qwen_style_tokenizer(("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"))
    image_id, video_id = tokenizer.convert_tokens_to_ids(["<image>", "<video>"])
    config = LlavaOnevisionConfig(
        vision_config=SIGLIP_VISION,
        text_config=text_config(tokenizer, "qwen2", bos_token_id=None),
        image_token_index=image_id,
        video_token_index=video_id,
        image_grid_pinpoints=[[64, 64]],
        vision_feature_layer=-1,
    )
    torch.manual_seed(seed)
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    processor = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size={"height": 64, "width": 64}, image_grid_pinpoints=[[64, 64]]),
        tokenizer=tokenizer,
        video_processor=LlavaOnevisionVideoProcessor(size={"height": 64, "width": 64}),
        num_image_tokens=16,
        vision_feature_select_strategy="full",
        chat_template=ONEVISION_TEMPLATE,
    )
    ids = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    return save_checkpoint(directory, model, processor, ids, tokenizer.pad_token_id)


def build_tiny_video_llava(directory: str | Path, seed: int = 0) -> Path:
    """Video-LLaVA: one CLIP tower for every frame (CLS kept), Vicuna text model; no chat template, as on the hub."""
    tokenizer = tiny_llama_tokenizer(("<image>", "<video>", "<pad>"), pad_token="<pad>")
    image_id, video_id = tokenizer.convert_tokens_to_ids(["<image>", "<video>"])
    config = VideoLlavaConfig(
        vision_config=CLIP_VISION,
        text_config=text_config(tokenizer, "llama"),
        image_token_index=image_id,
        video_token_index=video_id,
        vision_feature_layer=-1,
        image_seq_length=16,
        video_seq_length=8 * 17,
    )
    torch.manual_seed(seed)
    model = VideoLlavaForConditionalGeneration(config).eval()
    processor = VideoLlavaProcessor(
        image_processor=VideoLlavaImageProcessor(**clip_resize()),
        video_processor=VideoLlavaVideoProcessor(**clip_resize()),
        tokenizer=tokenizer,
        **CLIP_TOKEN_COUNT,
    )
    return save_checkpoint(directory, model, processor, [tokenizer.eos_token_id], tokenizer.pad_token_id)


INTERNVL_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<img>",
    "</img>",
    "<IMG_CONTEXT>",
    "<video>",
)

# InternVL3's layout: a default system turn, then "<video>\n" before the text of a user turn.
INTERNVL_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a tiny test model.<|im_end|>\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<image>\n' }}"
    "{% elif content['type'] == 'video' %}{{ '<video>\n' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


# With the usual 0.02 the tiny InternVL's text model falls into "\n\n\n..." for every input, which would make
# a batched == unbatched comparison meaningless; wider random weights make its output follow the input.
INTERNVL_TEXT_INIT_RANGE = 0.2


def build_tiny_internvl(directory: str | Path, seed: int = 0) -> Path:
    """InternVL (the -hf layout): InternViT, pixel shuffle to 4 tokens a frame, each frame 'FrameN: <img>...</img>'."""
    tokenizer = tiny_qwen_style_tokenizer(
        INTERNVL_SPECIAL_TOKENS,
        extra_special_tokens={
            "start_image_token": "<img>",
            "end_image_token": "</img>",
            "context_image_token": "<IMG_CONTEXT>",
            "video_token": "<video>",
        },
    )
    config = InternVLConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": [64, 64],
            "patch_size": [16, 16],
        },
        text_config=text_config(tokenizer, "qwen2", bos_token_id=None, initializer_range=INTERNVL_TEXT_INIT_RANGE),
        image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=4,
        downsample_ratio=0.5,
    )
    torch.manual_seed(seed)
    model = InternVLForConditionalGeneration(config).eval()
    processor = InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(size={"height": 64, "width": 64}),
        tokenizer=tokenizer,
        video_processor=InternVLVideoProcessor(size={"height": 64, "width": 64}),
        image_seq_length=4,
        chat_template=INTERNVL_TEMPLATE,
    )
    ids = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    return save_checkpoint(directory, model, processor, ids, tokenizer.pad_token_id)


VIDEOLLAMA3_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|image_pad|>", "<|video_pad|>")

# VideoLLaMA3's turns: the processor expands one <|video_pad|> into "Time t s:<tokens>," per frame.
VIDEOLLAMA3_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<|image_pad|>\n' }}"
    "{% elif content['type'] == 'video' %}{{ '<|video_pad|>\n' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tiny_videollama3(directory: str | Path, seed: int = 0) -> Path:
    """VideoLLaMA3: SigLIP-style any-resolution tower with 2D RoPE, tokens of near-identical frames pruned."""
    tokenizer = tiny_qwen_style_tokenizer(VIDEOLLAMA3_SPECIAL_TOKENS)
    image_id, video_id = tokenizer.convert_tokens_to_ids(["<|image_pad|>", "<|video_pad|>"])
    config = VideoLlama3Config(
        text_config=text_config(tokenizer, "qwen2", bos_token_id=None),
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "patch_size": 14,
        },
        image_token_id=image_id,
        video_token_id=video_id,
    )
    torch.manual_seed(seed)
    model = VideoLlama3ForConditionalGeneration(config).eval()
    processor = VideoLlama3Processor(
        image_processor=VideoLlama3ImageProcessor(),
        tokenizer=tokenizer,
        video_processor=VideoLlama3VideoProcessor(size={"shortest_edge": 784, "longest_edge": 8192}),
        chat_template=VIDEOLLAMA3_TEMPLATE,
    )
    ids = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    return save_checkpoint(directory, model, processor, ids, tokenizer.pad_token_id)


# -- a text-only chat LM, for the transformers and vllm judges ------------------------------------------

CHATML_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Judge prompts and answers: the chat tokenizer's vocabulary comes from the judges' domain.
JUDGE_CORPUS = (
    "Task: list the facial events. The man blinks, then his mouth opens slightly.",
    'Answer with only this JSON object: {"events": ["the woman smiles", "the woman tilts her head"]}',
    "Reference events and predicted events: entailment, neutral, contradiction.",
)


def tiny_chat_tokenizer() -> PreTrainedTokenizerFast:
    """A ChatML tokenizer (string contents only, as judges send them) on a toy vocabulary."""
    bpe = trained_byte_bpe(CHATML_SPECIAL_TOKENS, corpus=JUDGE_CORPUS, repeats=30)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tiny_chat_lm(directory: str | Path, seed: int = 0) -> Path:
    """Write a tiny random Qwen2 causal LM with :func:`tiny_chat_tokenizer` into ``directory``; return its path."""
    directory = Path(directory)
    tokenizer = tiny_chat_tokenizer()
    config = Qwen2Config(**text_config(tokenizer, "qwen2", max_position_embeddings=4096))
    torch.manual_seed(seed)
    Qwen2ForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
