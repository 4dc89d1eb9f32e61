"""The API's documentation is public and is the checked-in document: GET
/v1/openapi.json answers exactly ``openapi.json`` (the file `make lint` checks against the
code), and Swagger UI's page and assets come from Keyfob under a strict policy. The page
itself is driven in chromium by tests/browser/test_docs_browser.py."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Api

ROOT = Path(__file__).resolve().parents[2]


def test_the_openapi_document_is_public_and_the_checked_in_one(anonymous: Api) -> None:
    response = anonymous.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == json.loads((ROOT / "openapi.json").read_text())


def test_swagger_ui_and_its_assets_come_from_keyfob_under_a_strict_policy(
    anonymous: Api,
) -> None:
    page = anonymous.get("/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy
    assert 'src="docs/swagger-ui-bundle.js"' in page.text
    assert "<script>" not in page.text  # no inline script: the policy would refuse it
    assert "//" not in page.text.split("<body>")[1]  # no other origin
    bundle = anonymous.get("/v1/docs/swagger-ui-bundle.js", headers={"Accept-Encoding": "gzip"})
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("application/javascript")
    assert bundle.headers["content-encoding"] == "gzip"
    assert b"SwaggerUIBundle" in bundle.content  # requests has ungzipped it
    assert anonymous.get("/v1/docs/swagger-ui.css").headers["content-type"].startswith("text/css")


def test_only_swagger_uis_own_files_are_served(anonymous: Api) -> None:
    for name in ("index.html", "..%2F..%2Fopenapi.json", "swagger-initializer.js", "app.py"):
        response = anonymous.get(f"/v1/docs/{name}")
        assert response.status_code == 404, name
        assert b"SwaggerUI" not in response.content
