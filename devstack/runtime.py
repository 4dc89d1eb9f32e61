"""Lambda handlers run in-process, as close to the Python runtime as one process allows: each
function has a pool of execution environments, each one import of the handler module (its
cold start) serving one invocation at a time, so that two concurrent invocations never share
module state; layers' and site-packages' modules are shared by all."""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import itertools
import json
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .template import Function

MAX_REQUEST_PAYLOAD = 6 * 1024 * 1024  # synchronous Invoke request limit, bytes
MAX_RESPONSE_PAYLOAD = 6 * 1024 * 1024 + 100  # ... and response limit

_import_lock = threading.Lock()
_module_counter = itertools.count(1)


class FunctionError(Exception):
    """The invocation failed as Lambda reports an ``Unhandled`` function error."""

    def __init__(self, error_type: str, message: str, timed_out: bool = False) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type, self.message, self.timed_out = error_type, message, timed_out


def _decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):  # DynamoDB numbers, as the runtime allows
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def lambda_json(value: Any) -> str:
    """Serialise a handler's return value as the Lambda Python runtime does."""
    return json.dumps(value, default=_decimal)


@dataclass
class LambdaContext:
    """The ``context`` argument of a handler (``awslambdaric``'s LambdaContext)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: str  # a string, as in the runtime
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return max(self.deadline_ms - int(time.time() * 1000), 0)


_Environment = tuple[Callable[[Any, Any], Any], str]  # the handler, its log stream


class LocalFunction:
    """A template's function, run in this process."""

    def __init__(self, spec: Function, *, region: str, account_id: str) -> None:
        self.spec = spec
        self.arn = f"arn:aws:lambda:{region}:{account_id}:function:{spec.name}"
        self._idle: list[_Environment] = []
        self._lock = threading.Lock()
        self.environments_created = 0

    def _log_error(self, error: BaseException) -> None:
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        print(f"[ERROR] {self.spec.logical_id}: {''.join(lines)}", file=sys.stderr, flush=True)

    def _new_environment(self) -> _Environment:
        """Import the handler module afresh under a unique name (every handler is app.py)."""
        module_name, _, function_name = self.spec.handler.rpartition(".")
        code_dir = self.spec.code_dir
        module_file = code_dir / f"{module_name.replace('.', '/')}.py"
        unique = f"_devstack_fn_{self.spec.logical_id}_{next(_module_counter)}"
        with _import_lock:
            before = set(sys.modules)
            sys.path.insert(0, str(code_dir))
            try:
                spec = importlib.util.spec_from_file_location(unique, module_file)
                if spec is None or spec.loader is None or not module_file.is_file():
                    raise FileNotFoundError(f"no {module_file.name} in {code_dir}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[unique] = module
                spec.loader.exec_module(module)
            except Exception as error:
                sys.modules.pop(unique, None)
                self._log_error(error)
                message = f"Unable to import module '{module_name}': {error}"
                raise FunctionError("Runtime.ImportModuleError", message) from error
            finally:
                sys.path.remove(str(code_dir))
                for name in set(sys.modules) - before - {unique}:  # siblings: this one's only
                    filename = getattr(sys.modules[name], "__file__", None) or "/"
                    if Path(filename).resolve().is_relative_to(code_dir):
                        del sys.modules[name]
        handler = getattr(module, function_name, None)
        if not callable(handler):
            message = f"Handler '{function_name}' missing on module '{module_name}'"
            raise FunctionError("Runtime.HandlerNotFound", message)
        self.environments_created += 1
        day = dt.datetime.now(dt.UTC).strftime("%Y/%m/%d")
        return handler, f"{day}/[$LATEST]{secrets.token_hex(16)}"

    def invoke(self, event: Any, *, wait: float | None = None) -> Any:
        """Invoke synchronously and return the result (as JSON makes it); FunctionError
        where Lambda fails. ``wait`` caps the wait in seconds (API Gateway's integration
        timeout); the function's Timeout applies too."""
        payload = lambda_json(event)
        if len(payload.encode()) > MAX_REQUEST_PAYLOAD:
            message = f"Request must be smaller than {MAX_REQUEST_PAYLOAD} bytes"
            raise FunctionError("RequestEntityTooLarge", message)
        with self._lock:
            environment = self._idle.pop() if self._idle else None
        environment = environment or self._new_environment()
        request_id, name, memory = str(uuid.uuid4()), self.spec.name, str(self.spec.memory_size)
        deadline = int((time.time() + self.spec.timeout) * 1000)
        group, stream = f"/aws/lambda/{name}", environment[1]
        context = LambdaContext(name, self.arn, memory, request_id, group, stream, deadline)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = environment[0](json.loads(payload), context)
            except BaseException as error:  # reported as the runtime does
                outcome["error"] = error

        limit = min(self.spec.timeout, wait or self.spec.timeout)
        worker = threading.Thread(target=run, name=f"lambda-{self.spec.logical_id}", daemon=True)
        worker.start()
        worker.join(limit)
        if worker.is_alive():  # the environment is abandoned, as Lambda tears it down
            message = f"Task timed out after {limit:.2f} seconds"
            print(f"[ERROR] {self.spec.logical_id} {request_id}: {message}", file=sys.stderr)
            raise FunctionError("Sandbox.Timedout", message, limit >= self.spec.timeout)
        with self._lock:
            self._idle.append(environment)
        if "error" in outcome:
            self._log_error(outcome["error"])
            raise FunctionError(type(outcome["error"]).__name__, str(outcome["error"]))
        try:
            text = lambda_json(outcome.get("value"))
        except (TypeError, ValueError) as error:
            self._log_error(error)
            raise FunctionError("Runtime.MarshalError", f"Unable to marshal: {error}") from error
        if len(text.encode()) > MAX_RESPONSE_PAYLOAD:
            message = f"Response payload size exceeded maximum allowed ({MAX_RESPONSE_PAYLOAD})"
            raise FunctionError("Function.ResponseSizeTooLarge", message)
        return json.loads(text)
