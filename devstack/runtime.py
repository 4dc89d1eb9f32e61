"""Run Lambda handlers in-process, as close to the Python Lambda runtime as one process allows.

Each function gets a pool of *execution environments*: an environment is one import of the
handler module (its cold start) and serves one invocation at a time, like Lambda. Concurrent
invocations of a function get separate environments, so module-level state is never shared
between two in-flight invocations; packages from layers and site-packages are shared by all.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import decimal
import importlib.util
import itertools
import json
import math
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .template import ACCOUNT_ID, DEFAULT_REGION, FunctionSpec

__all__ = [
    "MAX_REQUEST_PAYLOAD",
    "MAX_RESPONSE_PAYLOAD",
    "FunctionError",
    "InvocationResult",
    "LambdaContext",
    "LocalFunction",
    "PayloadTooLarge",
    "lambda_json",
]

MAX_REQUEST_PAYLOAD = 6 * 1024 * 1024  # synchronous Invoke request limit, bytes
MAX_RESPONSE_PAYLOAD = 6 * 1024 * 1024 + 100  # ... and response limit

_import_lock = threading.Lock()
_module_counter = itertools.count(1)


class PayloadTooLarge(Exception):
    """The event exceeds Lambda's synchronous invocation limit."""


class FunctionError(Exception):
    """The invocation failed the way Lambda reports an ``Unhandled`` function error."""

    def __init__(self, error_type: str, message: str, timed_out: bool = False) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.timed_out = timed_out


class _LambdaEncoder(json.JSONEncoder):
    """The Python runtime's response marshalling: Decimal is allowed (DynamoDB numbers)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            if o.is_nan():
                return math.nan
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def lambda_json(value: Any) -> str:
    """Serialise a handler's return value like the Lambda Python runtime does."""
    return json.dumps(value, cls=_LambdaEncoder)


class LambdaContext:
    """The ``context`` argument of a handler (``awslambdaric``'s LambdaContext)."""

    def __init__(
        self,
        *,
        function_name: str,
        function_version: str,
        invoked_function_arn: str,
        memory_limit_in_mb: str,
        aws_request_id: str,
        log_group_name: str,
        log_stream_name: str,
        deadline_ms: int,
        identity: Any = None,
        client_context: Any = None,
        tenant_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        # A string, as in the real runtime (it reads AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.identity = identity
        self.client_context = client_context
        self.tenant_id = tenant_id
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: str) -> None:
        sys.stdout.write(msg)
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )


@dataclass
class InvocationResult:
    payload: str  # the JSON text Lambda would return
    value: Any  # json.loads(payload)
    request_id: str
    duration_ms: float
    cold_start: bool


class _Environment:
    def __init__(self, handler: Callable[[Any, Any], Any], module: ModuleType, stream: str):
        self.handler = handler
        self.module = module
        self.log_stream_name = stream


def _code_dir_modules(before: set[str], code_dir: Path, keep: str) -> list[str]:
    """Modules imported since ``before`` whose file lives in the function's code directory."""
    names = []
    for name in set(sys.modules) - before:
        if name == keep:
            continue
        filename = getattr(sys.modules.get(name), "__file__", None)
        if filename and Path(filename).resolve().is_relative_to(code_dir):
            names.append(name)
    return names


class LocalFunction:
    """An ``AWS::Serverless::Function`` run in this process."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        function_name: str | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = ACCOUNT_ID,
        enforce_timeout: bool = True,
    ) -> None:
        self.spec = spec
        self.function_name = function_name or spec.logical_id
        self.region = region
        self.account_id = account_id
        self.enforce_timeout = enforce_timeout
        self.arn = f"arn:aws:lambda:{region}:{account_id}:function:{self.function_name}"
        self._idle: list[_Environment] = []
        self._lock = threading.Lock()
        self.environments_created = 0

    # -- environments ----------------------------------------------------------------------

    def _module_file(self) -> Path:
        relative = Path(*self.spec.handler_module.split("/")).as_posix().replace(".", "/")
        candidates = [
            self.spec.code_dir / f"{relative}.py",
            self.spec.code_dir / relative / "__init__.py",
        ]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise FunctionError(
            "Runtime.ImportModuleError",
            f"Unable to import module '{self.spec.handler_module}': "
            f"no {candidates[0].name} in {self.spec.code_dir}",
        )

    def _new_environment(self) -> _Environment:
        """Import the handler module afresh under a unique name (all handlers are app.py)."""
        module_file = self._module_file()
        code_dir = self.spec.code_dir.resolve()
        index = next(_module_counter)
        unique = f"_devstack_fn_{self.spec.logical_id}_{index}"
        with _import_lock:
            before = set(sys.modules)
            sys.path.insert(0, str(code_dir))
            try:
                spec = importlib.util.spec_from_file_location(unique, module_file)
                if spec is None or spec.loader is None:
                    raise FunctionError("Runtime.ImportModuleError", f"cannot load {module_file}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[unique] = module
                try:
                    spec.loader.exec_module(module)
                except Exception as error:
                    sys.modules.pop(unique, None)
                    self._log_error(error)
                    raise FunctionError(
                        "Runtime.ImportModuleError",
                        f"Unable to import module '{self.spec.handler_module}': {error}",
                    ) from error
            finally:
                with contextlib.suppress(ValueError):
                    sys.path.remove(str(code_dir))
                # Sibling modules of the handler belong to this environment only.
                for name in _code_dir_modules(before, code_dir, unique):
                    sys.modules.pop(name, None)
        handler = getattr(module, self.spec.handler_function, None)
        if not callable(handler):
            raise FunctionError(
                "Runtime.HandlerNotFound",
                f"Handler '{self.spec.handler_function}' missing on module "
                f"'{self.spec.handler_module}'",
            )
        self.environments_created += 1
        today = _dt.datetime.now(_dt.UTC).strftime("%Y/%m/%d")
        stream = f"{today}/[$LATEST]{secrets.token_hex(16)}"
        return _Environment(handler, module, stream)

    def _acquire(self) -> tuple[_Environment, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), False
        return self._new_environment(), True

    def _release(self, environment: _Environment) -> None:
        with self._lock:
            self._idle.append(environment)

    def warm_up(self) -> None:
        """Create one environment now (a cold start ahead of the first request)."""
        self._release(self._acquire()[0])

    # -- invocation ------------------------------------------------------------------------

    def _log_error(self, error: BaseException) -> None:
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        sys.stderr.write(
            f"[ERROR] {self.spec.logical_id}: {type(error).__name__}: {error}\n" + "".join(lines)
        )
        sys.stderr.flush()

    def invoke(self, event: Any, *, wait_seconds: float | None = None) -> InvocationResult:
        """Invoke synchronously. Raises PayloadTooLarge or FunctionError like Lambda would fail.

        ``wait_seconds`` caps how long the caller waits (API Gateway's integration timeout);
        the function's own Timeout always applies when ``enforce_timeout`` is on.
        """
        payload = lambda_json(event)
        if len(payload.encode()) > MAX_REQUEST_PAYLOAD:
            raise PayloadTooLarge(f"Request must be smaller than {MAX_REQUEST_PAYLOAD} bytes")
        event_copy = json.loads(payload)
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        environment, cold = self._acquire()
        deadline_ms = int(time.time() * 1000) + self.spec.timeout * 1000
        context = LambdaContext(
            function_name=self.function_name,
            function_version="$LATEST",
            invoked_function_arn=self.arn,
            memory_limit_in_mb=str(self.spec.memory_size),
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{self.function_name}",
            log_stream_name=environment.log_stream_name,
            deadline_ms=deadline_ms,
        )
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = environment.handler(event_copy, context)
            except BaseException as error:  # reported like the runtime does
                outcome["error"] = error

        limit = float(self.spec.timeout) if self.enforce_timeout else None
        if wait_seconds is not None:
            limit = wait_seconds if limit is None else min(limit, wait_seconds)
        worker = threading.Thread(target=run, name=f"lambda-{self.spec.logical_id}", daemon=True)
        worker.start()
        worker.join(limit)
        duration_ms = (time.monotonic() - started) * 1000
        if worker.is_alive():
            # The environment is abandoned (Lambda would tear it down); its thread runs on.
            timed_out = self.enforce_timeout and (
                wait_seconds is None or self.spec.timeout <= wait_seconds
            )
            message = f"Task timed out after {limit:.2f} seconds"
            sys.stderr.write(f"[ERROR] {self.spec.logical_id} {request_id}: {message}\n")
            raise FunctionError("Sandbox.Timedout", message, timed_out=timed_out)
        self._release(environment)
        if "error" in outcome:
            error = outcome["error"]
            self._log_error(error)
            raise FunctionError(type(error).__name__, str(error))
        try:
            text = lambda_json(outcome.get("value"))
        except (TypeError, ValueError) as error:
            self._log_error(error)
            message = f"Unable to marshal response: {error}"
            raise FunctionError("Runtime.MarshalError", message) from error
        if len(text.encode()) > MAX_RESPONSE_PAYLOAD:
            message = f"Response payload size exceeded maximum allowed ({MAX_RESPONSE_PAYLOAD})"
            sys.stderr.write(f"[ERROR] {self.spec.logical_id} {request_id}: {message}\n")
            raise FunctionError("Function.ResponseSizeTooLarge", message)
        return InvocationResult(text, json.loads(text), request_id, duration_ms, cold)
