"""``fecbench env create NAME``: build a model's own environment from its recipe, as its README installs it.

The steps, each printed before it runs and each a clear error when it fails:

1. a virtual environment with the Python the recipe asks for (found on PATH or among pyenv's
   versions, or given with ``--python``);
2. the authors' repository: cloned, or cloned from a local git directory or copied from a plain
   snapshot given with ``--source``, then the pinned commit checked out (and verified);
3. ``pip_before``, the README's install step (run inside the clone, the environment first on
   PATH), ``pip_after``;
4. fecbench's worker side, ``--no-deps`` (built from this fecbench's sources when it runs from a
   checkout), plus pluggy, and numpy if the model's install brought none;
5. the manifest (:data:`fecbench.model_env.recipe.MANIFEST`): what was built from what, and the
   variables the worker gets.

The recipe runner knows nothing about any particular model: the values live in the adapters' registrations.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from fecbench import __version__
from fecbench.errors import ConfigError, FecbenchError
from fecbench.model_env.recipe import MANIFEST, EnvRecipe

#: What a fecbench source tree needs to build a wheel (pyproject.toml names README.md as the readme).
SOURCE_PARTS = ("pyproject.toml", "README.md", "fecbench", "adapters", "leaderboard")
PLUGGY = "pluggy==1.7.0"
#: The last pluggy release for the Pythons that pluggy 1.7.0 (3.10+) no longer supports; fecbench uses
#: only the markers and the plugin manager, the same in all of them.
OLDER_PLUGGY = {(3, 8): "pluggy==1.5.0", (3, 9): "pluggy==1.6.0"}

Say = Callable[[str], None]


class StepFailed(FecbenchError):
    """A step of ``fecbench env create`` failed; the message names the step, its folder and exit code."""


def default_env_path(name: str) -> Path:
    from fecbench.paths import cache_dir

    return cache_dir() / "envs" / name.replace(":", "+")


def create_env(
    name: str,
    recipe: EnvRecipe | None,
    *,
    path: str | os.PathLike[str] | None = None,
    source: str | os.PathLike[str] | None = None,
    python: str | None = None,
    force: bool = False,
    say: Say = print,
) -> Path:
    """Build the environment of adapter ``name`` at ``path`` (default: the cache's ``envs/NAME``); returns it."""
    if recipe is None:
        raise ConfigError(
            f"model {name!r} runs in fecbench's own environment: it has no recipe for one of its own "
            "(`fecbench models` shows which adapters do)"
        )
    target = Path(os.path.abspath(path or default_env_path(name)))
    source = Path(source) if source is not None else None
    _check_target(target, force)
    interpreter = find_python(recipe.python, python)
    say(f"==> virtual environment {target} ({interpreter})")
    _step([interpreter, "-m", "venv", str(target)], None, "create the virtual environment")
    env_python = target / "bin" / "python"
    clone = target / "src" / recipe.directory
    checked_out = fetch_source(recipe, source, clone, say)
    environ = _step_environment(target)
    if recipe.pip_before:
        say(f"==> pip install {' '.join(recipe.pip_before)}")
        _step([str(env_python), "-m", "pip", "install", *recipe.pip_before], clone, "pip_before", environ)
    if recipe.install:
        say(f"==> {recipe.install}   (in {clone})")
        _step(["bash", "-c", recipe.install], clone, "the install step", environ)
    if recipe.pip_after:
        say(f"==> pip install {' '.join(recipe.pip_after)}")
        _step([str(env_python), "-m", "pip", "install", *recipe.pip_after], clone, "pip_after", environ)
    install_worker_side(env_python, say)
    manifest = {
        "model": name,
        "project": recipe.project,
        "repo": recipe.repo,
        "commit": recipe.commit,
        "checked_out": checked_out,
        "source": str(source) if source else recipe.repo,
        "clone": str(clone),
        "python": _python_version(env_python),
        "environment": recipe.worker_environment(str(clone)),
        "fecbench": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return target


def _check_target(target: Path, force: bool) -> None:
    if not target.exists() or not any(target.iterdir()):
        return
    if not (target / MANIFEST).is_file():
        raise ConfigError(f"{target} exists and is not an environment fecbench created; choose another --path")
    if not force:
        raise ConfigError(
            f"{target} already holds a model environment; check it with `fecbench env check {target}` "
            "or rebuild it with --force"
        )
    shutil.rmtree(target)


def find_python(version: str, explicit: str | None) -> str:
    """The interpreter to build the venv with: ``explicit``, else ``python<version>`` on PATH or in pyenv."""
    if explicit:
        found = shutil.which(explicit) or (explicit if os.access(explicit, os.X_OK) else None)
        if not found:
            raise ConfigError(f"--python {explicit}: not an executable")
        return found
    if not version:
        return getattr(sys, "_base_executable", sys.executable)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [
        shutil.which(f"python{version}"),
        *sorted(pyenv.glob(f"{version}*/bin/python{version}"), reverse=True),
    ]
    for candidate in filter(None, candidates):
        if _reports_version(str(candidate), version):  # a pyenv shim on PATH may name a Python it cannot run
            return str(candidate)
    raise ConfigError(
        f"this model's environment needs Python {version}: no working python{version} on PATH or in {pyenv}; "
        f"install it, or pass --python /path/to/python{version}"
    )


def _reports_version(python: str, version: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def fetch_source(recipe: EnvRecipe, source: Path | None, clone: Path, say: Say) -> str:
    """Put the repository at ``clone`` at the recipe's commit; returns what was checked out."""
    clone.parent.mkdir(parents=True, exist_ok=True)
    origin: str = recipe.repo if source is None else str(source)
    if source is not None and not source.exists():
        raise ConfigError(f"--source {source}: no such folder")
    if source is None or _is_git(source):
        say(f"==> git clone {origin} and check out {recipe.commit}")
        _step(["git", "clone", "--quiet", origin, str(clone)], None, f"git clone {origin}")
        try:
            _step(["git", "-C", str(clone), "checkout", "--quiet", "--detach", recipe.commit], None, "git checkout")
        except StepFailed:
            raise ConfigError(f"{origin} has no commit {recipe.commit}, the one the adapter was written for") from None
        head = subprocess.run(
            ["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if not head.startswith(recipe.commit) and not recipe.commit.startswith(head):
            raise ConfigError(f"{origin}: checking out {recipe.commit} gave {head}")
        return head
    say(f"==> copy the snapshot {source} (no git history: the commit cannot be verified)")
    shutil.copytree(source, clone, symlinks=True)
    return f"unverified snapshot of {recipe.commit}"


def _is_git(path: Path) -> bool:
    """A work tree with .git, or a bare repository / git directory (HEAD and objects/ in it)."""
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def install_worker_side(python: Path, say: Say = print) -> None:
    """fecbench ``--no-deps`` (this fecbench's own code), pluggy, and numpy when the environment has none."""
    has_numpy = subprocess.run([str(python), "-c", "import numpy"], capture_output=True).returncode == 0
    version = tuple(int(part) for part in _python_version(python).split(".")[:2])
    pluggy = OLDER_PLUGGY.get(version, PLUGGY)  # type: ignore[call-overload]
    requirements = [pluggy] if has_numpy else [pluggy, "numpy"]
    say(f"==> pip install {' '.join(requirements)}")
    _step([str(python), "-m", "pip", "install", "-q", *requirements], None, "installing pluggy")
    # The driver needs Python 3.10+, the worker side runs on 3.8+ (tested): a model pinned to an older
    # Python still gets it.
    older = ["--ignore-requires-python"] if version < (3, 10) else []
    with tempfile.TemporaryDirectory(prefix="fecbench-wheel-") as scratch:
        target = fecbench_wheel(Path(scratch)) or f"fecbench=={__version__}"
        say(f"==> pip install --no-deps {Path(target).name if os.sep in target else target}")
        _step(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", *older, target],
            None,
            "installing fecbench's worker side",
        )


def fecbench_wheel(scratch: Path) -> str | None:
    """A wheel of this fecbench built from its source checkout (None when it was installed from a wheel)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "fecbench" / "worker.py").is_file():
        return None
    copy = scratch / "src"
    copy.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for part in SOURCE_PARTS:
        if (root / part).is_dir():
            shutil.copytree(root / part, copy / part, ignore=ignore)
        elif (root / part).is_file():
            shutil.copy2(root / part, copy / part)
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(scratch / "dist"), str(copy)]
    if _has_modern_setuptools():  # build here, offline; else pip fetches setuptools into an isolated build
        command.append("--no-build-isolation")
    _step(command, None, "building fecbench's wheel")
    return str(next((scratch / "dist").glob("fecbench-*.whl")))


def _has_modern_setuptools() -> bool:
    try:
        from importlib.metadata import version

        return int(version("setuptools").split(".")[0]) >= 68
    except Exception:
        return False


def _step_environment(venv: Path) -> dict[str, str]:
    """The install steps' environment: the new venv first on PATH, nothing of the driver's Python leaking in."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV")}
    environ["VIRTUAL_ENV"] = str(venv)
    environ["PATH"] = f"{venv / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    return environ


def _step(command: Sequence[str], cwd: Path | None, what: str, environ: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(list(command), cwd=cwd, env=environ)
    except OSError as exc:
        raise StepFailed(f"{what}: cannot run {command[0]} ({exc})") from exc
    if done.returncode != 0:
        where = f" in {cwd}" if cwd else ""
        raise StepFailed(f"{what} failed (exit code {done.returncode}){where}: {' '.join(command)}")


def _python_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True
    ).stdout.strip()
