"""The ``transformers`` judge: a chat causal LM loaded in-process, batched greedy decoding.

For small local judges (and for testing the judge path with tiny random weights). The model is a
path or a hub id, loaded with ``AutoModelForCausalLM`` and ``AutoTokenizer``; prompts go through
the tokenizer's own chat template, so any instruct model with one works. Batches are left-padded
so every row's answer starts right after its prompt.

A GGUF checkpoint (the form small local models often ship in) loads too: ``gguf_file=NAME.gguf``
names the file inside the ``model`` folder (or hub repository), or ``model`` is the path of the
``.gguf`` file itself. transformers de-quantizes it to ``dtype`` and reads its tokenizer and chat
template from the file (``pip install 'fecbench[gguf]'``).

Retries (see :mod:`fecbench.judges.chat`) matter only for unusable answers: decoding is greedy,
so a retry differs from the first try only by the repair turn that shows the model its mistake.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any, ClassVar

from fecbench.errors import ConfigError, MissingDependencyError
from fecbench.judges.chat import ChatJudge, Messages

INSTALL_HINT = "pip install 'fecbench[transformers]'"
GGUF_INSTALL_HINT = "pip install 'fecbench[gguf]'"
DTYPES = ("auto", "float32", "float16", "bfloat16")


class TransformersJudge(ChatJudge):
    """A causal LM judge run by transformers on CPU or one GPU."""

    backend: ClassVar[str] = "transformers"

    def __init__(
        self,
        *,
        model: str | None = None,
        dtype: str = "auto",
        device: str | None = None,
        batch_size: int = 8,
        max_new_tokens: int = 512,
        max_retries: int = 2,
        trust_remote_code: bool = False,
        gguf_file: str | None = None,
        prompt_dir: str | None = None,
    ) -> None:
        model = model or os.environ.get("FECBENCH_JUDGE_MODEL")
        if not model:
            raise ConfigError("the transformers judge needs a model: --judge-args model=PATH_OR_HUB_ID")
        model, gguf_file = _gguf_location(str(model), gguf_file)
        if dtype not in DTYPES:
            raise ConfigError(f"--judge-args: dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"--judge-args: batch_size must be an integer >= 1, not {batch_size!r}")
        local = Path(str(model)).expanduser()
        # A folder is named by its absolute path, so the same checkpoint keeps its cache entries.
        name = str(local.resolve()) if local.is_dir() else str(model)
        self.gguf_file = gguf_file
        super().__init__(
            model=f"{name}/{gguf_file}" if gguf_file else name,
            max_retries=max_retries,
            backoff=0.0,
            backoff_max=0.0,
            max_concurrency=1,
            temperature=0.0,
            max_tokens=max_new_tokens,
            prompt_dir=prompt_dir,
        )
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
        except ImportError as exc:
            raise MissingDependencyError(
                f"the transformers judge needs torch and transformers: {INSTALL_HINT}"
            ) from exc
        self._torch = torch
        self.batch_size = batch_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # As for the adapters: bfloat16 on a GPU, float32 on the CPU unless asked otherwise.
        self.dtype = dtype if dtype != "auto" else ("float32" if self.device == "cpu" else "bfloat16")
        load: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        if gguf_file:
            _check_gguf_support()
            load["gguf_file"] = gguf_file
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(name, **load)
            self.lm = AutoModelForCausalLM.from_pretrained(name, dtype=getattr(torch, self.dtype), **load)
        except (OSError, ValueError, struct.error) as exc:  # not found, offline, not a causal LM, a broken GGUF
            what = f"{model!r} (GGUF file {gguf_file!r})" if gguf_file else repr(model)
            raise ConfigError(f"the transformers judge cannot load {what}: {exc}") from exc
        if not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError(f"judge model {model!r} has no chat template; the judge needs an instruct (chat) model")
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.lm.to(self.device).eval()
        eos = self.lm.generation_config.eos_token_id
        self.generation = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=eos if eos is not None else self.tokenizer.eos_token_id,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "gguf_file": self.gguf_file,
            "device": self.device,
            "dtype": self.dtype,
            "batch_size": self.batch_size,
            **super().describe(),
        }

    def prompt_text(self, messages: Messages) -> str:
        """The model's input for a conversation, through its chat template.

        Templates that refuse a system turn (Gemma's, for one) get its text at the head of the first
        user turn instead.
        """
        try:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except Exception as exc:  # jinja2 raises TemplateError from the template's raise_exception
            if not messages or messages[0]["role"] != "system" or "system" not in str(exc).lower():
                raise
            system, first, *rest = messages
            merged = {"role": first["role"], "content": f"{system['content']}\n\n{first['content']}"}
            return self.tokenizer.apply_chat_template([merged, *rest], tokenize=False, add_generation_prompt=True)

    def complete(self, messages: Messages) -> str:
        return self.complete_batch([messages])[0]

    def complete_batch(self, conversations: list[Messages]) -> list[str]:
        torch = self._torch
        answers: list[str] = []
        for start in range(0, len(conversations), self.batch_size):
            texts = [self.prompt_text(m) for m in conversations[start : start + self.batch_size]]
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
            with torch.inference_mode():
                output = self.lm.generate(**batch, generation_config=self.generation)
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            answers.extend(self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        return answers

    def close(self) -> None:
        self.lm = None
        if self._torch.cuda.is_available():
            self._torch.cuda.empty_cache()


def _gguf_location(model: str, gguf_file: str | None) -> tuple[str, str | None]:
    """(folder or hub id, GGUF file name or None): ``model`` may be the ``.gguf`` file's own path."""
    path = Path(model).expanduser()
    if gguf_file is None and path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ConfigError(f"--judge-args model={model}: no such GGUF file")
        return str(path.parent), path.name
    if gguf_file is not None and not str(gguf_file).lower().endswith(".gguf"):
        raise ConfigError(f"--judge-args gguf_file={gguf_file}: a GGUF file name ends in .gguf")
    if gguf_file is not None and path.is_dir() and not (path / gguf_file).is_file():
        raise ConfigError(f"--judge-args gguf_file={gguf_file}: not found in {path}")
    return model, gguf_file


def _check_gguf_support() -> None:
    """transformers reads GGUF with the gguf package and loads it through accelerate: say so before trying."""
    import importlib.util

    missing = [name for name in ("gguf", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingDependencyError(
            f"the transformers judge needs {' and '.join(missing)} to load a GGUF file: {GGUF_INSTALL_HINT}"
        )
