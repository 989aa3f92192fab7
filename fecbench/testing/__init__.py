"""The adapter conformance kit: the checks every adapter package runs in its own tests.

An adapter that passes these checks can be listed, planned, batched, recorded and resumed by
fecbench like the built-in ones. Two ways to use it:

* one call, anywhere (a test, a notebook)::

      from fecbench.testing import check_adapter

      report = check_adapter("my-model", model_args={"pretrained": str(tiny_model_dir)})

* a pytest base class whose test methods are the checks, one test each::

      from fecbench.testing import AdapterConformance

      class TestMyModel(AdapterConformance):
          adapter_name = "my-model"
          model_args = {"device": "cpu"}

A failed check raises :class:`ConformanceError` (an ``AssertionError``, so pytest shows it as a
failed assertion) whose message says what to fix. This module imports neither torch nor pytest:
the adapter under test brings its own dependencies, and the base class relies only on pytest's
plain conventions (``setup_class``, the ``tmp_path`` argument).
"""

from fecbench.testing.checks import (
    NAME_PATTERN,
    ConformanceError,
    ConformanceReport,
    batch_limit,
    check_adapter,
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
from fecbench.testing.inputs import DEFAULT_PROMPT, DEFAULT_SIZES, make_requests, synthetic_frames, write_clip_set
from fecbench.testing.pytest_base import AdapterConformance

__all__ = [
    "DEFAULT_PROMPT",
    "DEFAULT_SIZES",
    "NAME_PATTERN",
    "AdapterConformance",
    "ConformanceError",
    "ConformanceReport",
    "batch_limit",
    "check_adapter",
    "check_batch_invariance",
    "check_close",
    "check_describe",
    "check_factory",
    "check_generate",
    "check_model_args_signature",
    "check_registration",
    "check_runner",
    "check_spec",
    "make_requests",
    "synthetic_frames",
    "write_clip_set",
]
