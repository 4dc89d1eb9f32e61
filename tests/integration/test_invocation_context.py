"""Every handler's log lines and events name their own invocation: the function, and the
correlation id of the request that caused them, even while other invocations overlap in
the same process (as they do in the local stack)."""

from __future__ import annotations

import io
import json
import secrets
import threading
from collections import defaultdict

from devstack.oauth_provider import OAuthServer
from tests.conftest import Api
from tests.integration.bus import Published
from tests.integration.flows import keyed_integration, query_of
from tests.integration.test_connect_links import APP_URL, Browser
from tests.integration.test_proxy import keyed_account


def _lines(logs: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]


def test_overlapping_invocations_log_their_own_function_and_correlation_id(
    api: Api, provider: OAuthServer, keyfob_logs: io.StringIO
) -> None:
    # Given an upstream slow enough that proxied requests overlap the others
    account_id, _ = keyed_account(api, provider)
    provider.api_delay = 0.3
    seen: dict[str, str] = {}

    def proxied() -> None:
        response = api.post(
            f"/v1/connected_accounts/{account_id}/proxy", json={"method": "GET", "path": "/me"}
        )
        seen[response.headers["apigw-requestid"]] = "ProxyFunction"

    def read() -> None:
        response = api.get(f"/v1/connected_accounts/{account_id}/credentials")
        seen[response.headers["apigw-requestid"]] = "CredentialsFunction"

    # When both functions serve requests at the same time
    threads = [threading.Thread(target=f) for f in (proxied, read) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every line of theirs names the function and the request it came from
    functions: dict[str, set[str]] = defaultdict(set)
    for line in _lines(keyfob_logs):
        if line.get("correlation_id") in seen:
            functions[str(line["correlation_id"])].add(str(line["function_name"]))
    assert set(functions) == set(seen)
    for correlation_id, names in functions.items():
        assert names == {f"keyfob-local-{seen[correlation_id]}"}


def test_the_connect_page_and_connect_links_log_and_publish_with_the_request_id(
    api: Api, provider: OAuthServer, published: Published, keyfob_logs: io.StringIO
) -> None:
    request = {
        "integration_id": keyed_integration(api, provider),
        "entity_id": f"user-{secrets.token_hex(4)}",
        "redirect_url": APP_URL,
    }
    created = api.post("/v1/connect_links", json=request)
    assert created.status_code == 201, created.text
    link = created.json()
    key = provider.register_api_key("0123456789abcdef0123-us21")

    submitted = Browser().submit(link["url"], {"api_key": key, "dc": "us21"})

    assert submitted.status_code == 303
    account_id = query_of(submitted.headers["Location"])["connected_account_id"]
    assert [
        (e["detail-type"], e["detail"]["correlation_id"]) for e in published.about(account_id)
    ] == [("Keyfob.ConnectionActivated", submitted.headers["apigw-requestid"])]
    logged = {str(line["message"]): line.get("correlation_id") for line in _lines(keyfob_logs)}
    assert logged["connect link created"] == created.headers["apigw-requestid"]
    assert logged["connect link used"] == submitted.headers["apigw-requestid"]
