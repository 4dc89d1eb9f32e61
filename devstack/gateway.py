"""A local stand-in for an API Gateway HTTP API (payload format 2.0, Lambda authorizers)."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .moto_server import silence_werkzeug
from .resources import api_id_for
from .runtime import FunctionError, InvocationResult, LocalFunction, PayloadTooLarge
from .template import (
    ACCOUNT_ID,
    DEFAULT_REGION,
    AuthorizerSpec,
    HttpApiSpec,
    RouteSpec,
    Template,
    TemplateError,
)

__all__ = ["MAX_BODY_BYTES", "Gateway", "Route"]

log = logging.getLogger("devstack.gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INTEGRATION_TIMEOUT_SECONDS = 30.0  # HTTP API's maximum integration timeout
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DROPPED_REQUEST_HEADERS = {"cookie", "connection", "keep-alive", "proxy-connection", "upgrade"}
_DROPPED_RESPONSE_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}

_LITERAL, _PARAM, _GREEDY = 0, 1, 2


class _Reply(Exception):
    """Stop handling and answer with an API Gateway-generated response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Malformed(Exception):
    """The function's response is not a valid payload format 2.0 response."""


def _json_reply(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return status, [("Content-Type", "application/json")], body


def _request_id() -> str:
    return base64.b64encode(secrets.token_bytes(11)).decode()


def _trace_id(epoch: float) -> str:
    return f"Root=1-{int(epoch):08x}-{secrets.token_hex(12)}"


def _clf_time(epoch: float) -> str:
    t = time.gmtime(epoch)
    clock = time.strftime("%H:%M:%S", t)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{clock} +0000"


def _wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _policy_allows(policy: Any, route_arn: str) -> bool:
    """IAM evaluation of an authorizer's policyDocument for execute-api:Invoke."""
    if not isinstance(policy, Mapping):
        raise _Malformed("policyDocument must be an object")
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise _Malformed("policyDocument.Statement must be a list")
    allowed = False
    for statement in statements:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not any(_wildcard(a, "execute-api:Invoke", ignore_case=True) for a in actions):
            continue
        if not any(_wildcard(r, route_arn) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


@dataclass(frozen=True)
class Route:
    """A compiled route: its template spec and how its path matches."""

    spec: RouteSpec
    segments: tuple[tuple[int, str], ...]

    @classmethod
    def compile(cls, spec: RouteSpec) -> Route:
        segments: list[tuple[int, str]] = []
        if spec.path != "$default":
            parts = spec.path.split("/")[1:]
            for index, part in enumerate(parts):
                if part.startswith("{") and part.endswith("+}"):
                    if index != len(parts) - 1:
                        raise TemplateError(f"{spec.path}: a greedy variable must come last")
                    segments.append((_GREEDY, part[1:-2]))
                elif part.startswith("{") and part.endswith("}"):
                    segments.append((_PARAM, part[1:-1]))
                else:
                    segments.append((_LITERAL, part))
        return cls(spec, tuple(segments))

    @property
    def is_default(self) -> bool:
        return self.spec.path == "$default"

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """API Gateway's precedence: full matches, then greedy ({proxy+}), then $default;
        among those the most literal path (left to right), then a method over ANY."""
        greedy = any(kind == _GREEDY for kind, _ in self.segments)
        kinds = tuple(kind for kind, _ in self.segments)
        return (self.is_default, greedy, kinds, self.spec.method == "ANY")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.spec.method not in ("ANY", method):
            return None
        if self.is_default:
            return {}
        parts = path.split("/")[1:] if path.startswith("/") else None
        if parts is None:
            return None
        params: dict[str, str] = {}
        for index, (kind, value) in enumerate(self.segments):
            if kind == _GREEDY:
                rest = "/".join(parts[index:])
                if not rest:
                    return None
                params[value] = rest
                return params
            if index >= len(parts):
                return None
            if kind == _LITERAL:
                if parts[index] != value:
                    return None
            elif not parts[index]:
                return None
            else:
                params[value] = parts[index]
        return params if len(parts) == len(self.segments) else None


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its request log and Server header."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() != "server":
            super().send_header(keyword, value)


@dataclass
class _Request:
    method: str
    raw_path: str
    path: str
    raw_query: str
    headers: dict[str, str]
    cookies: list[str]
    query: dict[str, str]
    body: bytes
    content_type: str
    source_ip: str
    protocol: str
    domain_name: str
    request_id: str
    epoch: float


class Gateway:
    """Serve a SAM template's HTTP API routes locally, invoking the handlers in-process.

    ``env`` is put into ``os.environ`` while the gateway runs (the functions' environment;
    restored by ``stop()``), and the template's local layers are put on ``sys.path``.
    """

    def __init__(
        self,
        template_path: str | Path | Template,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        stack_name: str = "keyfob-local",
        region: str | None = None,
        account_id: str = ACCOUNT_ID,
        enforce_timeouts: bool = True,
    ) -> None:
        if isinstance(template_path, Template):
            self.template = template_path
        else:
            self.template = Template.load(template_path, stack_name=stack_name)
        self.env = dict(env or {})
        self.host = host
        self.port = port
        self.stack_name = stack_name
        self.region = (
            region
            or self.env.get("AWS_REGION")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or DEFAULT_REGION
        )
        self.account_id = account_id
        self.apis: dict[str, HttpApiSpec] = self.template.http_apis()
        self.routes: list[Route] = sorted(
            (Route.compile(spec) for spec in self.template.routes()), key=lambda r: r.sort_key
        )
        resolver = self.template.resolver(region=self.region, account_id=account_id)
        self.functions: dict[str, LocalFunction] = {}
        for function_id, spec in self.template.functions().items():
            name = resolver.resolve(spec.function_name) if spec.function_name else None
            self.functions[function_id] = LocalFunction(
                spec,
                function_name=str(name) if name else f"{stack_name}-{function_id}",
                region=self.region,
                account_id=account_id,
                enforce_timeout=enforce_timeouts,
            )
        for route in self.routes:
            if route.spec.payload_format_version != "2.0":
                log.warning(
                    "%s: payload format %s is not supported locally; it will answer 500",
                    route.spec.route_key,
                    route.spec.payload_format_version,
                )
        for api in self.apis.values():
            for authorizer in api.authorizers.values():
                if authorizer.kind != "lambda" or authorizer.payload_format_version != "2.0":
                    log.warning(
                        "authorizer %s is not supported locally (only Lambda authorizers "
                        "with payload format 2.0); its routes will answer 500",
                        authorizer.name,
                    )
        for function in self.functions.values():
            if not function.spec.code_dir.is_dir():
                log.warning(
                    "%s: CodeUri %s does not exist; its routes will answer 500",
                    function.spec.logical_id,
                    function.spec.code_dir,
                )
        self.layer_paths = [str(p) for p in self.template.layer_paths()]
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}
        self._added_paths: list[str] = []
        self._auth_cache: dict[tuple[str, str, tuple[str, ...]], tuple[float, bool, Any]] = {}
        self._auth_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("Gateway is not started")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        return f"http://{host}:{self.port}"

    def start(self) -> Gateway:
        if self._server is not None:
            return self
        silence_werkzeug()
        for name, value in self.env.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        for path in reversed(self.layer_paths):
            if path not in sys.path:
                sys.path.insert(0, path)
                self._added_paths.append(path)
        server = make_server(
            self.host, self.port, self.wsgi_app, threaded=True, request_handler=_QuietHandler
        )
        server.daemon_threads = True  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever, name="devstack-gateway", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        for path in self._added_paths:
            if path in sys.path:
                sys.path.remove(path)
        self._added_paths.clear()

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def clear_authorizer_cache(self) -> None:
        with self._auth_lock:
            self._auth_cache.clear()

    def invoke(self, function_id: str, event: Any) -> Any:
        """Invoke a function directly (an EventBridge or SQS event, say); returns its result."""
        return self.functions[function_id].invoke(event).value

    # -- WSGI ------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.monotonic()
        request_id = _request_id()
        method = environ.get("REQUEST_METHOD", "GET").upper()
        raw_target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or "/"
        if not raw_target.startswith("/"):
            parts = urlsplit(raw_target)
            raw_target = parts.path + (f"?{parts.query}" if parts.query else "")
        raw_path, _, raw_query = raw_target.partition("?")
        try:
            status, headers, body = self._handle(environ, method, raw_path, raw_query, request_id)
        except Exception:  # a bug in the gateway itself
            log.exception("devstack gateway error")
            status, headers, body = _json_reply(500, "Internal Server Error")
        headers = [*headers, ("apigw-requestid", request_id)]
        if 100 <= status < 200 or status in (204, 304):
            body = b""  # no body, and no Content-Length (RFC 9110)
        else:
            headers.append(("Content-Length", str(len(body))))
        if method == "HEAD":
            body = b""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        start_response(f"{status} {phrase}", headers)
        log.info(
            "%s %s -> %s (%.1f ms)", method, raw_path, status, (time.monotonic() - started) * 1000
        )
        return [body]

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        length_header = environ.get("CONTENT_LENGTH") or ""
        if length_header.isdigit():
            remaining = int(length_header)
            too_large = remaining > MAX_BODY_BYTES
            chunks: list[bytes] = []
            while remaining > 0:
                chunk = stream.read(min(remaining, 1024 * 1024))
                if not chunk:
                    break
                remaining -= len(chunk)
                if not too_large:
                    chunks.append(chunk)
            if too_large:
                raise _Reply(413, "Request Entity Too Large")
            return b"".join(chunks)
        if environ.get("wsgi.input_terminated"):
            data = stream.read(MAX_BODY_BYTES + 1)
            if len(data) > MAX_BODY_BYTES:
                while stream.read(1024 * 1024):
                    pass
                raise _Reply(413, "Request Entity Too Large")
            return bytes(data)
        return b""

    def _parse(
        self, environ: dict[str, Any], method: str, raw_path: str, raw_query: str, request_id: str
    ) -> _Request:
        epoch = time.time()
        body = self._read_body(environ)
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = key[5:].lower().replace("_", "-")
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = key.lower().replace("_", "-")
            else:
                continue
            if name == "cookie":
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
            if name in _DROPPED_REQUEST_HEADERS or (name == "content-type" and not value):
                continue
            headers[name] = value
        source_ip = environ.get("REMOTE_ADDR", "127.0.0.1")
        forwarded = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{forwarded}, {source_ip}" if forwarded else source_ip
        headers["x-forwarded-port"] = str(environ.get("SERVER_PORT", self.port))
        headers["x-forwarded-proto"] = environ.get("wsgi.url_scheme", "http")
        headers["x-amzn-trace-id"] = _trace_id(epoch)
        headers["content-length"] = str(len(body))
        domain = headers.get("host") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        query: dict[str, str] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        return _Request(
            method=method,
            raw_path=raw_path,
            # HTTP APIs deliver (and route on) the percent-decoded path.
            path=unquote(raw_path),
            raw_query=raw_query,
            headers=dict(sorted(headers.items())),
            cookies=cookies,
            query=query,
            body=body,
            content_type=headers.get("content-type", ""),
            source_ip=source_ip,
            protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            domain_name=domain,
            request_id=request_id,
            epoch=epoch,
        )

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def _handle(
        self, environ: dict[str, Any], method: str, raw_path: str, raw_query: str, request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            request = self._parse(environ, method, raw_path, raw_query, request_id)
            found = self.match(method, request.path)
            if found is None:
                raise _Reply(404, "Not Found")
            route, params = found
            if route.spec.payload_format_version != "2.0":
                log.error(
                    "%s: payload format %s is not supported by devstack",
                    route.spec.route_key,
                    route.spec.payload_format_version,
                )
                raise _Reply(500, "Internal Server Error")
            context = self._request_context(request, route)
            authorizer = None
            if route.spec.authorizer is not None:
                spec = self.apis[route.spec.api_id].authorizers[route.spec.authorizer]
                authorizer = self._authorize(spec, request, route, params, context)
            event = self._event(request, route, params, context, authorizer)
            result = self._invoke(route.spec.function_id, event, route.spec.timeout_in_millis)
            try:
                return self._response(result)
            except _Malformed as error:
                log.error("%s: malformed Lambda proxy response: %s", route.spec.function_id, error)
                raise _Reply(500, "Internal Server Error") from error
        except _Reply as reply:
            return _json_reply(reply.status, reply.message)

    # -- events ----------------------------------------------------------------------------

    def _request_context(self, request: _Request, route: Route) -> dict[str, Any]:
        api_id = api_id_for(self.stack_name, route.spec.api_id)
        return {
            "accountId": self.account_id,
            "apiId": api_id,
            "domainName": request.domain_name,
            "domainPrefix": request.domain_name.split(":")[0].split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.headers.get("user-agent", ""),
            },
            "requestId": request.request_id,
            "routeKey": route.spec.route_key,
            "stage": "$default",
            "time": _clf_time(request.epoch),
            "timeEpoch": int(request.epoch * 1000),
        }

    @staticmethod
    def _common(
        request: _Request, route: Route, params: Mapping[str, str]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        head: dict[str, Any] = {
            "routeKey": route.spec.route_key,
            "rawPath": request.path,
            "rawQueryString": request.raw_query,
        }
        if request.cookies:
            head["cookies"] = list(request.cookies)
        head["headers"] = dict(request.headers)
        if request.query:
            head["queryStringParameters"] = dict(request.query)
        tail: dict[str, Any] = {}
        if params:
            tail["pathParameters"] = dict(params)
        return head, tail

    def _event(
        self,
        request: _Request,
        route: Route,
        params: Mapping[str, str],
        context: Mapping[str, Any],
        authorizer: dict[str, Any] | None,
    ) -> dict[str, Any]:
        head, tail = self._common(request, route, params)
        request_context = dict(context)
        if authorizer is not None:
            # Keep API Gateway's key order: accountId, apiId, authorizer, domainName, ...
            items = list(request_context.items())
            request_context = dict([*items[:2], ("authorizer", authorizer), *items[2:]])
        event: dict[str, Any] = {"version": "2.0", **head, "requestContext": request_context}
        is_base64 = False
        if request.body:
            media_type = request.content_type.split(";")[0].strip().lower()
            text = media_type.startswith("text/") or media_type in _TEXT_TYPES
            if text:
                try:
                    event["body"] = request.body.decode("utf-8")
                except UnicodeDecodeError:
                    text = False
            if not text:
                event["body"] = base64.b64encode(request.body).decode()
                is_base64 = True
        event.update(tail)
        event["isBase64Encoded"] = is_base64
        return event

    def _route_arn(self, request: _Request, route: Route) -> str:
        api_id = api_id_for(self.stack_name, route.spec.api_id)
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{api_id}/$default/"
            f"{request.method}{request.path}"
        )

    # -- authorizers -----------------------------------------------------------------------

    def _identity(
        self, spec: AuthorizerSpec, request: _Request, context: Mapping[str, Any]
    ) -> list[str] | None:
        values: list[str | None] = []
        values += [request.headers.get(name.lower()) for name in spec.identity_headers]
        values += [request.query.get(name) for name in spec.identity_query_strings]
        for name in spec.identity_context:
            value: Any = context
            for part in name.removeprefix("$context.").split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            values.append(None if value is None else str(value))
        values += [None for _ in spec.identity_stage_variables]  # no stage variables locally
        if any(not value for value in values):
            return None
        return [str(value) for value in values]

    def _authorize(
        self,
        spec: AuthorizerSpec,
        request: _Request,
        route: Route,
        params: Mapping[str, str],
        context: Mapping[str, Any],
    ) -> dict[str, Any]:
        supported = spec.kind == "lambda" and spec.payload_format_version == "2.0"
        if not supported or spec.function_id is None:
            log.error("authorizer %s is not supported by devstack", spec.name)
            raise _Reply(500, "Internal Server Error")
        identity = self._identity(spec, request, context)
        if identity is None:
            raise _Reply(401, "Unauthorized")
        cache_key = (route.spec.api_id, spec.name, tuple(identity))
        caching = spec.reauthorize_every > 0 and spec.has_identity_sources
        if caching:
            with self._auth_lock:
                cached = self._auth_cache.get(cache_key)
            if cached is not None and cached[0] > time.monotonic():
                _, allowed, lambda_context = cached
                if not allowed:
                    raise _Reply(403, "Forbidden")
                return {"lambda": lambda_context}
        head, tail = self._common(request, route, params)
        event: dict[str, Any] = {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": self._route_arn(request, route),
            "identitySource": identity,
            **head,
            "requestContext": dict(context),
            **tail,
        }
        wait = min(self.functions[spec.function_id].spec.timeout, INTEGRATION_TIMEOUT_SECONDS)
        try:
            result = self.functions[spec.function_id].invoke(event, wait_seconds=wait)
        except (FunctionError, PayloadTooLarge) as error:
            log.error("authorizer %s failed: %s", spec.name, error)
            raise _Reply(500, "Internal Server Error") from error
        allowed, lambda_context = self._authorizer_decision(spec, result.value, event["routeArn"])
        if caching:
            with self._auth_lock:
                expires = time.monotonic() + spec.reauthorize_every
                self._auth_cache[cache_key] = (expires, allowed, lambda_context)
        if not allowed:
            raise _Reply(403, "Forbidden")
        return {"lambda": lambda_context}

    @staticmethod
    def _authorizer_decision(spec: AuthorizerSpec, value: Any, route_arn: str) -> tuple[bool, Any]:
        try:
            if not isinstance(value, Mapping):
                raise _Malformed("the response must be an object")
            context = value.get("context")
            if context is not None and not isinstance(context, Mapping):
                raise _Malformed("context must be an object")
            if spec.enable_simple_responses:
                allowed = value.get("isAuthorized")
                if not isinstance(allowed, bool):
                    raise _Malformed("isAuthorized must be a boolean")
                return allowed, context
            if "policyDocument" not in value:
                raise _Malformed("policyDocument is missing")
            return _policy_allows(value["policyDocument"], route_arn), context
        except _Malformed as error:
            log.error("authorizer %s returned an invalid response: %s", spec.name, error)
            raise _Reply(500, "Internal Server Error") from error

    # -- integration -----------------------------------------------------------------------

    def _invoke(self, function_id: str, event: dict[str, Any], timeout_ms: int | None) -> Any:
        wait = INTEGRATION_TIMEOUT_SECONDS if timeout_ms is None else timeout_ms / 1000
        try:
            return self.functions[function_id].invoke(event, wait_seconds=wait)
        except PayloadTooLarge as error:
            log.error("%s: %s", function_id, error)
            raise _Reply(413, "Request Entity Too Large") from error
        except FunctionError as error:
            if error.error_type == "Sandbox.Timedout" and not error.timed_out:
                raise _Reply(503, "Service Unavailable") from error  # integration timeout
            raise _Reply(500, "Internal Server Error") from error

    @staticmethod
    def _header_value(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)) or value is None:
            raise _Malformed(f"header values must be strings, got {value!r}")
        text = str(value)
        if "\n" in text or "\r" in text:
            raise _Malformed("header values must not contain line breaks")
        return text

    def _response(self, result: InvocationResult) -> tuple[int, list[tuple[str, str]], bytes]:
        value = result.value
        if not (isinstance(value, dict) and "statusCode" in value):
            # Not a structured response: API Gateway infers 200, JSON, the payload as body.
            return 200, [("Content-Type", "application/json")], result.payload.encode()
        status = value["statusCode"]
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise _Malformed(f"invalid statusCode {value['statusCode']!r}")
        headers: list[tuple[str, str]] = []
        single = value.get("headers") or {}
        multi = value.get("multiValueHeaders") or {}
        if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
            raise _Malformed("headers and multiValueHeaders must be objects")
        for name, item in single.items():
            if str(name).lower() not in _DROPPED_RESPONSE_HEADERS:
                headers.append((str(name), self._header_value(item)))
        for name, items in multi.items():
            if not isinstance(items, list):
                raise _Malformed("multiValueHeaders values must be lists")
            if str(name).lower() in _DROPPED_RESPONSE_HEADERS:
                continue
            headers.extend((str(name), self._header_value(item)) for item in items)
        cookies = value.get("cookies") or []
        if not isinstance(cookies, list):
            raise _Malformed("cookies must be a list")
        headers.extend(("Set-Cookie", self._header_value(cookie)) for cookie in cookies)
        body = value.get("body")
        if body is None:
            data = b""
        elif not isinstance(body, str):
            raise _Malformed("body must be a string")
        elif value.get("isBase64Encoded") is True:
            try:
                data = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as error:
                raise _Malformed(f"body is not valid base64: {error}") from error
        else:
            data = body.encode("utf-8")
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
        for name, item in headers:
            try:
                name.encode("latin-1")
                item.encode("latin-1")
            except UnicodeEncodeError as error:
                raise _Malformed(f"header {name!r} is not latin-1: {error}") from error
        return status, headers, data
