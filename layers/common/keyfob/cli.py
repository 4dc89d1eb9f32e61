"""Administration commands: ``keyfob-admin create-tenant --name acme``.

Runs wherever AWS credentials reach the table: against a deployed stack set
KEYFOB_TABLE to its TableName output; against the local stack, to what it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from keyfob import tenants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="keyfob-admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-tenant", help="create a tenant and print its API key")
    create.add_argument("--name", required=True)
    args = parser.parse_args(argv)

    if not os.environ.get("KEYFOB_TABLE"):
        parser.error("set KEYFOB_TABLE to the Keyfob table name (the stack's TableName output)")
    tenant, api_key = tenants.create_tenant(args.name)
    json.dump({"tenant_id": tenant.id, "name": tenant.name, "api_key": api_key}, sys.stdout)
    sys.stdout.write("\n")
    sys.stderr.write(
        "Store the api_key now: Keyfob keeps only its hash and cannot show it again.\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
