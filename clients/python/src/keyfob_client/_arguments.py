"""How the ``keyfob`` command line reads its arguments: ids, ``name=value`` pairs, JSON,
bodies from files, and secrets from standard input (or a prompt without echo)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def identifier(value: str) -> str:
    """An id or slug argument: an empty one would name another route."""
    if not value:
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def read_secret(name: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(f"{name}: ")
    return sys.stdin.readline().rstrip("\r\n")


def pairs(values: Sequence[str] | None, what: str) -> dict[str, str]:
    """``NAME=VALUE`` arguments as a dict; a VALUE of ``-`` is read from standard input."""
    result: dict[str, str] = {}
    for item in values or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"{what} must be NAME=VALUE, not {item!r}")
        result[name] = read_secret(name) if value == "-" else value
    return result


def multi_pairs(values: Sequence[str] | None, what: str) -> dict[str, str | list[str]]:
    """Like pairs, but a repeated NAME gathers a list (query parameters)."""
    result: dict[str, str | list[str]] = {}
    for item in values or ():
        name, value = next(iter(pairs([item], what).items()))
        present = result.get(name)
        if present is None:
            result[name] = value
        elif isinstance(present, list):
            present.append(value)
        else:
            result[name] = [present, value]
    return result


def json_object(text: str | None, what: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{what} must be a JSON object")
    return value


def body(data: str | None) -> Any:
    """--data: JSON, ``@file`` or ``-`` (standard input); text that is not JSON is sent as a
    string."""
    if data is None:
        return None
    if data == "-":
        data = sys.stdin.read()
    elif data.startswith("@"):
        try:
            data = Path(data[1:]).read_text()
        except OSError as exc:
            raise argparse.ArgumentTypeError(f"--data {data}: {exc.strerror}") from exc
    try:
        return json.loads(data)
    except ValueError:
        return data


# --- commands ----------------------------------------------------------------------
