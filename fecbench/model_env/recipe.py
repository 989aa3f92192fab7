"""How to build a model's own Python environment: the recipe an adapter's registration can carry.

An adapter whose model code pins old torch/transformers/numpy releases declares an
:class:`EnvRecipe` in its :class:`fecbench.AdapterSpec` (``recipe=``); ``fecbench env create NAME``
follows it (:mod:`fecbench.model_env.create`) and ``fecbench models`` shows that the adapter runs in
an environment of its own. Light on purpose: the worker imports the hook specs, and with them this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The file ``fecbench env create`` writes into the environment's folder: what it was built from, and
#: the variables the worker gets (e.g. where the authors' clone is, for code that is not a package).
MANIFEST = "fecbench-env.json"
#: In an :attr:`EnvRecipe.environment` value, replaced by the clone's absolute path.
CLONE = "{clone}"


@dataclass(frozen=True)
class EnvRecipe:
    """A model environment, built the way the model's repository documents its installation.

    ``repo`` and ``commit``: the repository and the commit the adapter was written against (cloned,
    or copied from a local snapshot, then checked out). ``python``: the Python version its README
    asks for (``"3.10"``; empty: the driver's). ``pip_before``: requirements installed first (e.g.
    the torch build it pins, which its install step assumes); ``install``: the README's install
    step, a shell line run inside the clone with the environment's ``pip``/``python`` first on
    PATH; ``pip_after``: pins installed last (fixes the README needs on today's index).
    ``environment``: variables the worker gets, ``{clone}`` standing for the clone's path.
    """

    project: str
    repo: str
    commit: str
    directory: str
    install: str = ""
    python: str = ""
    pip_before: tuple[str, ...] = ()
    pip_after: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    note: str = ""

    def worker_environment(self, clone: str) -> dict[str, str]:
        return {name: value.replace(CLONE, clone) for name, value in self.environment}


def environment_listing(name: str, recipe: EnvRecipe | None) -> dict[str, Any]:
    """What ``fecbench models`` shows of where an adapter runs, and how to create its environment."""
    if recipe is None:
        return {"runs": "in-process", "env_create": None, "environment": None}
    return {
        "runs": "own-env",
        "env_create": f"fecbench env create {name}",
        "environment": {"repo": recipe.repo, "commit": recipe.commit, "python": recipe.python or None},
    }
