"""moto's DynamoDB made to behave like DynamoDB where the difference shows in our tests.

- Writes go one at a time. DynamoDB serialises the writes to an item; moto's server does
  not (a transaction's condition checks and writes interleave with other writes), so a
  race a test provokes could pass unnoticed.
- A transaction rolls back only the items it touched. moto deep-copies every table a
  transaction names before it starts and puts the copy back on failure: the cost grows with
  the table (0.5 s at 5,000 items), so late in a test run, with writes queued behind one
  another, a transaction outlasted the SDK's read timeout. Per-item rollback is exact here
  because no other write runs meanwhile.
- A Query does not sort the whole table first. moto's Query lists the table's items through
  a method that sorts all of them, then keeps the matches and sorts those by the key it
  answers in: on a table of 100,000 items a page took seconds, past the SDK's timeout. The
  matches' own sort is a total order (the table's key ends it), so the answer is the same.
  Two strings or two binaries compare by their values directly, as moto's own comparison
  ends up doing after building a cast copy of each for every comparison.
- A TransactWriteItems retried with the same ClientRequestToken succeeds without applying
  twice, as DynamoDB's does for ten minutes. moto ignores the token: when the SDK retried a
  transaction whose answer came too late, moto applied it again and its own first write
  failed the second one's conditions.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import operator
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
_DYNAMODB_WRITES = {f"DynamoDB_20120810.{operation}" for operation in _WRITES}
_TRANSACT = "DynamoDB_20120810.TransactWriteItems"
TOKEN_SECONDS = 600  # how long DynamoDB honours a ClientRequestToken

WSGIApp = Callable[..., Iterable[bytes]]
_SCALARS = ("S", "B")
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "__eq__": operator.eq,
    "__ne__": operator.ne,
    "__lt__": operator.lt,
    "__le__": operator.le,
    "__gt__": operator.gt,
    "__ge__": operator.ge,
}


def moto_app() -> WSGIApp:
    """moto's server app with its DynamoDB made as above: what the local stack, the tests
    and the benches all serve."""
    from moto.moto_server import werkzeug_app as moto  # slow import: only when needed

    roll_back_per_item()
    unsorted_query_scans()
    return SerialWrites(moto.DomainDispatcherApplication(moto.create_backend_app))


class SerialWrites:
    """moto's app with DynamoDB's writes one at a time, and transactions idempotent by
    their ClientRequestToken. moto's state is the process's: so are the lock and the
    tokens, whichever server a write comes through."""

    lock = threading.Lock()
    answered: dict[str, tuple[str, float, str, list[tuple[str, str]], bytes]] = {}

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target not in _DYNAMODB_WRITES:
            return self.app(environ, start_response)
        with self.lock:
            if target != _TRANSACT:
                return list(self.app(environ, start_response))
            return self._transact(environ, start_response)

    def _transact(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        token = json.loads(body or b"{}").get("ClientRequestToken")
        digest = hashlib.sha256(body).hexdigest()
        self._forget_expired()
        if token in self.answered:
            seen, _, status, headers, answer = self.answered[token]
            if seen != digest:
                return _mismatch(start_response)
            start_response(status, headers)
            return [answer]
        started: list[Any] = []

        def remember_start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            started[:] = [status, headers]
            return start_response(status, headers, *exc)

        answer = b"".join(self.app(environ, remember_start))
        if token and started and started[0].startswith("200"):
            self.answered[token] = (digest, time.monotonic(), *started, answer)
        return [answer]

    def _forget_expired(self) -> None:
        horizon = time.monotonic() - TOKEN_SECONDS
        for token in [t for t, entry in self.answered.items() if entry[1] < horizon]:
            del self.answered[token]


def _mismatch(start_response: Any) -> list[bytes]:
    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
    error = {
        "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
        "message": "The request uses the same client token as a previous, but non-identical "
        "request.",
    }
    return [json.dumps(error).encode()]


def unsorted_query_scans() -> None:
    """Make moto's Query go through the table's items unsorted (see the module's notes)."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "unsorted", False):
        return
    query, all_items = Table.query, Table.all_items
    querying = threading.local()

    def unsorted_query(table: Any, *args: Any, **kwargs: Any) -> Any:
        querying.active = True
        try:
            return query(table, *args, **kwargs)
        finally:
            querying.active = False

    def items_for(table: Any) -> list[Any]:
        if not getattr(querying, "active", False):
            return all_items(table)
        if table.range_key_attr:
            return [item for group in table.items.values() for item in group.values()]
        return list(table.items.values())

    unsorted_query.unsorted = True  # type: ignore[attr-defined]
    Table.query = unsorted_query  # type: ignore[method-assign,assignment]
    Table.all_items = items_for  # type: ignore[method-assign,assignment]
    _compare_scalars_directly()


def _compare_scalars_directly() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    def direct(name: str, compare: Callable[[Any, Any], bool]) -> None:
        moto_compare = getattr(DynamoType, name)

        def comparison(left: Any, right: Any) -> bool:
            if isinstance(right, DynamoType) and left.type == right.type in _SCALARS:
                return compare(left.value, right.value)
            return bool(moto_compare(left, right))

        setattr(DynamoType, name, comparison)

    for name, compare in _COMPARISONS.items():
        direct(name, compare)


def roll_back_per_item() -> None:
    """Make moto's transactions restore the items they touched, not whole tables. Only
    sound while writes are serialised (SerialWrites)."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    if getattr(models.DynamoDBBackend.transact_write_items, "per_item", False):
        return
    apply_all = models.DynamoDBBackend.transact_write_items

    class _TablesNotCopied:
        """moto's ``copy`` module but for tables, which it copies for a whole-table
        rollback; the rollback then puts back the table itself, and ours the items."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = list(_touched(backend, transact_items))
        try:
            apply_all(backend, transact_items)
        except Exception:
            for table, hash_key, range_key, item in saved:
                if item is None:
                    table.delete_item(hash_key, range_key)
                elif range_key is None:
                    table.items[hash_key] = item
                else:
                    table.items[hash_key][range_key] = item
            raise

    transact_write_items.per_item = True  # type: ignore[attr-defined]
    models.copy = _TablesNotCopied()  # type: ignore[assignment,attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign,assignment]


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """(table, hash key, range key, a copy of the item or None) for each item a transaction
    names; one moto will refuse as malformed is left to moto."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    for operation in transact_items:
        try:
            (kind, request), *_ = operation.items()
            table = backend.get_table(request["TableName"])
            key = request["Item"] if kind == "Put" else request["Key"]
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            item = table.get_item(hash_key, range_key)
        except Exception:  # noqa: S112 - moto answers it with its own validation error
            continue
        yield table, hash_key, range_key, copy.deepcopy(item) if item is not None else None
