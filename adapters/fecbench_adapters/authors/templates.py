"""Conversation formats of the authors' code, as plain functions from turns to the prompt string.

Each model's repository ships a ``Conversation`` class whose ``get_prompt`` joins a system text and
(role, message) turns with its own separators. The functions below produce the same strings, so
every adapter builds its prompt with code that is tested here, without the authors' package. A
turn whose message is None is the open assistant turn the model completes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Tuple  # noqa: UP035

# typing's spelling: a model environment may run Python 3.8, where tuple[...] fails at import time.
Turn = Tuple[str, Optional[str]]  # noqa: UP006, UP045


def single(system: str, turns: Sequence[Turn], sep: str = "###") -> str:
    """LLaVA-style ``SINGLE``: ``system###Role: message###Role:`` (Chat-UniVi, Video-LLaMA, VideoChat)."""
    out = system + sep
    for role, message in turns:
        out += f"{role}: {message}{sep}" if message else f"{role}:"
    return out


def single_bare(system: str, turns: Sequence[Turn], sep: str = "###") -> str:
    """``SINGLE`` whose roles carry their own punctuation (ST-LLM): ``system###Human: message###Assistant: ``."""
    out = system + sep
    for role, message in turns:
        out += f"{role}{message}{sep}" if message else role
    return out


def two(system: str, turns: Sequence[Turn], sep: str = " ", sep2: str = "</s>") -> str:
    """Vicuna v1 ``TWO``: ``system USER: message ASSISTANT:`` (LLaMA-VID, LLaVA v1)."""
    out = system + sep
    seps = (sep, sep2)
    for i, (role, message) in enumerate(turns):
        out += f"{role}: {message}{seps[i % 2]}" if message else f"{role}:"
    return out


def mpt(system: str, turns: Sequence[Turn], sep: str) -> str:
    """``MPT`` style (ShareGPT4Video's Llama-3 template): ``system<sep>role message<sep>role``."""
    out = system + sep
    for role, message in turns:
        out += f"{role}{message}{sep}" if message else role
    return out


def llama2(system: str, turns: Sequence[Turn], sep: str = "<s>", sep2: str = "</s>") -> str:
    """``LLAMA_2``: ``[INST] <<SYS>>\\nsystem\\n<</SYS>>\\n\\nmessage [/INST]`` (Video-LLaMA-2's chat models)."""
    out = ""
    for i, (_role, message) in enumerate(turns):
        if not message:
            continue
        if i == 0:
            message = f"<<SYS>>\n{system}\n<</SYS>>\n\n{message}"
        if i % 2 == 0:
            out += f"{sep}[INST] {message} [/INST]"
        else:
            out += f" {message} {sep2}"
    return out.lstrip(sep)
