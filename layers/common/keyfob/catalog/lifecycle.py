"""A token's lifetime as the provider's docs state it, and a scheme's retirement."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class TokenLifetime(BaseModel):
    """A token lifetime as the provider's docs state it, for answers without expires_in."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    value: int = Field(gt=0)
    unit: Literal["seconds", "minutes", "hours", "days"]

    @property
    def seconds(self) -> int:
        return self.value * _UNIT_SECONDS[self.unit]


class Deprecation(BaseModel):
    """A scheme the provider retires: from when, and what to use instead."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    date: str = Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$", description="When it stops working (or stopped)."
    )
    message: str = Field(min_length=1)
