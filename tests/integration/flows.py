"""OAuth connection flows driven like a user's browser would: shared by the tests that
need a connected (or pending) OAuth account against the loopback provider."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import requests
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from tests.conftest import Api

RETURN_URL = "https://app.example.com/connected?session=42"
# What EventBridge's schedule hands the scheduled run (events/sweep.json).
SCHEDULED_EVENT = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "sweep.json").read_text()
)


def run_sweep(gateway: Gateway) -> dict[str, int]:
    """A scheduled run as on AWS: the scheduled function hands the due index's shards
    out on the sweep queue, and a worker invocation takes each (here one after the
    other, as Lambda's SQS event source with a batch of one); their counts summed."""
    counts = Counter(gateway.invoke("SweepFunction", SCHEDULED_EVENT))
    sqs, url = boto3.client("sqs"), os.environ["KEYFOB_SWEEP_QUEUE_URL"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            record = {"messageId": message["MessageId"], "body": message["Body"]}
            counts.update(gateway.invoke("SweepWorkerFunction", {"Records": [record]}))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return dict(counts)


# A due time or expiry long past: how a test makes time pass.
PAST = "2000-01-01T00:00:00.000000Z"


@dataclass
class Started:
    account: dict[str, Any]
    integration_id: str
    client_secret: str

    @property
    def authorization_url(self) -> str:
        return str(self.account["redirect_url"])

    @property
    def state(self) -> str:
        return query_of(self.authorization_url)["state"]


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def create_integration(
    api: Api,
    oauth_server: OAuthServer,
    *,
    auth_method: str = "client_secret_basic",
    issuer: str | None = None,
    oauth: dict[str, Any] | None = None,
    api_settings: dict[str, Any] | None = None,
    require_confirmation: bool = False,
) -> tuple[str, str]:
    """An integration of the generic oauth2 app with the loopback provider; ``oauth``
    adds to its OAuth settings, ``api_settings`` are its `api`."""
    client_id, client_secret = oauth_server.register_client(
        redirect_uris=[f"{api.base_url}/v1/oauth/callback"],
        token_endpoint_auth_method=auth_method,
    )
    endpoints = {
        "authorization_url": oauth_server.authorization_url,
        "token_url": oauth_server.token_url,
        "revocation_url": oauth_server.revocation_url,
        "token_endpoint_auth_method": auth_method,
        **(oauth or {}),
    }
    if issuer:
        endpoints["issuer"] = issuer
    response = api.post(
        "/v1/integrations",
        json={
            "app": "oauth2",
            "auth_scheme": "OAUTH2",
            "name": "Loopback provider",
            "credentials": {
                "client_id": client_id,
                "client_secret": client_secret,
                "scopes": ["read", "offline_access"],
            },
            "oauth": endpoints,
            "api": api_settings,
            "require_confirmation": require_confirmation,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], client_secret


def start(
    api: Api,
    oauth_server: OAuthServer,
    *,
    entity_id: str = "user-1",
    redirect_url: str | None = RETURN_URL,
    **integration: Any,
) -> Started:
    integration_id, secret = create_integration(api, oauth_server, **integration)
    body: dict[str, Any] = {"integration_id": integration_id, "entity_id": entity_id}
    if redirect_url:
        body["redirect_url"] = redirect_url
    response = api.post("/v1/connected_accounts", json=body)
    assert response.status_code == 201, response.text
    return Started(response.json(), integration_id, secret)


def authorize(started: Started) -> str:
    """What the user's browser does at the provider: returns the callback URL it is sent to."""
    return follow(started.authorization_url)


def follow(authorization_url: str) -> str:
    """``authorize`` for an authorization URL that came some other way (an event)."""
    response = requests.get(authorization_url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return str(response.headers["Location"])


def callback(anonymous: Api, callback_url: str, **headers: str) -> requests.Response:
    parts = urlsplit(callback_url)
    return anonymous.get(f"{parts.path}?{parts.query}", headers=headers)


def connect(api: Api, anonymous: Api, oauth_server: OAuthServer, **kwargs: Any) -> Started:
    started = start(api, oauth_server, **kwargs)
    response = callback(anonymous, authorize(started))
    assert response.status_code == 302, response.text
    return started


def keyed_integration(
    api: Api, provider: OAuthServer, app: str = "mailchimp", scheme: str = "API_KEY"
) -> str:
    """An integration of an app that takes a pasted credential, with the provider's
    resource API as the app's: it verifies exactly the keys registered there."""
    response = api.post(
        "/v1/integrations",
        json={"app": app, "auth_scheme": scheme, "api": {"base_url": provider.api_url}},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def credentials(api: Api, account_id: str) -> dict[str, Any]:
    """What /credentials hands out for an account (which must be usable)."""
    response = api.get(f"/v1/connected_accounts/{account_id}/credentials")
    assert response.status_code == 200, response.text
    return dict(response.json()["credentials"])


def table() -> Any:
    return boto3.client("dynamodb"), os.environ["KEYFOB_TABLE"]


def stored(tenant_id: str, account_id: str) -> dict[str, Any]:
    """The account item as DynamoDB holds it (strongly consistent)."""
    client, name = table()
    item = client.get_item(
        TableName=name,
        Key={"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": f"ACCOUNT#{account_id}"}},
        ConsistentRead=True,
    )["Item"]
    return {k: TypeDeserializer().deserialize(v) for k, v in item.items()}


def set_stored(tenant_id: str, account_id: str, **values: Any) -> None:
    """Change an account item behind Keyfob's back: how a test makes time pass (a token
    falls due, an attempt lapses) or plays another Lambda instance (a lease held)."""
    client, name = table()
    serializer = TypeSerializer()
    names = {f"#a{i}": k for i, k in enumerate(values)}
    sets = [f"#a{i} = :v{i}" for i, v in enumerate(values.values()) if v is not None]
    removes = [f"#a{i}" for i, v in enumerate(values.values()) if v is None]
    expression = (" SET " + ", ".join(sets) if sets else "") + (
        " REMOVE " + ", ".join(removes) if removes else ""
    )
    given = {
        f":v{i}": serializer.serialize(v) for i, v in enumerate(values.values()) if v is not None
    }
    client.update_item(
        TableName=name,
        Key={"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": f"ACCOUNT#{account_id}"}},
        UpdateExpression=expression.strip(),
        ExpressionAttributeNames=names,
        **({"ExpressionAttributeValues": given} if given else {}),
    )


def expire_link(url: str) -> None:
    """Make a connect link's ten minutes pass, behind Keyfob's back."""
    token = url.rsplit("/", 1)[1]
    client, name = table()
    client.update_item(
        TableName=name,
        Key={
            "pk": {"S": f"LINK#{hashlib.sha256(token.encode()).hexdigest()}"},
            "sk": {"S": "LINK"},
        },
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
