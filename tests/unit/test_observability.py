"""Cold start hygiene: tracing is opt-in, and no function loads a heavy module it may not
need (the X-Ray SDK, requests, cryptography) when Lambda initialises it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from keyfob.core.observability import traced

ROOT = Path(__file__).resolve().parents[2]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"echo": event}


def test_tracing_off_leaves_the_handler_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYFOB_TRACING", raising=False)
    assert traced(handler) is handler


def test_tracing_on_wraps_the_handler_with_powertools_tracer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYFOB_TRACING", "true")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
    wrapped = traced(handler)
    assert wrapped is not handler
    assert wrapped({"a": 1}, None) == {"echo": {"a": 1}}


HEAVY = ("aws_xray_sdk", "requests", "cryptography")


@pytest.mark.parametrize(
    "function", sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
)
def test_no_function_loads_heavy_modules_at_init(function: str) -> None:
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import app; "
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k != "KEYFOB_TRACING"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            str(ROOT / "layers/common"),
            str(ROOT / "functions" / function),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert out.stdout.strip() == "[]"
