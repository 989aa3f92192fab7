"""Which judges exist, and loading one by name: the judges' twin of :mod:`fecbench.plugins`.

Judges come from the same plugin manager as model adapters (the ``fecbench`` entry-point group and
``FECBENCH_PLUGINS``), through the ``fecbench_register_judges`` hook. Listing judges imports no
judge module; :func:`load_judge` imports only the one asked for.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from fecbench.errors import ConfigError, MissingDependencyError, UnknownPluginError
from fecbench.judges.base import TASKS, Judge, JudgeSpec
from fecbench.plugins import (
    import_factory,
    listing_row,
    missing_imports,
    parse_model_args,
    plugin_manager,
    provider_of,
)


@dataclass(frozen=True)
class RegisteredJudge:
    """A judge spec plus the distribution that provides it."""

    spec: JudgeSpec
    provider: str
    provider_version: str

    def missing_requirements(self) -> list[str]:
        """Import names of ``spec.requires`` that cannot be found (checked without importing them)."""
        return missing_imports(self.spec.requires)


def registered_judges() -> dict[str, RegisteredJudge]:
    """Every judge name (aliases included) mapped to its registration; a clash is an error."""
    pm = plugin_manager()
    found: dict[str, RegisteredJudge] = {}
    for impl in pm.hook.fecbench_register_judges.get_hookimpls():
        provider, version = provider_of(impl.plugin, pm)
        for spec in impl.function() or []:
            unknown = [task for task in spec.tasks if task not in TASKS]
            if unknown:
                raise ConfigError(
                    f"judge {spec.name!r} (from {provider}) declares unknown tasks {', '.join(map(repr, unknown))}; "
                    f"tasks are {', '.join(TASKS)}"
                )
            entry = RegisteredJudge(spec, provider, version)
            for name in (spec.name, *spec.aliases):
                if name in found and found[name].spec != spec:
                    raise ConfigError(
                        f"judge name {name!r} is registered twice: by {found[name].provider} and by {provider}"
                    )
                found[name] = entry
    return found


def unique_judges() -> list[RegisteredJudge]:
    """One entry per judge (aliases folded), sorted by name."""
    seen = {entry.spec.name: entry for entry in registered_judges().values()}
    return [seen[name] for name in sorted(seen)]


def judge_listing() -> list[dict[str, Any]]:
    """One flat dict per judge (aliases folded): what ``fecbench judges`` shows; nothing is imported."""
    return [
        listing_row(entry, default_model=entry.spec.default_model, tasks=list(entry.spec.tasks))
        for entry in unique_judges()
    ]


def get_judge(name: str) -> RegisteredJudge:
    judges = registered_judges()
    if name not in judges:
        known = ", ".join(sorted({j.spec.name for j in judges.values()})) or "none"
        raise UnknownPluginError(f"unknown judge {name!r}; installed judges: {known}")
    return judges[name]


def load_judge(name: str, judge_args: dict[str, Any] | None = None) -> Judge:
    """Import and construct a judge; a missing dependency or an unknown argument becomes a clear error.

    When the user names no ``model`` and the spec has a ``default_model``, that model is passed.
    The judge's ``tasks`` become those its :class:`JudgeSpec` declares (narrowed by the class's own
    ``tasks``, if it sets fewer): a task not declared is unsupported, never asked.
    """
    entry = get_judge(name)
    args = dict(judge_args or {})
    missing = entry.missing_requirements()
    if missing:
        raise MissingDependencyError(
            f"judge {name!r} needs {', '.join(missing)}, which is not installed: {entry.spec.install_hint}"
        )
    try:
        factory = import_factory(entry.spec.factory)
    except ImportError as exc:
        hint = f": {entry.spec.install_hint}" if entry.spec.install_hint else ""
        raise MissingDependencyError(f"judge {name!r} cannot be imported ({exc}){hint}") from exc
    except AttributeError as exc:
        raise ConfigError(f"judge {name!r}: its factory {entry.spec.factory} does not exist ({exc})") from exc
    accepted = _accepted_args(factory)
    if entry.spec.default_model and "model" not in args and (accepted is None or "model" in accepted):
        args["model"] = entry.spec.default_model
    if accepted is not None:
        unknown = sorted(set(args) - set(accepted))
        if unknown:
            raise ConfigError(
                f"--judge-args: judge {name!r} does not take {', '.join(unknown)}; "
                f"it takes: {', '.join(accepted) or 'nothing'}"
            )
    judge = factory(**args)
    if not isinstance(judge, Judge):
        raise ConfigError(f"judge {name!r}: {entry.spec.factory} did not build a fecbench Judge")
    # The registration's tasks are what the engine and scoring go by; a class that says it answers
    # fewer (its own ``tasks``) is never asked the others either.
    judge.tasks = frozenset(entry.spec.tasks) & frozenset(type(judge).tasks)
    return judge


def _accepted_args(factory: Any) -> list[str] | None:
    """Keyword arguments the factory takes, or None when it takes any (``**kwargs``)."""
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def parse_judge_args(text: str | None) -> dict[str, Any]:
    """Parse ``--judge-args`` (``k=v,k2=v2``) exactly like ``--model-args``."""
    return parse_model_args(text, option="--judge-args")
