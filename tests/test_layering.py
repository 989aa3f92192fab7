"""Layers point one way: cli -> api -> runner/scoring/leaderboard -> data/video/judges/metrics."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fecbench"
#: Only these may import fecbench.api: the CLI over it (cli.py and its command groups cli_run.py, cli_models.py,
#: cli_data.py, cli_leaderboard.py, cli_judges.py, cli_results.py, cli_env.py), the package's lazy top-level names,
#: and the conformance kit (which runs a real `fecbench run` the way a plugin author's test would). api.py itself
#: imports its parts, the api_*.py modules, which are the API too: the rule covers them.
MAY_IMPORT_API = {
    "cli.py",
    "cli_run.py",
    "cli_models.py",
    "cli_data.py",
    "cli_leaderboard.py",
    "cli_judges.py",
    "cli_results.py",
    "cli_env.py",
    "__init__.py",
    "testing/checks.py",
    "api.py",
}


def imports_the_api(names: set[str]) -> bool:
    """fecbench.api or one of its parts (fecbench.api_runs, ...)."""
    return any(name == "fecbench.api" or name.startswith(("fecbench.api.", "fecbench.api_")) for name in names)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_lower_layer_imports_the_api() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in MAY_IMPORT_API:
            continue
        if imports_the_api(imported_modules(path)):
            offenders.append(relative)
    assert offenders == [], f"these modules import fecbench.api from below it: {offenders}"


def test_the_rule_sees_an_import_from_below(tmp_path: Path) -> None:
    module = tmp_path / "execute.py"
    module.write_text("def f():\n    from fecbench.api import RunResult\n    return RunResult\n")
    assert imports_the_api(imported_modules(module))
    module.write_text("from fecbench.api_runs import run\n")
    assert imports_the_api(imported_modules(module))
    module.write_text("from fecbench import api_scoring\n")
    assert imports_the_api(imported_modules(module))
    module.write_text("from fecbench.apis import x\nimport fecbench.adapter\n")
    assert not imports_the_api(imported_modules(module))
