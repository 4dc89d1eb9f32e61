"""``python -m devstack``: run Keyfob locally (see the package docstring)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from botocore.exceptions import BotoCoreError, ClientError

from . import seed
from .gateway import Gateway
from .moto_server import EmbeddedAWS, silence_werkzeug, use_local_endpoint
from .oauth_provider import OAuthServer
from .resources import provision, resource_backed_variables
from .rules import Rules
from .template import Stack, TemplateError

log = logging.getLogger("devstack")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Run Keyfob locally: an embedded AWS (moto), the template's resources, "
        "and an API Gateway-like HTTP server running the functions in-process.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("KEYFOB_DEV_PORT", "3000")),
        help="port to listen on (env KEYFOB_DEV_PORT; default 3000; 0 picks a free one)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("KEYFOB_DEV_API_KEY"),
        help="API key for the seeded 'dev' tenant (env KEYFOB_DEV_API_KEY; default: generated)",
    )
    parser.add_argument(
        "--aws",
        choices=["embedded", "real"],
        default=os.environ.get("KEYFOB_AWS", "embedded"),
        help="embedded moto (default), or real AWS with the default credential chain "
        "(env KEYFOB_AWS). KEYFOB_AWS_ENDPOINT_URL points at another endpoint instead.",
    )
    parser.add_argument(
        "--no-demo-provider",
        dest="demo_provider",
        action="store_false",
        default=os.environ.get("KEYFOB_DEV_DEMO_PROVIDER", "true").lower() != "false",
        help="do not start the demo OAuth 2.0 provider (env KEYFOB_DEV_DEMO_PROVIDER=false)",
    )
    template = Path(__file__).resolve().parent.parent / "template.yaml"
    parser.add_argument("--template", type=Path, default=template, help=argparse.SUPPRESS)
    parser.add_argument("--stack-name", default="keyfob-local", help=argparse.SUPPRESS)
    return parser


def shell_overrides(env: dict[str, str], backed: set[str], *, provisioned: bool) -> dict[str, str]:
    """The functions' environment with the shell's own settings winning
    (``POWERTOOLS_LOG_LEVEL=DEBUG``, a tunnel's ``KEYFOB_PUBLIC_URL`` ...), except the
    variables in ``backed``, naming a resource, when provisioning made it."""
    result = dict(env)
    for name, value in env.items():
        shell = os.environ.get(name)
        if shell is None and name in backed and not provisioned:
            log.warning("%s names a resource, which was not provisioned: set it too", name)
        if shell is None or shell == value or (name in backed and provisioned):
            continue
        if name != "KEYFOB_PUBLIC_URL" or shell:
            log.info("using %s from the environment", name)
            result[name] = shell
    return result


def _banner(
    gateway: Gateway,
    api_key: str | None,
    aws: str,
    rules: Rules,
    demo: tuple[OAuthServer, str] | None,
) -> str:
    url, stack = gateway.env["KEYFOB_PUBLIC_URL"], gateway.stack
    rows = [
        ("Base URL:", url),
        ("OAuth callback:", f"{url}{seed.CALLBACK_PATH}   <- register this redirect URI"),
        ("Dev API key:", api_key or "(none: no dev tenant was seeded)"),
        ("AWS:", aws),
    ]
    labels = {"AWS::DynamoDB::Table": "Table:", "AWS::KMS::Key": "KMS key:"}
    for logical_id, physical in stack.physical.items():
        if label := labels.get(stack.type_of(logical_id)):
            rows.append((label, f"{physical['Ref']} ({logical_id})"))
    rows += [("Scheduled:", f"{rule.function_id}, {rule.schedule}") for rule in rules.scheduled]
    account = f"put events as {stack.account_id}, allowed for the dev tenant"
    rows += [("Event rule:", f"{r.function_id} <- bus {r.bus} ({account})") for r in rules.relayed]
    rows += [("Not run:", f"{r.function_id}, {r.schedule or 'event rule'}") for r in rules.skipped]
    if demo is not None:
        rows.append(("Demo provider:", f"{demo[0].base_url} (OAuth 2.0, approves at once)"))
        rows.append(("Demo integration:", f"{demo[1]} (connect with it; see README)"))
    lines = ["", "Keyfob is running locally", *(f"  {k:<18}{v}" for k, v in rows)]
    secured = [
        r for r in gateway.routes if r.method == "GET" and r.authorizer and "{" not in r.path
    ]
    sample = min(secured, key=lambda route: len(route.path), default=None)
    if sample is not None and sample.authorizer and sample.authorizer.identity:
        header = sample.authorizer.identity[0][1]
        lines += ["", "Try:", f"  curl -s -H '{header}: {api_key}' {url}{sample.path}"]
    return "\n".join([*lines, "", "Ctrl-C to stop.", ""])


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr
    )
    silence_werkzeug()
    logging.getLogger("botocore").setLevel(logging.WARNING)
    # Explicit handlers: a background job may have inherited SIGINT as ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    endpoint = os.environ.get("KEYFOB_AWS_ENDPOINT_URL") or None
    real = args.aws == "real" and endpoint is None
    preset = "KEYFOB_TABLE" in os.environ and "KEYFOB_KMS_KEY_ID" in os.environ
    public_url = os.environ.get("KEYFOB_PUBLIC_URL") or None
    embedded: EmbeddedAWS | None = None
    gateway: Gateway | None = None
    rules: Rules | None = None
    demo: tuple[OAuthServer, str] | None = None
    try:
        if endpoint:
            use_local_endpoint(endpoint, dummy_credentials=False)
            aws = f"endpoint {endpoint}"
        elif real:
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            aws = f"real AWS ({region or 'region from your AWS config'})"
            log.info(
                "provisioning the template's resources in real AWS (stack %s)", args.stack_name
            )
        else:
            embedded = EmbeddedAWS()
            endpoint = embedded.endpoint_url
            use_local_endpoint(endpoint, dummy_credentials=True)
            aws = f"embedded moto at {endpoint} (in memory: gone on exit)"
        stack = Stack(args.template, stack_name=args.stack_name)
        stack = provision(stack, None, endpoint, create=not preset)
        backed = resource_backed_variables(stack)
        env = shell_overrides(stack.function_env, backed, provisioned=not preset)
        env["KEYFOB_ALLOW_HTTP_LOOPBACK"] = os.environ.get("KEYFOB_ALLOW_HTTP_LOOPBACK", "true")
        gateway = Gateway(stack, env, args.host, args.port, ready=False)
        try:
            gateway.start()  # answering 503 until the dev tenant is there
        except OSError as error:
            log.error("cannot listen on %s:%s: %s", args.host, args.port, error)
            return 1
        public_url = public_url or gateway.url
        os.environ["KEYFOB_PUBLIC_URL"] = gateway.env["KEYFOB_PUBLIC_URL"] = public_url
        # On a real bus the deployed rule invokes the deployed function: no relay.
        rules = Rules(gateway, stack.rules(), relay=not real)
        api_key = None
        try:
            tenant_id, api_key = seed.seed_tenant(args.api_key)
            if rules.relayed:
                seed.allow_account(tenant_id, stack.account_id)
            if args.demo_provider:
                demo = seed.start_demo_provider(tenant_id, public_url)
        except Exception:  # keep serving; the traceback says why
            log.exception("could not seed the dev tenant (or its demo integration)")
        rules.start()
        gateway.mark_ready()
        print(_banner(gateway, api_key, aws, rules, demo), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except (TemplateError, BotoCoreError, ClientError) as error:
        log.error("devstack could not start: %s", error)
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # another one: let the stop finish
            signal.signal(signum, signal.SIG_IGN)
        if rules is not None:
            rules.stop()
        if demo is not None:
            demo[0].stop()
        if gateway is not None:
            gateway.stop()
        if embedded is not None:
            embedded.stop()
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    # All stopped and flushed: skip tearing down every module the functions loaded (~1 s).
    os._exit(code)
