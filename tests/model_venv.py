"""A model environment for the ``--model-env`` tests and bench: a venv that holds numpy 1.26.4, pluggy and
fecbench installed ``--no-deps``, and sees none of the test environment's packages (no pydantic,
typer, rich, PyAV, OpenCV, torch...), like a model's own environment whose pins clash with fecbench's.

fecbench's worker side is installed as ``fecbench env create`` installs it
(:func:`fecbench.model_env.create.install_worker_side`): a wheel built from this checkout, ``--no-deps``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MODEL_NUMPY = "numpy==1.26.4"


def venv_python(root: Path) -> Path:
    return root / "bin" / "python"


def build_model_venv(root: Path) -> Path:
    """Create the model environment under ``root``; returns the venv folder."""
    from fecbench.model_env.create import install_worker_side

    venv = root / "model-venv"
    # From the base interpreter: nothing of the test environment is visible in the new venv.
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv_python(venv)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", MODEL_NUMPY],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install {MODEL_NUMPY} failed:\n{done.stdout}\n{done.stderr}")
    install_worker_side(python, say=lambda line: None)  # pluggy, and fecbench --no-deps built from this checkout
    return venv
