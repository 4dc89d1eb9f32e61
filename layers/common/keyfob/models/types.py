"""The value types every model shares: statuses and their changes (as published),
identifiers, labels, the model base."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from keyfob.catalog.names import SLUG_PATTERN

ENTITY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@:+\-]{0,127}$"
ID_PATTERN = r"^[a-z]{2,4}_[a-z2-7]{24}$"
LABEL_KEY_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
EntityId = Annotated[
    str,
    StringConstraints(pattern=ENTITY_PATTERN),
    Field(description="Your identifier for the end user; letters, digits and _.@:+- only."),
]
ResourceId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Url = Annotated[str, StringConstraints(min_length=8, max_length=2048)]
LabelKey = Annotated[str, StringConstraints(pattern=LABEL_KEY_PATTERN)]
Labels = Annotated[
    dict[LabelKey, Annotated[str, StringConstraints(max_length=256)]],
    Field(
        max_length=20,
        description="Up to 20 free-form labels, kept on the account.",
        # Keys are held to their pattern: no other key is one.
        json_schema_extra={"additionalProperties": False},
    ),
]
ParamValue = Annotated[str, StringConstraints(max_length=4096)]
# A page cursor: the position of the last item of the page before (see keyfob.store).
ACCOUNT_CURSOR_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z~ca_[a-z2-7]{24}$"
INTEGRATION_CURSOR_PATTERN = r"^int_[a-z2-7]{24}$"
# An OAuth state as Keyfob issues it: 256 random bits, base64url.
STATE_PATTERN = r"^[A-Za-z0-9_-]{43}$"
AwsAccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]


class Model(BaseModel):
    """An API model: unknown fields refused, schema built on first use (``defer_build``),
    so that a function pays for the models it uses, not for every model at import."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


def set_fields(overrides: BaseModel | None) -> dict[str, Any]:
    """The fields a partial settings model gives a value (not None), as they are: nested
    models stay models, ready for ``model_copy(update=...)`` on the catalog's defaults."""
    if overrides is None:
        return {}
    return {
        name: value
        for name in type(overrides).model_fields
        if (value := getattr(overrides, name)) is not None
    }


class Status(StrEnum):
    INITIATED = "INITIATED"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    INACTIVE = "INACTIVE"
    AWAITING_CONFIRMATION = "AWAITING_CONFIRMATION"


# Statuses of an attempt still waiting for the user (or the app): they lapse to EXPIRED.
PENDING = frozenset({Status.INITIATED, Status.AWAITING_CONFIRMATION})


class Change(StrEnum):
    """A change of a connected account's status, as the detail-type it is published as.

    A reinitiated account is INITIATED again and is published as Initiated (with
    previous_status EXPIRED or FAILED): what a consumer does with it is the same."""

    INITIATED = "Keyfob.ConnectionInitiated"
    ACTIVATED = "Keyfob.ConnectionActivated"
    AWAITING_CONFIRMATION = "Keyfob.ConnectionAwaitingConfirmation"
    FAILED = "Keyfob.ConnectionFailed"
    EXPIRED = "Keyfob.ConnectionExpired"
    REFRESHED = "Keyfob.ConnectionRefreshed"
    DISABLED = "Keyfob.ConnectionDisabled"
    ENABLED = "Keyfob.ConnectionEnabled"
    DELETED = "Keyfob.ConnectionDeleted"
