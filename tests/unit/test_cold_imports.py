"""A function's cold import loads what it routes, not what other functions need (see
bench/cold_start.py). Each handler module imported in a fresh interpreter, as on a
Lambda cold start, with the layer on the path.

No function imports boto3 (the layer uses botocore's clients and its own AttributeValue
(de)serializer), nor botocore's session, client machinery and exceptions: the first AWS
client imports them, or, with SnapStart, the hook run before the snapshot. No function reads
the catalog's data at import; only those that use the catalog load its schema, only
those that start connections load their models, only those that read or write accounts
load the accounts' store and records, only the API's functions load Powertools' resolver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p.parent for p in (ROOT / "functions").glob("*/app.py"))
PROBE = """
import json, sys
sys.path[:0] = {paths!r}
import app
{after}
loader = sys.modules.get("keyfob.catalog.loader")
read = bool(loader and loader._raw.cache_info().currsize)
print(json.dumps([sorted(sys.modules), read]))
"""
# Loaded by no function's import: the first AWS call loads botocore's session, and its
# exceptions with it (``except aws.ClientError`` looks them up only then).
NEVER_AT_INIT = ("boto3", "botocore.session", "botocore.client", "botocore.exceptions")
# module -> the only functions whose import may load it
ONLY_IN = {
    # The catalog's models (App, SchemeSpec...): functions that read the catalog.
    # The OAuth callback loads them only to probe an app for the account's identity, the
    # account management function only to reinitiate one.
    "keyfob.catalog.schema": {
        "commands",
        "connect_page",
        "fetch_params",
        "initiate_connection",
        "integrations",
        "proxy",
    },
    # Webhook endpoints and deliveries as stored: the webhook functions.
    "keyfob.models.records.webhooks": {"webhook_delivery", "webhooks"},
    # Starting a connection's API models: the functions that start one (the connect
    # page's form loads them when it is submitted).
    "keyfob.models.connections": {"commands", "initiate_connection", "manage_accounts"},
    # The accounts' store and its records: functions that read or write accounts.
    "keyfob.store.accounts": {
        "commands",
        "connect_page",
        "credentials",
        "initiate_connection",
        "list_accounts",
        "manage_accounts",
        "mcp",
        "oauth_callback",
        "proxy",
        "sweep",
        "sweep_worker",
    },
    "keyfob.models.records.accounts": {
        "commands",
        "connect_links",
        "connect_page",
        "credentials",
        "initiate_connection",
        "list_accounts",
        "manage_accounts",
        "mcp",
        "oauth_callback",
        "proxy",
        "sweep",
        "sweep_worker",
        "webhook_delivery",
    },
    # The resolver (Powertools' with validation): the API's functions only.
    "keyfob.web.resolver": {
        "api_keys",
        "connect_links",
        "connect_page",
        "console",
        "credentials",
        "docs",
        "fetch_params",
        "initiate_connection",
        "integrations",
        "list_accounts",
        "manage_accounts",
        "oauth_callback",
        "proxy",
        "webhooks",
    },
}


def loaded(function: Path, env: dict[str, str], after: str = "") -> tuple[set[str], bool]:
    """The modules a fresh interpreter holds once it imported the function's handler, and
    whether it read the catalog's data."""
    paths = [str(ROOT / "layers" / "common"), str(function)]
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(paths=paths, after=after)],
        capture_output=True,
        text=True,
        env=os.environ | env,
        check=True,
    )
    modules, catalog_read = json.loads(out.stdout.strip().splitlines()[-1])
    return set(modules), catalog_read


def test_every_function_is_named_where_it_matters() -> None:
    names = {f.name for f in FUNCTIONS}
    for module, allowed in ONLY_IN.items():
        assert allowed <= names, (module, sorted(allowed - names))


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda p: p.name)
def test_a_function_cold_import_loads_only_what_it_routes(
    function: Path, stack_env: dict[str, str]
) -> None:
    modules, catalog_read = loaded(function, stack_env)
    assert modules.isdisjoint(NEVER_AT_INIT), sorted(modules.intersection(NEVER_AT_INIT))
    assert not catalog_read, "catalog.json read at import"
    unneeded = sorted(
        module
        for module, allowed in ONLY_IN.items()
        if module in modules and function.name not in allowed
    )
    assert unneeded == [], f"{function.name} loads {unneeded} at init"


def test_with_snapstart_botocore_is_imported_before_the_snapshot(
    stack_env: dict[str, str],
) -> None:
    """A restored function does not import botocore on its first request."""
    run_hooks = (
        "from snapshot_restore_py import get_before_snapshot\n"
        "for hook, args, kwargs in get_before_snapshot(): hook(*args, **kwargs)"
    )
    modules, _ = loaded(ROOT / "functions" / "proxy", stack_env, after=run_hooks)
    assert {"botocore.session", "botocore.config"} <= modules
