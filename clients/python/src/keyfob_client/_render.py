"""How the ``keyfob`` command line shows what the API answers: tables and ``name: value``
lines, or exactly the API's JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from keyfob_client import ParamField
from keyfob_client.models import Resource


@dataclass(frozen=True)
class Output:
    json: Any
    """Printed with --output json; None prints nothing (the API answered no content)."""
    text: str | bytes
    note: str = ""
    """Said on standard error in text mode: a hint, not part of the result."""


# --- rendering -------------------------------------------------------------------


def text(value: Any) -> str:
    if value is None or value == "" or value == () or value == {}:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Resource):
        return " ".join(
            f"{f.name}={text(getattr(value, f.name))}"
            for f in fields(value)
            if f.name != "raw" and getattr(value, f.name) not in (None, (), "")
        )
    if isinstance(value, tuple | list):
        separator = "; " if any(isinstance(item, Resource) for item in value) else ", "
        return separator.join(text(item) for item in value)
    return str(value)


def record(resource: Resource) -> str:
    """One resource as ``name: value`` lines; a mapping's entries indented below its name."""
    lines = []
    for f in fields(resource):
        if f.name == "raw":
            continue
        value = getattr(resource, f.name)
        if isinstance(value, Mapping) and value:
            lines.append(f"{f.name}:")
            lines += [f"  {key}: {text(item)}" for key, item in value.items()]
        else:
            lines.append(f"{f.name}: {text(value)}")
    return "\n".join(lines)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [list(headers)] + [[text(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def shown(resource: Resource) -> Output:
    return Output(resource.raw, record(resource))


def listing(
    items: Sequence[Resource],
    next_cursor: str | None,
    headers: Sequence[str],
    row: Callable[[Any], Sequence[Any]],
) -> Output:
    note = f"more: --cursor {next_cursor} (or --all)" if next_cursor else ""
    return Output(
        {"items": [item.raw for item in items], "next_cursor": next_cursor},
        table(headers, (row(item) for item in items)),
        note,
    )


def fields_table(title: str, params: Sequence[ParamField]) -> str:
    rows = ((p.name, p.required, p.secret, p.type, p.description) for p in params)
    body = table(("NAME", "REQUIRED", "SECRET", "TYPE", "DESCRIPTION"), rows) if params else "-"
    return f"{title}\n{body}"


# --- argument values -------------------------------------------------------------


def emit(output: Output, as_json: bool) -> None:
    if as_json:
        if output.json is not None:
            sys.stdout.write(json.dumps(output.json, indent=2) + "\n")
        return
    if isinstance(output.text, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(output.text)
    else:
        sys.stdout.write(output.text + "\n")
    if output.note:
        sys.stderr.write(output.note + "\n")
