"""The contributor path: `fecbench new-adapter`, a pip-installed plugin in `fecbench models` and
`fecbench run`, the conformance kit (fecbench.testing) and the `models` listing.

Plugin packages are pip-installed (editable, as a contributor would) into a throwaway virtual
environment layered on the current one, so the installed plugins never leak into other tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import EXAMPLE_PLUGIN, TEST_PLUGINS
from import_probe import imported_by

from fecbench import Adapter, AdapterSpec, GenerationConfig, VideoRequest
from fecbench.scaffold import AdapterNames
from fecbench.testing import (
    AdapterConformance,
    ConformanceError,
    check_adapter,
    check_batch_invariance,
    check_describe,
    check_generate,
    check_model_args_signature,
    check_spec,
    make_requests,
    write_clip_set,
)


class PluginVenv:
    """A venv whose site-packages also loads the current environment's (so fecbench, pytest are there)."""

    def __init__(self, root: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
        self.python = str(root / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
        own = subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        parent = sysconfig.get_paths()["purelib"]
        Path(own, "_fecbench_test_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")

    def run(self, *args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("FECBENCH_PLUGINS", "PYTHONPATH")}
        env["COLUMNS"] = "200"
        return subprocess.run([self.python, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)

    def fecbench(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "fecbench.cli", *args, cwd=cwd)

    def pip_install_editable(self, package: Path) -> None:
        done = self.run("-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(package))
        assert done.returncode == 0, done.stderr

    def models(self) -> dict[str, dict[str, Any]]:
        done = self.fecbench("models", "--json")
        assert done.returncode == 0, done.stderr
        return {row["name"]: row for row in json.loads(done.stdout)}


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> PluginVenv:
    return PluginVenv(tmp_path_factory.mktemp("venv") / "venv")


def _run_and_read(venv: PluginVenv, model: str, tmp: Path, *extra: str) -> list[dict[str, Any]]:
    annotations, videos = write_clip_set(tmp / "clips", 5)
    done = venv.fecbench(
        "run", "--model", model, "--annotations", str(annotations), "--video-root", str(videos),
        "--output", str(tmp / "run"), "--batch-size", "2", *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in (tmp / "run" / "predictions.jsonl").read_text().splitlines()]


def test_new_adapter_package_installs_is_listed_runs_and_passes_its_own_tests(
    plugin_venv: PluginVenv, tmp_path: Path
) -> None:
    done = plugin_venv.fecbench("new-adapter", "face-wave", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    package = tmp_path / "fecbench-face-wave"
    assert "fecbench_face_wave/adapter.py" in done.stdout and f"cd {package} && pip install -e ." in done.stdout
    assert "face-wave" not in plugin_venv.models()

    plugin_venv.pip_install_editable(package)
    row = plugin_venv.models()["face-wave"]
    assert (row["provider"], row["provider_version"], row["dependencies_ok"]) == ("fecbench-face-wave", "0.1.0", True)
    assert row["factory"] == "fecbench_face_wave.adapter:FaceWaveAdapter"
    table = plugin_venv.fecbench("models").stdout
    assert any("face-wave" in line and "fecbench-face-wave 0.1.0" in line for line in table.splitlines())

    records = _run_and_read(plugin_venv, "face-wave", tmp_path)
    assert [r["status"] for r in records] == ["ok"] * 5
    assert all(r["prediction"].startswith("The video shows 8 frames; it ends ") for r in records)

    tests = plugin_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=package)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "8 passed" in tests.stdout

    # The contributor's first edit: a model argument. The conformance kit sees it at once.
    adapter_py = package / "fecbench_face_wave" / "adapter.py"
    adapter_py.write_text(adapter_py.read_text().replace('checkpoint: str = "none"', "checkpoint: str"))
    tests = plugin_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=package)
    assert tests.returncode == 1
    assert "parameter 'checkpoint' has no default" in tests.stdout


def test_example_plugin_installs_with_pip_and_runs_through_fecbench_run(
    plugin_venv: PluginVenv, tmp_path: Path
) -> None:
    package = tmp_path / "example_plugin"
    shutil.copytree(EXAMPLE_PLUGIN, package, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    plugin_venv.pip_install_editable(package)
    row = plugin_venv.models()["example-motion"]
    assert (row["provider"], row["provider_version"], row["aliases"]) == (
        "fecbench-example-plugin",
        "0.2.0",
        ["example_motion"],
    )

    records = _run_and_read(plugin_venv, "example_motion", tmp_path, "--model-args", "threshold=4")
    assert [r["status"] for r in records] == ["ok"] * 5
    # The generated clips have a bar sweeping across noise: motion everywhere, above the threshold.
    assert all(r["prediction"].startswith("The face moves most at the") for r in records)
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["model"]["provider"] == "fecbench-example-plugin"
    assert run_json["model"]["loaded"]["threshold"] == 4.0

    bad = plugin_venv.fecbench(
        "run", "--model", "example-motion", "--model-args", "threshold=300",
        "--annotations", str(tmp_path / "clips" / "annotations.json"), "--output", str(tmp_path / "bad"),
    )  # fmt: skip
    assert bad.returncode == 2 and "threshold=300 must be a number between 0 and 255" in bad.stderr

    tests = plugin_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=package)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "10 passed" in tests.stdout


def test_new_adapter_refuses_bad_names_clashes_and_non_empty_folders(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fecbench.cli import app

    runner = CliRunner()
    for name, message in (
        ("My Model", "use lower-case letters"),
        ("2fast", "starting with a letter"),
        ("baseline", "already registered by fecbench"),
    ):
        with pytest.raises(Exception, match=message) as caught:
            runner.invoke(app, ["new-adapter", name, "--dir", str(tmp_path)], catch_exceptions=False)
        assert getattr(caught.value, "exit_code", None) == 2
    (tmp_path / "fecbench-x1" / "notes.txt").parent.mkdir()
    (tmp_path / "fecbench-x1" / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="already exists and is not empty"):
        runner.invoke(app, ["new-adapter", "x1", "--dir", str(tmp_path)], catch_exceptions=False)


def test_adapter_names_agree_across_the_package() -> None:
    names = AdapterNames.from_name("video-llama.v2_x")
    assert (names.dist_name, names.module, names.class_name) == (
        "fecbench-video-llama-v2-x",
        "fecbench_video_llama_v2_x",
        "VideoLlamaV2XAdapter",
    )


# -- fecbench models --------------------------------------------------------------------------------


def _models(*args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "FECBENCH_PLUGINS": "fecbench_test_adapters"}
    env["PYTHONPATH"] = str(TEST_PLUGINS)
    return subprocess.run(
        [sys.executable, "-m", "fecbench.cli", "models", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_models_json_has_provider_checkpoint_dependency_state_and_hint() -> None:
    done = _models("--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    missing = rows["needs-missing"]
    assert missing["provider"] == "fecbench_test_adapters" and missing["provider_version"] == "unpackaged"
    assert (missing["dependencies_ok"], missing["missing"]) == (False, ["fecbench_no_such_package"])
    assert missing["install_hint"] == "pip install fecbench-no-such-package"
    qwen = rows["qwen2-vl"]
    assert (qwen["provider"], qwen["default_checkpoint"]) == ("fecbench", "Qwen/Qwen2-VL-7B-Instruct")
    assert qwen["install_hint"] is None or not qwen["dependencies_ok"]


def test_models_table_fits_80_columns_and_verbose_adds_details() -> None:
    done = _models(columns=80)
    assert done.returncode == 0, done.stderr
    table = [line for line in done.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 80 for line in table)
    assert "needs-missing: pip install fecbench-no-such-package" in done.stdout
    # a checkpoint id folded over two lines still reads whole once the cells are joined
    checkpoint_cells = "".join(line.split("│")[3].strip() for line in table if line.startswith("│"))
    assert "Qwen/Qwen2-VL-7B-Instruct" in checkpoint_cells
    assert "test adapter: describes frame statistics" not in done.stdout
    verbose = _models("--verbose")
    assert "test adapter: describes frame statistics" in verbose.stdout
    assert "qwen2-vl (also: qwen2_vl, qwen2vl)" in verbose.stdout


# -- the conformance kit ----------------------------------------------------------------------------


def test_kit_imports_without_torch_or_pytest() -> None:
    code = "import fecbench.testing, fecbench.scaffold"
    assert imported_by(code, ("torch", "transformers", "pytest", "cv2")) == []


class Echo(Adapter):
    """A well-behaved adapter to break in controlled ways."""

    name = "echo"

    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        return [f"{r.clip_id}: {r.frames.shape} {int(r.frames.sum()) % 997}" for r in requests]


class WrongCount(Echo):
    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        return super().generate(requests, config)[:1]


class BatchDependent(Echo):
    def generate(self, requests: Sequence[VideoRequest], config: GenerationConfig) -> list[str]:
        return [f"{text} in a batch of {len(requests)}" for text in super().generate(requests, config)]


class NotJson(Echo):
    def describe(self) -> dict[str, Any]:
        return {"dtype": np.float32}


def test_kit_catches_wrong_counts_batch_dependence_and_unserialisable_describe() -> None:
    check_generate(Echo(), num_frames=4, frame_counts=(2, 8))
    check_batch_invariance(Echo(), num_frames=4)
    with pytest.raises(ConformanceError, match="returned 1 captions for 3 requests"):
        check_generate(WrongCount(), num_frames=4)
    with pytest.raises(ConformanceError, match="greedy output depends on the batch"):
        check_batch_invariance(BatchDependent(), num_frames=4)
    with pytest.raises(ConformanceError, match="JSON-serialisable"):
        check_describe(NotJson())
    requests = make_requests(3, num_frames=5)
    assert [r.frames.shape for r in requests] == [(5, 48, 64, 3), (5, 64, 48, 3), (5, 56, 72, 3)]
    assert len({r.frames.tobytes() for r in requests}) == 3


def test_kit_catches_bad_spec_fields_and_model_arguments() -> None:
    check_spec(AdapterSpec(name="ok-name", factory="pkg.mod:Cls", requires=("torch",), install_hint="pip install x"))
    bad = AdapterSpec(name="Bad Name", factory="pkg.mod.Cls", default_frames=0, requires=("torch",))
    with pytest.raises(ConformanceError) as caught:
        check_spec(bad)
    for fragment in ("name 'Bad Name'", "factory 'pkg.mod.Cls'", "default_frames", "install_hint"):
        assert fragment in str(caught.value)

    def needs_path(path: str, *, dtype: str = "auto") -> Echo:
        return Echo()

    with pytest.raises(ConformanceError, match="parameter 'path' has no default"):
        check_model_args_signature("baseline", needs_path)
    with pytest.raises(ConformanceError, match=r"model_args \['size'\] are not parameters"):
        check_model_args_signature("baseline", needs_path, {"size": 3}, required=("path",))


def test_check_adapter_runs_every_check_on_a_registered_adapter(test_plugins: str) -> None:
    report = check_adapter(test_plugins)
    assert report.passed == [
        "registration", "spec", "model arguments", "describe", "generate", "batch invariance", "close", "runner",
    ]  # fmt: skip
    assert len(report.outputs) == 1 + 3 + 2  # a batch of 1, a batch of 3, then 2 and 8 frames
    with pytest.raises(ConformanceError, match="no adapter named 'nobody' is registered"):
        check_adapter("nobody")


class TestBaselineConformance(AdapterConformance):
    """The pytest form of the kit, on the built-in baseline adapter."""

    adapter_name = "baseline"
    frame_counts = (4,)
