"""``keyfob webhooks ...``: endpoints, their secrets, tests and delivery attempts."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from keyfob_client import _arguments as arguments
from keyfob_client import _render as render
from keyfob_client._client import Client
from keyfob_client._render import Output

Handler = Callable[[Client, argparse.Namespace], Output]
Command = Callable[..., argparse.ArgumentParser]

_SECRET_NOTE = "keep the secret (whsec_...) now: it is not shown again"


def _create(client: Client, args: argparse.Namespace) -> Output:
    created = client.create_webhook(
        args.endpoint_url, event_types=args.event_type or None, description=args.description
    )
    return Output(created.raw, f"{render.record(created)}\nsecret: {created.secret}", _SECRET_NOTE)


def _list(client: Client, args: argparse.Namespace) -> Output:
    endpoints = client.list_webhooks()
    return render.listing(
        endpoints,
        None,
        ("ID", "STATUS", "URL", "EVENT TYPES", "FAILING SINCE"),
        lambda e: (e.id, e.status, e.url, e.event_types or "all", e.failing_since),
    )


def _delete(client: Client, args: argparse.Namespace) -> Output:
    client.delete_webhook(args.id)
    return Output(None, f"deleted {args.id}")


def _enable(client: Client, args: argparse.Namespace) -> Output:
    return render.shown(client.enable_webhook(args.id))


def _rotate(client: Client, args: argparse.Namespace) -> Output:
    rotated = client.rotate_webhook_secret(args.id)
    return Output(
        rotated.raw,
        f"{render.record(rotated)}\nsecret: {rotated.secret}",
        f"{_SECRET_NOTE}; the old one signs too until {rotated.previous_secret_expires_at}",
    )


def _test(client: Client, args: argparse.Namespace) -> Output:
    message_id = client.test_webhook(args.id)
    return Output({"message_id": message_id}, f"queued {message_id}")


def _attempts(client: Client, args: argparse.Namespace) -> Output:
    return render.listing(
        client.list_webhook_attempts(args.id),
        None,
        ("ID", "AT", "EVENT", "TRIGGER", "#", "STATUS", "ERROR", "MS", "NEXT"),
        lambda a: (
            a.id,
            a.attempted_at,
            a.event_type,
            a.trigger,
            a.attempt,
            a.status_code,
            a.error_class,
            a.duration_ms,
            a.next_attempt_at,
        ),
    )


def _retry(client: Client, args: argparse.Namespace) -> Output:
    message_id = client.retry_webhook_attempt(args.id, args.attempt_id)
    return Output({"message_id": message_id}, f"queued {message_id} again")


def register(group: Callable[[str, str], Any], command: Command) -> None:
    webhooks = group("webhooks", "webhook endpoints: Keyfob's events, signed, over HTTP")
    sub = command(webhooks, "create", _create, "create an endpoint (its secret shown once)")
    # Not "url": --url, Keyfob's own, is every command's.
    sub.add_argument("endpoint_url", metavar="URL", help="https URL on a public address")
    sub.add_argument(
        "--event-type", action="append", metavar="TYPE", help="only this event type; repeat"
    )
    sub.add_argument("--description")
    command(webhooks, "list", _list, "list endpoints (never a secret)")
    simple: list[tuple[str, Handler, str]] = [
        ("delete", _delete, "delete an endpoint"),
        ("enable", _enable, "take deliveries again after being disabled"),
        ("rotate", _rotate, "a new secret; the old one signs too for 24 hours"),
        ("test", _test, "send a test event once"),
        ("attempts", _attempts, "the endpoint's delivery attempts, newest first"),
    ]
    for name, handler, help_text in simple:
        sub = command(webhooks, name, handler, help_text)
        sub.add_argument("id", type=arguments.identifier)
    sub = command(webhooks, "retry", _retry, "deliver an attempt's message again")
    sub.add_argument("id", type=arguments.identifier)
    sub.add_argument("attempt_id", type=arguments.identifier)
