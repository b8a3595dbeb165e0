"""DynamoDB's transaction guarantees for moto (5.2): item-level rollback, atomic item writes, idempotency.

Used by the local stack (its moto server runs in the same process) and by the tests and
benches (moto in-process); never by a deployed stage.

moto snapshots a transaction by deep-copying every table it touches and, on failure, puts that
copy back. That makes each transaction cost O(table size) (quadratic seeding, and gigabytes of
short-lived copies in a long-running local stack); a copy taken while another thread writes
raises "dictionary changed size during iteration" (a 500); and restoring it discards whatever
other threads committed meanwhile. This patch keeps moto's own transaction logic (conditions,
cancellation reasons, every operation) and only replaces the snapshot: the items a transaction
names are copied before it runs and put back if it is cancelled, as DynamoDB's all-or-nothing
behaves.

moto's backend is not thread-safe either: update_item (an ADD on a counter) is a
read-modify-write, and Query/Scan iterate dicts that a concurrent write resizes. Every backend
operation runs under one lock, so each is atomic as a DynamoDB item operation is, and a reader
never sees a transaction half applied or being rolled back. Only single operations are
serialized: a service's read-then-conditional-write still interleaves with other threads, so its
version conditions are what keeps updates from being lost, as in production.

moto ignores TransactWriteItems' ClientRequestToken. DynamoDB answers a repeat of a committed
transaction with the same token (within 10 minutes) with success and does not apply it again,
and refuses the token with other items (IdempotentParameterMismatchException). That is what
makes an SDK retry of a write that did commit (its answer lost or late) succeed instead of
failing its own condition; the patch emulates it, remembering tokens for 10 minutes and at most
MAX_TOKENS of them.

moto also keeps every model instance it ever creates (for its dashboard): every DynamoDB item
and S3 object ever written, overwritten or deleted, and every item of every whole-table copy,
until the process ends. In a long-running local stack that is memory growing with every write
(gigabytes after ten thousand requests), and in a test process it is garbage the collector
keeps traversing. The patch stops that tracking; live data is held by moto's backends as before.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from moto.core.common_models import BaseModel
from moto.core.responses import ActionResult
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

TOKEN_TTL_SECONDS = 600.0
MAX_TOKENS = 20_000

LOCK = threading.RLock()
_INSTALL_LOCK = threading.Lock()
_depth = 0
_originals: dict[tuple[type, str], Any] = {}
_module_copy: Any = None

# Every backend operation that reads or writes items (BatchGetItem and TransactGetItems go
# through get_item; BatchWriteItem through put_item and delete_item).
_SERIALIZED = ("get_item", "put_item", "update_item", "delete_item", "query", "scan")


class IdempotentParameterMismatchException(DynamodbException):
    error_type = "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"

    def __init__(self) -> None:
        super().__init__(
            self.error_type,
            message="Specified idempotent token was used with different request parameters within the last 10 minutes",
        )


class _Tokens:
    """Committed transactions' tokens -> a digest of their items, oldest first."""

    def __init__(self) -> None:
        self.seen: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def forget_old(self, now: float) -> None:
        while self.seen:
            token, (at, _) = next(iter(self.seen.items()))
            if now - at < TOKEN_TTL_SECONDS and len(self.seen) <= MAX_TOKENS:
                return
            del self.seen[token]

    def digest_of(self, token: str) -> str | None:
        entry = self.seen.get(token)
        return entry[1] if entry is not None else None

    def remember(self, token: str, digest: str, now: float) -> None:
        self.seen[token] = (now, digest)
        self.forget_old(now)


def _tokens_of(backend: DynamoDBBackend) -> _Tokens:
    # On the backend instance: moto's reset (mock_aws, /moto-api/reset) clears its __dict__,
    # so remembered tokens go with the data they were about.
    tokens = backend.__dict__.get("_client_request_tokens")
    if tokens is None:
        tokens = backend.__dict__["_client_request_tokens"] = _Tokens()
    return tokens


def forget_tokens(backend: DynamoDBBackend) -> None:
    """Forget the backend's remembered tokens (its data was emptied by other means than moto's reset)."""
    backend.__dict__.pop("_client_request_tokens", None)


def _now() -> float:
    return time.monotonic()


def _digest(transact_items: Any) -> str:
    return hashlib.sha256(json.dumps(transact_items, sort_keys=True, default=str).encode()).hexdigest()


def _table_safe_deepcopy(value: Any, memo: Any = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _transact_write_items(original: Callable[..., None]) -> Callable[..., None]:
    def patched(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with LOCK:
            saved: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
            for entry in transact_items[:100]:
                op_type, op = next(iter(entry.items()))
                if op_type == "ConditionCheck" or op.get("TableName") not in self.tables:
                    continue
                key = _key_of(self, op_type, op)
                current = self.get_item(op["TableName"], key)
                attributes = copy.deepcopy(current.to_json()["Attributes"]) if current else None
                saved.append((op["TableName"], key, attributes))
            try:
                original(self, transact_items)
            except Exception:
                for table_name, key, attributes in reversed(saved):
                    if attributes is None:
                        if self.get_item(table_name, key) is not None:
                            self.delete_item(table_name, key)
                    else:
                        self.put_item(table_name, attributes)
                raise

    return patched


def _idempotent_handler(original: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    def patched(self: DynamoHandler) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        digest = _digest(self.body.get("TransactItems"))
        with LOCK:
            tokens = _tokens_of(self.dynamodb_backend)
            now = _now()
            tokens.forget_old(now)
            seen = tokens.digest_of(token)
            if seen is not None:
                if seen != digest:
                    raise IdempotentParameterMismatchException()
                return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
            result = original(self)
            # Only a committed transaction is remembered: a cancelled one changed nothing, and
            # DynamoDB runs its retry anew.
            tokens.remember(token, digest, now)
            return result

    return patched


# The marker of a patched method that the class inherited (uninstall deletes the override).
_INHERITED = object()


def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def _locked(original: Callable[..., Any]) -> Callable[..., Any]:
    def patched(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return original(self, *args, **kwargs)

    return patched


def install() -> None:
    """Patch moto (nested calls count; each install() needs one uninstall())."""
    global _depth, _module_copy
    with _INSTALL_LOCK:
        _depth += 1
        if _depth > 1:
            return
        patches: list[tuple[type, str, Any]] = [
            (DynamoDBBackend, "transact_write_items", _transact_write_items),
            (DynamoHandler, "transact_write_items", _idempotent_handler),
            *((DynamoDBBackend, name, _locked) for name in _SERIALIZED),
            # A whole DynamoDB request, answer included: moto renders items to JSON after the
            # backend returns, while a concurrent update_item may change them in place.
            (DynamoHandler, "call_action", _locked),
        ]
        for owner, name, wrap in patches:
            _originals[(owner, name)] = owner.__dict__.get(name, _INHERITED)
            setattr(owner, name, wrap(getattr(owner, name)))
        _originals[(BaseModel, "__new__")] = BaseModel.__dict__["__new__"]
        BaseModel.__new__ = staticmethod(_untracked_new)  # type: ignore[method-assign]
        # moto's models module calls copy.deepcopy(table); only that name is swapped.
        _module_copy = vars(dynamodb_models)["copy"]
        vars(dynamodb_models)["copy"] = SimpleNamespace(deepcopy=_table_safe_deepcopy, copy=copy.copy)


def uninstall() -> None:
    global _depth
    with _INSTALL_LOCK:
        if _depth == 0:
            return
        _depth -= 1
        if _depth:
            return
        vars(dynamodb_models)["copy"] = _module_copy
        for (owner, name), method in _originals.items():
            if method is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, method)
        _originals.clear()


def installed() -> bool:
    return _depth > 0


@contextmanager
def item_level_transactions() -> Iterator[None]:
    install()
    try:
        yield
    finally:
        uninstall()
