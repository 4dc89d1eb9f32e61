"""The condition expressions of conditional account writes, as DynamoDB will parse them."""

from __future__ import annotations

from keyfob.core.config import settings
from keyfob.models.records.accounts import AccountChanges, Increment
from keyfob.models.types import Status
from keyfob.store import conditions
from keyfob.store.conditions import Expect


def render(expect: Expect) -> tuple[str, dict[str, str]]:
    expression = conditions.Expression()
    text = conditions.condition(expect, expression, now_epoch=100)
    return text, expression.names


def test_given_nothing_expected_then_only_existence_is_required() -> None:
    assert render(Expect()) == ("attribute_exists(pk)", {})


def test_given_statuses_or_a_lapsed_attempt_then_one_pair_of_parentheses_each() -> None:
    text, names = render(Expect(statuses={Status.EXPIRED}, lapsed=True))
    # DynamoDB refuses doubled parentheses ("redundant parentheses")
    assert "((" not in text
    assert text.count(" OR ") == 1
    assert set(names.values()) == {"status", "pending_until"}


def test_given_a_lapsed_attempt_alone_then_it_is_plain_conjunctions() -> None:
    text, _ = render(Expect(lapsed=True))
    assert "((" not in text
    assert " OR " not in text
    assert text.count(" AND ") == 2


def test_given_a_lease_then_a_missing_or_ended_lease_is_free() -> None:
    text, names = render(Expect(lease_free_at=5, token_version=2))
    assert "attribute_not_exists(#" in text
    assert set(names.values()) == {"lease_until", "token_version"}


def test_due_shards_are_stable_and_spread() -> None:
    shards = {conditions.due_shard(f"ca_{i:024d}") for i in range(200)}
    assert shards == {f"DUE#{n}" for n in range(settings().due_shards)}
    assert conditions.due_shard("ca_x") == conditions.due_shard("ca_x")


def test_an_update_removes_what_is_none_and_moves_the_due_shard_with_due_at() -> None:
    expression = conditions.Expression()
    text = conditions.clauses({"due_at": None, "status": "EXPIRED"}, expression, "ca_1")
    assert text.startswith("SET ")
    removed = text.split("REMOVE ")[1].split(", ")
    assert {expression.names[n] for n in removed} == {"due_at", "due_shard"}


def test_an_increment_adds_to_the_stored_number() -> None:
    expression = conditions.Expression()
    text = conditions.clauses({"token_version": Increment()}, expression, "ca_1")
    assert text == "ADD #n0 :v0"
    assert expression.values[":v0"] == {"N": "1"}


def test_a_typed_change_writes_exactly_the_fields_given_and_the_status_apart() -> None:
    changes = AccountChanges(due_at=None, refreshable=False, token_version=Increment())
    attributes = conditions.written(changes, Status.EXPIRED)
    assert attributes == {
        "due_at": None,
        "refreshable": False,
        "token_version": Increment(),
        "status": "EXPIRED",
    }
