"""keyfob-admin: a tenant created on the command line can use the API at once; an AWS
account allowed for a tenant acts for that one alone, until revoked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devstack.gateway import Gateway
from keyfob_admin import cli
from tests.conftest import Api, Tenant
from tests.integration.bus import command_event, send


def test_create_tenant_prints_a_key_that_the_api_accepts(
    anonymous: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["create-tenant", "--name", "initech"]) == 0
    out, err = capsys.readouterr()
    created = json.loads(out)
    assert created["name"] == "initech"
    assert "only its hash" in err
    response = anonymous.get("/v1/apps", headers={"x-api-key": created["api_key"]})
    assert response.status_code == 200


def test_create_tenant_without_a_table_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KEYFOB_TABLE", raising=False)
    with pytest.raises(SystemExit):
        cli.main(["create-tenant", "--name", "nowhere"])
    assert "KEYFOB_TABLE" in capsys.readouterr().err


def admin(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def test_an_aws_account_acts_for_one_tenant_until_revoked(
    capsys: pytest.CaptureFixture[str],
    gateway: Gateway,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    account = "210987654321"
    allow = ("allow-account", "--tenant", tenant.id, "--aws-account", account)
    # Allowed once, listed, and allowing again changes nothing
    assert admin(capsys, *allow)[:2] == (
        0,
        {"tenant_id": tenant.id, "aws_account": account, "added": True},
    )
    assert admin(capsys, *allow)[1]["added"] is False
    listed = admin(capsys, "list-accounts", "--tenant", tenant.id)[1]
    assert account in listed["aws_accounts"]
    # Another tenant can neither take it nor revoke it
    code, _, err = admin(
        capsys, "allow-account", "--tenant", other_tenant.id, "--aws-account", account
    )
    assert (code, err.split(":")[0]) == (1, "aws_account_taken")
    code, _, err = admin(
        capsys, "revoke-account", "--tenant", other_tenant.id, "--aws-account", account
    )
    assert (code, err.split(":")[0]) == (1, "aws_account_not_allowed")
    # Revoked by its tenant, its next command is refused at once
    assert admin(capsys, "revoke-account", "--tenant", tenant.id, "--aws-account", account)[0] == 0
    assert account not in admin(capsys, "list-accounts", "--tenant", tenant.id)[1]["aws_accounts"]
    event = command_event(
        "Keyfob.DisableConnection", {"connected_account_id": "ca_" + "a" * 24}, account=account
    )
    assert send(gateway, event) == {"outcome": "refused", "reason": "unknown_account"}


@pytest.mark.parametrize(
    ("tenant_id", "aws_account", "code"),
    [
        ("tn_" + "a" * 24, "123", "invalid_aws_account_id"),
        ("acme", "123456789012", "invalid_tenant_id"),
        ("tn_" + "a" * 24, "123456789012", "tenant_not_found"),
    ],
)
def test_allow_account_refuses_what_is_not_a_tenant_and_an_account(
    capsys: pytest.CaptureFixture[str],
    stack_env: dict[str, str],
    tenant_id: str,
    aws_account: str,
    code: str,
) -> None:
    result = admin(capsys, "allow-account", "--tenant", tenant_id, "--aws-account", aws_account)
    assert (result[0], result[2].split(":")[0]) == (1, code)
