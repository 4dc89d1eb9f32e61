"""The scheduled run fanned out: the scheduled function hands each shard of the due
index to a worker through the sweep queue (the moto server's SQS), and workers run
at once, as Lambda runs them. However often a shard is handed out (SQS delivers at
least once; two runs can overlap), each due account is refreshed exactly once: every
refresh takes the account's lease, conditional on the account still being due."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from devstack.gateway import Gateway
from devstack.oauth_provider import OAuthServer
from keyfob.core.config import settings
from tests.conftest import Api, Tenant
from tests.integration.flows import (
    PAST,
    SCHEDULED_EVENT,
    connect,
    credentials,
    run_sweep,
    set_stored,
)

pytestmark = pytest.mark.usefixtures("provider")


def handed_out(gateway: Gateway) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The scheduled function's counts, and the messages it put on the sweep queue."""
    counts = gateway.invoke("SweepFunction", SCHEDULED_EVENT)
    sqs, url = boto3.client("sqs"), os.environ["KEYFOB_SWEEP_QUEUE_URL"]
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return counts, messages


def test_the_scheduled_run_hands_out_one_message_per_shard(gateway: Gateway) -> None:
    run_sweep(gateway)  # nothing left over from earlier tests

    counts, messages = handed_out(gateway)

    assert counts["ShardsDispatched"] == settings().due_shards
    assert sorted(m["Body"] for m in messages) == sorted(
        f'{{"shard": {n}}}' for n in range(settings().due_shards)
    )


def test_each_due_account_is_refreshed_once_when_every_shard_is_worked_twice_at_once(
    api: Api, anonymous: Api, oauth_server: OAuthServer, tenant: Tenant, gateway: Gateway
) -> None:
    # Given a dozen due accounts, and a provider slow enough that workers overlap
    run_sweep(gateway)
    accounts = [connect(api, anonymous, oauth_server).account["id"] for _ in range(12)]
    tokens = {credentials(api, account_id)["refresh_token"] for account_id in accounts}
    for account_id in accounts:
        set_stored(tenant.id, account_id, due_at=PAST)
    oauth_server.token_endpoint_delay = 0.3
    _, messages = handed_out(gateway)

    # When each shard's message is delivered twice and all the workers run at once
    def work(message: dict[str, Any]) -> dict[str, int]:
        event = {"Records": [{"messageId": message["MessageId"], "body": message["Body"]}]}
        result: dict[str, int] = gateway.invoke("SweepWorkerFunction", event)
        return result

    with ThreadPoolExecutor(2 * len(messages)) as pool:
        results = list(pool.map(work, messages * 2))

    # Then the provider saw exactly one refresh per due account (other tests' accounts,
    # due meanwhile, may be refreshed too: not counted), and the runs agree
    refreshed = Counter(
        r["form"]["refresh_token"]
        for r in oauth_server.token_requests
        if r["grant_type"] == "refresh_token" and r["form"]["refresh_token"] in tokens
    )
    assert refreshed == Counter(tokens)
    counts = sum((Counter(r) for r in results), Counter())
    assert counts["TokensRefreshed"] >= len(accounts)
    for account_id in accounts:
        assert api.get(f"/v1/connected_accounts/{account_id}").json()["refresh_failures"] == 0
