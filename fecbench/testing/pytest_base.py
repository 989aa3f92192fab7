"""The pytest base class whose test methods are the conformance checks, one test each."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from fecbench.adapter import Adapter
from fecbench.testing.checks import (
    ConformanceError,
    batch_limit,
    check_batch_invariance,
    check_close,
    check_describe,
    check_factory,
    check_generate,
    check_model_args_signature,
    check_registration,
    check_runner,
    check_spec,
)
from fecbench.testing.inputs import DEFAULT_SIZES


class AdapterConformance:
    """Subclass this in a test module (as ``class TestMine(AdapterConformance)``) to get one test per check.

    Set ``adapter_name`` and either ``model_args`` or, for arguments that need files made at test
    time (a tiny checkpoint), override :meth:`build_model_args`. The adapter is loaded once per
    class and shared by the behaviour checks; :meth:`test_close` closes it.
    """

    adapter_name: ClassVar[str] = ""
    model_args: ClassVar[dict[str, Any]] = {}
    num_frames: ClassVar[int | None] = None
    frame_counts: ClassVar[Sequence[int] | None] = None
    sizes: ClassVar[Sequence[tuple[int, int]]] = DEFAULT_SIZES
    batch_size: ClassVar[int] = 3
    max_new_tokens: ClassVar[int] = 8
    required_model_args: ClassVar[Sequence[str]] = ()

    _workdir: ClassVar[Path | None] = None
    _args: ClassVar[dict[str, Any] | None] = None
    _adapter: ClassVar[Adapter | None] = None

    @classmethod
    def build_model_args(cls, workdir: Path) -> dict[str, Any]:
        """The model arguments to test with; ``workdir`` is a scratch folder kept for the class's tests."""
        return dict(cls.model_args)

    @classmethod
    def setup_class(cls) -> None:
        if not cls.adapter_name:
            raise ConformanceError(f"{cls.__name__}: set adapter_name to the registered adapter's name")
        cls._workdir = Path(tempfile.mkdtemp(prefix="fecbench-conformance-"))
        cls._args = cls.build_model_args(cls._workdir)
        cls._adapter = None

    @classmethod
    def teardown_class(cls) -> None:
        if cls._adapter is not None:
            cls._adapter.close()
            cls._adapter = None
        if cls._workdir is not None:
            shutil.rmtree(cls._workdir, ignore_errors=True)

    # helpers

    def conformance_model_args(self) -> dict[str, Any]:
        return dict(type(self)._args or {})

    def frames(self) -> int:
        return self.num_frames or self.registration().spec.default_frames

    def registration(self) -> Any:
        return check_registration(self.adapter_name)

    def adapter(self) -> Adapter:
        """The shared adapter, loaded as ``fecbench run`` loads it."""
        cls = type(self)
        if cls._adapter is None:
            from fecbench.plugins import load_adapter

            cls._adapter = load_adapter(self.adapter_name, self.conformance_model_args())
        return cls._adapter

    # the checks

    def test_registration(self) -> None:
        check_registration(self.adapter_name)

    def test_spec_fields(self) -> None:
        check_spec(self.registration().spec)

    def test_model_args_signature(self) -> None:
        spec = self.registration().spec
        factory = check_factory(spec)
        check_model_args_signature(
            self.adapter_name, factory, self.conformance_model_args(), required=self.required_model_args
        )

    def test_describe_is_json(self) -> None:
        check_describe(self.adapter())

    def test_generate_one_string_per_request(self) -> None:
        frames = self.frames()
        counts = self.frame_counts if self.frame_counts is not None else sorted({max(1, frames // 2), frames * 2})
        check_generate(
            self.adapter(),
            num_frames=frames,
            frame_counts=counts,
            sizes=self.sizes,
            batch_size=self.batch_size,
            max_new_tokens=self.max_new_tokens,
        )

    def test_batched_equals_unbatched(self) -> None:
        adapter = self.adapter()
        if batch_limit(adapter, self.batch_size) < 2:
            import pytest  # only under pytest, where this class is used

            pytest.skip("max_batch_size is 1: the runner never batches this adapter")
        check_batch_invariance(
            adapter,
            num_frames=self.frames(),
            sizes=self.sizes,
            batch_size=self.batch_size,
            max_new_tokens=self.max_new_tokens,
        )

    def test_runner(self, tmp_path: Path) -> None:
        check_runner(
            self.adapter_name,
            self.conformance_model_args(),
            tmp_path,
            num_frames=self.frames(),
            batch_size=min(2, self.batch_size),
            max_new_tokens=self.max_new_tokens,
        )

    def test_close(self) -> None:
        cls = type(self)
        adapter = self.adapter()
        cls._adapter = None  # a later test loads a fresh one
        check_close(adapter)
