"""``--shard i/n``: a deterministic share of the selected clips, for batch schedulers such as Slurm.

Shard ``i`` of ``n`` (0-based, so ``$SLURM_ARRAY_TASK_ID`` of ``--array=0-<n-1>`` can be passed
straight through) holds the clips at positions ``i, i+n, i+2n, ...`` of the selection, in
annotation order. Round-robin rather than contiguous ranges spreads every source dataset (and so
every clip length and size) evenly over the shards, and the split depends only on the selection,
never on what is installed or already finished.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from fecbench.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0 <= index < count)."""

    index: int
    count: int

    @classmethod
    def parse(cls, value: str | tuple[int, int] | Shard) -> Shard:
        """``"i/n"`` or ``(i, n)``; anything else is a :class:`ConfigError` naming ``--shard``."""
        if isinstance(value, Shard):
            return value
        if isinstance(value, tuple):
            index, count = value
        else:
            match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(value))
            if not match:
                raise ConfigError(f"--shard must look like i/n (e.g. 0/4), got {value!r}")
            index, count = int(match.group(1)), int(match.group(2))
        if count < 1:
            raise ConfigError(f"--shard {index}/{count}: the number of shards must be at least 1")
        if not 0 <= index < count:
            raise ConfigError(
                f"--shard {index}/{count}: shards are numbered from 0, so the index must be 0..{count - 1}"
            )
        return cls(index, count)

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def folder_suffix(self) -> str:
        return f"shard{self.index}of{self.count}"

    def select(self, items: Sequence[T]) -> list[T]:
        """This shard's items: every ``count``-th one, starting at position ``index``."""
        return list(items[self.index :: self.count])
