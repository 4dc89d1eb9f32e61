"""The TypeScript client (clients/typescript) against the real local stack, with Node's
test runner: this test starts what the node tests need (the gateway over moto, the
loopback OAuth provider, an OAuth integration, a key the provider's API accepts, the
webhook delivery function's queue poller, webhook deliveries signed by the Python
``standardwebhooks`` library), builds the client with tsc and runs ``node --test``.
`make test` installs the client's devDependencies (npm ci)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from base64 import b64encode
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from devstack.rules import Rules
from keyfob.services.tenants import create_tenant
from tests.conftest import ROOT, Api, Tenant
from tests.integration.flows import create_integration

PACKAGE = ROOT / "clients" / "typescript"


def _message(
    name: str, hook: Webhook, secret: str, signers: list[Webhook], age_seconds: int, **change: str
) -> dict[str, Any]:
    """A delivery as Keyfob sends one, signed by ``signers`` at now - ``age_seconds``;
    ``change`` alters it after signing. The Python library's verdict goes with it."""
    now = datetime.now(UTC)
    sent = now - timedelta(seconds=age_seconds)
    msg_id = f"msg_{secrets.token_hex(8)}"
    body = json.dumps({"type": "Keyfob.ConnectionActivated", "data": {"id": "ca_1", "é": "ü"}})
    signature = " ".join(s.sign(msg_id, sent, body) for s in signers)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": signature,
    }
    body = change.pop("body", body)
    headers.update(change)
    try:
        hook.verify(body, headers)
        verdict = "ok"
    except WebhookVerificationError as refused:
        verdict = str(refused)
    return {
        "name": name,
        "body": body,
        "headers": headers,
        "now": int(now.timestamp()),
        "python_verdict": verdict,
    }


def _vectors(path: Path) -> None:
    secret = "whsec_" + b64encode(secrets.token_bytes(24)).decode()
    rotated = "whsec_" + b64encode(secrets.token_bytes(32)).decode()
    hook, new = Webhook(secret), Webhook(rotated)
    messages = [
        _message("fresh", hook, secret, [hook], 0),
        _message("four minutes old", hook, secret, [hook], 240),
        _message("signed with two secrets", hook, secret, [new, hook], 5),
        _message("stale", hook, secret, [hook], 600),
        _message("from the future", hook, secret, [hook], -600),
        _message("tampered body", hook, secret, [hook], 0, body='{"type": "forged"}'),
        _message("another id", hook, secret, [hook], 0, **{"webhook-id": "msg_other"}),
        _message("only the other secret", hook, secret, [new], 0),
        _message("an unknown version", hook, secret, [hook], 0, **{"webhook-signature": "v2,AAAA"}),
    ]
    expected_ok = {"fresh", "four minutes old", "signed with two secrets"}
    assert {m["name"] for m in messages if m["python_verdict"] == "ok"} == expected_ok
    when = datetime.now(UTC)
    signatures = [
        {"id": f"msg_{i}", "timestamp": int(when.timestamp()), "body": body}
        for i, body in enumerate(['{"a":1}', "", '{"text": "naïve \u2013 \u2713"}'])
    ]
    for made in signatures:
        made["signature"] = hook.sign(made["id"], when.replace(microsecond=0), made["body"])
    path.write_text(
        json.dumps(
            {
                "secret": secret,
                "rotated_secret": rotated,
                "messages": messages,
                "signatures": signatures,
            }
        )
    )


def _npm(*args: str) -> None:
    subprocess.run(["npm", *args], cwd=PACKAGE, check=True, timeout=300)


# npm ci on a fresh clone, tsc, then node's tests: each step has its own timeout above;
# the whole is allowed their sum, not pytest's default for one test.
@pytest.mark.timeout(900)
def test_the_typescript_client_passes_its_node_tests_against_the_stack(
    gateway: Gateway,
    tenant: Tenant,
    api: Api,
    provider: OAuthServer,
    deliveries: Rules,
    tmp_path: Path,
) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("no node/npm on PATH: the TypeScript client needs Node 20+")
    if not (PACKAGE / "node_modules" / ".package-lock.json").exists():
        _npm("ci", "--no-audit", "--no-fund")
    _npm("run", "--silent", "build")
    # What an application installs: ESM with its declarations, and nothing else at run time.
    package = json.loads((PACKAGE / "package.json").read_text())
    assert "dependencies" not in package and "peerDependencies" not in package
    assert package["type"] == "module"
    assert package["exports"]["."] == {"types": "./dist/index.d.ts", "import": "./dist/index.js"}
    built = {p.name for p in (PACKAGE / "dist").iterdir()}
    assert {"index.js", "index.d.ts", "webhooks.js", "webhooks.d.ts"} <= built
    vectors = tmp_path / "webhooks.json"
    _vectors(vectors)
    oauth_integration, _ = create_integration(api, provider)
    _, webhook_key = create_tenant("typescript-webhooks")  # its endpoints get its events only
    env = {
        **os.environ,
        "KEYFOB_URL": gateway.url,
        "KEYFOB_API_KEY": tenant.api_key,
        "KEYFOB_TEST_PROVIDER_API": provider.api_url,
        "KEYFOB_TEST_UPSTREAM_KEY": provider.register_api_key(),
        "KEYFOB_TEST_OAUTH_INTEGRATION": oauth_integration,
        "KEYFOB_TEST_WEBHOOK_VECTORS": str(vectors),
        "KEYFOB_TEST_WEBHOOK_API_KEY": webhook_key,
    }
    run = subprocess.run(
        ["node", "--test", "--test-reporter=spec", "test/"],
        cwd=PACKAGE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(run.stdout[-20000:], run.stderr[-5000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert " fail 0\n" in run.stdout, run.stdout[-2000:]
