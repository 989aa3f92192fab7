"""``fecbench new-adapter NAME``: write a ready adapter plugin package from the templates.

The package is what a contributor would otherwise assemble from the docs: a pyproject with the
``fecbench`` entry point, a registration module, a working placeholder adapter and a test built on
:mod:`fecbench.testing`. It installs with ``pip install -e .`` and passes its own tests as written,
so a contributor starts from green and replaces the placeholder with the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fecbench.errors import ConfigError

TEMPLATE_PACKAGE = "fecbench"
TEMPLATE_DIR = "templates/new_adapter"
NAME_RULE = re.compile(r"^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$")

# template path (relative to TEMPLATE_DIR) -> output path; "{module}" is the Python package name
FILES: dict[str, str] = {
    "pyproject.toml.j2": "pyproject.toml",
    "README.md.j2": "README.md",
    "package/__init__.py.j2": "{module}/__init__.py",
    "package/adapter.py.j2": "{module}/adapter.py",
    "tests/test_adapter.py.j2": "tests/test_adapter.py",
}


@dataclass(frozen=True)
class AdapterNames:
    """The names derived from one adapter name, so they agree everywhere in the package."""

    name: str  # what users type: fecbench run --model NAME
    dist_name: str  # the pip distribution, fecbench-NAME
    module: str  # the import package, fecbench_NAME
    class_name: str  # the adapter class, NameAdapter

    @classmethod
    def from_name(cls, name: str) -> AdapterNames:
        if not NAME_RULE.match(name):
            raise ConfigError(
                f"adapter name {name!r}: use lower-case letters and digits, words joined by '-', '_' or '.', "
                "starting with a letter (e.g. my-model)"
            )
        words = re.split(r"[-_.]", name)
        slug = "_".join(words)
        return cls(
            name=name,
            dist_name=f"fecbench-{'-'.join(words)}",
            module=f"fecbench_{slug}",
            class_name="".join(w[:1].upper() + w[1:] for w in words) + "Adapter",
        )


def new_adapter_package(name: str, directory: str | Path = ".") -> tuple[Path, list[Path]]:
    """Write the plugin package for adapter ``name`` under ``directory``; returns its folder and files.

    Refuses a name that an installed plugin already registers (the two would clash) and a target
    folder that exists and is not empty.
    """
    import jinja2

    from fecbench import __version__
    from fecbench.plugins import registered_adapters

    names = AdapterNames.from_name(name)
    existing = registered_adapters().get(name)
    if existing is not None:
        raise ConfigError(f"adapter name {name!r} is already registered by {existing.provider}; choose another name")
    root = Path(directory) / names.dist_name
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigError(f"{root} already exists and is not empty; choose another --dir or remove it")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(TEMPLATE_PACKAGE, TEMPLATE_DIR),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Python and TOML sources, not HTML
    )
    values = {
        "name": names.name,
        "dist_name": names.dist_name,
        "module": names.module,
        "class_name": names.class_name,
        "fecbench_version": __version__,
    }
    written = []
    for template, target in FILES.items():
        path = root / target.format(module=names.module)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(template).render(**values), encoding="utf-8")
        written.append(path)
    return root, written
