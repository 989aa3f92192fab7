"""A tiny random-weight chat LM written as a GGUF file here, with the ``gguf`` package (no download).

The checkpoint of :func:`tiny_models.build_tiny_chat_lm` (a two-layer Qwen2 and its toy byte-level
BPE tokenizer with a ChatML template) is written the way llama.cpp's converter writes a Qwen2 model:
``qwen2.*`` hyper-parameters, ``tokenizer.ggml.*`` vocabulary, merges and special ids, the chat
template, and the tensors under GGUF names, in float32. transformers then reads it back through its
own GGUF loader, so a test can compare the GGUF path with the safetensors checkpoint it came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

# transformers' Qwen2 parameter names -> GGUF tensor names (llama.cpp's tensor map for qwen2)
_LAYER_TENSORS = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
_TOP_TENSORS = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}


def gguf_name(name: str) -> str:
    if name in _TOP_TENSORS:
        return _TOP_TENSORS[name]
    if name == "lm_head.weight":
        return "output.weight"
    _, _, index, rest = name.split(".", 3)  # model.layers.<i>.<rest>
    return f"blk.{index}.{_LAYER_TENSORS[rest]}"


def write_chat_lm_gguf(checkpoint: Path, target: Path) -> Path:
    """Write the safetensors Qwen2 checkpoint folder ``checkpoint`` as one GGUF file ``target``."""
    config = json.loads((checkpoint / "config.json").read_text())
    tokenizer = json.loads((checkpoint / "tokenizer.json").read_text())
    tokenizer_config = json.loads((checkpoint / "tokenizer_config.json").read_text())
    vocab = dict(tokenizer["model"]["vocab"])
    special = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    vocab.update(special)
    tokens = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
    assert [vocab[t] for t in tokens] == list(range(len(tokens))), "token ids must be 0..n-1"
    assert len(tokens) == config["vocab_size"]

    writer = gguf.GGUFWriter(str(target), "qwen2")
    writer.add_name("tiny-chat-lm")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config["num_key_value_heads"])
    writer.add_rope_freq_base(float(config.get("rope_theta") or config["rope_parameters"]["rope_theta"]))
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL for t in tokens])
    merges = tokenizer["model"]["merges"]
    writer.add_token_merges([" ".join(m) if isinstance(m, list) else m for m in merges])
    writer.add_eos_token_id(special["<|im_end|>"])
    writer.add_pad_token_id(special["<|endoftext|>"])
    writer.add_add_bos_token(False)
    writer.add_chat_template(tokenizer_config.get("chat_template") or (checkpoint / "chat_template.jinja").read_text())

    weights = load_file(str(checkpoint / "model.safetensors"))
    if "lm_head.weight" not in weights:  # tied embeddings
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
    for name, tensor in sorted(weights.items()):
        writer.add_tensor(gguf_name(name), np.ascontiguousarray(tensor, dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target
