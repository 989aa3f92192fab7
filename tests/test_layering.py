"""Layers point one way: cli -> api -> runner/scoring/leaderboard -> data/video/judges/metrics."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fecbench"
#: Only these may import fecbench.api: the CLI over it (cli_env.py: its `fecbench env` group), the
#: package's lazy top-level names, and the conformance kit (which runs a real `fecbench run` the way
#: a plugin author's test would).
MAY_IMPORT_API = {"cli.py", "cli_env.py", "__init__.py", "testing/checks.py"}


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
        if "fecbench.api" in imported_modules(path):
            offenders.append(relative)
    assert offenders == [], f"these modules import fecbench.api from below it: {offenders}"


def test_the_rule_sees_an_import_from_below(tmp_path: Path) -> None:
    module = tmp_path / "execute.py"
    module.write_text("def f():\n    from fecbench.api import RunResult\n    return RunResult\n")
    assert "fecbench.api" in imported_modules(module)
