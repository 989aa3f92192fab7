"""The run spec: everything a user asked for, frozen into ``run.json`` (HELM's "spec" half).

The *identity* of a run is the part of the spec that can change a prediction (model and its
arguments, annotations, frame protocol, prompt, generation). Two invocations with the same
identity share a run folder and resume each other; the selection of clips (``--sources``,
``--limit``), the batch size and where the run executes (``--workers``, ``--ray``) are not part of
it, since they never change a clip's prediction. A shard (``--shard i/n``) is part of it, so that a
shard's folder never resumes another shard; :func:`fecbench.runner.merge.merge_shards` joins the
shards into the run the same command without ``--shard`` would have made (same identity).
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from typing import Any, Literal

from pydantic import BaseModel, Field

from fecbench import __version__

SPEC_VERSION = 1
KEY_PACKAGES = ("av", "numpy", "opencv-python-headless", "torch", "torchvision", "transformers", "vllm")


class ModelSpec(BaseModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    provider: str = ""
    provider_version: str = ""
    factory: str = ""
    loaded: dict[str, Any] = Field(default_factory=dict, description="what the adapter reported once loaded")


class AnnotationsSpec(BaseModel):
    path: str
    sha256: str
    records: int
    fec_bench: bool = Field(description="true when these are FEC-Bench's own test.json (by sha256)")


class SubsetSpec(BaseModel):
    sources: list[str] | None = None
    limit: int | None = None
    clips: int
    full: bool
    shard: str | None = Field(
        default=None,
        description='"i/n" when this run holds shard i of n of the selection',
        exclude_if=lambda value: value is None,
    )

    @property
    def label(self) -> str:
        """How a subset run is labelled wherever its numbers appear; empty for the full set."""
        if self.full:
            return ""
        parts = []
        if self.sources:
            parts.append("sources " + ",".join(self.sources))
        if self.limit is not None:
            parts.append(f"limit {self.limit}")
        if self.shard:
            parts.append(f"shard {self.shard}")
        return f"subset ({'; '.join(parts) or 'partial'}): {self.clips} clips"


class GenerationSpec(BaseModel):
    max_new_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0


class ExecutionSpec(BaseModel):
    """How the latest invocation that ran clips executed: a state, not part of the identity."""

    backend: Literal["local", "ray", "merge"] = "local"
    batch_size_ceiling: int | None = Field(default=None, description="the largest batch handed to the model")
    batch_size_found: int | None = Field(
        default=None, description="--batch-size auto: the largest size that fit (the smallest over workers)"
    )
    oom_backoffs: int = Field(default=0, description="times a batch was halved after running out of memory")
    workers: int = 1
    gpus_per_worker: float = 0.0
    ray_address: str | None = None
    requeued_batches: int = Field(default=0, description="batches run again because their worker died")
    replaced_workers: int = 0
    merged_from: list[str] = Field(default_factory=list, description="shard folders a merged run was built from")


class ModelEnvSpec(BaseModel):
    """Where the adapter ran when it ran in its own Python environment (--model-env): a state, not identity."""

    path: str = Field(description="the --model-env given: a venv folder or a Python executable")
    python: str = Field(description="the interpreter that ran the worker")
    versions: dict[str, str] = Field(default_factory=dict, description="the worker's Python and package versions")
    restarts: int = Field(default=0, description="workers started again after one died, in the latest invocation")
    fecbench_path: str | None = Field(default=None, description="where the worker imported fecbench from")
    built_from: dict[str, Any] | None = Field(
        default=None, description="for an environment `fecbench env create` made: its repository, commit, source"
    )


class RunSpec(BaseModel):
    spec_version: int = SPEC_VERSION
    model: ModelSpec
    annotations: AnnotationsSpec
    subset: SubsetSpec
    frame_protocol: dict[str, Any]
    prompt: str
    generation: GenerationSpec
    batch_size: int | Literal["auto"]
    video_roots: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    execution: ExecutionSpec | None = None
    model_env: ModelEnvSpec | None = Field(default=None, exclude_if=lambda value: value is None)

    def identity(self, *, with_shard: bool = True) -> dict[str, Any]:
        """What can change a prediction, plus the shard (when there is one and ``with_shard``)."""
        identity: dict[str, Any] = {
            "model": self.model.name,
            "model_args": self.model.args,
            "annotations_sha256": self.annotations.sha256,
            "frame_protocol": self.frame_protocol,
            "prompt": self.prompt,
            "generation": self.generation.model_dump(),
        }
        if with_shard and self.subset.shard:
            identity["shard"] = self.subset.shard
        return identity

    def identity_hash(self, *, with_shard: bool = True) -> str:
        blob = json.dumps(self.identity(with_shard=with_shard), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def installed_versions() -> dict[str, str]:
    """Versions of fecbench, Python and the key dependencies that are installed (without importing them)."""
    versions = {"fecbench": __version__, "python": platform.python_version()}
    for package in KEY_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def identity_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable list of identity fields that differ between two specs."""
    keys = [*new, *(key for key in old if key not in new)]
    return [
        f"{key}: {old.get(key)!r} in the folder, {new.get(key)!r} now" for key in keys if old.get(key) != new.get(key)
    ]


#: Ends of model-argument names that hold credentials (``api_key``, ``hf_token``...): they reach the
#: adapter but are never written to run.json, nor part of a run's identity (a key changes no prediction).
SECRET_ARG_ENDINGS = ("api_key", "hf_token", "auth_token", "access_token", "secret", "password")


def public_model_args(model_args: dict[str, Any]) -> dict[str, Any]:
    """The model arguments fit to be recorded: those holding credentials left out."""

    def secret(name: str) -> bool:
        last = name.rsplit(".", 1)[-1].lower()  # a wrapper's arguments are prefixed "wrapper."
        return last == "token" or last.endswith(SECRET_ARG_ENDINGS)

    return {k: v for k, v in model_args.items() if not secret(k)}
