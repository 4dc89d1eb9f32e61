"""``python -m devstack``: run Keyfob locally (see the package docstring)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from . import seed
from .gateway import Gateway
from .moto_server import EmbeddedAWS, use_local_endpoint
from .oauth_provider import OAuthServer
from .resources import provision, resource_backed_variables
from .rules import Rules
from .template import TemplateError

log = logging.getLogger("devstack")


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Keyfob locally: an embedded AWS (moto), the template's resources, and an "
        "API Gateway HTTP API running the functions in-process.",
    )
    add = parser.add_argument
    add("--port", type=int, default=int(env("KEYFOB_DEV_PORT", "3000")), help="0: a free one")
    add("--host", default="127.0.0.1", help="the address to listen on")
    add("--api-key", default=env("KEYFOB_DEV_API_KEY"), help="the dev tenant's (default: new)")
    add("--aws", choices=["embedded", "real"], default=env("KEYFOB_AWS", "embedded"))
    demo = env("KEYFOB_DEV_DEMO_PROVIDER", "true").lower() != "false"
    add("--no-demo-provider", dest="demo_provider", action="store_false", default=demo)
    template = Path(__file__).resolve().parent.parent / "template.yaml"
    add("--template", type=Path, default=template, help=argparse.SUPPRESS)
    add("--stack-name", default="keyfob-local", help=argparse.SUPPRESS)
    parser.epilog = (
        "Environment: KEYFOB_DEV_PORT, KEYFOB_DEV_API_KEY, KEYFOB_AWS=real, "
        "KEYFOB_DEV_DEMO_PROVIDER=false; KEYFOB_AWS_ENDPOINT_URL for another AWS endpoint; "
        "KEYFOB_TABLE and KEYFOB_KMS_KEY_ID for an existing table and key (nothing created)."
    )
    return parser


def shell_overrides(env: dict[str, str], backed: set[str], *, provisioned: bool) -> dict[str, str]:
    """The functions' environment with the shell's own settings winning
    (``POWERTOOLS_LOG_LEVEL=DEBUG``, a tunnel's ``KEYFOB_PUBLIC_URL`` ...), except the
    variables in ``backed``, naming a resource, when provisioning made it."""
    for name in sorted(backed - set(os.environ)) if not provisioned else ():
        log.warning("%s names a resource, which was not provisioned: set it too", name)
    fixed = backed if provisioned else set()
    shell = {n: os.environ[n] for n in env if os.environ.get(n) and n not in fixed}  # not empty
    for name in sorted(n for n in shell if shell[n] != env[n]):
        log.info("using %s from the environment", name)
    return {**env, **shell}


def _banner(
    gateway: Gateway, key: str | None, aws: str, rules: Rules, demo: tuple[OAuthServer, str] | None
) -> str:
    url, stack = gateway.env["KEYFOB_PUBLIC_URL"], gateway.stack
    rows = [
        ("Base URL:", url),
        ("OAuth callback:", f"{url}{seed.CALLBACK_PATH}   <- register this redirect URI"),
        ("Dev API key:", key or "(none: no dev tenant was seeded)"),
        ("Console:", f"{url}/console   <- sign in with the API key"),
        ("AWS:", aws),
    ]
    labels = {"AWS::DynamoDB::Table": "Table:", "AWS::KMS::Key": "KMS key:"}
    for logical_id, physical in stack.physical.items():
        if label := labels.get(stack.type_of(logical_id)):
            rows.append((label, f"{physical['Ref']} ({logical_id})"))
    rows += [("Scheduled:", f"{rule.function_id}, {rule.schedule}") for rule in rules.scheduled]
    account = f"put events as {stack.account_id}, allowed for the dev tenant"
    rows += [("Event rule:", f"{r.function_id} <- bus {r.bus} ({account})") for r in rules.relayed]
    rows += [("Queue:", f"{r.function_id} <- {r.queue}") for r in rules.polled]
    rows += [("Not run:", f"{r.function_id}, {r.schedule or 'event rule'}") for r in rules.skipped]
    if demo is not None:
        rows.append(("Demo provider:", f"{demo[0].base_url} (OAuth 2.0, approves at once)"))
        rows.append(("Demo integration:", f"{demo[1]} (connect with it; see README)"))
    lines = ["", "Keyfob is running locally", *(f"  {k:<18}{v}" for k, v in rows)]
    keyed = [
        (len(r.path), r.path, r.authorizer.identity[0][1])
        for r in gateway.routes
        if r.method == "GET" and "{" not in r.path and r.authorizer and r.authorizer.identity
    ]
    for _, path, header in sorted(keyed)[:1]:
        lines += ["", "Try:", f"  curl -s -H '{header}: {key or '<api key>'}' {url}{path}"]
    return "\n".join([*lines, "", "Ctrl-C to stop.", ""])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # Both stop: explicit, as a background job may have inherited SIGINT as ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    endpoint = os.environ.get("KEYFOB_AWS_ENDPOINT_URL") or None
    real = args.aws == "real" and endpoint is None
    preset = "KEYFOB_TABLE" in os.environ and "KEYFOB_KMS_KEY_ID" in os.environ
    public_url = os.environ.get("KEYFOB_PUBLIC_URL") or None
    with contextlib.ExitStack() as running:  # stops what started, in reverse
        running.callback(print, "stopped", file=sys.stderr)
        try:
            if endpoint:
                use_local_endpoint(endpoint, dummy_credentials=False)
                aws = f"endpoint {endpoint}"
            elif real:
                region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                aws = f"real AWS ({region or 'region from your AWS config'})"
                log.info("provisioning the template's resources in real AWS")
            else:
                endpoint = running.enter_context(EmbeddedAWS()).endpoint_url
                use_local_endpoint(endpoint, dummy_credentials=True)
                aws = f"embedded moto at {endpoint} (in memory: gone on exit)"
            stack = provision(args.template, None, endpoint, args.stack_name, create=not preset)
            backed = resource_backed_variables(stack)
            env = shell_overrides(stack.function_env, backed, provisioned=not preset)
            env["KEYFOB_ALLOW_HTTP_LOOPBACK"] = os.environ.get("KEYFOB_ALLOW_HTTP_LOOPBACK", "true")
            # Listening from now on, answering 503 until the dev tenant is there.
            gateway = running.enter_context(Gateway(stack, env, args.host, args.port, ready=False))
            public_url = public_url or gateway.url
            os.environ["KEYFOB_PUBLIC_URL"] = gateway.env["KEYFOB_PUBLIC_URL"] = public_url
            # A relay only on the buses made here: on a real one, the deployed rule invokes.
            rules = Rules(gateway, stack.rules(), relay=not (real or preset))
            api_key, demo = None, None
            try:
                tenant_id, api_key = seed.seed_tenant(args.api_key)
                if rules.relayed:
                    seed.allow_account(tenant_id, stack.account_id)
                if args.demo_provider:
                    demo = seed.start_demo_provider(tenant_id, public_url)
                    running.callback(demo[0].stop)
            except Exception:  # keep serving; the traceback says why
                log.exception("could not seed the dev tenant (or its demo integration)")
            running.callback(rules.start().stop)
            gateway.ready.set()
            print(_banner(gateway, api_key, aws, rules, demo), flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            for signum in (signal.SIGINT, signal.SIGTERM):  # another one: let the stop finish
                signal.signal(signum, signal.SIG_IGN)
        except (OSError, TemplateError, BotoCoreError, ClientError) as error:
            log.error("devstack could not start: %s", error)
            return 1
    return 0


if __name__ == "__main__":
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    # All stopped and flushed: skip tearing down every module the functions loaded (~1 s).
    os._exit(code)
