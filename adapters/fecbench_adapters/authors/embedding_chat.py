"""Generation from a prompt whose placeholder is replaced by visual embeddings (the MiniGPT-4 recipe).

VideoChat, VideoChat2 and Video-LLaMA do not put image tokens into the vocabulary: their chat code
splits the prompt at a placeholder (``<VideoHere>``, ``<ImageHere>``), tokenises each piece (only
the first gets the BOS token), embeds them with the language model's input embeddings, puts the
video embeddings in between and calls ``generate(inputs_embeds=...)``, stopping on chosen token
sequences. This module does exactly that with any causal LM that has ``get_input_embeddings``;
the adapters pass their authors' tokenizer, language model and video embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def split_at_placeholder(prompt: str, placeholder: str, visual_count: int) -> list[str]:
    """The text pieces around the visual placeholders; their count must be one more than the visuals'."""
    pieces = prompt.split(placeholder)
    if len(pieces) != visual_count + 1:
        raise ValueError(
            f"prompt has {len(pieces) - 1} {placeholder!r} placeholders for {visual_count} visual inputs: {prompt!r}"
        )
    return pieces


def mixed_embeddings(tokenizer: Any, llm: Any, prompt: str, placeholder: str, visuals: Sequence[Any]) -> Any:
    """(1, L, D) input embeddings: the prompt's text pieces embedded, the visual embeddings in between."""
    import torch

    embed = llm.get_input_embeddings()
    device = embed.weight.device
    pieces = split_at_placeholder(prompt, placeholder, len(visuals))
    embedded = [
        embed(tokenizer(piece, return_tensors="pt", add_special_tokens=i == 0).input_ids.to(device))
        for i, piece in enumerate(pieces)
    ]
    parts: list[Any] = []
    for text, visual in zip(embedded[:-1], visuals, strict=True):
        parts += [text, visual.to(device=device, dtype=text.dtype)]
    parts.append(embedded[-1])
    return torch.cat(parts, dim=1)


def stop_on_sequences(stops: Sequence[Sequence[int]]) -> Any:
    """A stopping criterion that ends generation once the output ends with any of ``stops`` (token ids)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _EndsWith(StoppingCriteria):
        def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> bool:
            row = input_ids[0].tolist()
            return any(len(row) >= len(stop) and row[-len(stop) :] == list(stop) for stop in stops)

    return StoppingCriteriaList([_EndsWith()])


def generate_from_embeddings(
    llm: Any, embeds: Any, stops: Sequence[Sequence[int]], **generate_kwargs: Any
) -> list[int]:
    """The new tokens ``llm.generate`` writes after ``embeds`` (one sequence)."""
    import torch

    with torch.inference_mode():
        output = llm.generate(
            inputs_embeds=embeds,
            attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device),
            stopping_criteria=stop_on_sequences(stops),
            **generate_kwargs,
        )
    return output[0].tolist()


def strip_leading_special(tokens: Sequence[int], unk_id: int = 0, bos_id: int = 1) -> list[int]:
    """Drop a leading <unk> and then a leading <s>, as the authors' chat code does before decoding."""
    out = list(tokens)
    if out and out[0] == unk_id:
        out = out[1:]
    if out and out[0] == bos_id:
        out = out[1:]
    return out


def answer_text(text: str, *, stop: str, role_prefix: str | None = None) -> str:
    """The reply: text before the stop marker, after the last role prefix, stripped."""
    text = text.split(stop)[0]
    if role_prefix:
        text = text.split(role_prefix)[-1]
    return text.strip()
