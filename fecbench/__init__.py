"""fecbench: evaluate video MLLMs on FEC-Bench (facial expression captioning).

The Python API is the product; the ``fecbench`` command only parses options and calls it.
Importing this package never imports torch, transformers or vllm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fecbench.adapter import Adapter, Caption, GenerationConfig, VideoRequest
from fecbench.hookspecs import AdapterSpec, hookimpl

__version__ = "0.2.0.dev0"

__all__ = [
    "Adapter",
    "AdapterSpec",
    "Caption",
    "GenerationConfig",
    "VideoRequest",
    "__version__",
    "build_leaderboard",
    "check_data",
    "compare",
    "hookimpl",
    "list_models",
    "make_demo",
    "merge",
    "run",
    "score",
]

_API = {"run", "score", "list_models", "check_data", "make_demo", "build_leaderboard", "merge", "compare"}

if TYPE_CHECKING:
    from fecbench.api import build_leaderboard, check_data, compare, list_models, make_demo, merge, run, score


def __getattr__(name: str) -> Any:
    # The API pulls in the runner, video and metric modules; load them on first use only.
    if name == "results":  # ``fecbench.results.load(...)`` without importing the submodule first
        import importlib

        return importlib.import_module("fecbench.results")
    if name in _API:
        from fecbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'fecbench' has no attribute {name!r}")
