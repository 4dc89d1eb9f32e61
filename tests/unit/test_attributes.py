"""The layer's AttributeValue (de)serializer against boto3's TypeSerializer and
TypeDeserializer (boto3 is in the dev environment, never in the layer's imports)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from keyfob.store.attributes import deserialize, serialize

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -17,
    10**37,
    Decimal("3.25"),
    Decimal("-1E-5"),
    "",
    "text é 😀",
    b"\x00bytes",
    [],
    ["a", 1, None, [True, {"x": Decimal("2.5")}]],
    {},
    {"nested": {"list": [1, "two"], "flag": False, "none": None}},
    {"a", "b"},
    {1, Decimal("2.5")},
    {b"x", b"y"},
    ("tuple", 2),
]


def _comparable(value: Any) -> Any:
    """boto3's sets come out in set order: compare them as sets."""
    if isinstance(value, dict):
        return {
            k: (sorted(v) if k in ("SS", "NS", "BS") else _comparable(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _unwrapped(value: Any) -> Any:
    """boto3 gives binaries as its Binary wrapper, this module as bytes."""
    if isinstance(value, Binary):
        return value.value
    if isinstance(value, dict):
        return {k: _unwrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrapped(v) for v in value]
    if isinstance(value, set):
        return {_unwrapped(v) for v in value}
    return value


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_serializes_as_boto3_does(value: Any) -> None:
    assert _comparable(serialize(value)) == _comparable(TypeSerializer().serialize(value))


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_deserializes_as_boto3_does(value: Any) -> None:
    stored = TypeSerializer().serialize(value)
    assert deserialize(stored) == _unwrapped(TypeDeserializer().deserialize(stored))


@pytest.mark.parametrize(
    "value",
    [1.5, Decimal("1.00000000000000000000000000000000000001"), Decimal("1E+200"), object(), {1.5}],
    ids=repr,
)
def test_refuses_what_boto3_refuses(value: Any) -> None:
    with pytest.raises((TypeError, ArithmeticError)) as ours:
        serialize(value)
    with pytest.raises((TypeError, ArithmeticError)) as boto3s:
        TypeSerializer().serialize(value)
    assert type(ours.value) is type(boto3s.value)


@pytest.mark.parametrize("value", [{}, {"X": "1"}], ids=repr)
def test_refuses_an_attribute_value_boto3_refuses(value: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        deserialize(value)
    with pytest.raises(TypeError):
        TypeDeserializer().deserialize(value)
