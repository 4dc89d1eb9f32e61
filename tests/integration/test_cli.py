"""keyfob-admin: a tenant created on the command line can use the API at once."""

from __future__ import annotations

import json

import pytest

from keyfob import cli
from tests.conftest import Api


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
