"""``keyfob-admin catalog check``: a catalog file validated as a whole, beyond what each
app's schema checks on its own. Every URL HTTPS and well formed, every {placeholder}
filled from a declared field, probes and revocation consistent, no duplicate slugs, a
``docs_url`` per scheme; and a report of what the docs left open (each null value's
note), the deprecated schemes, and the counts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from keyfob.catalog.loader import example
from keyfob.catalog.schema import PLACEHOLDER, App, SchemeSpec


@dataclass
class Result:
    problems: list[str] = field(default_factory=list)
    apps: list[App] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def https_problem(url: str, *, page: bool = False) -> str | None:
    """Why a catalog URL (placeholders filled with a plain label) is not a well-formed
    HTTPS URL, or None. A ``page`` (documentation) may point at a #section."""
    try:
        parts = urlsplit(example(url))
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "is not a well-formed URL"
    if parts.scheme != "https":
        return "must use https"
    if not parts.hostname or "." not in parts.hostname:
        return "needs a host name"
    if parts.username or parts.password or (parts.fragment and not page):
        return "must carry no credentials or fragment"
    if any(c.isspace() for c in url):
        return "must not hold spaces"
    return None


def _urls(app: App, spec: SchemeSpec) -> Iterator[tuple[str, str, set[str]]]:
    """(where, url, the placeholders it may name) for every URL of one scheme."""
    fields = {f.name for f in spec.connection_fields}
    if app.api_base_url:  # empty for a custom server the integration names
        yield "api_base_url", app.api_base_url, app.template_fields(spec)
    for name in ("authorization_url", "token_url", "refresh_url", "revocation_url"):
        if url := getattr(spec, name):
            yield name, url, fields
    if spec.revocation is not None:
        yield "revocation.url", spec.revocation.url, fields | {"client_id", "token"}
    if spec.identity is not None and not spec.identity.path.startswith("/"):
        yield "identity.path", spec.identity.path, fields


def _scheme_problems(app: App, spec: SchemeSpec) -> Iterator[str]:
    where = f"{app.slug} {spec.type.value}"
    for name, url, allowed in _urls(app, spec):
        if problem := https_problem(url):
            yield f"{where}: {name} {problem}"
        for placeholder in PLACEHOLDER.findall(url):
            if placeholder not in allowed:
                yield f"{where}: {name} names {{{placeholder}}}, which no field declares"
    if not spec.docs_url:
        yield f"{where}: no docs_url"
    elif problem := https_problem(spec.docs_url, page=True):
        yield f"{where}: docs_url {problem}"
    if spec.identity is not None and spec.identity.path.startswith("/") and not app.api_base_url:
        yield f"{where}: a relative identity probe needs an api_base_url"
    if spec.revocation is not None and spec.revocation_url:
        yield f"{where}: revocation_url and revocation exclude each other"
    if spec.token_fields and not any(
        f"{{{name}}}" in app.api_base_url for name in spec.token_fields
    ):
        yield f"{where}: token_fields that api_base_url does not use"
    for f in spec.connection_fields:
        if f.choices is not None and len(set(f.choices)) != len(f.choices):
            yield f"{where}: field {f.name} repeats a choice"


def _app_problems(app: App) -> Iterator[str]:
    for name, url in (("docs_url", app.docs_url), ("logo_url", app.logo_url)):
        if url and (problem := https_problem(url, page=name == "docs_url")):
            yield f"{app.slug}: {name} {problem}"
    if app.mcp_server_url and (problem := https_problem(app.mcp_server_url)):
        yield f"{app.slug}: mcp_server_url {problem}"
    if not app.logo_url:
        yield f"{app.slug}: no logo_url"
    for spec in app.auth_schemes:
        yield from _scheme_problems(app, spec)


def check(raw: dict[str, Any]) -> Result:
    """Every problem of a catalog document, each a line naming the app and scheme."""
    result = Result()
    if raw.get("version") != 1:
        result.problems.append("version must be 1")
    entries = raw.get("apps")
    if not isinstance(entries, list):
        result.problems.append("apps must be a list")
        return result
    slugs = Counter(e.get("slug") for e in entries if isinstance(e, dict))
    result.problems += [f"{slug}: duplicate slug" for slug, n in slugs.items() if n > 1]
    ordered = [e.get("slug") for e in entries if isinstance(e, dict)]
    if ordered != sorted(ordered, key=str):
        result.problems.append("apps are not sorted by slug")
    for index, entry in enumerate(entries):
        try:
            app = App.model_validate(entry)
        except ValidationError as exc:
            slug = entry.get("slug", f"#{index}") if isinstance(entry, dict) else f"#{index}"
            for error in exc.errors():
                location = ".".join(str(p) for p in error["loc"])
                result.problems.append(f"{slug}: {location}: {error['msg']}")
            continue
        result.apps.append(app)
        result.problems += list(_app_problems(app))
    return result


def check_file(path: Path) -> Result:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return Result(problems=[f"{path}: {exc}"])
    if not isinstance(raw, dict):
        return Result(problems=[f"{path}: not a JSON object"])
    return check(raw)


def report(apps: list[App]) -> str:
    """Markdown: the counts, the deprecated schemes, and every note on a value left null."""
    kinds = Counter(spec.type.value for app in apps for spec in app.auth_schemes)
    examples: dict[str, list[str]] = {}
    for app in apps:
        for spec in app.auth_schemes:
            examples.setdefault(spec.type.value, []).append(app.slug)
    lines = [
        "# Catalog report",
        "",
        "Written by `keyfob-admin catalog check --report`.",
        "",
        f"{len(apps)} apps, {sum(kinds.values())} auth schemes.",
        "",
        "| Scheme | Apps | For example |",
        "|---|---|---|",
        *(
            f"| {kind} | {count} | {', '.join(examples[kind][:3])} |"
            for kind, count in sorted(kinds.items())
        ),
        "",
        "## Deprecated schemes",
        "",
    ]
    deprecated = [
        f"- {app.slug} {spec.type.value}: from {spec.deprecated.date}: {spec.deprecated.message}"
        for app in apps
        for spec in app.auth_schemes
        if spec.deprecated is not None
    ]
    lines += deprecated or ["None."]
    lines += ["", "## Values left null, and why", ""]
    notes = [
        f"- {app.slug} {spec.type.value}: {note}"
        for app in apps
        for spec in app.auth_schemes
        for note in spec.notes
    ]
    lines += notes or ["None."]
    return "\n".join(lines) + "\n"
