"""Reading nested JSON from outside: how deep a value nests (Python's json parses deeper
than it can serialise back, or than pydantic validates: values from outside are held to
a depth Keyfob can always handle), and the value at a dotted path."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64


def shallow(value: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Whether a parsed JSON value nests no deeper than ``max_depth``."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return True


def dotted(payload: Any, path: str | None) -> Any:
    """The value at ``path`` (``result.id``) in a JSON answer; None where it has none."""
    if path is None:
        return None
    for part in path.split("."):
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload
