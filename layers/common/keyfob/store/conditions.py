"""The expressions of conditional account writes: what a write requires of the stored
account (``Expect``), and the SET/REMOVE/ADD clauses of what it changes."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from keyfob.core.config import settings
from keyfob.models.records.accounts import AccountChanges, Increment
from keyfob.models.types import PENDING, Status
from keyfob.store.attributes import serialize
from keyfob.store.table import shard

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


def due_shard(account_id: str) -> str:
    """The due index is spread over shards (settings().due_shards) so that no single
    partition takes every write, and each shard can be worked by a worker of its own."""
    return f"DUE#{shard(account_id, settings().due_shards)}"


class Expect(NamedTuple):
    """What a conditional account write requires of the stored account."""

    statuses: Collection[Status] = ()  # one of these (empty: any status)
    lapsed: bool = False  # ... or a pending attempt whose time is over
    token_version: int | None = None
    lease_free_at: int | None = None  # no lease, or one that ended by this epoch ms
    lease_owner: str | None = None
    due_by: str | None = None  # due_at at or before this
    confirmation_hash: str | None = None
    pending_after: int | None = None  # pending_until later than this epoch


class Expression:
    """Collects placeholders for one write's expressions."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, AttributeValueTypeDef] = {}

    def name(self, attribute: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = serialize(value)
        return placeholder

    def compare(self, attribute: str, operator: str, value: Any) -> str:
        return f"{self.name(attribute)} {operator} {self.value(value)}"

    def one_of(self, attribute: str, options: Collection[str]) -> str:
        listed = ", ".join(self.value(o) for o in sorted(options))
        return f"{self.name(attribute)} IN ({listed})"


def status_filter(status: Status, expression: Expression, now_epoch: int) -> str:
    """A status as the API shows it: a pending attempt past its time counts as EXPIRED."""
    matches = expression.compare("status", "=", status.value)
    if status is Status.EXPIRED:
        pending = expression.one_of("status", {s.value for s in PENDING})
        return (
            f"({matches} OR ({pending} AND {expression.compare('pending_until', '<=', now_epoch)}))"
        )
    if status in PENDING:
        return f"({matches} AND {expression.compare('pending_until', '>', now_epoch)})"
    return matches


def condition(expect: Expect, expression: Expression, now_epoch: int) -> str:
    parts = ["attribute_exists(pk)"]
    allowed = []
    if expect.statuses:
        allowed.append(expression.one_of("status", {s.value for s in expect.statuses}))
    if expect.lapsed:
        allowed.append(
            f"{expression.one_of('status', {s.value for s in PENDING})} AND "
            f"{expression.compare('pending_until', '<=', now_epoch)}"
        )
    # DynamoDB refuses doubled parentheses: only an OR of the two needs any.
    if len(allowed) == 2:
        parts.append(f"({allowed[0]} OR ({allowed[1]}))")
    elif allowed:
        parts.append(allowed[0])
    if expect.lease_free_at is not None:
        ended = expression.compare("lease_until", "<=", expect.lease_free_at)
        parts.append(f"(attribute_not_exists({expression.name('lease_until')}) OR {ended})")
    for attribute, operator, value in (
        ("token_version", "=", expect.token_version),
        ("lease_owner", "=", expect.lease_owner),
        ("due_at", "<=", expect.due_by),
        ("confirmation_hash", "=", expect.confirmation_hash),
        ("pending_until", ">", expect.pending_after),
    ):
        if value is not None:
            parts.append(expression.compare(attribute, operator, value))
    return " AND ".join(parts)


def written(changes: AccountChanges, status: Status | None) -> dict[str, Any]:
    """The attributes a write sets (JSON-ready) or removes (None); an Increment stays
    one. The status comes apart from the changes: only the state machine sets it."""
    dumped = changes.model_dump(mode="json", include=changes.model_fields_set)
    attributes = {
        name: value if isinstance(value := getattr(changes, name), Increment) else dumped[name]
        for name in changes.model_fields_set
    }
    if status is not None:
        attributes["status"] = status.value
    return attributes


def clauses(attributes: Mapping[str, Any], expression: Expression, account_id: str) -> str:
    """SET what has a value, REMOVE what is None, ADD an Increment."""
    attributes = dict(attributes)
    if "due_at" in attributes:
        attributes["due_shard"] = due_shard(account_id) if attributes["due_at"] else None
    sets, removes, adds = [], [], []
    for attribute, value in attributes.items():
        if value is None:
            removes.append(expression.name(attribute))
        elif isinstance(value, Increment):
            adds.append(f"{expression.name(attribute)} {expression.value(value.by)}")
        else:
            sets.append(f"{expression.name(attribute)} = {expression.value(value)}")
    clauses = [
        f"{verb} {', '.join(parts)}"
        for verb, parts in (("SET", sets), ("REMOVE", removes), ("ADD", adds))
        if parts
    ]
    return " ".join(clauses)
