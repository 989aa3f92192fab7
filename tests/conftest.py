"""Shared fixtures: isolated caches, FEC-Bench's public annotations (tests/data), generated clips, the test plugin."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from clipgen import write_clip

REPO = Path(__file__).resolve().parents[1]
#: FEC-Bench's public test.json, kept in the repository as test data (source and sha256: tests/data/README.md).
FEC_BENCH_TEST_JSON = Path(__file__).parent / "data" / "fec-bench-test.json"
TEST_PLUGINS = Path(__file__).parent / "plugins"
EXAMPLE_PLUGIN = Path(__file__).parent / "example_plugin"
# The example plugin package's own tests run inside the venv it is installed into (tests/test_new_adapter.py).
collect_ignore = ["example_plugin"]


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own cache folder and never reaches the network for annotations."""
    monkeypatch.setenv("FECBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("FECBENCH_OFFLINE", "1")
    monkeypatch.delenv("FECBENCH_PLUGINS", raising=False)
    from fecbench.plugins import plugin_manager

    plugin_manager.cache_clear()


def fec_bench_test_json_path() -> Path:
    """The committed copy of FEC-Bench's test.json, checked byte for byte against the published sha256."""
    from fecbench.data.fecbench_default import FEC_BENCH_SHA256
    from fecbench.paths import sha256_file

    if sha256_file(FEC_BENCH_TEST_JSON) != FEC_BENCH_SHA256:
        pytest.fail(f"{FEC_BENCH_TEST_JSON} is not FEC-Bench's published test.json (sha256 differs)")
    return FEC_BENCH_TEST_JSON


def fec_bench_captions() -> dict[str, str]:
    """Clip id -> reference caption for the 800 FEC-Bench clips."""
    return {r["id"]: r["caption"] for r in json.loads(fec_bench_test_json_path().read_text(encoding="utf-8"))}


@pytest.fixture
def fec_bench_test_json() -> Path:
    return fec_bench_test_json_path()


@contextmanager
def plugins_registered(monkeypatch: pytest.MonkeyPatch, *modules: str) -> Iterator[None]:
    """Register ``tests/plugins/<module>.py`` modules through FECBENCH_PLUGINS, as a user with unpackaged plugins
    would (PYTHONPATH lets subprocesses and Ray workers import them too); forget them on exit."""
    monkeypatch.syspath_prepend(str(TEST_PLUGINS))
    monkeypatch.setenv("FECBENCH_PLUGINS", ",".join(modules))
    monkeypatch.setenv("PYTHONPATH", str(TEST_PLUGINS))
    from fecbench.plugins import plugin_manager

    plugin_manager.cache_clear()
    yield
    for module in modules:
        sys.modules.pop(module, None)
    plugin_manager.cache_clear()


@pytest.fixture
def test_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The ``frame-stats`` test adapter (tests/plugins/fecbench_test_adapters.py)."""
    with plugins_registered(monkeypatch, "fecbench_test_adapters"):
        yield "frame-stats"


@pytest.fixture
def scale_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The ``scale-stats`` test adapter, with out-of-memory and worker-death cues (fecbench_scale_adapters.py)."""
    with plugins_registered(monkeypatch, "fecbench_scale_adapters"):
        yield "scale-stats"


def make_clip_set(root: Path, count: int, *, sources: tuple[str, ...] = ("SRCA", "SRCB"), frames: int = 12) -> Path:
    """``count`` real clips under ``root/videos/<source>/`` and their ``annotations.json``."""
    records = []
    for i in range(count):
        source = sources[i % len(sources)]
        video = f"{source}/clips/clip_{i:03d}.mp4"
        write_clip(root / "videos" / video, frames=frames + i % 3, width=64 + 2 * (i % 4), height=48)
        records.append({"id": str(i), "video": video, "caption": f"At the beginning of the video, clip {i} is shown."})
    path = root / "annotations.json"
    path.write_text(json.dumps(records, indent=1))
    return path


@pytest.fixture
def clip_set(tmp_path: Path) -> Path:
    return make_clip_set(tmp_path / "set", 6)


# The pull-request workflow runs `pytest -m "not slow and not browser"` for a first signal in a few minutes, and
# `pytest -m "slow or browser"` beside it (.github/workflows/test.yml): together they are the whole suite.
#: modules that build tiny random-weight models, start Ray, or run the quick start end to end
SLOW_MODULES = frozenset(
    {
        "test_author_adapters.py",
        "test_facetrack_mm.py",
        "test_hf_adapters.py",
        "test_judge_transformers.py",
        "test_judge_vllm.py",
        "test_prepare_ahead.py",
        "test_quickstart.py",
        "test_qwen2_vl.py",
        "test_ray_pool.py",
        "test_resume_kill.py",
        "test_vllm_adapters.py",
    }
)
#: modules that drive Chromium
BROWSER_MODULES = frozenset({"test_leaderboard_browser.py"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        name = item.path.name
        if name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if name in BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)
