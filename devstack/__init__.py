"""devstack: run Keyfob locally without Docker, driven entirely by ``template.yaml``.

Run it::

    .venv/bin/python -m devstack                  # http://127.0.0.1:3000, embedded moto
    .venv/bin/python -m devstack --port 8080 --api-key dev-key
    KEYFOB_AWS_ENDPOINT_URL=http://localhost:5000 .venv/bin/python -m devstack
    .venv/bin/python -m devstack --aws real       # real AWS, default credential chain

What it does:

* ``moto_server.EmbeddedAWS`` starts moto in-process (DynamoDB, KMS, SQS, EventBridge ... at
  one loopback endpoint) unless an endpoint or real AWS is asked for.
* ``resources.provision`` creates the template's tables (GSIs, TTL, PITR), KMS keys and
  aliases, SQS queues and EventBridge buses, reusing what exists, and resolves every
  function's ``Environment.Variables`` (Globals merged) against the physical ids. It is
  skipped when ``KEYFOB_TABLE`` and ``KEYFOB_KMS_KEY_ID`` are already set.
* ``gateway.Gateway`` behaves like an API Gateway HTTP API: the template's routes with API
  Gateway's precedence, payload format 2.0 events, Lambda REQUEST authorizers (simple or
  IAM responses, cached for ``ReauthorizeEvery``), API Gateway's error responses (401, 403,
  404, 413, 500, 503) and response mapping. Handlers run in-process (``runtime``), imported
  from their CodeUri under unique module names, one module instance per concurrent
  execution environment; the template's layers are on ``sys.path`` like ``/opt/python``.
* A ``dev`` tenant is seeded with ``keyfob.tenants.create_tenant`` and its API key printed.
* ``scheduler.Scheduler`` runs the ``Schedule`` events; ``event_rules.RuleRelay`` the
  ``EventBridgeRule`` events (a rule with the template's pattern, relayed through an SQS
  queue to the function, as moto cannot invoke Lambda), and the endpoint's account may
  put commands for the dev tenant.

Differences from AWS to keep in mind: all functions share one process, so one
``os.environ`` (a variable with different values per function keeps the first) and one copy
of each layer / site-packages module; a handler's sibling modules must be imported at module
level (the code directory is only on ``sys.path`` while the handler module loads); IAM
policies, KMS key policies and resource policies are not enforced; DynamoDB TTL never
deletes items; a rule's function errors are logged, not retried; JWT authorizers, payload
format 1.0 and CORS configuration are not emulated.

Library use (tests)::

    from devstack import EmbeddedAWS, Gateway, provision
    with EmbeddedAWS() as aws:
        resources = provision("template.yaml", {"region_name": "us-east-1"}, aws.endpoint_url)
        env = {**resources.function_env, "AWS_ENDPOINT_URL": aws.endpoint_url}
        with Gateway("template.yaml", env) as gateway:
            requests.get(f"{gateway.url}/v1/apps", headers={"x-api-key": "..."})
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .gateway import Gateway
    from .moto_server import EmbeddedAWS
    from .resources import Resources, provision
    from .runtime import LambdaContext, LocalFunction
    from .template import IntrinsicResolver, Template, TemplateError, load_template

# Imported lazily: ``python -m devstack.openapi`` needs none of boto3, moto or werkzeug.
_EXPORTS = {
    "EmbeddedAWS": "moto_server",
    "Gateway": "gateway",
    "IntrinsicResolver": "template",
    "LambdaContext": "runtime",
    "LocalFunction": "runtime",
    "Resources": "resources",
    "Template": "template",
    "TemplateError": "template",
    "load_template": "template",
    "provision": "resources",
}
__all__ = [
    "EmbeddedAWS",
    "Gateway",
    "IntrinsicResolver",
    "LambdaContext",
    "LocalFunction",
    "Resources",
    "Template",
    "TemplateError",
    "load_template",
    "provision",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
