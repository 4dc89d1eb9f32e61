"""Loading the catalog: ``catalog.json`` beside this module, validated one app at a time
on first use, so that a cold start does not pay for parsing the whole catalog."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from keyfob.catalog.schema import PLACEHOLDER, App
from keyfob.core.errors import NotFound

CATALOG_PATH = Path(__file__).with_name("catalog.json")


@cache
def _raw() -> dict[str, dict[str, Any]]:
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    return {entry["slug"]: entry for entry in data["apps"]}


@cache
def get_app(slug: str) -> App:
    raw = _raw().get(slug)
    if raw is None:
        raise NotFound("app_not_found", f"Unknown app {slug!r}", {"app": slug})
    return App.model_validate(raw)


def list_apps() -> list[App]:
    return [get_app(slug) for slug in sorted(_raw())]


def placeholders(template: str) -> list[str]:
    return PLACEHOLDER.findall(template)


def example(template: str) -> str:
    """The template with every placeholder filled with a label, to check its shape; a
    leading placeholder stands for a whole origin (an instance_url, a server's URL)."""
    if template.startswith("{"):
        template = PLACEHOLDER.sub("https://x.x", template, count=1)
    return PLACEHOLDER.sub("x.x", template)


def fill(template: str, values: dict[str, str]) -> str:
    """Substitute {placeholders}; values were validated against their field patterns."""
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
