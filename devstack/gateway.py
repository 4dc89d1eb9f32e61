"""A stand-in for an API Gateway HTTP API, invoking the functions locally: the translated
template's routes with API Gateway's precedence, payload format 2.0 events, the Lambda
REQUEST authorizer with simple responses cached for its TTL, API Gateway's own error
responses. EventBridge's rules are ``devstack.rules``'."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from http.client import responses
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer
from werkzeug.wrappers import Request

from .moto_server import close, serve
from .runtime import FunctionError, LocalFunction, lambda_json
from .template import Route, Stack

log = logging.getLogger("devstack.gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
STARTING = "Keyfob is starting: the local stack is not ready yet, try again in a moment"
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "upgrade", "transfer-encoding"}
Response = tuple[int, list[tuple[str, str]], bytes]


class _Reply(Exception):
    """Stop handling and answer with an API Gateway-generated response."""

    def __init__(self, status: int, message: str, *headers: tuple[str, str]) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, list(headers)


def _precedence(route: Route) -> tuple[Any, ...]:
    """API Gateway's order: full matches, then greedy ({proxy+}), then $default; among
    them the most literal path (left to right), then a method over ANY."""
    kinds = [2 if p.endswith("+}") else 1 if p[:1] == "{" else 0 for p in route.path.split("/")[1:]]
    return (route.path == "$default", 2 in kinds, kinds, route.method == "ANY")


def _match(route: Route, method: str, path: str) -> dict[str, str] | None:
    """The path parameters of a request the route takes; None when it does not."""
    pattern = ".*" if route.path == "$default" else re.escape(route.path)
    pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", pattern)  # {proxy+}: the rest
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)  # {id}: one segment
    found = re.fullmatch(pattern, path, re.DOTALL) if route.method in ("ANY", method) else None
    return found.groupdict() if found else None


class Gateway:
    """A template's HTTP API routes served locally, the functions run in-process. ``env`` goes
    into ``os.environ`` while it runs, the layers onto ``sys.path``. Until it is ready
    (``ready=True``, or ``ready.set()``), every request is answered 503 (``STARTING``)."""

    def __init__(
        self,
        template: str | Path | Stack,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ready: bool = True,
    ) -> None:
        self.stack = template if isinstance(template, Stack) else Stack(template)
        self.env, self.host, self.port = dict(env or {}), host, port
        region, account_id = self.stack.region, self.stack.account_id
        self.functions = {
            name: LocalFunction(spec, region=region, account_id=account_id)
            for name, spec in self.stack.functions().items()
        }
        self.routes = sorted(self.stack.routes(), key=_precedence)
        self.api_ids = {r.api_id: str(self.stack.attributes(r.api_id)["Ref"]) for r in self.routes}
        self.ready = threading.Event()
        if ready:
            self.ready.set()
        self._server: BaseWSGIServer | None = None
        self._saved_env: dict[str, str | None] = {}
        self._auth_cache: dict[tuple[str, ...], tuple[float, bool, Any]] = {}
        self._auth_lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("Gateway is not started")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def start(self) -> Gateway:
        if self._server is not None:
            return self
        for name, value in self.env.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        layers = dict.fromkeys(str(p) for f in self.functions.values() for p in f.spec.layer_dirs)
        sys.path[:0] = [path for path in layers if path not in sys.path]
        self._server = serve(self.wsgi_app, self.host, self.port)
        self.port = self._server.server_port
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            close(server)
        saved, self._saved_env = self._saved_env, {}
        os.environ.update({name: value for name, value in saved.items() if value is not None})
        for name in [name for name, value in saved.items() if value is None]:
            del os.environ[name]

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear_authorizer_cache(self) -> None:
        with self._auth_lock:
            self._auth_cache.clear()

    def invoke(self, function_id: str, event: Any) -> Any:
        """Invoke a function directly (an EventBridge event, say); returns its result."""
        return self.functions[function_id].invoke(event)

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started, request = time.monotonic(), Request(environ)
        request_id = base64.b64encode(secrets.token_bytes(11)).decode()
        logged = f"{request.method} (no route)"  # never the path or query: they hold secrets
        try:
            if not self.ready.is_set():
                logged = f"{request.method} (starting)"
                raise _Reply(503, STARTING, ("Retry-After", "1"))
            for route in self.routes:
                if (params := _match(route, request.method, request.path)) is not None:
                    logged = route.key
                    status, headers, body = self._serve(request, request_id, route, params)
                    break
            else:
                raise _Reply(404, "Not Found")
        except Exception as error:
            if not isinstance(error, _Reply):  # a bug in the gateway itself
                log.exception("devstack gateway error")
                error = _Reply(500, "Internal Server Error")
            body = json.dumps({"message": error.message}, separators=(",", ":")).encode()
            status, headers = error.status, [("Content-Type", "application/json"), *error.headers]
        headers.append(("apigw-requestid", request_id))
        if 100 <= status < 200 or status in (204, 304):
            body = b""  # no body, and no Content-Length (RFC 9110)
        else:
            headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {responses.get(status, 'Unknown')}", headers)
        log.info("%s -> %s (%.1f ms)", logged, status, (time.monotonic() - started) * 1000)
        return [b"" if request.method == "HEAD" else body]

    def _event(
        self, request: Request, request_id: str, route: Route, params: dict[str, str]
    ) -> dict[str, Any]:
        """What the function's and the authorizer's events share (payload format 2.0)."""
        data = bytearray()
        while chunk := request.stream.read(1 << 20):  # read to the end, keep what may be kept
            data += chunk[: MAX_BODY_BYTES + 1 - len(data)]
        if len(data) > MAX_BODY_BYTES:
            raise _Reply(413, "Request Entity Too Large")
        headers = {k.lower(): v for k, v in request.headers.items()}
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        source_ip = request.remote_addr or "127.0.0.1"
        forwarded = headers.get("x-forwarded-for")
        headers |= {
            "content-length": str(len(data)),
            "x-forwarded-for": f"{forwarded}, {source_ip}" if forwarded else source_ip,
            "x-forwarded-port": str(request.environ.get("SERVER_PORT", self.port)),
            "x-forwarded-proto": request.scheme,
            "x-amzn-trace-id": f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}",
        }
        epoch, domain = time.time(), headers.get("host", "")
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.key,
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode("latin-1"),
            "cookies": cookies,
            "headers": {k: v for k, v in sorted(headers.items()) if k not in _HOP_BY_HOP},
            "queryStringParameters": {k: ",".join(request.args.getlist(k)) for k in request.args},
            "requestContext": {
                "accountId": self.stack.account_id,
                "apiId": self.api_ids[route.api_id],
                "domainName": domain,
                "domainPrefix": domain.split(":")[0].split(".")[0],
                "http": {
                    "method": request.method,
                    "path": request.path,
                    "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                    "sourceIp": source_ip,
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route.key,
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch)),
                "timeEpoch": int(epoch * 1000),
            },
            "pathParameters": params,
            "body": bytes(data),
        }
        return {key: value for key, value in event.items() if value or key == "rawQueryString"}

    def _serve(
        self, request: Request, request_id: str, route: Route, params: dict[str, str]
    ) -> Response:
        event = self._event(request, request_id, route, params)
        body = event.pop("body", b"")
        if route.authorizer is not None:
            items = list(event["requestContext"].items())  # accountId, apiId, authorizer, ...
            authorizer = ("authorizer", self._authorize(request, route, event))
            event["requestContext"] = dict([*items[:2], authorizer, *items[2:]])
        text = None
        if event["headers"].get("content-type", "").lower().startswith(_TEXT_TYPES):
            with contextlib.suppress(UnicodeDecodeError):
                text = body.decode()
        if body:
            event["body"] = base64.b64encode(body).decode() if text is None else text
        event["isBase64Encoded"] = bool(body) and text is None
        try:
            value = self.functions[route.function_id].invoke(event, wait=route.timeout_ms / 1000)
        except FunctionError as error:
            if error.error_type == "RequestEntityTooLarge":
                raise _Reply(413, "Request Entity Too Large") from error
            if error.error_type == "Sandbox.Timedout" and not error.timed_out:
                raise _Reply(503, "Service Unavailable") from error  # integration timeout
            raise _Reply(500, "Internal Server Error") from error
        try:
            return self._response(value)
        except ValueError as error:
            log.error("%s: malformed Lambda proxy response: %s", route.function_id, error)
            raise _Reply(500, "Internal Server Error") from error

    def _authorize(self, request: Request, route: Route, event: dict[str, Any]) -> dict[str, Any]:
        authorizer = route.authorizer
        assert authorizer is not None
        query = event.get("queryStringParameters", {})
        sources = {"header": event["headers"], "querystring": query}
        identity = [sources[where].get(name, "") for where, name in authorizer.identity]
        if not all(identity):
            raise _Reply(401, "Unauthorized")
        key = (route.api_id, authorizer.name, *identity)
        with self._auth_lock:
            cached = self._auth_cache.get(key) if authorizer.ttl and identity else None
        if cached is None or cached[0] <= time.monotonic():
            arn = (
                f"arn:aws:execute-api:{self.stack.region}:{self.stack.account_id}:"
                f"{self.api_ids[route.api_id]}/$default/{request.method}{request.path}"
            )
            asked = {"type": "REQUEST", "routeArn": arn, "identitySource": identity, **event}
            try:
                value = self.functions[authorizer.function_id].invoke(asked, wait=30)
            except FunctionError as error:
                log.error("authorizer %s failed: %s", authorizer.name, error)
                raise _Reply(500, "Internal Server Error") from error
            allowed = value.get("isAuthorized") if isinstance(value, dict) else None
            context = value.get("context") if isinstance(value, dict) else None
            if not isinstance(allowed, bool) or not isinstance(context, dict | None):
                log.error("authorizer %s: not a simple response: %.200r", authorizer.name, value)
                raise _Reply(500, "Internal Server Error")
            cached = (time.monotonic() + authorizer.ttl, allowed, context)
            if authorizer.ttl and identity:
                with self._auth_lock:
                    self._auth_cache[key] = cached
        if not cached[1]:
            raise _Reply(403, "Forbidden")
        return {"lambda": cached[2]}

    @staticmethod
    def _response(value: Any) -> Response:
        """A payload format 2.0 response: ValueError when malformed."""
        if not (isinstance(value, dict) and "statusCode" in value):
            # Not a structured response: API Gateway infers 200, JSON, the payload as body.
            return 200, [("Content-Type", "application/json")], lambda_json(value).encode()
        status, body = value["statusCode"], value.get("body")
        status = int(status) if isinstance(status, str) and status.isdigit() else status
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"invalid statusCode {value['statusCode']!r}")
        headers, cookies = value.get("headers") or {}, value.get("cookies") or []
        if not isinstance(headers, dict) or not isinstance(cookies, list):
            raise ValueError("headers must be an object, cookies a list")
        pairs = [*headers.items(), *(("Set-Cookie", cookie) for cookie in cookies)]
        if any(isinstance(v, dict | list) or v is None for _, v in pairs):
            raise ValueError("header values must be strings")
        mapped = [(str(k), str(v).lower() if isinstance(v, bool) else str(v)) for k, v in pairs]
        mapped = [(k, v) for k, v in mapped if k.lower() not in {"content-length", *_HOP_BY_HOP}]
        for name, text in mapped:
            if "\n" in text or "\r" in text or max(map(ord, name + text), default=0) > 255:
                raise ValueError(f"header {name!r}: line breaks or not latin-1")
        if not any(name.lower() == "content-type" for name, _ in mapped):
            mapped.append(("Content-Type", "text/plain; charset=utf-8"))
        if body is not None and not isinstance(body, str):
            raise ValueError("body must be a string")
        if value.get("isBase64Encoded") is not True:
            return status, mapped, (body or "").encode()
        try:
            return status, mapped, base64.b64decode(body or "", validate=True)
        except binascii.Error as error:
            raise ValueError(f"body is not valid base64: {error}") from error
