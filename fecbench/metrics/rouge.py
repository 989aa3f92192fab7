"""ROUGE-L as pycocoevalcap 1.2's ``Rouge`` computes it: LCS F-measure with beta = 1.2, mean over clips.

With one reference per clip: ``P = lcs / len(pred)``, ``R = lcs / len(ref)`` and
``F = (1 + beta**2) * P * R / (R + beta**2 * P)`` (0 when P or R is 0). Words are the PTB tokens joined by
spaces and split on ``" "`` as in the reference, so an empty text is one empty word: an empty prediction
scores 0 (and an empty prediction against an empty reference would score 1, as there).

The longest common subsequence is computed bit-parallel (Hyyrö 2004) on Python integers instead of the
reference's O(n*m) table, which is what makes per-clip bootstraps of long captions cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fecbench.metrics.tokenize import ptb_tokenize

__all__ = ["BETA", "lcs_length", "rouge_l", "rouge_l_tokens", "rouge_tokens"]

BETA = 1.2


def rouge_tokens(text: str) -> list[str]:
    """Words as pycocoevalcap's ROUGE-L sees them: PTB tokens joined by spaces, then ``split(" ")``."""
    return " ".join(ptb_tokenize(text)).split(" ")


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two word sequences."""
    if len(a) < len(b):
        a, b = b, a
    masks: dict[str, int] = {}
    for i, word in enumerate(a):
        masks[word] = masks.get(word, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for word in b:
        u = v & masks.get(word, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l_tokens(ref: Sequence[str], pred: Sequence[str], beta: float = BETA) -> float:
    """ROUGE-L F-measure of one prediction against one reference, both as word lists."""
    lcs = lcs_length(ref, pred)
    prec = lcs / float(len(pred))
    rec = lcs / float(len(ref))
    if prec != 0 and rec != 0:
        return ((1 + beta**2) * prec * rec) / float(rec + beta**2 * prec)  # the reference's exact expression
    return 0.0


def rouge_l(refs: Mapping[str, str], preds: Mapping[str, str]) -> tuple[float, dict[str, float]]:
    """Mean ROUGE-L and per-clip scores for raw-text references and predictions with the same ids."""
    if set(refs) != set(preds):
        raise ValueError("references and predictions must have the same ids")
    per_clip = {i: rouge_l_tokens(rouge_tokens(refs[i]), rouge_tokens(preds[i])) for i in preds}
    return float(np.mean(list(per_clip.values()))), per_clip
