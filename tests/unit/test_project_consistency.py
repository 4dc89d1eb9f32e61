"""The pieces that describe the same thing agree: template, OpenAPI document, dependencies."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from devstack.template import load_template
from tools import openapi

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_document_is_generated_from_the_code() -> None:
    assert (ROOT / "openapi.json").read_text() == openapi.render(), (
        "openapi.json is stale: run python -m tools.openapi"
    )


def _template_routes() -> set[tuple[str, str]]:
    template = load_template(ROOT / "template.yaml")
    routes = set()
    for resource in template["Resources"].values():
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes.add((event["Properties"]["Method"].lower(), event["Properties"]["Path"]))
    return routes


# Routes of another protocol, which its own specification describes: the MCP endpoint
# speaks JSON-RPC (Streamable HTTP), not the REST API's document.
PROTOCOL_ROUTES = {("post", "/v1/mcp")}
# The documentation itself: the document and Swagger UI over it, public.
DOCUMENTATION_ROUTES = {
    ("get", "/v1/openapi.json"),
    ("get", "/v1/docs"),
    ("get", "/v1/docs/{asset}"),
}
# The web console's page and files: no API, public (it signs in with an API key).
CONSOLE_ROUTES = {("get", "/console"), ("get", "/console/static/{name}")}


def test_every_route_in_the_template_is_documented_and_nothing_else() -> None:
    document = openapi.build()
    documented = {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }
    assert documented == (
        _template_routes() - PROTOCOL_ROUTES - DOCUMENTATION_ROUTES - CONSOLE_ROUTES
    )


# An end user's browser reaches these, with no API key: the callback's key is the OAuth
# state, the connect page's the link's token (both single use). Authorization servers
# fetch Keyfob's client metadata document, which holds nothing secret.
PUBLIC_ROUTES = {
    ("get", "/v1/oauth/callback"),
    ("get", "/v1/oauth/client-metadata.json"),
    ("get", "/v1/connect/{token}"),
    ("post", "/v1/connect/{token}"),
}


def test_only_the_oauth_callback_and_the_connect_page_are_public() -> None:
    document = openapi.build()
    public = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not operation.get("security")
    }
    assert public == PUBLIC_ROUTES


def test_the_template_leaves_only_the_public_routes_and_the_docs_without_the_authorizer() -> None:
    template = load_template(ROOT / "template.yaml")
    unauthorized = {
        (event["Properties"]["Method"].lower(), event["Properties"]["Path"])
        for resource in template["Resources"].values()
        for event in resource.get("Properties", {}).get("Events", {}).values()
        if event["Type"] == "HttpApi"
        and event["Properties"].get("Auth", {}).get("Authorizer") == "NONE"
    }
    assert unauthorized == PUBLIC_ROUTES | DOCUMENTATION_ROUTES | CONSOLE_ROUTES


def test_template_passes_cfn_lint() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_layer_requirements_match_the_package_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = (ROOT / "layers/common/requirements.txt").read_text().splitlines()
    layer = [line for line in lines if line and not line.startswith("#")]
    assert layer == project["dependencies"]


def test_every_makefile_built_layer_has_its_build_target() -> None:
    template = load_template(ROOT / "template.yaml")
    for logical_id, resource in template["Resources"].items():
        if resource.get("Metadata", {}).get("BuildMethod") != "makefile":
            continue
        makefile = ROOT / resource["Properties"]["ContentUri"] / "Makefile"
        assert f"build-{logical_id}:" in makefile.read_text()


def test_account_indexes_project_the_list_view_and_no_secret() -> None:
    from keyfob.models.account_view import AccountView

    table = load_template(ROOT / "template.yaml")["Resources"]["KeyfobTable"]["Properties"]
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    for name in ("gsi1", "gsi2"):
        projected = set(indexes[name]["Projection"]["NonKeyAttributes"])
        # pending_until: a list shows a lapsed attempt as EXPIRED, and filters by it.
        assert projected == set(AccountView.model_fields) | {"tenant_id", "pending_until"}
    assert set(indexes["due"]["Projection"]["NonKeyAttributes"]) == {"status", "refreshable"}
    for index in indexes.values():
        assert "secret" not in index["Projection"]["NonKeyAttributes"]


def test_the_bus_lets_in_and_the_rule_delivers_exactly_the_commands_keyfob_handles() -> None:
    from keyfob.services.commands import DETAIL_TYPES

    resources = load_template(ROOT / "template.yaml")["Resources"]
    allowed = [
        resources[name]["Properties"]["Statement"]["Condition"]["StringEquals"][
            "events:detail-type"
        ]
        for name in ("TrustedAccountsPutCommands", "OrganizationPutCommands")
    ]
    rule = resources["CommandsFunction"]["Properties"]["Events"]["Commands"]["Properties"]
    assert allowed == [list(DETAIL_TYPES)] * 2
    assert rule["Pattern"] == {"detail-type": list(DETAIL_TYPES)}
