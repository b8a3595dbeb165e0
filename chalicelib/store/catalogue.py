"""A scope's product catalogue as DynamoDB keeps it: a numbered change log and snapshots.

Every write of a product appends its listing entry (the fields listings filter and sort on) to
its scope's log in the product's own transaction, under the next sequence number: the head item
is updated on condition that it still holds the number read before the transaction, so numbers
are given without gaps in commit order. A function that keeps the catalogue in memory catches
up by reading the changes after the number it holds, consistently, in one Query; a function
without it reads the newest snapshot (compressed, a few parts) and the changes after it.

Why a log and not the indexes: a GSI is eventually consistent, and a listing must show the
write the previous request made, on whichever function instance answers. A consistent Query of
one partition sees every committed transaction.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.errors import Busy
from chalicelib.store.catalogue_models import (
    HEAD_SK,
    CatalogueChangeItem,
    CatalogueChunkItem,
    CatalogueHeadItem,
    catalogue_pk,
    log_sk,
    snapshot_sk,
)
from chalicelib.store.models import ProductItem, TableItem
from chalicelib.store.retry import backoff

if TYPE_CHECKING:
    from chalicelib.store.table import Transaction

# A wire entry: [id, name_lc, sku_lc, brand_lc, collection_lc, season_lc, year, gender, type_lc,
# flags, shot_status, shooting_ids, created_at, updated_at], the product's slim attributes.
WireEntry = list[Any]

FLAG_ATTRIBUTES = ("archived", "enabled", "demo", "is_filler", "public")

# Items the log adds to a product's transaction, at most: a move's removal and entry, and the two
# scopes' heads. Budgeted by every product write (store/products.py).
MAX_LOG_ITEMS = 4
# Parts of a snapshot: under DynamoDB's 400 KB item limit with room for the keys.
SNAPSHOT_PART_BYTES = 350_000
# Attempts at a product write whose only failed condition was a head taken by a concurrent
# write of the same scope (each attempt reads the head again).
HEAD_ATTEMPTS = 10


def entry_of(product: ProductItem) -> WireEntry:
    """The product's listing entry (its keys refreshed: the slim attributes are derived)."""
    flags = sum(1 << i for i, name in enumerate(FLAG_ATTRIBUTES) if getattr(product, name))
    return [
        product.id,
        product.name_lc,
        product.sku_lc,
        product.brand_lc,
        product.collection_lc,
        product.season_lc,
        int(product.year) if product.year is not None else None,
        product.gender,
        product.type_lc,
        flags,
        product.shot_status,
        list(product.shooting_ids or []),
        product.created_at,
        product.updated_at,
    ]


@dataclass(frozen=True)
class Change:
    scope: str
    product_id: str
    entry: WireEntry | None  # None: the product left the scope (deleted or moved)


def product_changes(product: ProductItem, previous_scope: str | None = None) -> list[Change]:
    """What a write of `product` (keys refreshed) changes in the catalogues: its entry in its
    scope, and its removal from the scope it was in when it moved."""
    changes = [Change(product.scope, product.id, entry_of(product))]
    if previous_scope is not None and previous_scope != product.scope:
        changes.insert(0, Change(previous_scope, product.id, None))
    return changes


def removal(product: ProductItem) -> list[Change]:
    return [Change(product.scope_pk or product.scope, product.id, None)]


# -- writing the log (inside the product's transaction) -------------------------------------


def _heads(scopes: Sequence[str]) -> dict[str, CatalogueHeadItem]:
    keys = [(catalogue_pk(scope), HEAD_SK) for scope in scopes]
    if len(keys) == 1:
        try:
            found = [CatalogueHeadItem.get(*keys[0], consistent_read=True)]
        except CatalogueHeadItem.DoesNotExist:
            found = []
    else:
        found = [
            item for item in TableItem.batch_get(keys, consistent_read=True) if isinstance(item, CatalogueHeadItem)
        ]
    return {item.scope: item for item in found if isinstance(item, CatalogueHeadItem)}


def _append(tx: Transaction, changes: Sequence[Change], heads: dict[str, CatalogueHeadItem]) -> list[tuple[str, str]]:
    """The head updates and log entries of `changes`: the keys of the heads."""
    head_keys: list[tuple[str, str]] = []
    by_scope: dict[str, list[Change]] = {}
    for change in changes:
        by_scope.setdefault(change.scope, []).append(change)
    for scope, scoped in by_scope.items():
        head = heads.get(scope)
        seq = int(head.seq) if head is not None else 0
        item = CatalogueHeadItem(scope=scope)
        item.refresh_keys()
        condition = CatalogueHeadItem.seq == seq if head is not None else CatalogueHeadItem.pk.does_not_exist()
        for change in scoped:
            seq += 1
            tx.save(
                CatalogueChangeItem(
                    pk=catalogue_pk(scope),
                    sk=log_sk(seq),
                    seq=seq,
                    product_id=change.product_id,
                    entry=None if change.entry is None else json.dumps(change.entry, separators=(",", ":")),
                )
            )
        tx.update(
            item,
            [
                CatalogueHeadItem.seq.set(seq),
                CatalogueHeadItem.scope.set(scope),
                TableItem.kind.set(CatalogueHeadItem),
            ],
            condition,
            add_version_condition=False,
        )
        head_keys.append((item.pk, item.sk))
    return head_keys


def _only_heads_failed(exc: TransactWriteError, keys: list[tuple[str, str]], heads: list[tuple[str, str]]) -> bool:
    codes = [r.code if r is not None else None for r in exc.cancellation_reasons or []]
    failed = {keys[i] for i, code in enumerate(codes) if code == "ConditionalCheckFailed" and i < len(keys)}
    return bool(failed) and failed <= set(heads)


def commit_logged(tx: Transaction, changes: Sequence[Change], commit: Callable[[], Any]) -> Any:
    """Commit `tx` with the log entries of `changes`, numbered from the heads read now; a head
    that moved meanwhile (a concurrent write of the scope) is read again and the whole
    transaction sent again, with a new token (its items are new)."""
    scopes = list(dict.fromkeys(change.scope for change in changes))
    for attempt in range(HEAD_ATTEMPTS):
        mark = tx.mark()
        head_keys = _append(tx, changes, _heads(scopes))
        try:
            return commit()
        except TransactWriteError as exc:
            if not _only_heads_failed(exc, tx.item_keys(), head_keys):
                raise
            if attempt + 1 == HEAD_ATTEMPTS:
                raise Busy("The catalogue kept changing under this write; retry shortly") from exc
            tx.rewind(mark)
            time.sleep(backoff(attempt))
    raise AssertionError("unreachable")


# -- reading ----------------------------------------------------------------------------


@dataclass
class LogRead:
    changes: list[CatalogueChangeItem]
    head: CatalogueHeadItem | None
    # False when more than the limit of changes followed: read a snapshot instead.
    complete: bool


def read_changes(scope: str, after: int, limit: int | None) -> LogRead:
    """The changes numbered after `after` and the head, in one consistent Query (paged by
    DynamoDB's 1 MB when unlimited)."""
    pk = catalogue_pk(scope)
    wanted = None if limit is None else limit + 1
    changes: list[CatalogueChangeItem] = []
    head: CatalogueHeadItem | None = None
    results = TableItem.query(
        pk,
        TableItem.sk.between(log_sk(after + 1), HEAD_SK),
        consistent_read=True,
        limit=wanted,
        page_size=wanted,
    )
    for item in results:
        if isinstance(item, CatalogueChangeItem):
            changes.append(item)
        elif isinstance(item, CatalogueHeadItem):
            head = item
    complete = head is not None or wanted is None or len(changes) < wanted
    return LogRead(changes=changes, head=head, complete=complete)


def read_head(scope: str) -> CatalogueHeadItem | None:
    found = _heads([scope])
    return found.get(scope)


class SnapshotGone(Exception):
    """A part of the snapshot the head named was deleted meanwhile (a newer one replaced it)."""


def read_snapshot(head: CatalogueHeadItem) -> list[WireEntry]:
    parts = int(head.snapshot_parts or 0)
    if not parts:
        return []
    pk, seq = catalogue_pk(head.scope), int(head.snapshot_seq)
    keys = [(pk, snapshot_sk(seq, part)) for part in range(parts)]
    chunks = {
        int(item.part): item.data
        for item in TableItem.batch_get(keys, consistent_read=True)
        if isinstance(item, CatalogueChunkItem) and int(item.seq) == seq
    }
    if len(chunks) != parts:
        raise SnapshotGone(head.scope)
    entries: list[WireEntry] = json.loads(zlib.decompress(b"".join(chunks[p] for p in range(parts))))
    return entries


def decode_entry(change: CatalogueChangeItem) -> WireEntry | None:
    if change.entry is None:
        return None
    entry: WireEntry = json.loads(change.entry)
    return entry


# -- snapshots ---------------------------------------------------------------------------


def _parts(entries: Iterable[WireEntry]) -> list[bytes]:
    blob = zlib.compress(json.dumps(list(entries), separators=(",", ":")).encode(), 6)
    return [blob[i : i + SNAPSHOT_PART_BYTES] for i in range(0, len(blob), SNAPSHOT_PART_BYTES)] or [b""]


def _write_parts(scope: str, seq: int, parts: Sequence[bytes]) -> None:
    with CatalogueChunkItem.batch_write() as batch:
        for index, data in enumerate(parts):
            batch.save(
                CatalogueChunkItem(
                    pk=catalogue_pk(scope),
                    sk=snapshot_sk(seq, index),
                    seq=seq,
                    part=index,
                    parts=len(parts),
                    data=data,
                )
            )


def _delete_keys(keys: Iterable[tuple[str, str]]) -> None:
    with TableItem.batch_write() as batch:
        for pk, sk in keys:
            batch.delete(TableItem(pk=pk, sk=sk))


def write_snapshot(head: CatalogueHeadItem, seq: int, entries: Iterable[WireEntry]) -> bool:
    """The catalogue at `seq` as the scope's newest snapshot, unless a newer one was written
    meanwhile; then the previous snapshot and the changes it held are deleted (an instance
    still behind them reads the new snapshot). False when another snapshot won."""
    from chalicelib.store.table import conditional_update

    scope = head.scope
    parts = _parts(entries)
    _write_parts(scope, seq, parts)
    target = CatalogueHeadItem(scope=scope, seq=0)
    target.refresh_keys()
    won = conditional_update(
        target,
        [CatalogueHeadItem.snapshot_seq.set(seq), CatalogueHeadItem.snapshot_parts.set(len(parts))],
        (CatalogueHeadItem.snapshot_seq < seq) | CatalogueHeadItem.snapshot_seq.does_not_exist(),
    )
    if not won:
        _delete_keys((catalogue_pk(scope), snapshot_sk(seq, p)) for p in range(len(parts)))
        return False
    previous, previous_parts = int(head.snapshot_seq or 0), int(head.snapshot_parts or 0)
    # Every older snapshot, not only the one `head` named: another instance may have written one
    # since `head` was read, and lost the head to this one.
    older = TableItem.query(
        catalogue_pk(scope),
        TableItem.sk.between(snapshot_sk(0, 0), snapshot_sk(seq - 1, 9999)),
        attributes_to_get=["pk", "sk"],
    )
    garbage = [(item.pk, item.sk) for item in older]
    if previous_parts:
        # Changes the previous snapshot already held: an instance behind it reads the new one.
        old = TableItem.query(
            catalogue_pk(scope),
            TableItem.sk.between(log_sk(0), log_sk(previous)),
            attributes_to_get=["pk", "sk"],
        )
        garbage.extend((item.pk, item.sk) for item in old)
    _delete_keys(garbage)
    return True


def rebuild(scope: str, products: Iterable[ProductItem], seq: int | None = None) -> bool:
    """A snapshot of `scope` made from its products as stored, numbered `seq`: the log number
    read before the products were (the migration for products written before the log; bench
    seeding). A write made meanwhile is in the log after `seq` and applied again on top, which
    converges: an entry replaces the product's whole entry. False when a newer snapshot exists."""
    from chalicelib.store.table import conditional_update

    if seq is None:
        head = read_head(scope)
        seq = int(head.seq) if head is not None else 0
    parts = _parts(entry_of(p) for p in products)
    _write_parts(scope, seq, parts)
    target = CatalogueHeadItem(scope=scope)
    target.refresh_keys()
    actions = [
        CatalogueHeadItem.seq.set(CatalogueHeadItem.seq | seq),
        CatalogueHeadItem.scope.set(scope),
        TableItem.kind.set(CatalogueHeadItem),
        CatalogueHeadItem.snapshot_seq.set(seq),
        CatalogueHeadItem.snapshot_parts.set(len(parts)),
        CatalogueHeadItem.epoch.set((CatalogueHeadItem.epoch | 0) + 1),
    ]
    condition = CatalogueHeadItem.snapshot_seq.does_not_exist() | (CatalogueHeadItem.snapshot_seq <= seq)
    return conditional_update(target, actions, condition)
