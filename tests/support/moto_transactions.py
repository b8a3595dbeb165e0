"""Item-level rollback for moto's TransactWriteItems.

moto (5.2) snapshots a transaction by deep-copying every table it touches and, on failure,
puts that copy back. That makes each transaction cost O(table size), which turns seeding ten
thousand products through the real write path into hours, and restoring a whole-table copy
would discard writes made meanwhile by other threads. This patch keeps moto's own transaction
logic (conditions, cancellation reasons, every operation) and only replaces the snapshot: the
items the transaction names are copied before it runs and put back if it is cancelled, as
DynamoDB's own all-or-nothing behaves. Writes are serialized by one lock, as each DynamoDB item
write is atomic; single-item reads are not locked, so read-modify-write races in the service
still happen.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_LOCK = threading.RLock()
# Writes, and the reads that iterate moto's item dicts (a concurrent write resizing them
# raises "dictionary changed size during iteration"). get_item stays unlocked.
_SERIALIZED = ("put_item", "update_item", "delete_item", "query", "scan")


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


def _transact_write_items(original: Any) -> Any:
    def patched(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with _LOCK:
            saved: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
            for entry in transact_items[:100]:
                op_type, op = next(iter(entry.items()))
                if op_type == "ConditionCheck" or op.get("TableName") not in self.tables:
                    continue
                key = _key_of(self, op_type, op)
                current = self.get_item(op["TableName"], key)
                saved.append(
                    (op["TableName"], key, copy.deepcopy(current.to_json()["Attributes"]) if current else None)
                )
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


def _locked(original: Any) -> Any:
    def patched(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return original(self, *args, **kwargs)

    return patched


@contextmanager
def item_level_transactions() -> Iterator[None]:
    originals = {name: getattr(DynamoDBBackend, name) for name in ("transact_write_items", *_SERIALIZED)}
    module_copy = dynamodb_models.copy
    dynamodb_models.copy = SimpleNamespace(deepcopy=_table_safe_deepcopy, copy=copy.copy)  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items(originals["transact_write_items"])  # type: ignore[method-assign]
    for name in _SERIALIZED:
        setattr(DynamoDBBackend, name, _locked(originals[name]))
    try:
        yield
    finally:
        dynamodb_models.copy = module_copy  # type: ignore[assignment]
        for name, method in originals.items():
            setattr(DynamoDBBackend, name, method)
