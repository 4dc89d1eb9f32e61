"""A function's cold import loads what it routes, not what other functions need (see
bench/cold_start.py). Each handler module imported in a fresh interpreter, as on a
Lambda cold start, with the layer on the path.

No function imports boto3 (the layer uses botocore's clients and its own AttributeValue
(de)serializer), nor botocore's session and client machinery: the first AWS client
imports them, or, with SnapStart, the hook run before the snapshot.
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
print(json.dumps(sorted(sys.modules)))
"""
# Loaded by no function's import: the first AWS call loads botocore's session.
NEVER_AT_INIT = ("boto3", "botocore.session", "botocore.client")


def loaded(function: Path, env: dict[str, str], after: str = "") -> set[str]:
    """The modules a fresh interpreter holds once it imported the function's handler."""
    paths = [str(ROOT / "layers" / "common"), str(function)]
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(paths=paths, after=after)],
        capture_output=True,
        text=True,
        env=os.environ | env,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda p: p.name)
def test_a_function_cold_import_loads_no_aws_client_machinery(
    function: Path, stack_env: dict[str, str]
) -> None:
    modules = loaded(function, stack_env)
    assert modules.isdisjoint(NEVER_AT_INIT), sorted(modules.intersection(NEVER_AT_INIT))


def test_with_snapstart_botocore_is_imported_before_the_snapshot(
    stack_env: dict[str, str],
) -> None:
    """A restored function does not import botocore on its first request."""
    run_hooks = (
        "from snapshot_restore_py import get_before_snapshot\n"
        "for hook, args, kwargs in get_before_snapshot(): hook(*args, **kwargs)"
    )
    modules = loaded(ROOT / "functions" / "proxy", stack_env, after=run_hooks)
    assert {"botocore.session", "botocore.config"} <= modules
