"""DynamoDB AttributeValues to and from Python values, as boto3's TypeSerializer and
TypeDeserializer do it, without importing boto3 (a third of a cold start, for two small
classes; Keyfob's clients are botocore's own).

The same rules as boto3 for what Keyfob stores: None, bool, int or Decimal (numbers go
through DynamoDB's decimal context, so a float or an inexact number is refused), str,
bytes, list or tuple, mapping, and sets of str, numbers or bytes. One difference: a
binary comes back as ``bytes`` rather than boto3's ``Binary`` wrapper.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# DynamoDB's number range and precision (boto3.dynamodb.types.DYNAMODB_CONTEXT).
NUMBERS = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)
_BINARY = (bytes, bytearray)


def _number(value: int | Decimal) -> str:
    return str(NUMBERS.create_decimal(value))


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def serialize(value: Any) -> AttributeValueTypeDef:
    """One Python value as an AttributeValue; TypeError for what DynamoDB cannot hold."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, _BINARY):
        return {"B": bytes(value)}
    if isinstance(value, Set):
        return _serialize_set(value)
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f"Unsupported type {type(value)!r} for value {value!r}")


def _serialize_set(value: Set[Any]) -> AttributeValueTypeDef:
    if all(_is_number(v) for v in value):
        return {"NS": [_number(v) for v in value]}
    if all(isinstance(v, str) for v in value):
        return {"SS": list(value)}
    if all(isinstance(v, _BINARY) for v in value):
        return {"BS": [bytes(v) for v in value]}
    raise TypeError(f"Unsupported type {type(value)!r} for value {value!r}")


def deserialize(value: Mapping[str, Any]) -> Any:
    """One AttributeValue as a Python value (numbers as Decimal); TypeError otherwise."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    tag, data = next(iter(value.items()))
    if tag == "NULL":
        return None
    if tag in ("BOOL", "S"):
        return data
    if tag == "N":
        return NUMBERS.create_decimal(data)
    if tag == "B":
        return bytes(data)
    if tag == "NS":
        return {NUMBERS.create_decimal(v) for v in data}
    if tag == "SS":
        return set(data)
    if tag == "BS":
        return {bytes(v) for v in data}
    if tag == "L":
        return [deserialize(v) for v in data]
    if tag == "M":
        return {k: deserialize(v) for k, v in data.items()}
    raise TypeError(f"Dynamodb type {tag} is not supported")
