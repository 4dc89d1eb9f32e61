"""Swagger UI at /v1/docs in headless chromium: it renders the API's operations from
/v1/openapi.json, every byte comes from Keyfob (no CDN), and the page's Content-Security-
Policy blocks nothing it needs (the ``page`` fixture fails the test on any CSP report).
The screenshot goes to test-artifacts/browser/."""

from __future__ import annotations

from typing import Any

from devstack.gateway import Gateway
from tests.conftest import Tenant


def test_swagger_ui_shows_the_api_from_keyfobs_own_assets(
    gateway: Gateway, tenant: Tenant, page: Any, screenshot: Any
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    # When an engineer opens the docs
    response = page.goto(f"{gateway.url}/v1/docs")
    assert response.status == 200
    # Then Swagger UI renders the document: its title and the operations
    page.get_by_role("heading", name="Keyfob").first.wait_for()
    page.locator(".opblock").first.wait_for()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(path.startswith("/v1/connected_accounts") for path in paths)
    assert any(path.startswith("/v1/api_keys") for path in paths)
    # And the engineer enters an API key (the document's security scheme)
    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".modal-ux input").first.fill(tenant.api_key)
    page.locator(".modal-ux .auth-btn-wrapper .authorize").click()
    screenshot("authorize")
    page.locator(".modal-ux .btn-done").click()
    # And tries an operation from the page: the call goes to Keyfob, with the key
    operation = page.locator(".opblock-get", has=page.locator('[data-path="/v1/api_keys"]'))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    screenshot("docs")
    # And nothing was fetched from anywhere but Keyfob
    assert requested
    assert all(url.startswith(gateway.url) or url.startswith("data:") for url in requested), [
        url for url in requested if not url.startswith(gateway.url)
    ]
