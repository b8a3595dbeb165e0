"""Creating the table (tests and the local stack only) and running transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TypeVar

import boto3
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.config import get_settings
from chalicelib.errors import Conflict
from chalicelib.store.models import TableItem, bind_table


def create_table() -> None:
    """Create the single table from the models, as the deployed template declares it."""
    bind_table()
    if not TableItem.exists():
        TableItem.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        client = boto3.client("dynamodb", region_name=get_settings().aws_region)
        client.update_time_to_live(
            TableName=TableItem.Meta.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at_ttl"},
        )


T = TypeVar("T", bound=TableItem)


def get_item(model: type[T], pk: str, sk: str) -> T | None:
    """A consistent read of one item of the given kind, or None."""
    try:
        item = model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None
    return item if isinstance(item, model) else None


def delete_table() -> None:
    bind_table()
    if TableItem.exists():
        TableItem.delete_table()


@lru_cache(maxsize=1)
def connection() -> Connection:
    bind_table()
    return Connection(region=get_settings().aws_region)


@contextmanager
def transaction(conflict_detail: str = "The resource was changed concurrently") -> Iterator[TransactWrite]:
    """A TransactWrite whose failed condition surfaces as a Conflict, never a 500."""
    try:
        with TransactWrite(connection=connection()) as tx:
            yield tx
    except TransactWriteError as exc:
        reasons = [r.code for r in (exc.cancellation_reasons or []) if r is not None]
        if "ConditionalCheckFailed" in reasons or exc.cause_response_code == "TransactionCanceledException":
            raise Conflict(conflict_detail) from exc
        raise


def failed_conditions(exc: BaseException) -> list[int]:
    """Positions of the transaction items whose condition failed."""
    cause = exc.__cause__
    if not isinstance(cause, TransactWriteError):
        return []
    return [
        i
        for i, r in enumerate(cause.cancellation_reasons or [])
        if r is not None and r.code == "ConditionalCheckFailed"
    ]
