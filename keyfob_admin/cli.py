"""Administration commands: ``keyfob-admin create-tenant --name acme``, and the AWS
accounts that may put commands on the Keyfob bus for a tenant:
``keyfob-admin allow-account --tenant tn_... --aws-account 123456789012``
(``revoke-account``, ``list-accounts``); and a catalog file checked before it ships:
``keyfob-admin catalog check [FILE] [--report]``.

Runs wherever AWS credentials reach the table: against a deployed stack set
KEYFOB_TABLE to its TableName output; against the local stack, to what it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from keyfob.core.errors import KeyfobError
from keyfob.services import tenants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keyfob-admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-tenant", help="create a tenant and print its API key")
    create.add_argument("--name", required=True)
    for name, help_text in (
        ("allow-account", "let an AWS account put commands for a tenant (one tenant each)"),
        ("revoke-account", "stop an AWS account putting commands for a tenant"),
    ):
        account = commands.add_parser(name, help=help_text)
        account.add_argument("--tenant", required=True, help="tn_...")
        account.add_argument("--aws-account", required=True, help="a 12-digit account id")
    listing = commands.add_parser("list-accounts", help="the AWS accounts acting for a tenant")
    listing.add_argument("--tenant", required=True, help="tn_...")
    catalog = commands.add_parser("catalog", help="the app catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    check = catalog_commands.add_parser("check", help="validate a catalog file")
    check.add_argument("file", nargs="?", type=Path, help="the layer's catalog.json if omitted")
    check.add_argument("--report", action="store_true", help="print counts and null values")
    args = parser.parse_args(argv)

    if args.command == "catalog":
        return _check_catalog(args.file, args.report)
    if not os.environ.get("KEYFOB_TABLE"):
        parser.error("set KEYFOB_TABLE to the Keyfob table name (the stack's TableName output)")
    if args.command == "create-tenant":
        return _create_tenant(args.name)
    try:
        if args.command == "list-accounts":
            _print({"tenant_id": args.tenant, "aws_accounts": tenants.aws_accounts(args.tenant)})
        elif args.command == "allow-account":
            added = tenants.allow_aws_account(args.tenant, args.aws_account)
            _print({"tenant_id": args.tenant, "aws_account": args.aws_account, "added": added})
        else:
            tenants.revoke_aws_account(args.tenant, args.aws_account)
            _print({"tenant_id": args.tenant, "aws_account": args.aws_account, "revoked": True})
    except KeyfobError as exc:
        sys.stderr.write(f"{exc.code}: {exc.message}\n")
        return 1
    return 0


def _print(result: dict[str, object]) -> None:
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


def _create_tenant(name: str) -> int:
    tenant, api_key = tenants.create_tenant(name)
    _print({"tenant_id": tenant.id, "name": tenant.name, "api_key": api_key})
    sys.stderr.write(
        "Store the api_key now: Keyfob keeps only its hash and cannot show it again.\n"
    )
    return 0


def _check_catalog(path: Path | None, with_report: bool) -> int:
    from keyfob.catalog.check import check_file, report
    from keyfob.catalog.loader import CATALOG_PATH

    result = check_file(path or CATALOG_PATH)
    for problem in result.problems:
        sys.stderr.write(problem + "\n")
    if with_report:
        sys.stdout.write(report(result.apps))
    sys.stderr.write(
        f"{len(result.apps)} apps, {len(result.problems)} problems\n"
        if result.problems
        else f"{len(result.apps)} apps: ok\n"
    )
    return 1 if result.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
