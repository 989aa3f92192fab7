"""The judge prompts: one versioned template per task, written by this project, and their hash.

Templates are ``<name>.<version>.txt`` files in this folder (jinja2, no autoescape): ``system``
(the system turn shared by every task), one per judge task, and ``repair`` (the turn that follows
an unusable answer on a retry). :data:`PROMPT_VERSION` names the
set; its sha256 (over every template's name and text) goes into each judge's identity, so editing
a prompt makes a different judge: its verdicts are cached apart and its scores never ranked
together with the old ones.

A user can try other wording with a folder of ``<name>.txt`` files (any subset; the others stay
built-in): :func:`load_prompts` gives that set the version ``<PROMPT_VERSION>-custom`` and its own hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import jinja2

from fecbench.errors import ConfigError
from fecbench.judges.base import TASKS

PROMPT_VERSION = "v1"
TEMPLATE_DIR = Path(__file__).resolve().parent
TEMPLATE_NAMES: tuple[str, ...] = ("system", *TASKS, "repair")

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class PromptSet:
    """A complete set of templates with its version and hash, ready to render chat messages."""

    version: str
    sha256: str
    source: str
    templates: Mapping[str, str]
    _compiled: Mapping[str, jinja2.Template] = field(repr=False, compare=False, default_factory=dict)

    def render_user(self, task: str, inputs: Mapping[str, Any]) -> str:
        """The user turn of ``task`` for one item."""
        if task not in TASKS:
            raise ValueError(f"unknown judge task {task!r}; tasks are {', '.join(TASKS)}")
        try:
            return self._compiled[task].render(**inputs).strip() + "\n"
        except jinja2.UndefinedError as exc:
            raise ValueError(f"{task} prompt: the inputs lack a field ({exc.message})") from exc

    def render(self, task: str, inputs: Mapping[str, Any]) -> list[dict[str, str]]:
        """Chat messages (system, then user) asking ``task`` for one item."""
        user = self.render_user(task, inputs)
        return [{"role": "system", "content": self.system_turn}, {"role": "user", "content": user}]

    @cached_property
    def system_turn(self) -> str:
        """The system turn (the same for every item: rendered once)."""
        return self._compiled["system"].render().strip()

    def render_repair(self, messages: list[dict[str, Any]], answer: str, error: str) -> list[dict[str, Any]]:
        """``messages`` (a task's first turns) followed by the unusable answer and a request to fix it."""
        note = self._compiled["repair"].render(error=error.rstrip(".")).strip()
        return [*messages, {"role": "assistant", "content": answer}, {"role": "user", "content": note}]


def _hash(templates: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(templates):
        digest.update(name.encode() + b"\0" + templates[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


def _build(version: str, source: str, templates: dict[str, str]) -> PromptSet:
    compiled: dict[str, jinja2.Template] = {}
    for name, text in templates.items():
        try:
            compiled[name] = _ENV.from_string(text)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"prompt template {name} from {source}: line {exc.lineno}: {exc.message}") from exc
    return PromptSet(version=version, sha256=_hash(templates), source=source, templates=templates, _compiled=compiled)


@cache
def builtin_prompts() -> PromptSet:
    """fecbench's own templates of :data:`PROMPT_VERSION`."""
    templates = {}
    for name in TEMPLATE_NAMES:
        path = TEMPLATE_DIR / f"{name}.{PROMPT_VERSION}.txt"
        templates[name] = path.read_text(encoding="utf-8")
    return _build(PROMPT_VERSION, "builtin", templates)


def load_prompts(directory: str | Path | None = None) -> PromptSet:
    """The built-in set, or the built-in set with the templates found in ``directory`` replacing theirs."""
    if directory is None:
        return builtin_prompts()
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"prompt_dir: {folder} is not a folder")
    found = {name: folder / f"{name}.txt" for name in TEMPLATE_NAMES if (folder / f"{name}.txt").is_file()}
    if not found:
        expected = ", ".join(f"{name}.txt" for name in TEMPLATE_NAMES)
        raise ConfigError(f"prompt_dir: {folder} holds none of the prompt templates ({expected})")
    templates = dict(builtin_prompts().templates)
    templates.update({name: path.read_text(encoding="utf-8") for name, path in found.items()})
    return _build(f"{PROMPT_VERSION}-custom", str(folder.resolve()), templates)


def prompts_sha256(directory: str | Path | None = None) -> str:
    """The hash recorded as ``prompts_sha256`` in a judge's identity."""
    return load_prompts(directory).sha256
