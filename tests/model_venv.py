"""A model environment for the ``--model-env`` tests and bench: a venv that holds numpy 1.26.4, pluggy and
fecbench installed ``--no-deps``, and sees none of the test environment's packages (no pydantic,
typer, rich, PyAV, OpenCV, torch...), like a model's own environment whose pins clash with fecbench's.

fecbench is installed from a copy of this checkout's sources, so the worker runs the code under
test, built the way a user installs it (``pip install --no-deps <source>``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL_NUMPY = "numpy==1.26.4"
PLUGGY = "pluggy==1.7.0"
#: What a fecbench source tree needs to build (pyproject.toml names README.md as the readme).
SOURCE_PARTS = ("pyproject.toml", "README.md", "fecbench", "adapters", "leaderboard")


def venv_python(root: Path) -> Path:
    return root / "bin" / "python"


def pip(python: Path, *args: str, timeout: int = 600) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def copy_sources(target: Path) -> Path:
    """The sources fecbench is built from, copied (so building leaves nothing in the checkout)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    target.mkdir(parents=True, exist_ok=True)
    for part in SOURCE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=ignore)
        else:
            shutil.copy2(source, target / part)
    return target


def build_model_venv(root: Path) -> Path:
    """Create the model environment under ``root``; returns the venv folder."""
    venv = root / "model-venv"
    # The base interpreter, not this venv's: a venv made from a venv would still be a plain venv,
    # but the base interpreter makes the intent plain (nothing of the test environment is seen).
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv_python(venv)
    pip(python, MODEL_NUMPY, PLUGGY)
    pip(python, "--no-deps", str(copy_sources(root / "fecbench-src")))
    return venv
