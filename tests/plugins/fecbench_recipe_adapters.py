"""A test plugin whose adapter needs an environment of its own, built by ``fecbench env create`` from a recipe.

``tiny-authors`` calls the package ``tinyauthors``, which exists only in a tiny git repository the
test makes (tests/test_env_create.py); the recipe pins one of its commits, named by the variable
``FECBENCH_TEST_TINY_COMMIT``, and the repository is given with ``--source`` (nothing is cloned from
the network). The adapter reports the variable the recipe sets for the worker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from fecbench import Adapter, AdapterSpec, GenerationConfig, VideoRequest, hookimpl
from fecbench.model_env.recipe import EnvRecipe

COMMIT_ENV = "FECBENCH_TEST_TINY_COMMIT"


class TinyAuthorsAdapter(Adapter):
    name = "tiny-authors"

    def __init__(self) -> None:
        import tinyauthors  # the "authors' code": installed in the model environment only

        self.code = tinyauthors

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        return [self.code.caption(r.frames) for r in requests]

    def describe(self) -> dict[str, object]:
        return {"tinyauthors": self.code.VERSION, "code_dir": os.environ.get("TINY_AUTHORS_CODE")}


@hookimpl
def fecbench_register_adapters() -> list[AdapterSpec]:
    recipe = EnvRecipe(
        project="TinyAuthors",
        repo="https://example.invalid/tiny-authors.git",
        commit=os.environ.get(COMMIT_ENV, "0" * 40),
        directory="tiny-authors",
        install="pip install --no-deps .",
        pip_before=("numpy==1.26.4",),
        environment=(("TINY_AUTHORS_CODE", "{clone}/extra"),),
    )
    return [
        AdapterSpec(
            name="tiny-authors",
            factory="fecbench_recipe_adapters:TinyAuthorsAdapter",
            summary="test adapter whose code lives in its own environment",
            default_frames=4,
            requires=("tinyauthors",),
            install_hint="fecbench env create tiny-authors",
            recipe=recipe,
        )
    ]
