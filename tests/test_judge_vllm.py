"""The vllm judge: runs only on a machine with a CUDA GPU and vLLM installed (``-m gpu``).

fecbench's development machines have neither, so this test has never run; it is here so that a
GPU machine can check the backend with a tiny random-weight checkpoint (no download).
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_vllm_judge_answers_every_item_or_fails_it_after_retries(tmp_path: Path) -> None:
    pytest.importorskip("vllm")
    from tiny_models import build_tiny_chat_lm

    from fecbench.judges.base import JudgeFailure
    from fecbench.judges.engine import JudgeEngine
    from fecbench.judges.registry import load_judge

    build_tiny_chat_lm(tmp_path)
    judge = load_judge(
        "vllm", {"model": str(tmp_path), "max_tokens": 16, "max_retries": 1, "gpu_memory_utilization": 0.3}
    )
    engine = JudgeEngine(judge)
    results = engine.run("extract", [{"text": "He blinks."}, {"text": "She smiles."}])
    assert all(isinstance(r, JudgeFailure) and r.attempts == 2 for r in results)
    assert engine.stats["extract"]["judge_calls"] == 2
