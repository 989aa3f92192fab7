"""fecbench's Python API. The CLI is a thin wrapper over these functions; tests call them directly.

Every function is imported from here. They live in modules with one job each:
:mod:`fecbench.api_runs` (``run``, ``merge``), :mod:`fecbench.api_scoring` (``score``, ``import_predictions``,
the judges), :mod:`fecbench.api_models` (adapters, model environments, ``new_adapter``),
:mod:`fecbench.api_data` (``check_data``, ``make_demo``) and :mod:`fecbench.api_results` (records, the
leaderboard site, ``compare``, the results table).
"""

from __future__ import annotations

# The functions, the types they take and return, and the other names this module offered before it was split.
from fecbench.adapter import GenerationConfig
from fecbench.api_data import check_data, make_demo
from fecbench.api_models import check_env, create_env, list_models, model_listing, new_adapter
from fecbench.api_results import (
    build_leaderboard,
    check_records,
    compare,
    export_results,
    leaderboard_server,
    record_run,
    results_table,
)
from fecbench.api_runs import DEFAULT_RUNS_DIR, merge, run
from fecbench.api_scoring import check_judge, import_predictions, judge_listing, score
from fecbench.data.annotations import Annotations
from fecbench.data.check import SourceReport
from fecbench.data.fecbench_default import FEC_BENCH_SHA256
from fecbench.data.roots import VideoRoots
from fecbench.data.selection import resolve_annotations, select_clips
from fecbench.errors import ConfigError
from fecbench.model_env.recipe import environment_listing
from fecbench.plugins import RegisteredAdapter, get_adapter, listing_row, preflight, unique_adapters
from fecbench.prompts import DEFAULT_INSTRUCTION
from fecbench.runner.outputs import RunResult
from fecbench.runner.spec import (
    AnnotationsSpec,
    GenerationSpec,
    ModelEnvSpec,
    ModelSpec,
    RunSpec,
    SubsetSpec,
    installed_versions,
    public_model_args,
)
from fecbench.scoring import DEFAULT_JUDGE
from fecbench.video.protocol import FrameProtocol

__all__ = [
    "DEFAULT_INSTRUCTION",
    "DEFAULT_JUDGE",
    "DEFAULT_RUNS_DIR",
    "FEC_BENCH_SHA256",
    "Annotations",
    "AnnotationsSpec",
    "ConfigError",
    "FrameProtocol",
    "GenerationConfig",
    "GenerationSpec",
    "ModelEnvSpec",
    "ModelSpec",
    "RegisteredAdapter",
    "RunResult",
    "RunSpec",
    "SourceReport",
    "SubsetSpec",
    "VideoRoots",
    "build_leaderboard",
    "check_data",
    "check_env",
    "check_judge",
    "check_records",
    "compare",
    "create_env",
    "environment_listing",
    "export_results",
    "get_adapter",
    "import_predictions",
    "installed_versions",
    "judge_listing",
    "leaderboard_server",
    "list_models",
    "listing_row",
    "make_demo",
    "merge",
    "model_listing",
    "new_adapter",
    "preflight",
    "public_model_args",
    "record_run",
    "resolve_annotations",
    "results_table",
    "run",
    "score",
    "select_clips",
    "unique_adapters",
]
