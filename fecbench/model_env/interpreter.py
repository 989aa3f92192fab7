"""``--model-env PATH``: which interpreter runs the adapter, and how its worker is looked after."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fecbench.errors import ConfigError

#: Where a virtual environment keeps its interpreter, in the order looked for.
VENV_PYTHONS = ("bin/python", "bin/python3", "Scripts/python.exe")


@dataclass(frozen=True)
class ModelEnv:
    """The Python environment an adapter runs in, and the worker's lifecycle settings.

    ``python`` is the interpreter (a venv's ``bin/python``, never resolved through its symlink: that
    would leave the venv); ``given`` is what the user passed. ``log_path`` receives the worker's
    stderr (the run folder's ``model-env.log``). ``manifest`` is what ``fecbench env create`` wrote
    into the environment (its recipe's repository and commit, and the variables the worker gets).
    A worker that dies is started again up to ``max_restarts`` times in a run (the clips it was
    captioning fail alone); after that the run stops. ``start_timeout`` bounds the wait for the
    worker's hello (before the model loads); loading and generation have no time limit, but the
    driver notices at once when the worker exits.
    """

    python: str
    given: str
    log_path: str | None = None
    max_restarts: int = 3
    start_timeout: float = 120.0
    close_timeout: float = 30.0
    manifest: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @classmethod
    def resolve(cls, path: str | os.PathLike[str]) -> ModelEnv:
        """A venv folder (its ``bin/python``) or a Python executable; anything else is a one-line ConfigError."""
        if not hasattr(os, "killpg"):  # the worker's process group is how its whole tree is ended
            raise ConfigError("--model-env needs a POSIX system (Linux, macOS); it is not supported on Windows")
        given = Path(path).expanduser()
        absolute = Path(os.path.abspath(given))
        if absolute.is_dir():
            for relative in VENV_PYTHONS:
                candidate = absolute / relative
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    return cls(python=str(candidate), given=str(absolute), manifest=_manifest(absolute))
            raise ConfigError(
                f"--model-env {path}: a folder without a Python interpreter (looked for {', '.join(VENV_PYTHONS)}); "
                "name a virtual environment's folder or a python executable"
            )
        if absolute.is_file():
            if not os.access(absolute, os.X_OK):
                raise ConfigError(f"--model-env {path}: not an executable file")
            return cls(python=str(absolute), given=str(absolute))
        raise ConfigError(f"--model-env {path}: no such virtual environment folder or Python executable")

    def worker_environment(self) -> dict[str, str]:
        """Variables the worker gets from the environment's manifest (e.g. where the authors' clone is)."""
        return dict((self.manifest or {}).get("environment") or {})

    def with_log(self, path: str | os.PathLike[str]) -> ModelEnv:
        return dataclasses.replace(self, log_path=str(path))


def _manifest(env_dir: Path) -> dict[str, Any] | None:
    from fecbench.model_env.recipe import MANIFEST

    path = env_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path}: not a readable manifest ({exc})") from exc


def worker_install_command(python: str) -> str:
    """The command that installs this fecbench's worker side into the environment of ``python``.

    From a source checkout (an editable install, or running from the repository) it installs that
    source; otherwise the same release from the package index. ``--no-deps``: the model's own pins
    stay as they are; only pluggy is added (numpy is assumed there, every model needs it).
    """
    source = Path(__file__).resolve().parents[2]
    target = str(source) if (source / "pyproject.toml").is_file() else f"fecbench=={_version()}"
    return f"{python} -m pip install --no-deps {_quote(target)} && {python} -m pip install 'pluggy==1.7.0'"


def _version() -> str:
    from fecbench import __version__

    return __version__


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
