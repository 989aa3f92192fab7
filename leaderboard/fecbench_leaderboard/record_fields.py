"""The field types and the strict base model that every part of a result record is built from."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["NonNegative", "Number", "Relation", "Scalar", "StrictModel"]

Relation = Literal["entailment", "neutral", "contradiction"]
Scalar = str | int | float | bool | None
#: measured counts and numbers are JSON numbers: ``"0.5"`` or ``true`` is refused, not converted
NonNegative = Annotated[int, Field(ge=0, strict=True)]
Number = Annotated[float, Field(strict=True)]


class StrictModel(BaseModel):
    """Unknown fields and non-finite numbers are errors: records come by pull request."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
