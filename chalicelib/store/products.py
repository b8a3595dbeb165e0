"""Products: writes in transactions with a version condition, listings from the indexes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pynamodb.exceptions import PynamoDBException, UpdateError

from chalicelib.errors import Conflict, StaleWrite
from chalicelib.store.catalogue import MAX_LOG_ITEMS, product_changes, removal
from chalicelib.store.facets import (
    MAX_COUNTER_UPDATES,
    CounterKey,
    apply_counters,
    plan_product_counters,
    sweep_empty,
)
from chalicelib.store.limits import check_item_size
from chalicelib.store.models import (
    FacetItem,
    MediaItem,
    ProductItem,
    TableItem,
    bind_table,
)
from chalicelib.store.table import MAX_TRANSACTION_ITEMS, Transaction, get_item, transaction, unavailable

logger = logging.getLogger(__name__)

_BATCH_GET_LIMIT = 100

_STALE = "The product was changed by another request; retry"

# A product write's transaction: the product, its counters, its catalogue log, then media records.
# New media must go in it (the product refers to them); removed ones may follow it (see `save`).
# The room a product write leaves for other items:
PRODUCT_WRITE_ROOM = MAX_TRANSACTION_ITEMS - 1 - MAX_LOG_ITEMS
MAX_NEW_MEDIA = PRODUCT_WRITE_ROOM - MAX_COUNTER_UPDATES


@contextmanager
def _product_transaction(product: ProductItem) -> Iterator[Transaction]:
    """A transaction in which a failed condition on the product itself is a StaleWrite (the
    caller re-reads and retries); any other failure is mapped as `transaction` maps it."""
    try:
        with transaction(_STALE) as tx:
            yield tx
    except Conflict as exc:
        if (product.pk, product.sk) in exc.failed_keys:
            raise StaleWrite(_STALE, exc.failed_keys) from exc
        raise


def check_product_size(product: ProductItem) -> None:
    """ItemTooLarge when the product would not fit in one item, naming its largest part: a field
    of its document, or what the shootings side keeps on it (shot summaries, selected shots)."""
    parts = {"shot_summaries": product.shot_summaries, "selected_shots": product.selected_shots, **product.doc}
    check_item_size(product, parts)


def dependents(product_id: str, children: Sequence[TableItem]) -> list[tuple[str, str]]:
    """Keys outside the product's partition that belong to it."""
    from chalicelib.store.generations import pointer_keys
    from chalicelib.store.shootings import ShootingRepository

    keys = ShootingRepository().product_delete_keys(product_id, children) + pointer_keys(children)
    # Once each: a revision image taken from a prediction names the generation's media record,
    # and one BatchWriteItem refuses a key twice.
    return list(dict.fromkeys(keys))


class ProductRepository:
    def __init__(self) -> None:
        bind_table()

    def get(self, product_id: str) -> ProductItem | None:
        return get_item(ProductItem, f"PRODUCT#{product_id}", "PRODUCT")

    # -- writes ------------------------------------------------------------------------

    def save(
        self,
        product: ProductItem,
        new_media: Sequence[MediaItem] = (),
        removed_media_ids: Iterable[str] = (),
    ) -> None:
        """Create or replace a product with its media records and counters in one transaction.

        The version attribute makes this conditional: a create fails if the id exists, a
        replace fails if anyone wrote the product since it was read (StaleWrite).
        """
        existing = product.version is not None
        previous_scope = product.scope_pk if existing else None
        # Planned before refresh_keys(): the counters move from the stored keys.
        counters = plan_product_counters(product if existing else None, product)
        removed = sorted(removed_media_ids)
        # Records of removed media are garbage once the product stops naming them: when they
        # would not fit the transaction, they are deleted right after it.
        deferred = removed if len(counters) + len(new_media) + len(removed) > PRODUCT_WRITE_ROOM else []
        product.refresh_keys()
        check_product_size(product)
        with _product_transaction(product) as tx:
            tx.save(product)
            tx.log(product_changes(product, previous_scope))
            decremented = apply_counters(tx, counters, product.updated_at)
            for media in new_media:
                media.refresh_keys()
                tx.save(media, condition=MediaItem.pk.does_not_exist())
            for media_id in [] if deferred else removed:
                tx.delete(MediaItem(pk=f"MEDIA#{media_id}", sk="MEDIA"), add_version_condition=False)
        self._delete_media_records(deferred)
        sweep_empty(decremented)

    def delete(self, product: ProductItem) -> None:
        """The product with everything that hangs under it: the items of its partition (look
        references, generations), and outside it the looks of which it is the main product and
        the pointers to their shots and to its predictions and refines (see `dependents`)."""
        children = [item for item in TableItem.query(f"PRODUCT#{product.id}") if item.sk != "PRODUCT"]
        outside = dependents(product.id, children)
        if outside:
            # Before the product: a failure here leaves the product, which a retry deletes again.
            with TableItem.batch_write() as batch:
                for pk, sk in outside:
                    batch.delete(TableItem(pk=pk, sk=sk))
        media_keys = [(f"MEDIA#{m}", "MEDIA") for m in product.media_ids]
        counters = plan_product_counters(product, None)
        # One transaction holds 100 items: the product, its counters, its media and its
        # children; children beyond that (later: generations) go in batches first.
        room = PRODUCT_WRITE_ROOM - len(counters) - len(media_keys)
        overflow = children[: max(0, len(children) - room)]
        if overflow:
            with TableItem.batch_write() as batch:
                for item in overflow:
                    batch.delete(item)
            children = children[len(overflow) :]
        try:
            with _product_transaction(product) as tx:
                tx.delete(product)
                tx.log(removal(product))
                decremented = apply_counters(tx, counters, product.updated_at)
                for pk, sk in media_keys:
                    tx.delete(MediaItem(pk=pk, sk=sk), add_version_condition=False)
                for child in children:
                    # A versioned child (a generation) as it was listed: one changed since (a
                    # refine added its pointer) fails the delete, which lists again.
                    tx.delete(child, add_version_condition=True)
        except Conflict as exc:
            if {(c.pk, c.sk) for c in children} & set(exc.failed_keys):
                raise StaleWrite(_STALE, exc.failed_keys) from exc
            raise
        sweep_empty(decremented)

    def set_shot_status(self, product: ProductItem, shot_status: str) -> None:
        """Change a product's shot status (the shootings side owns it): a version-checked write
        of the status with the attention key it sorts by, and its catalogue entry."""
        product.shot_status = shot_status
        product.refresh_keys()
        with _product_transaction(product) as tx:
            tx.update(
                product,
                [ProductItem.shot_status.set(shot_status), ProductItem.attention_sk.set(product.attention_sk)],
            )
            tx.log(product_changes(product))

    def set_selected_shots(self, product: ProductItem, shots: dict[str, str]) -> None:
        """The product's selected shots (shot type -> prediction id), alone, under its version."""
        product.selected_shots = shots
        check_product_size(product)
        self.update_versioned(product, [ProductItem.selected_shots.set(shots)])

    @staticmethod
    def update_versioned(product: ProductItem, actions: list[Any]) -> None:
        """An UpdateItem of some attributes under the product's version (PynamoDB adds the condition
        and the increment): StaleWrite when anyone wrote it since it was read."""
        try:
            product.update(actions=actions)
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise StaleWrite(_STALE) from exc
            mapped = unavailable(exc.cause_response_code)
            if mapped is None:
                raise
            raise mapped from exc

    @staticmethod
    def _delete_media_records(media_ids: Sequence[str]) -> None:
        """Records no product names any more: garbage, so a failure here fails nothing (the
        product is committed; a leftover record only points at a deleted object)."""
        if not media_ids:
            return
        try:
            with MediaItem.batch_write() as batch:
                for media_id in media_ids:
                    batch.delete(MediaItem(pk=f"MEDIA#{media_id}", sk="MEDIA"))
        except PynamoDBException:
            logger.warning("replaced media records left behind", extra={"media_ids": list(media_ids)}, exc_info=True)

    # -- listings ----------------------------------------------------------------------

    def batch_get(self, product_ids: Sequence[str], consistent: bool = False) -> dict[str, ProductItem]:
        return self._batch_get(product_ids, None, consistent)[0]

    @staticmethod
    def _batch_get(
        product_ids: Sequence[str], counter: CounterKey | None, consistent: bool = False
    ) -> tuple[dict[str, ProductItem], int]:
        found: dict[str, ProductItem] = {}
        count = 0
        keys: list[tuple[str, str]] = [(f"PRODUCT#{pid}", "PRODUCT") for pid in product_ids]
        if counter is not None:
            keys.append(counter)
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            for item in TableItem.batch_get(keys[start : start + _BATCH_GET_LIMIT], consistent_read=consistent):
                if isinstance(item, ProductItem):
                    found[item.id] = item
                elif isinstance(item, FacetItem):
                    count = int(item.product_count or 0)
        return found, count
