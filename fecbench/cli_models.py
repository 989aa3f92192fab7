"""The adapter commands: ``fecbench models`` (the listing) and ``fecbench new-adapter`` (a package to fill in).

Split from :mod:`fecbench.cli` (which registers them); like it, they only parse options, call
:mod:`fecbench.api` and print.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fecbench.terminal import out, print_model_details, print_model_table


def models(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show aliases, frame counts, requirements and summaries.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON, one object per adapter.")] = False,
) -> None:
    """List every installed adapter, where it comes from, and whether its dependencies are installed."""
    import json

    from fecbench import api

    rows = api.model_listing()
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif verbose:
        print_model_details(rows)
    else:
        print_model_table(rows)


def new_adapter(
    name: Annotated[str, typer.Argument(help="The adapter's name, as users will type it after --model.")],
    directory: Annotated[Path, typer.Option("--dir", help="Where to create the package folder.")] = Path("."),
) -> None:
    """Write a ready adapter plugin package (pyproject, adapter, conformance test) to fill in."""
    from fecbench import api

    root, files = api.new_adapter(name, directory)
    lines = [f"created {root}:", *(f"  {path.relative_to(root)}" for path in files), "next:"]
    lines += [
        f"  cd {root} && pip install -e .   # then `fecbench models` lists {name}",
        "  pytest tests                    # fecbench's conformance checks",
        f"  fecbench run --model {name} --video-root /data/fec",
    ]
    for line in lines:
        out.print(line, soft_wrap=True, highlight=False, markup=False)
