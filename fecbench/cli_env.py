"""The ``fecbench env`` commands: build a model's own environment, check one (see docs/model-env.md).

Split from :mod:`fecbench.cli` (which adds this group to the ``fecbench`` command); like it, they
only parse options, call :mod:`fecbench.api` and print.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fecbench.terminal import err, out

env_app = typer.Typer(
    help="Model environments: a Python environment of its own for a model (--model-env).", no_args_is_help=True
)


@env_app.command("create")
def env_create(
    name: Annotated[str, typer.Argument(help="The adapter whose environment to build (see `fecbench models`).")],
    path: Annotated[
        Path | None, typer.Option("--path", help="Folder of the environment (default: the cache's envs/NAME).")
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option(
            "--source", help="A local git directory or snapshot of the model's repository, instead of cloning it."
        ),
    ] = None,
    python: Annotated[
        str | None, typer.Option("--python", help="The interpreter to build it with (default: the recipe's version).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild an environment fecbench created there.")] = False,
) -> None:
    """Build a model's own environment from the commit its adapter was written against, as its README installs it."""
    from fecbench import api

    def say(line: str) -> None:
        err.print(line, highlight=False, markup=False, soft_wrap=True)

    created = api.create_env(name, path=path, source=source, python=python, force=force, say=say)
    report = api.check_env(created)
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items())
    for line in (
        f"model environment: {created}",
        f"worker: {versions}",
        f"run with: fecbench run --model {name} --model-env {created}",
    ):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@env_app.command("check")
def env_check(
    path: Annotated[Path, typer.Argument(help="A model environment: a venv folder or a python executable.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Also load this adapter there.")] = None,
    model_args: Annotated[str | None, typer.Option("--model-args", help="k=v,k2=v2 passed to the adapter.")] = None,
) -> None:
    """Start fecbench's worker in a model environment and print its handshake (and the loaded adapter's report)."""
    import json

    from fecbench import api
    from fecbench.plugins import parse_model_args

    report = api.check_env(path, model, parse_model_args(model_args))
    sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
