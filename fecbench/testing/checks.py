"""The conformance checks, one function per rule the runner relies on, and :func:`check_adapter`."""

from __future__ import annotations

import inspect
import json
import keyword
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fecbench.adapter import Adapter, GenerationConfig, VideoRequest
from fecbench.errors import ConfigError
from fecbench.hookspecs import AdapterSpec
from fecbench.testing.inputs import DEFAULT_SIZES, make_requests, write_clip_set

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class ConformanceError(AssertionError):
    """An adapter breaks a rule the runner relies on; the message names the rule and the fix."""


@dataclass
class ConformanceReport:
    """What :func:`check_adapter` checked, what it skipped (and why), and the captions it saw."""

    name: str
    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)


# -- registration -------------------------------------------------------------------------------------


def check_registration(name: str) -> Any:
    """The adapter is discoverable by fecbench's plugin manager under ``name``; returns its registration."""
    from fecbench.plugins import plugin_manager, registered_adapters

    plugin_manager.cache_clear()  # see packages installed since the last look
    adapters = registered_adapters()
    if name not in adapters:
        known = ", ".join(sorted({a.spec.name for a in adapters.values()})) or "none"
        raise ConformanceError(
            f"no adapter named {name!r} is registered (registered: {known}). Expose a module with a "
            "@fecbench.hookimpl fecbench_register_adapters() in the 'fecbench' entry-point group of your "
            "pyproject.toml and reinstall the package (pip install -e .)"
        )
    return adapters[name]


def check_spec(spec: AdapterSpec) -> None:
    """Every field of the registration is of the kind the runner and ``fecbench models`` expect."""
    problems = []
    if not isinstance(spec.name, str) or not NAME_PATTERN.match(spec.name):
        problems.append(f"name {spec.name!r} must be lower-case letters, digits, '.', '_' or '-'")
    module, sep, attr = spec.factory.partition(":") if isinstance(spec.factory, str) else ("", "", "")
    if not sep or not all(_dotted(part) for part in (module, attr)):
        problems.append(f"factory {spec.factory!r} must be 'package.module:ClassName'")
    if not isinstance(spec.summary, str) or "\n" in spec.summary:
        problems.append("summary must be a one-line string")
    if spec.default_checkpoint is not None and (
        not isinstance(spec.default_checkpoint, str) or not spec.default_checkpoint
    ):
        problems.append(f"default_checkpoint must be None or a non-empty string, got {spec.default_checkpoint!r}")
    if isinstance(spec.default_frames, bool) or not isinstance(spec.default_frames, int) or spec.default_frames < 1:
        problems.append(f"default_frames must be a positive int, got {spec.default_frames!r}")
    if not isinstance(spec.requires, tuple) or not all(isinstance(r, str) and _dotted(r) for r in spec.requires):
        problems.append(f"requires must be a tuple of import names, got {spec.requires!r}")
    if not isinstance(spec.install_hint, str):
        problems.append("install_hint must be a string")
    elif spec.requires and not spec.install_hint.strip():
        problems.append("install_hint must say how to install what `requires` names (e.g. 'pip install ...')")
    if not isinstance(spec.aliases, tuple) or not all(
        isinstance(a, str) and NAME_PATTERN.match(a) for a in spec.aliases
    ):
        problems.append(f"aliases must be a tuple of names like the name, got {spec.aliases!r}")
    elif spec.name in spec.aliases:
        problems.append("aliases must not repeat the name")
    if problems:
        raise ConformanceError(f"adapter spec {spec.name!r}: " + "; ".join(problems))


def _dotted(text: str) -> bool:
    return bool(text) and all(part.isidentifier() and not keyword.iskeyword(part) for part in text.split("."))


def check_factory(spec: AdapterSpec) -> Any:
    """The factory imports (its requirements being installed) and builds an :class:`Adapter`; returns it."""
    from fecbench.plugins import import_factory

    try:
        factory = import_factory(spec.factory)
    except (ImportError, AttributeError) as exc:
        raise ConformanceError(f"adapter {spec.name!r}: factory {spec.factory!r} cannot be imported: {exc}") from exc
    if inspect.isclass(factory) and not issubclass(factory, Adapter):
        raise ConformanceError(f"adapter {spec.name!r}: {spec.factory} must subclass fecbench.Adapter")
    if not callable(factory):
        raise ConformanceError(f"adapter {spec.name!r}: {spec.factory} is not callable")
    return factory


def check_model_args_signature(
    name: str, factory: Any, model_args: dict[str, Any] | None = None, *, required: Sequence[str] = ()
) -> None:
    """The constructor's keyword arguments are the model arguments, so they must be usable as such.

    Every parameter can be given by keyword, none is ``*args``, each has a default (``fecbench run``
    passes only what the user typed) unless listed in ``required``, the test's ``model_args`` are
    accepted, and an unknown argument is refused with a :class:`fecbench.errors.ConfigError`.
    """
    from fecbench.plugins import load_adapter

    params = inspect.signature(factory).parameters
    problems = []
    for param in params.values():
        if param.kind is param.POSITIONAL_ONLY:
            problems.append(f"parameter {param.name!r} is positional-only; model arguments are passed by keyword")
        elif param.kind is param.VAR_POSITIONAL:
            problems.append(f"*{param.name} cannot be filled from --model-args")
        elif (
            param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
            and param.default is param.empty
            and param.name not in required
        ):
            problems.append(f"parameter {param.name!r} has no default, so `fecbench run --model {name}` alone fails")
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    accepted = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unknown = sorted(set(model_args or {}) - accepted)
    if unknown and not takes_any:
        problems.append(f"the test's model_args {unknown} are not parameters of the constructor")
    if problems:
        raise ConformanceError(f"adapter {name!r} model arguments: " + "; ".join(problems))
    if not takes_any:
        try:
            load_adapter(name, {**(model_args or {}), "fecbench_conformance_no_such_arg": 1})
        except ConfigError as exc:
            if "fecbench_conformance_no_such_arg" not in str(exc):
                raise ConformanceError(
                    f"adapter {name!r}: an unknown model argument gave another error: {exc}"
                ) from exc
        else:
            raise ConformanceError(f"adapter {name!r}: an unknown model argument was accepted silently")


# -- behaviour of a loaded adapter -------------------------------------------------------------------


def _checked_outputs(adapter: Adapter, requests: list[VideoRequest], config: GenerationConfig, what: str) -> list[str]:
    outputs = adapter.generate(requests, config)
    if not isinstance(outputs, list):
        raise ConformanceError(f"{what}: generate() must return a list, got {type(outputs).__name__}")
    if len(outputs) != len(requests):
        raise ConformanceError(f"{what}: generate() returned {len(outputs)} captions for {len(requests)} requests")
    for i, text in enumerate(outputs):
        if not isinstance(text, str):
            raise ConformanceError(f"{what}: caption {i} is a {type(text).__name__}, not a str")
    return outputs


def batch_limit(adapter: Adapter, wanted: int) -> int:
    """The batch size the runner would use for ``wanted`` (capped by ``max_batch_size``)."""
    cap = adapter.max_batch_size
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise ConformanceError(f"max_batch_size must be None or a positive int, got {cap!r}")
    return min(wanted, cap or wanted)


def check_generate(
    adapter: Adapter,
    *,
    num_frames: int,
    frame_counts: Sequence[int] = (),
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    batch_size: int = 3,
    max_new_tokens: int = 8,
) -> list[str]:
    """One string per request for a batch of one and a batch of several (frame sizes differing within
    the batch, as clips of different aspect do), and for every frame count in ``frame_counts``."""
    config = GenerationConfig(max_new_tokens=max_new_tokens)
    outputs = _checked_outputs(adapter, make_requests(1, num_frames=num_frames, sizes=sizes), config, "batch of 1")
    size = batch_limit(adapter, batch_size)
    if size > 1:
        requests = make_requests(size, num_frames=num_frames, sizes=sizes, seed=10)
        outputs += _checked_outputs(adapter, requests, config, f"batch of {size}")
    for count in frame_counts:
        if count == num_frames:
            continue
        requests = make_requests(1, num_frames=count, sizes=sizes[1:] or sizes, seed=20 + count)
        outputs += _checked_outputs(adapter, requests, config, f"{count} frames")
    return outputs


def check_batch_invariance(
    adapter: Adapter,
    *,
    num_frames: int,
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    batch_size: int = 3,
    max_new_tokens: int = 8,
) -> list[str]:
    """Greedy captions of a batch equal the captions of the same clips one at a time, in the same order.

    This is what makes ``--batch-size`` free to choose: it never changes a score.
    """
    size = batch_limit(adapter, batch_size)
    if size < 2:
        raise ConformanceError("batch invariance needs batches of at least 2 (max_batch_size is 1)")
    config = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0.0)
    requests = make_requests(size, num_frames=num_frames, sizes=sizes, seed=30)
    batched = _checked_outputs(adapter, requests, config, f"batch of {size}")
    single = [_checked_outputs(adapter, [r], config, "batch of 1")[0] for r in requests]
    if batched != single:
        pairs = enumerate(zip(batched, single, strict=True))
        diff = [f"clip {i}: batched {b!r} vs alone {s!r}" for i, (b, s) in pairs if b != s]
        raise ConformanceError(
            "greedy output depends on the batch (check padding side, attention masks and per-row decoding): "
            + "; ".join(diff)
        )
    return batched


def check_describe(adapter: Adapter) -> dict[str, Any]:
    """``describe()`` returns a dict that ``run.json`` can hold (JSON, no NaN)."""
    described = adapter.describe()
    if not isinstance(described, dict):
        raise ConformanceError(f"describe() must return a dict, got {type(described).__name__}")
    try:
        json.dumps(described, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConformanceError(f"describe() must be JSON-serialisable (it is written to run.json): {exc}") from exc
    return described


def check_close(adapter: Adapter) -> None:
    """``close()`` runs without raising (the runner calls it once when a run ends)."""
    try:
        adapter.close()
    except Exception as exc:
        raise ConformanceError(f"close() raised {type(exc).__name__}: {exc}") from exc


def check_runner(
    name: str,
    model_args: dict[str, Any] | None,
    workdir: str | Path,
    *,
    num_frames: int | None = None,
    clips: int = 4,
    batch_size: int = 2,
    max_new_tokens: int = 8,
) -> Path:
    """A real ``fecbench run`` over generated clips: every clip ok, predictions in order, ``describe()`` in
    run.json, and the same run again resumes with nothing left to do (the run is not scored).

    Returns the run folder.
    """
    from fecbench import api

    workdir = Path(workdir)
    annotations, videos = write_clip_set(workdir / "clips", clips)
    run_dir = workdir / "run"
    options: dict[str, Any] = dict(
        model_args=dict(model_args or {}),
        annotations=annotations,
        video_roots=[str(videos)],
        frames=num_frames,
        batch_size=batch_size,
        output=run_dir,
        max_new_tokens=max_new_tokens,
        frame_cache=False,
        decode_workers=1,
        score=False,  # scoring is fecbench's business, not the adapter's
    )
    result = api.run(name, **options)
    if result.n_failed or result.n_ok != clips:
        lines = (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
        errors = [json.loads(line)["error"] for line in lines if json.loads(line)["status"] != "ok"]
        raise ConformanceError(f"fecbench run: {result.n_failed} of {clips} clips failed: {errors}")
    records = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    if [r["id"] for r in records] != [f"c{i}" for i in range(clips)]:
        raise ConformanceError(f"fecbench run: predictions.jsonl lists {[r['id'] for r in records]}")
    if not all(isinstance(r["prediction"], str) for r in records):
        raise ConformanceError("fecbench run: a prediction is not a string")
    recorded = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["model"]
    if not isinstance(recorded.get("loaded"), dict):
        raise ConformanceError("fecbench run: run.json does not hold what describe() returned")
    again = api.run(name, **options)
    if again.n_run_now != 0:
        raise ConformanceError(
            f"fecbench run: a second identical run redid {again.n_run_now} clips instead of resuming"
        )
    return run_dir


# -- everything at once -------------------------------------------------------------------------------


def check_adapter(
    adapter: str | Adapter,
    model_args: dict[str, Any] | None = None,
    *,
    workdir: str | Path | None = None,
    num_frames: int | None = None,
    frame_counts: Sequence[int] | None = None,
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    batch_size: int = 3,
    max_new_tokens: int = 8,
    required_model_args: Sequence[str] = (),
    run: bool = True,
) -> ConformanceReport:
    """Run every conformance check on a registered adapter and return what passed.

    ``adapter`` is the registered name (the adapter is then loaded with ``model_args`` as
    ``fecbench run`` would) or an already-built adapter (its ``name`` is looked up; it is closed at
    the end). ``num_frames`` defaults to the registration's ``default_frames``; ``frame_counts``
    (default: half and double of it) are tried one clip each. ``run=False`` skips the end-to-end run.
    """
    from fecbench.plugins import load_adapter

    name = adapter if isinstance(adapter, str) else type(adapter).name
    report = ConformanceReport(name=name)
    entry = check_registration(name)
    report.passed.append("registration")
    check_spec(entry.spec)
    report.passed.append("spec")
    missing = entry.missing_requirements()
    if missing:
        raise ConformanceError(
            f"adapter {name!r} cannot be checked: {', '.join(missing)} missing ({entry.spec.install_hint})"
        )
    factory = check_factory(entry.spec)
    check_model_args_signature(name, factory, model_args, required=required_model_args)
    report.passed.append("model arguments")
    frames = num_frames or entry.spec.default_frames
    counts = frame_counts if frame_counts is not None else sorted({max(1, frames // 2), frames * 2})
    loaded = load_adapter(name, dict(model_args or {})) if isinstance(adapter, str) else adapter
    try:
        check_describe(loaded)
        report.passed.append("describe")
        report.outputs = check_generate(
            loaded,
            num_frames=frames,
            frame_counts=counts,
            sizes=sizes,
            batch_size=batch_size,
            max_new_tokens=max_new_tokens,
        )
        report.passed.append("generate")
        if batch_limit(loaded, batch_size) >= 2:
            check_batch_invariance(
                loaded, num_frames=frames, sizes=sizes, batch_size=batch_size, max_new_tokens=max_new_tokens
            )
            report.passed.append("batch invariance")
        else:
            report.skipped["batch invariance"] = "max_batch_size is 1"
    finally:
        check_close(loaded)
    report.passed.append("close")
    if run:
        with tempfile.TemporaryDirectory(prefix="fecbench-conformance-") as scratch:
            check_runner(
                name,
                model_args,
                Path(workdir) if workdir is not None else Path(scratch),
                num_frames=frames,
                batch_size=min(2, batch_size),
                max_new_tokens=max_new_tokens,
            )
        report.passed.append("runner")
    else:
        report.skipped["runner"] = "run=False"
    return report
