"""Creating the table (tests and the local stack only) and running transactions.

A cancelled transaction is mapped by its cancellation reasons, never wholesale: a failed
condition is a `Conflict` that names the keys whose condition failed (the caller decides
whether that was a stale version or a taken name); a conflicting transaction or throttling is
`Busy`, which `store.retry.with_retries` retries. Every transaction carries a
ClientRequestToken, so the SDK's own retry of a write that DynamoDB already applied (a
timeout after the commit) succeeds instead of failing the write's own condition. (botocore
would fill one in, the API model marks it an idempotency token; it is set here so that the
guarantee does not rest on that, and each of our own retries, with new items, gets a new one.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import boto3
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.config import get_settings
from chalicelib.errors import Busy, Conflict, OutcomeUnknown
from chalicelib.store.models import TableItem, bind_table

# DynamoDB's limits, budgeted before writing (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
MAX_TRANSACTION_ITEMS = 100

# Cancellation reasons and error codes that say "not now", not "not this": retried.
RETRYABLE_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
RETRYABLE_ERRORS = frozenset(
    {
        "TransactionConflictException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)
# Errors after which the write may or may not have applied. botocore has already resent the same
# request (same token) for these; a new attempt would be a new write, so they are not retried.
UNKNOWN_OUTCOME_ERRORS = frozenset({"InternalServerError", "TransactionInProgressException"})

Key = tuple[str, str]


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


def get_item[T: TableItem](model: type[T], pk: str, sk: str) -> T | None:
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


class Transaction(TransactWrite):
    """A TransactWrite that knows the key of each of its items, in the order DynamoDB gets
    them (PynamoDB sends condition checks, deletes, puts, then updates), so cancellation
    reasons, which come by position, can be told by key."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.catalogue_changes: list[Any] = []

    def log(self, changes: list[Any]) -> None:
        """Product catalogue changes (store.catalogue.Change) this transaction makes: their log
        entries are numbered and added when it commits."""
        self.catalogue_changes.extend(changes)

    def mark(self) -> tuple[int, ...]:
        return (
            len(self._condition_check_items),
            len(self._delete_items),
            len(self._put_items),
            len(self._update_items),
            len(self._models_for_version_attribute_update),
        )

    def rewind(self, mark: tuple[int, ...]) -> None:
        """Drop what was added since `mark`, for another attempt under a new token."""
        del self._condition_check_items[mark[0] :]
        del self._delete_items[mark[1] :]
        del self._put_items[mark[2] :]
        del self._update_items[mark[3] :]
        del self._models_for_version_attribute_update[mark[4] :]
        self._client_request_token = str(uuid.uuid4())

    def _unlogged_products(self) -> list[str]:
        logged = {change.product_id for change in self.catalogue_changes}
        written = [entry.get("Key") or entry["Item"] for entry in (*self._delete_items, *self._put_items)]
        return [
            a["pk"]["S"]
            for a in written
            if a["sk"]["S"] == "PRODUCT" and a["pk"]["S"].startswith("PRODUCT#") and a["pk"]["S"][8:] not in logged
        ]

    def _commit(self) -> Any:
        unlogged = self._unlogged_products()
        if unlogged:
            # Listings read the catalogue log: a product written without its entry would be
            # listed wrong everywhere. A bug, not bad input.
            raise RuntimeError(f"products written without their catalogue change: {unlogged}")
        if not self.catalogue_changes:
            return super()._commit()
        from chalicelib.store.catalogue import commit_logged

        return commit_logged(self, self.catalogue_changes, super()._commit)

    def item_keys(self) -> list[Key]:
        keys: list[Key] = []
        for entry in (*self._condition_check_items, *self._delete_items, *self._put_items, *self._update_items):
            attributes = entry.get("Key") or entry["Item"]
            keys.append((attributes["pk"]["S"], attributes["sk"]["S"]))
        return keys

    def __len__(self) -> int:
        return (
            len(self._condition_check_items) + len(self._delete_items) + len(self._put_items) + len(self._update_items)
        )


def unavailable(error_code: str | None) -> Busy | OutcomeUnknown | None:
    """The 503 for a DynamoDB error code that says "not now" (Busy, retried) or "no idea whether
    it applied" (OutcomeUnknown, never retried as a new write); None for any other code."""
    if error_code in RETRYABLE_ERRORS:
        return Busy()
    if error_code in UNKNOWN_OUTCOME_ERRORS:
        return OutcomeUnknown()
    return None


def classify(exc: TransactWriteError, keys: list[Key], conflict_detail: str) -> Exception:
    """The domain error for a failed TransactWriteItems, from its cancellation reasons."""
    reasons: list[Any] = list(exc.cancellation_reasons or [])
    codes = [r.code if r is not None else None for r in reasons]
    failed = tuple(keys[i] for i, code in enumerate(codes) if code == "ConditionalCheckFailed" and i < len(keys))
    if failed:
        return Conflict(conflict_detail, failed_keys=failed)
    if any(code in RETRYABLE_REASONS for code in codes):
        return Busy()
    return unavailable(exc.cause_response_code) or exc


@contextmanager
def transaction(conflict_detail: str = "The resource was changed concurrently") -> Iterator[Transaction]:
    """A TransactWrite, with a fresh ClientRequestToken, whose cancellation is mapped by reason."""
    tx = Transaction(connection=connection(), client_request_token=str(uuid.uuid4()))
    try:
        with tx:
            yield tx
            if len(tx) > MAX_TRANSACTION_ITEMS:
                # Budgeted by the callers; reaching this is a bug, not bad input.
                raise RuntimeError(f"a transaction of {len(tx)} items (DynamoDB takes {MAX_TRANSACTION_ITEMS})")
    except TransactWriteError as exc:
        mapped = classify(exc, tx.item_keys(), conflict_detail)
        if mapped is exc:
            raise
        raise mapped from exc


def conditional_delete(item: TableItem, condition: Any = None) -> bool:
    """A DeleteItem of `item` (given by its keys) under `condition`, without its version: False
    when the condition failed; throttling and the like are Busy/Unavailable, as every write's."""
    from pynamodb.exceptions import DeleteError

    try:
        item.delete(condition=condition, add_version_condition=False)
    except DeleteError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        mapped = unavailable(exc.cause_response_code)
        if mapped is None:
            raise
        raise mapped from exc
    return True


def conditional_update(item: TableItem, actions: list[Any], condition: Any) -> bool:
    """An UpdateItem of some attributes of `item` (given by its keys), under `condition`: False
    when the condition failed. For the fields a worker owns: no read, no whole-item rewrite.

    A model with a version attribute gets it incremented (set the instance's version to any
    number) but not checked: a user's write that read the item before this one then fails
    its own version condition and re-reads, rather than putting back what it read.
    """
    from pynamodb.exceptions import UpdateError

    try:
        item.update(actions=actions, condition=condition, add_version_condition=False)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        mapped = unavailable(exc.cause_response_code)
        if mapped is None:
            raise
        raise mapped from exc
    return True
