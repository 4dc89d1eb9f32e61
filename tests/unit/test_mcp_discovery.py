"""Where Keyfob looks for a remote MCP server's authorization server, in the MCP
authorization specification's order, and how it reads the server's challenges."""

from __future__ import annotations

from keyfob.auth.mcp_discovery import (
    Challenge,
    challenge,
    resource_metadata_urls,
    server_metadata_urls,
)


def test_a_bearer_challenge_gives_its_metadata_url_scope_and_error() -> None:
    found = challenge(
        'Bearer error="insufficient_scope", scope="files:read files:write", '
        'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"'
    )
    assert found == Challenge(
        "https://mcp.example.com/.well-known/oauth-protected-resource",
        "files:read files:write",
        "insufficient_scope",
    )
    assert challenge('Basic realm="x"') == Challenge()
    assert challenge("") == Challenge()


def test_the_401s_metadata_url_wins_over_the_well_known_ones() -> None:
    named = Challenge(resource_metadata="https://mcp.example.com/prm")
    assert resource_metadata_urls("https://mcp.example.com/public/mcp", named) == [
        "https://mcp.example.com/prm"
    ]
    assert resource_metadata_urls("https://mcp.example.com/public/mcp", Challenge()) == [
        "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp",
        "https://mcp.example.com/.well-known/oauth-protected-resource",
    ]
    assert resource_metadata_urls("https://mcp.example.com", Challenge()) == [
        "https://mcp.example.com/.well-known/oauth-protected-resource"
    ]


def test_authorization_server_metadata_urls_follow_the_specifications_order() -> None:
    assert server_metadata_urls("https://auth.example.com/tenant1") == [
        "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
        "https://auth.example.com/.well-known/openid-configuration/tenant1",
        "https://auth.example.com/tenant1/.well-known/openid-configuration",
    ]
    assert server_metadata_urls("https://auth.example.com") == [
        "https://auth.example.com/.well-known/oauth-authorization-server",
        "https://auth.example.com/.well-known/openid-configuration",
    ]
