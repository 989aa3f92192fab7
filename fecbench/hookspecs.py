"""Every hook fecbench calls, in one typed module (the pytest / datasette habit).

A plugin is a module (or object) with functions named like the specs below, decorated with
``fecbench.hookimpl``. Installed packages expose theirs through the ``fecbench`` entry-point group;
fecbench's own adapters are registered exactly the same way, from ``fecbench_adapters``.

Hooks return cheap *descriptions* (:class:`AdapterSpec`, :class:`fecbench.judges.base.JudgeSpec`);
nothing heavy (torch, transformers, vllm, openai) is imported until a run actually asks for that
adapter or judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pluggy

from fecbench.model_env.recipe import EnvRecipe

if TYPE_CHECKING:  # judges need pydantic, which a model's own environment may not have (see fecbench.worker)
    from fecbench.judges.base import JudgeSpec

PROJECT = "fecbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class AdapterSpec:
    """A registered model adapter, described without importing it.

    ``factory`` is ``"package.module:ClassName"``, imported only when the adapter is used.
    ``default_frames`` is the frame count sampled when the user gives no ``--frames``; it lives here
    rather than on the class so a run can be planned (and resumed) without importing the model.
    ``requires`` lists the import names the adapter needs; ``install_hint`` is the pip command
    that installs them, shown by ``fecbench models`` and in the error of a run that lacks them.
    ``recipe``, for a model whose code needs an environment of its own (old torch/transformers/numpy
    pins), says how ``fecbench env create NAME`` builds it; such an adapter runs with ``--model-env``.
    """

    name: str
    factory: str
    summary: str = ""
    default_checkpoint: str | None = None
    default_frames: int = 8
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)
    recipe: EnvRecipe | None = None


@hookspec
def fecbench_register_adapters() -> list[AdapterSpec]:
    """Return the model adapters this plugin provides."""


@hookspec
def fecbench_register_judges() -> list[JudgeSpec]:
    """Return the judges (event extraction, relation, rating) this plugin provides."""
