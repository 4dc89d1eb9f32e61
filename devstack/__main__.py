"""``python -m devstack``: run Keyfob locally (see the package docstring)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .demo import CALLBACK_PATH, start_demo_provider
from .event_rules import RuleRelay
from .gateway import Gateway
from .moto_server import EmbeddedAWS, silence_werkzeug, use_local_endpoint
from .oauth_provider import OAuthServer
from .resources import Resources, placeholder_resources, provision, resource_backed_variables
from .scheduler import Scheduler
from .template import ACCOUNT_ID, DEFAULT_REGION, Template, TemplateError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "template.yaml"
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
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help=argparse.SUPPRESS)
    parser.add_argument("--stack-name", default="keyfob-local", help=argparse.SUPPRESS)
    return parser


def _function_environment(
    template: Template, endpoint_url: str | None, real: bool, stack_name: str
) -> tuple[dict[str, str], Resources | None]:
    preset = "KEYFOB_TABLE" in os.environ and "KEYFOB_KMS_KEY_ID" in os.environ
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if preset:
        resources = placeholder_resources(template, stack_name, region or DEFAULT_REGION)
        env = resources.function_env
        for name in sorted(resource_backed_variables(template)):
            if name not in os.environ:
                log.warning(
                    "%s names a resource but provisioning was skipped (KEYFOB_TABLE and "
                    "KEYFOB_KMS_KEY_ID are set): set %s too",
                    name,
                    name,
                )
        return env, None
    session_kwargs: dict[str, Any] = {}
    if region:
        session_kwargs["region_name"] = region
    if real:
        log.info("provisioning template resources in real AWS (stack %s)", stack_name)
    resources = provision(template, session_kwargs, endpoint_url, stack_name)
    return resources.function_env, resources


def shell_overrides(
    env: dict[str, str], template: Template, *, provisioned: bool
) -> dict[str, str]:
    """The functions' environment with the shell's own settings winning
    (``POWERTOOLS_LOG_LEVEL=DEBUG``, a tunnel's ``KEYFOB_PUBLIC_URL`` ...), except for variables
    naming provisioned resources: those always come from provisioning when it ran."""
    fixed = resource_backed_variables(template) if provisioned else set()
    result = dict(env)
    for name, value in env.items():
        shell = os.environ.get(name)
        if name in fixed or shell is None or shell == value:
            continue
        if name == "KEYFOB_PUBLIC_URL" and not shell:
            continue
        log.info("using %s from the environment", name)
        result[name] = shell
    return result


def _seed_tenant(api_key: str | None) -> tuple[str, str] | None:
    """The dev tenant: reused when the given key already opens one (a persistent backend)."""
    from keyfob.services.tenants import create_tenant, tenant_for_api_key

    try:
        if api_key and (existing := tenant_for_api_key(api_key)):
            return existing, api_key
        tenant, key = create_tenant(name="dev", api_key=api_key)
    except Exception:  # keep serving; the traceback says why
        log.exception("could not seed the dev tenant")
        return None
    return tenant.id, key


def _allow_local_account(tenant_id: str, aws_account: str) -> None:
    """Events put on the local endpoint come from its one account: it acts for the dev
    tenant, so that commands can be tried at once."""
    try:
        from keyfob.services.tenants import allow_aws_account

        allow_aws_account(tenant_id, aws_account)
    except Exception:  # keep serving; the traceback says why
        log.exception("could not let account %s put commands for the dev tenant", aws_account)


def _sample_route(gateway: Gateway) -> str:
    for route in gateway.routes:
        spec = route.spec
        plain = "{" not in spec.path and spec.path != "$default"
        if spec.method in ("GET", "ANY") and plain and spec.authorizer is not None:
            return spec.path
    return "/"


def _identity_header(gateway: Gateway) -> str:
    for api in gateway.apis.values():
        for authorizer in api.authorizers.values():
            if authorizer.identity_headers:
                return authorizer.identity_headers[0]
    return "x-api-key"


def _banner(
    gateway: Gateway,
    public_url: str,
    api_key: str | None,
    aws_description: str,
    resources: Resources | None,
    demo: tuple[OAuthServer, str] | None,
    scheduler: Scheduler,
    relay: RuleRelay | None,
) -> str:
    key_text = api_key or "(none: no dev tenant was seeded)"
    lines = [
        "",
        "Keyfob is running locally",
        f"  Base URL:        {public_url}",
        f"  OAuth callback:  {public_url}{CALLBACK_PATH}   <- register this redirect URI",
        f"  Dev API key:     {key_text}",
        f"  AWS:             {aws_description}",
    ]
    if resources is not None:
        for logical_id, name in resources.tables.items():
            lines.append(f"  Table:           {name} ({logical_id})")
        for logical_id, key in resources.kms_keys.items():
            lines.append(f"  KMS key:         {key['KeyId']} ({logical_id})")
    for schedule in scheduler.schedules:
        lines.append(f"  Scheduled:       {schedule.function_id}, {schedule.expression}")
    for schedule in scheduler.skipped:
        lines.append(f"  Not scheduled:   {schedule.function_id}, {schedule.expression}")
    for rule in relay.rules if relay else ():
        account = resources.account_id if resources else ACCOUNT_ID
        lines.append(
            f"  Event rule:      {rule.function_id} <- bus {rule.bus} "
            f"(put events as {account}, allowed for the dev tenant)"
        )
    if demo is not None:
        provider, integration_id = demo
        lines.append(f"  Demo provider:   {provider.base_url} (OAuth 2.0, approves at once)")
        lines.append(f"  Demo integration: {integration_id} (connect with it; see README)")
    header = _identity_header(gateway)
    lines += [
        "",
        "Try:",
        f"  curl -s -H '{header}: {api_key or '<api key>'}' {public_url}{_sample_route(gateway)}",
        "",
        "Ctrl-C to stop.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr
    )
    silence_werkzeug()
    logging.getLogger("botocore").setLevel(logging.WARNING)
    template = Template.load(args.template, stack_name=args.stack_name)

    embedded: EmbeddedAWS | None = None
    endpoint_url = os.environ.get("KEYFOB_AWS_ENDPOINT_URL") or None
    real = args.aws == "real" and endpoint_url is None
    if endpoint_url:
        use_local_endpoint(endpoint_url, dummy_credentials=False)
        aws_description = f"endpoint {endpoint_url}"
    elif real:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        aws_description = f"real AWS ({region or 'region from your AWS config'})"
    else:
        embedded = EmbeddedAWS()
        endpoint_url = embedded.endpoint_url
        use_local_endpoint(endpoint_url, dummy_credentials=True)
        aws_description = f"embedded moto at {endpoint_url} (in memory: gone on exit)"

    gateway: Gateway | None = None
    scheduler: Scheduler | None = None
    relay: RuleRelay | None = None
    demo: tuple[OAuthServer, str] | None = None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        env, resources = _function_environment(template, endpoint_url, real, args.stack_name)
        env = shell_overrides(env, template, provisioned=resources is not None)
        preset_public_url = os.environ.get("KEYFOB_PUBLIC_URL") or None
        env["KEYFOB_ALLOW_HTTP_LOOPBACK"] = os.environ.get("KEYFOB_ALLOW_HTTP_LOOPBACK", "true")
        os.environ.update(env)
        gateway = Gateway(
            template,
            env,
            host=args.host,
            port=args.port,
            stack_name=args.stack_name,
            region=resources.region if resources else os.environ.get("AWS_REGION") or None,
            account_id=resources.account_id if resources else ACCOUNT_ID,
        )
        try:
            gateway.start()
        except OSError as error:
            log.error("cannot listen on %s:%s: %s", args.host, args.port, error)
            return 1
        public_url = preset_public_url or gateway.url
        os.environ["KEYFOB_PUBLIC_URL"] = gateway.env["KEYFOB_PUBLIC_URL"] = public_url
        # Rules on a real bus are left alone: there, the deployed rule invokes Lambda.
        local = resources if resources is not None and not real else None
        seeded = _seed_tenant(args.api_key)
        if seeded is not None and args.demo_provider:
            demo = start_demo_provider(seeded[0], public_url)
        scheduler = Scheduler(gateway, template.schedules()).start()
        if local is not None:
            relay = RuleRelay(gateway, template.event_rules(local.physical)).start()
            if seeded is not None and relay.rules:
                _allow_local_account(seeded[0], local.account_id)
        banner = _banner(
            gateway,
            public_url,
            seeded[1] if seeded else None,
            aws_description,
            resources,
            demo,
            scheduler,
            relay,
        )
        print(banner, flush=True)
        # Explicit handlers: a background job may have inherited SIGINT as ignored.
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    except (TemplateError, BotoCoreError, ClientError) as error:
        log.error("devstack could not start: %s", error)
        return 1
    finally:
        if relay is not None:
            relay.stop()
        if scheduler is not None:
            scheduler.stop()
        if demo is not None:
            demo[0].stop()
        if gateway is not None:
            gateway.stop()
        if embedded is not None:
            embedded.stop()
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
