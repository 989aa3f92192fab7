"""The plugin manager: discovers plugins, answers "which adapters exist", loads one lazily.

Plugins come from the ``fecbench`` entry-point group (installed packages, fecbench's own built-ins
included) and from module names in the ``FECBENCH_PLUGINS`` environment variable (comma-separated,
handy for a plugin that is not packaged yet).

A registration named ``<wrapper>:<adapter>`` (literally, e.g. ``facetrack:<adapter>``) is a wrapper:
``--model facetrack:qwen2-vl`` composes it around the registered ``qwen2-vl``. Its factory takes the
loaded inner adapter as first argument; model arguments prefixed ``<wrapper>.`` go to the wrapper
(prefix removed), all others to the inner adapter.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any, cast

import pluggy

from fecbench import hookspecs
from fecbench.adapter import Adapter
from fecbench.errors import ConfigError, MissingDependencyError, UnknownPluginError
from fecbench.hookspecs import AdapterSpec

if TYPE_CHECKING:
    from fecbench.model_env.interpreter import ModelEnv

ENTRY_POINT_GROUP = "fecbench"
PLUGINS_ENV = "FECBENCH_PLUGINS"
WRAPPED = "<adapter>"  # placeholder of a wrapper's registration name: "facetrack:<adapter>"


@dataclass(frozen=True)
class RegisteredAdapter:
    """An adapter spec plus where it came from (the distribution that provides it)."""

    spec: AdapterSpec
    provider: str
    provider_version: str
    inner: RegisteredAdapter | None = None  # set for a composition "wrapper:inner"; the rest is the wrapper's

    def missing_requirements(self) -> list[str]:
        """Import names of ``spec.requires`` that cannot be found (checked without importing them)."""
        return missing_imports(self.spec.requires)


def missing_imports(names: tuple[str, ...]) -> list[str]:
    """The import names that cannot be found, checked without importing them (so listings stay light)."""
    return [name for name in names if importlib.util.find_spec(name) is None]


def listing_row(entry: Any, **fields: Any) -> dict[str, Any]:
    """One plugin's row in a listing (``fecbench models``, ``fecbench judges``): the fields every registration
    has, with the kind's own ``fields`` after its provider; dependencies are checked without importing."""
    spec = entry.spec
    missing = entry.missing_requirements()
    return {
        "name": spec.name,
        "aliases": list(spec.aliases),
        "provider": entry.provider,
        "provider_version": entry.provider_version,
        **fields,
        "requires": list(spec.requires),
        "missing": missing,
        "dependencies_ok": not missing,
        "install_hint": spec.install_hint if missing else None,
        "summary": spec.summary,
        "factory": spec.factory,
    }


@lru_cache(maxsize=None)  # noqa: UP033 - functools.cache is 3.9+; the model worker may run on 3.8
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager with every installed plugin registered."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for module_name in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"{PLUGINS_ENV}: cannot import plugin module {module_name!r}: {exc}") from exc
        if not pm.is_registered(module):
            pm.register(module, name=module_name)
    return pm


def provider_of(plugin: object, pm: pluggy.PluginManager) -> tuple[str, str]:
    """The distribution (name, version) that registered ``plugin``; its top module when it is unpackaged."""
    for loaded, dist in pm.list_plugin_distinfo():
        if loaded is plugin:
            return dist.project_name, dist.version
    module = getattr(plugin, "__name__", type(plugin).__name__)
    top = module.split(".")[0]
    try:
        return top, metadata.version(top)
    except metadata.PackageNotFoundError:
        return module, "unpackaged"


def registered_adapters() -> dict[str, RegisteredAdapter]:
    """Every adapter name (aliases included) mapped to its registration; a clash is an error."""
    pm = plugin_manager()
    found: dict[str, RegisteredAdapter] = {}
    for impl in pm.hook.fecbench_register_adapters.get_hookimpls():
        provider, version = provider_of(impl.plugin, pm)
        for spec in cast("list[AdapterSpec]", impl.function() or []):
            entry = RegisteredAdapter(spec, provider, version)
            for name in (spec.name, *spec.aliases):
                if name in found and found[name].spec != spec:
                    raise ConfigError(
                        f"adapter name {name!r} is registered twice: by {found[name].provider} and by {provider}"
                    )
                found[name] = entry
    return found


def unique_adapters() -> list[RegisteredAdapter]:
    """One entry per adapter (aliases folded), sorted by name."""
    seen = {entry.spec.name: entry for entry in registered_adapters().values()}
    return [seen[name] for name in sorted(seen)]


def get_adapter(name: str) -> RegisteredAdapter:
    adapters = registered_adapters()
    wrapper, colon, inner = name.partition(":")
    if colon and name not in adapters and f"{wrapper}:{WRAPPED}" in adapters:
        return _compose(adapters[f"{wrapper}:{WRAPPED}"], get_adapter(inner))
    if name.endswith(":" + WRAPPED) and name in adapters:
        raise UnknownPluginError(f"{name!r} is a wrapper: name the adapter it wraps, e.g. {wrapper}:baseline")
    if name not in adapters:
        known = ", ".join(sorted({a.spec.name for a in adapters.values()})) or "none"
        raise UnknownPluginError(f"unknown model {name!r}; installed adapters: {known} (see `fecbench models`)")
    return adapters[name]


def _compose(wrapper: RegisteredAdapter, inner: RegisteredAdapter) -> RegisteredAdapter:
    """The registration of ``wrapper`` around ``inner``: the inner adapter's frames, both adapters' requirements."""
    prefix = wrapper.spec.name.removesuffix(":" + WRAPPED)
    if inner.inner is not None and inner.spec.name.startswith(prefix + ":"):
        raise ConfigError(f"{prefix}:{inner.spec.name}: {prefix} cannot wrap itself")
    spec = AdapterSpec(
        name=f"{prefix}:{inner.spec.name}",
        factory=wrapper.spec.factory,
        summary=f"{inner.spec.name} wrapped by {prefix}: {wrapper.spec.summary}",
        default_checkpoint=inner.spec.default_checkpoint,
        default_frames=inner.spec.default_frames,
        requires=tuple(dict.fromkeys((*wrapper.spec.requires, *inner.spec.requires))),
        install_hint=" and ".join(dict.fromkeys(h for h in _hints_for_missing(wrapper, inner) if h)),
        checkpoint_arg=inner.spec.checkpoint_arg,
    )
    return RegisteredAdapter(spec, wrapper.provider, wrapper.provider_version, inner=inner)


def _hints_for_missing(*entries: RegisteredAdapter) -> list[str]:
    """Install hints of the entries that miss something (all of them when none does)."""
    missing = [e.spec.install_hint for e in entries if e.missing_requirements()]
    return missing or [e.spec.install_hint for e in entries]


def split_wrapper_args(name: str, model_args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """For ``wrapper:inner``: (the wrapper's args with their ``wrapper.`` prefix removed, the inner adapter's args)."""
    prefix = name.partition(":")[0] + "."
    mine = {k.removeprefix(prefix): v for k, v in model_args.items() if k.startswith(prefix)}
    return mine, {k: v for k, v in model_args.items() if not k.startswith(prefix)}


def import_factory(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def missing_here(entry: RegisteredAdapter, model_env: ModelEnv | None) -> list[str]:
    """The adapter's missing requirements that this process must have: with a model environment, the model's own
    (the wrapped adapter's, for a wrapper) are that environment's business, checked by its worker."""
    missing = entry.missing_requirements()
    if model_env is None:
        return missing
    theirs = (entry.inner or entry).spec.requires
    return [m for m in missing if m not in theirs]


def check_requirements(entry: RegisteredAdapter, missing: list[str]) -> None:
    """Raise :class:`MissingDependencyError` with the pip command when ``missing`` names any dependency."""
    if missing:
        raise MissingDependencyError(
            f"model {entry.spec.name!r} needs {', '.join(missing)}, which is not installed: {entry.spec.install_hint}"
        )


def preflight(entry: RegisteredAdapter, model_args: dict[str, Any], model_env: ModelEnv | None = None) -> None:
    """What can be checked in seconds, without importing the model, before a run creates its folder.

    Its dependencies are installed (:func:`missing_here`), and the checkpoint it will load is a local folder or a
    hub id the hub has (or the local cache, offline): :func:`fecbench.checkpoints.resolve_checkpoint`.
    """
    check_requirements(entry, missing_here(entry, model_env))
    arg = entry.spec.checkpoint_arg
    if arg is None:
        return
    args = split_wrapper_args(entry.spec.name, model_args)[1] if entry.inner is not None else model_args
    checkpoint = args.get(arg) or entry.spec.default_checkpoint
    if checkpoint is None:
        return  # the adapter says what it needs when it loads
    from fecbench.checkpoints import resolve_checkpoint

    revision = args.get("revision")
    resolve_checkpoint(str(checkpoint), model=entry.spec.name, revision=None if revision is None else str(revision))


def load_adapter(name: str, model_args: dict[str, Any], model_env: ModelEnv | None = None) -> Adapter:
    """Import and construct an adapter, turning a missing dependency or a bad argument into a clear error.

    With ``model_env``, the adapter runs in that Python environment's worker process and what is
    returned here is its proxy (:mod:`fecbench.model_env`); a wrapper (``facetrack:...``) still runs
    here, around the proxy of the adapter it wraps.
    """
    entry = get_adapter(name)
    if entry.inner is not None:
        return _load_composed(entry, model_args, model_env)
    if model_env is not None:
        from fecbench.model_env.proxy import WorkerAdapter

        return WorkerAdapter.start(entry, model_args, model_env)
    return instantiate(entry, model_args)


def instantiate(entry: RegisteredAdapter, model_args: dict[str, Any]) -> Adapter:
    """Construct a registered (not composed) adapter here: requirements, import, arguments, then the constructor."""
    factory = _import_checked(entry, entry.missing_requirements())
    _check_model_args(entry.spec.name, factory, model_args)
    adapter: Adapter = factory(**model_args)
    return adapter


def _import_checked(entry: RegisteredAdapter, missing: list[str]) -> Any:
    check_requirements(entry, missing)
    try:
        return import_factory(entry.spec.factory)
    except ImportError as exc:
        hint = f": {entry.spec.install_hint}" if entry.spec.install_hint else ""
        raise MissingDependencyError(f"model {entry.spec.name!r} cannot be imported ({exc}){hint}") from exc


def _load_composed(entry: RegisteredAdapter, model_args: dict[str, Any], model_env: ModelEnv | None) -> Adapter:
    """Load the inner adapter with its own arguments, then the wrapper around it with the prefixed ones."""
    assert entry.inner is not None
    factory = _import_checked(entry, missing_here(entry, model_env))
    wrapper_args, inner_args = split_wrapper_args(entry.spec.name, model_args)
    prefix = entry.spec.name.partition(":")[0]
    params = inspect.signature(factory).parameters
    accepted = [n for n, p in list(params.items())[1:] if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    unknown = sorted(set(wrapper_args) - set(accepted))
    if unknown:
        raise ConfigError(
            f"--model-args: {prefix} does not take {', '.join(f'{prefix}.{u}' for u in unknown)}; "
            f"it takes: {', '.join(f'{prefix}.{a}' for a in accepted) or 'nothing'}"
        )
    inner = load_adapter(entry.inner.spec.name, inner_args, model_env)
    try:
        wrapped: Adapter = factory(inner, **wrapper_args)
        return wrapped
    except BaseException:
        inner.close()
        raise


def _check_model_args(name: str, factory: Any, model_args: dict[str, Any]) -> None:
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    unknown = sorted(set(model_args) - set(accepted))
    if unknown:
        raise ConfigError(
            f"--model-args: model {name!r} does not take {', '.join(unknown)}; "
            f"it takes: {', '.join(accepted) or 'nothing'}"
        )


def parse_model_args(text: str | None, option: str = "--model-args") -> dict[str, Any]:
    """Parse ``k=v,k2=v2`` into a dict, reading ints, floats, booleans and ``none`` as such.

    ``option`` names the option in error messages (``--judge-args`` reuses this parser).
    """
    args: dict[str, Any] = {}
    if not text:
        return args
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option}: {part!r} is not of the form key=value")
        args[key.strip()] = _coerce(value.strip())
    return args


def _coerce(value: str) -> Any:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value
