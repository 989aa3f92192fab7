"""The API's models: list the installed adapters, build and check a model's own environment, scaffold a new
adapter package.

Part of :mod:`fecbench.api`, which re-exports every name; import them from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fecbench.model_env.recipe import environment_listing
from fecbench.plugins import RegisteredAdapter, get_adapter, listing_row, unique_adapters


def list_models() -> list[RegisteredAdapter]:
    """Every installed adapter, one entry each (aliases folded)."""
    return unique_adapters()


def model_listing() -> list[dict[str, Any]]:
    """What ``fecbench models`` shows, as plain data: one dict per adapter, dependencies checked without importing."""
    return [
        {
            **listing_row(
                entry,
                default_checkpoint=entry.spec.default_checkpoint,
                default_frames=entry.spec.default_frames,
            ),
            **environment_listing(entry.spec.name, entry.spec.recipe),
        }
        for entry in unique_adapters()
    ]


def create_env(model: str, **options: Any) -> Path:
    """Build ``model``'s own Python environment from its recipe (pinned commit, its README's install, fecbench's
    worker side ``--no-deps``); returns the folder to pass as ``model_env``. ``options``: ``path``, ``source`` (a
    local git directory or snapshot instead of a clone), ``python``, ``force``, ``say`` (progress lines)."""
    from fecbench.model_env.create import create_env as build

    entry = get_adapter(model)
    return build(entry.spec.name, entry.spec.recipe, **options)


def check_env(path: str | Path, model: str | None = None, model_args: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start fecbench's worker in the environment at ``path`` and return its handshake (versions, manifest);
    with ``model``, also load that adapter there and include what it reports."""
    from fecbench.model_env.interpreter import ModelEnv
    from fecbench.model_env.proxy import probe

    env = ModelEnv.resolve(path)
    return probe(env, get_adapter(model) if model else None, model_args)


def new_adapter(name: str, directory: str | Path = ".") -> tuple[Path, list[Path]]:
    """Write a ready adapter plugin package for ``name`` under ``directory``; returns its folder and files."""
    from fecbench.scaffold import new_adapter_package

    return new_adapter_package(name, directory)
