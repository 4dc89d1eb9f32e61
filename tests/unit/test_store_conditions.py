"""The condition expressions of conditional account writes, as DynamoDB will parse them."""

from __future__ import annotations

from keyfob import store
from keyfob.models import Status


def render(expect: store.Expect) -> tuple[str, dict[str, str]]:
    expression = store._Expression()
    text = store._condition(expect, expression, now_epoch=100)
    return text, expression.names


def test_given_nothing_expected_then_only_existence_is_required() -> None:
    assert render(store.Expect()) == ("attribute_exists(pk)", {})


def test_given_statuses_or_a_lapsed_attempt_then_one_pair_of_parentheses_each() -> None:
    text, names = render(store.Expect(statuses={Status.EXPIRED}, lapsed=True))
    # DynamoDB refuses doubled parentheses ("redundant parentheses")
    assert "((" not in text
    assert text.count(" OR ") == 1
    assert set(names.values()) == {"status", "pending_until"}


def test_given_a_lapsed_attempt_alone_then_it_is_plain_conjunctions() -> None:
    text, _ = render(store.Expect(lapsed=True))
    assert "((" not in text
    assert " OR " not in text
    assert text.count(" AND ") == 2


def test_given_a_lease_then_a_missing_or_ended_lease_is_free() -> None:
    text, names = render(store.Expect(lease_free_at=5, token_version=2))
    assert "attribute_not_exists(#" in text
    assert set(names.values()) == {"lease_until", "token_version"}


def test_due_shards_are_stable_and_spread() -> None:
    shards = {store._due_shard(f"ca_{i:024d}") for i in range(200)}
    assert shards == {f"DUE#{n}" for n in range(store.DUE_SHARDS)}
    assert store._due_shard("ca_x") == store._due_shard("ca_x")


def test_an_update_removes_what_is_none_and_moves_the_due_shard_with_due_at() -> None:
    expression = store._Expression()
    text = store._update({"due_at": None, "status": "EXPIRED"}, expression, "ca_1")
    assert text.startswith("SET ")
    removed = text.split("REMOVE ")[1].split(", ")
    assert {expression.names[n] for n in removed} == {"due_at", "due_shard"}


def test_an_increment_adds_to_the_stored_number() -> None:
    expression = store._Expression()
    text = store._update({"token_version": store.Increment()}, expression, "ca_1")
    assert text == "ADD #n0 :v0"
    assert expression.values[":v0"] == {"N": "1"}
