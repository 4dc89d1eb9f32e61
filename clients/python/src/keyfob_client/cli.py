"""The ``keyfob`` command line: the Keyfob API from a shell, on :mod:`keyfob_client`.

    export KEYFOB_URL=http://127.0.0.1:3000 KEYFOB_API_KEY=kf_...
    keyfob apps params stripe --auth-scheme API_KEY
    keyfob accounts connect int_... user-42 --param api_key=-
    keyfob accounts list --entity-id user-42 --output json

A value of ``-`` (``--param api_key=-``) is read from standard input, or asked for without
echo on a terminal, so that secrets stay out of the shell history and the process list.
``--output json`` prints exactly the API's JSON. Exit status: 0 done, 1 the API or the
connection failed (``code: message`` on standard error), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from keyfob_client import (
    ApiError,
    AuthScheme,
    Client,
    ConfigurationError,
    KeyfobClientError,
    Status,
)
from keyfob_client import _arguments as arguments
from keyfob_client import _render as render
from keyfob_client import _webhook_commands as webhook_commands
from keyfob_client._render import Output
from keyfob_client.models import Resource

Handler = Callable[[Client, argparse.Namespace], Output]


def _apps_list(client: Client, args: argparse.Namespace) -> Output:
    apps = client.list_apps(args.auth_scheme)
    return Output(
        {"items": [app.raw for app in apps]},
        render.table(
            ("SLUG", "NAME", "AUTH SCHEMES"),
            ((a.slug, a.name, [s.type for s in a.auth_schemes]) for a in apps),
        ),
    )


def _apps_get(client: Client, args: argparse.Namespace) -> Output:
    return render.shown(client.get_app(args.app))


def _apps_params(client: Client, args: argparse.Namespace) -> Output:
    params = client.get_app_params(args.app, args.auth_scheme)
    text = "\n\n".join(
        (
            render.fields_table(
                "Integration fields (you supply them once):", params.integration_fields
            ),
            render.fields_table(
                "Connection fields (each end user supplies them):", params.connection_fields
            ),
        )
    )
    return Output(params.raw, text)


def _integrations_create(client: Client, args: argparse.Namespace) -> Output:
    integration = client.create_integration(
        args.app,
        args.auth_scheme,
        name=args.name,
        credentials=arguments.pairs(args.credential, "--credential") or None,
        oauth=arguments.json_object(args.oauth, "--oauth"),
        api=arguments.json_object(args.api, "--api"),
        require_confirmation=args.require_confirmation or None,
    )
    return render.shown(integration)


def _integrations_list(client: Client, args: argparse.Namespace) -> Output:
    if args.all:
        items, cursor = list(client.list_integrations(page_size=args.limit)), None
    else:
        page = client.list_integrations_page(limit=args.limit, cursor=args.cursor)
        items, cursor = list(page.items), page.next_cursor
    return render.listing(
        items,
        cursor,
        ("ID", "APP", "AUTH SCHEME", "NAME", "ACCOUNTS"),
        lambda i: (i.id, i.app, i.auth_scheme, i.name, i.account_count),
    )


def _integrations_get(client: Client, args: argparse.Namespace) -> Output:
    return render.shown(client.get_integration(args.id))


def _integrations_delete(client: Client, args: argparse.Namespace) -> Output:
    client.delete_integration(args.id)
    return Output(None, f"deleted {args.id}")


def _accounts_connect(client: Client, args: argparse.Namespace) -> Output:
    account = client.initiate_connection(
        args.integration_id,
        args.entity_id,
        params=arguments.pairs(args.param, "--param") or None,
        redirect_url=args.redirect_url,
        labels=arguments.pairs(args.label, "--label") or None,
        validate=False if args.no_validate else None,
    )
    if not args.wait or account.status == Status.ACTIVE:
        note = "open redirect_url in a browser to authorize" if account.redirect_url else ""
        return Output(account.raw, render.record(account), note)
    if account.redirect_url:
        sys.stderr.write(f"Open this URL to authorize:\n{account.redirect_url}\n")
        sys.stderr.flush()
    return render.shown(
        client.wait_for_connection(account.id, timeout=args.wait_timeout, poll_interval=2.0)
    )


def _accounts_list(client: Client, args: argparse.Namespace) -> Output:
    filters = {
        "entity_id": args.entity_id,
        "app": args.app,
        "integration_id": args.integration_id,
        "status": args.status,
    }
    if args.all:
        items, cursor = list(client.list_accounts(page_size=args.limit, **filters)), None
    else:
        page = client.list_accounts_page(limit=args.limit, cursor=args.cursor, **filters)
        items, cursor = list(page.items), page.next_cursor
    return render.listing(
        items,
        cursor,
        ("ID", "ENTITY", "APP", "AUTH SCHEME", "STATUS", "UPDATED"),
        lambda a: (a.id, a.entity_id, a.app, a.auth_scheme, a.status, a.updated_at),
    )


def _accounts_wait(client: Client, args: argparse.Namespace) -> Output:
    return render.shown(
        client.wait_for_connection(args.id, timeout=args.wait_timeout, poll_interval=args.interval)
    )


def _by_id(method: Callable[[Client, str], Resource]) -> Handler:
    """A command that calls one client method with the id it is given and shows the result."""
    return lambda client, args: render.shown(method(client, args.id))


def _accounts_reinitiate(client: Client, args: argparse.Namespace) -> Output:
    return render.shown(client.reinitiate_account(args.id, redirect_url=args.redirect_url))


def _accounts_confirm(client: Client, args: argparse.Namespace) -> Output:
    return render.shown(client.confirm_account(args.id, code=args.code, entity_id=args.entity_id))


def _accounts_delete(client: Client, args: argparse.Namespace) -> Output:
    return render.shown(client.delete_account(args.id, revoke=not args.no_revoke))


def _proxy(client: Client, args: argparse.Namespace) -> Output:
    answer = client.proxy(
        args.id,
        args.method,
        args.path,
        query=arguments.multi_pairs(args.query, "--query") or None,
        headers=arguments.pairs(args.header, "--header") or None,
        body=arguments.body(args.data),
    )
    if answer.body_encoding == "json":
        text: str | bytes = json.dumps(answer.body, indent=2)
    elif answer.body_encoding == "text":
        text = str(answer.body)
    else:
        text = answer.content
    return Output(answer.raw, text, f"upstream HTTP {answer.status}")


def _connect_links_create(client: Client, args: argparse.Namespace) -> Output:
    link = client.create_connect_link(
        args.integration_id,
        args.entity_id,
        args.redirect_url,
        labels=arguments.pairs(args.label, "--label") or None,
    )
    return Output(link.raw, render.record(link), "send the end user to url; it works once")


# --- the parser ----------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The options every command takes, before or after its name. Only the top level
    sets defaults, so that a subcommand's absent option does not override them."""

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("--url", default=default(None), help="Keyfob's base URL (env KEYFOB_URL)")
    parser.add_argument(
        "--api-key",
        default=default(None),
        help="the tenant's API key (env KEYFOB_API_KEY, preferred: argv is visible to others)",
    )
    parser.add_argument(
        "--timeout", type=float, default=default(30.0), help="seconds per request (default 30)"
    )
    parser.add_argument(
        "-o", "--output", choices=("text", "json"), default=default("text"), help="output format"
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=default(False),
        help="send the API key over plain http to a host that is not loopback",
    )


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, defaults=False)
    parser = argparse.ArgumentParser(
        prog="keyfob",
        description="The Keyfob API from the command line.",
        epilog="A VALUE of '-' is read from standard input (or asked for, without echo).",
    )
    _global_options(parser, defaults=True)
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    def group(name: str, help_text: str) -> Any:
        return groups.add_parser(name, help=help_text).add_subparsers(
            dest="command", required=True, metavar="COMMAND"
        )

    def command(
        commands: Any, name: str, handler: Handler, help_text: str, **kwargs: Any
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, help=help_text, parents=[common], **kwargs
        )
        sub.set_defaults(handler=handler)
        return sub

    schemes = [scheme.value for scheme in AuthScheme]

    apps = group("apps", "the catalog of apps Keyfob connects to")
    sub = command(apps, "list", _apps_list, "list apps")
    sub.add_argument("--auth-scheme", choices=schemes, help="only apps offering it")
    sub = command(apps, "get", _apps_get, "one app")
    sub.add_argument("app", type=arguments.identifier)
    sub = command(apps, "params", _apps_params, "what an integration and a connection need")
    sub.add_argument("app", type=arguments.identifier)
    sub.add_argument("--auth-scheme", choices=schemes, required=True)

    integrations = group("integrations", "your integrations: an app, an auth scheme, your client")
    sub = command(integrations, "create", _integrations_create, "create an integration")
    sub.add_argument("--app", required=True)
    sub.add_argument("--auth-scheme", choices=schemes, required=True)
    sub.add_argument("--name")
    sub.add_argument(
        "--credential",
        action="append",
        metavar="NAME=VALUE",
        help="an integration field (client_id, client_secret, scopes); repeat",
    )
    sub.add_argument("--oauth", metavar="JSON", help="OAuth settings overriding the catalog's")
    sub.add_argument(
        "--api", metavar="JSON", help="API settings overriding the catalog's (base_url, identity)"
    )
    sub.add_argument(
        "--require-confirmation",
        action="store_true",
        help="OAuth: bind each connection to the session that completes it",
    )
    sub = command(integrations, "list", _integrations_list, "list integrations")
    _paging(sub)
    sub = command(integrations, "get", _integrations_get, "one integration")
    sub.add_argument("id", type=arguments.identifier)
    sub = command(integrations, "delete", _integrations_delete, "delete an unused integration")
    sub.add_argument("id", type=arguments.identifier)

    accounts = group("accounts", "connected accounts")
    sub = command(
        accounts, "connect", _accounts_connect, "connect an entity's account", aliases=["initiate"]
    )
    sub.add_argument("integration_id", type=arguments.identifier)
    sub.add_argument("entity_id", type=arguments.identifier)
    sub.add_argument(
        "--param", action="append", metavar="NAME=VALUE", help="a connection field; repeat"
    )
    sub.add_argument("--redirect-url", help="OAuth: where the browser goes afterwards")
    _labels(sub)
    sub.add_argument(
        "--no-validate", action="store_true", help="do not check the API key against the app"
    )
    sub.add_argument("--wait", action="store_true", help="wait until the account is ACTIVE")
    _wait_timeout(sub)
    sub = command(accounts, "list", _accounts_list, "list connected accounts, newest first")
    sub.add_argument("--entity-id")
    sub.add_argument("--app")
    sub.add_argument("--integration-id")
    sub.add_argument("--status", choices=[status.value for status in Status])
    _paging(sub)
    by_id: list[tuple[str, Callable[[Client, str], Resource], str]] = [
        ("get", Client.get_account, "one account (no secrets)"),
        ("events", Client.get_account_events, "the account's recent events, newest first"),
        ("credentials", Client.get_credentials, "the credentials of an ACTIVE account"),
        ("refresh", Client.refresh_account, "refresh the account's OAuth tokens now"),
        ("disable", Client.disable_account, "stop handing out the account's credentials"),
        ("enable", Client.enable_account, "hand out the account's credentials again"),
    ]
    for name, method, help_text in by_id:
        sub = command(accounts, name, _by_id(method), help_text)
        sub.add_argument("id", type=arguments.identifier)
    sub = command(accounts, "wait", _accounts_wait, "wait until the account is ACTIVE")
    sub.add_argument("id", type=arguments.identifier)
    _wait_timeout(sub)
    sub.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    sub = command(accounts, "reinitiate", _accounts_reinitiate, "connect the account again")
    sub.add_argument("id", type=arguments.identifier)
    sub.add_argument("--redirect-url")
    sub = command(accounts, "confirm", _accounts_confirm, "confirm an awaiting account")
    sub.add_argument("id", type=arguments.identifier)
    sub.add_argument("--code", required=True)
    sub.add_argument("--entity-id", required=True)
    sub = command(accounts, "delete", _accounts_delete, "delete an account, revoking its grant")
    sub.add_argument("id", type=arguments.identifier)
    sub.add_argument(
        "--no-revoke", action="store_true", help="keep the grant alive at the provider"
    )

    sub = command(groups, "proxy", _proxy, "send a request to the app's API as the entity")
    sub.add_argument("id", type=arguments.identifier, help="the connected account")
    sub.add_argument("method", type=str.upper)
    sub.add_argument("path", help="relative to the app's API base URL, e.g. /user")
    sub.add_argument("--query", action="append", metavar="NAME=VALUE", help="repeat")
    sub.add_argument("--header", action="append", metavar="NAME=VALUE", help="repeat")
    sub.add_argument("--data", help="the body: JSON or text, @FILE, or - for standard input")

    links = group("connect-links", "links to the hosted connect page")
    sub = command(links, "create", _connect_links_create, "a single-use link for an end user")
    sub.add_argument("integration_id", type=arguments.identifier)
    sub.add_argument("entity_id", type=arguments.identifier)
    sub.add_argument("--redirect-url", required=True, help="where the user goes afterwards")
    _labels(sub)
    webhook_commands.register(group, command)
    return parser


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, help="items per page (1 to 100)")
    parser.add_argument("--cursor", help="the next_cursor of the previous page")
    parser.add_argument("--all", action="store_true", help="follow the cursor to the end")


def _labels(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--label", action="append", metavar="NAME=VALUE", help="repeat")


def _wait_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait-timeout", type=float, default=300.0, help="seconds to wait (default 300)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        client = Client(
            args.url,
            args.api_key,
            timeout=args.timeout,
            allow_insecure_http=args.allow_insecure_http,
        )
        output = args.handler(client, args)
    except (ConfigurationError, argparse.ArgumentTypeError) as exc:
        parser.error(str(exc))
    except ApiError as exc:
        sys.stderr.write(f"{exc.code}: {exc.message}\n")
        if exc.details:
            sys.stderr.write(json.dumps(exc.details) + "\n")
        return 1
    except KeyfobClientError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    render.emit(output, args.output == "json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
