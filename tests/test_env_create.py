"""``fecbench env create`` and ``env check``: a model's environment built from its recipe, then used by a run.

The "authors' repository" is a tiny git repository made here with two commits; the recipe (in
tests/plugins/fecbench_recipe_adapters.py) pins the first, so a caption saying ``v1`` proves the
checkout. It is given with ``--source``, as a snapshot of a public repository would be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import plugins_registered
from test_model_env import predictions, same_shape_clips, spec

from fecbench import api
from fecbench.errors import ConfigError, MissingDependencyError
from fecbench.model_env.create import find_python
from fecbench.model_env.recipe import MANIFEST
from fecbench.plugins import load_adapter

pytestmark = pytest.mark.slow
COMMIT_ENV = "FECBENCH_TEST_TINY_COMMIT"

TINY_PYPROJECT = """[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "tinyauthors"
version = "0.0.{version}"
"""
TINY_MODULE = """VERSION = "{version}"


def caption(frames):
    return f"tiny v{{VERSION}}: {{len(frames)}} frames, first pixel {{int(frames[0, 0, 0, 0])}}"
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository whose first commit is the pinned one; its second changes what the model says."""
    repo = tmp_path_factory.mktemp("tiny") / "tiny-authors"
    (repo / "tinyauthors").mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "user.name", "test")
    commits = []
    for version in ("1", "2"):
        (repo / "pyproject.toml").write_text(TINY_PYPROJECT.format(version=version))
        (repo / "tinyauthors" / "__init__.py").write_text(TINY_MODULE.format(version=version))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"version {version}")
        commits.append(git(repo, "rev-parse", "HEAD"))
    return repo, commits[0]


@pytest.fixture
def tiny_authors(monkeypatch: pytest.MonkeyPatch, tiny_repo: tuple[Path, str]) -> Iterator[str]:
    monkeypatch.setenv(COMMIT_ENV, tiny_repo[1])
    with plugins_registered(monkeypatch, "fecbench_recipe_adapters"):
        yield "tiny-authors"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}  # FECBENCH_PLUGINS, PYTHONPATH and the commit: set by the fixture
    return subprocess.run(
        [sys.executable, "-m", "fecbench.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_env_create_builds_the_pinned_commit_and_a_run_uses_it(
    tiny_authors: str, tiny_repo: tuple[Path, str], tmp_path: Path
) -> None:
    repo, pinned = tiny_repo
    env_dir = tmp_path / "envs" / "tiny"
    done = cli("env", "create", "tiny-authors", "--path", str(env_dir), "--source", str(repo))
    assert done.returncode == 0, done.stderr
    assert f"run with: fecbench run --model tiny-authors --model-env {env_dir}" in done.stdout
    assert "worker: python " in done.stdout and "numpy 1.26.4" in done.stdout
    assert f"==> git clone {repo} and check out {pinned}" in done.stderr

    manifest = json.loads((env_dir / MANIFEST).read_text())
    assert manifest["checked_out"] == pinned and manifest["model"] == "tiny-authors"
    assert manifest["environment"] == {"TINY_AUTHORS_CODE": str(env_dir / "src" / "tiny-authors" / "extra")}

    annotations = same_shape_clips(tmp_path / "set", 2)
    result = api.run(
        "tiny-authors",
        annotations=annotations,
        video_roots=[str(annotations.parent / "videos")],
        output=tmp_path / "run",
        score=False,
        model_env=env_dir,
    )
    assert result.n_ok == 2
    assert all(p[2].startswith("tiny v1: 4 frames") for p in predictions(tmp_path / "run"))  # the pinned commit
    recorded = spec(tmp_path / "run")
    assert recorded.model.loaded == {"tinyauthors": "1", "code_dir": manifest["environment"]["TINY_AUTHORS_CODE"]}
    assert recorded.model_env is not None and recorded.model_env.built_from is not None
    assert recorded.model_env.built_from["commit"] == pinned == recorded.model_env.built_from["checked_out"]

    check = cli("env", "check", str(env_dir), "--model", "tiny-authors")
    assert check.returncode == 0, check.stderr
    report = json.loads(check.stdout)
    assert report["versions"]["numpy"] == "1.26.4" and report["adapter"]["describe"]["tinyauthors"] == "1"
    assert report["manifest"]["checked_out"] == pinned

    again = cli("env", "create", "tiny-authors", "--path", str(env_dir), "--source", str(repo))
    assert again.returncode == 2
    assert "already holds a model environment" in again.stderr and "--force" in again.stderr


def test_the_tiny_model_is_not_in_the_drivers_environment(tiny_authors: str) -> None:
    with pytest.raises(MissingDependencyError, match="model 'tiny-authors' needs tinyauthors, which is not installed"):
        load_adapter("tiny-authors", {})


def test_env_create_refuses_a_source_without_the_pinned_commit(
    tiny_authors: str, tiny_repo: tuple[Path, str], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    git(other, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x")
    with pytest.raises(ConfigError, match=f"has no commit {tiny_repo[1]}, the one the adapter was written for"):
        api.create_env("tiny-authors", path=tmp_path / "env", source=other, say=lambda line: None)


def test_a_snapshot_without_history_is_copied_and_marked_unverified(
    tiny_authors: str, tiny_repo: tuple[Path, str], tmp_path: Path
) -> None:
    snapshot = tmp_path / "snapshot"
    shutil.copytree(tiny_repo[0], snapshot, ignore=shutil.ignore_patterns(".git"))
    env_dir = api.create_env("tiny-authors", path=tmp_path / "env", source=snapshot, say=lambda line: None)
    manifest = json.loads((env_dir / MANIFEST).read_text())
    assert manifest["checked_out"] == f"unverified snapshot of {tiny_repo[1]}"
    assert api.check_env(env_dir, "tiny-authors")["adapter"]["describe"]["tinyauthors"] == "2"  # what was copied


def test_env_create_errors_are_one_line(tiny_authors: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="runs in fecbench's own environment: it has no recipe"):
        api.create_env("baseline", path=tmp_path / "env")
    with pytest.raises(ConfigError, match=r"needs Python 9\.99: no working python9\.99 on PATH .*pass --python"):
        find_python("9.99", None)
    with pytest.raises(ConfigError, match="--source .*: no such folder"):
        api.create_env("tiny-authors", path=tmp_path / "env", source=tmp_path / "nowhere", python=sys.executable)
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "file").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not an environment fecbench created"):
        api.create_env("tiny-authors", path=tmp_path / "occupied")


def test_models_shows_where_each_adapter_runs_and_how_to_create_its_environment(tiny_authors: str) -> None:
    rows = {row["name"]: row for row in api.model_listing()}
    assert rows["baseline"]["runs"] == "in-process" and rows["baseline"]["env_create"] is None
    for name in ("videollama2", "humanomni", "tiny-authors"):
        assert rows[name]["runs"] == "own-env"
        assert rows[name]["env_create"] == f"fecbench env create {name}"
    assert rows["videollama2"]["environment"]["repo"] == "https://github.com/DAMO-NLP-SG/VideoLLaMA2"
    table = cli("models")
    assert table.returncode == 0, table.stderr
    assert "  videollama2: fecbench env create videollama2" in table.stdout.splitlines()
    line = next(line for line in table.stdout.splitlines() if line.startswith("│ humanomni "))
    assert "own env" in line
