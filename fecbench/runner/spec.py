"""The run spec: everything a user asked for, frozen into ``run.json`` (HELM's "spec" half).

The *identity* of a run is the part of the spec that can change a prediction (model and its
arguments, annotations, frame protocol, prompt, generation). Two invocations with the same
identity share a run folder and resume each other; the selection of clips (``--sources``,
``--limit``) and the batch size are not part of it, since they never change a clip's prediction.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from typing import Any

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
        return f"subset ({'; '.join(parts) or 'partial'}): {self.clips} clips"


class GenerationSpec(BaseModel):
    max_new_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0


class RunSpec(BaseModel):
    spec_version: int = SPEC_VERSION
    model: ModelSpec
    annotations: AnnotationsSpec
    subset: SubsetSpec
    frame_protocol: dict[str, Any]
    prompt: str
    generation: GenerationSpec
    batch_size: int
    video_roots: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "model_args": self.model.args,
            "annotations_sha256": self.annotations.sha256,
            "frame_protocol": self.frame_protocol,
            "prompt": self.prompt,
            "generation": self.generation.model_dump(),
        }

    def identity_hash(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, default=str).encode()
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
    return [
        f"{key}: {old.get(key)!r} in the folder, {new.get(key)!r} now" for key in new if old.get(key) != new.get(key)
    ]
