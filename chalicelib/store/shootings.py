"""Shootings, looks and shots: the keys, the reads and the transactions that write them.

A look is one item with its shots embedded; a shot's writes are a read-modify-write of its look
under the look's version, in one transaction with the product's copies of the shot state
(`shot_status`, the attention key it sorts by, `shot_summaries`, `shooting_ids`), under the
product's version. Either condition failing is a StaleWrite: the caller re-reads and retries,
so neither a concurrent shot change nor a concurrent product edit is lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from chalicelib.errors import Conflict, StaleWrite
from chalicelib.store.catalogue import product_changes
from chalicelib.store.limits import check_item_size
from chalicelib.store.models import (
    LookItem,
    LookRefItem,
    MediaItem,
    ProductItem,
    ShootingItem,
    ShotRefItem,
    TableItem,
    bind_table,
    look_ref_prefix,
    look_ref_sk,
)
from chalicelib.store.products import check_product_size
from chalicelib.store.table import Transaction, get_item, transaction

_STALE = "The look or its product was changed by another request; retry"
_BATCH_GET_LIMIT = 100


@contextmanager
def _versioned(*items: TableItem) -> Iterator[Transaction]:
    keys = {(i.pk, i.sk) for i in items}
    try:
        with transaction(_STALE) as tx:
            yield tx
    except Conflict as exc:
        if keys & set(exc.failed_keys):
            raise StaleWrite(_STALE, exc.failed_keys) from exc
        raise


def _check_product_size(product: ProductItem) -> None:
    """The product carries its looks' shot summaries: it must still fit in one item."""
    product.refresh_keys()
    check_product_size(product)


def _product_actions(product: ProductItem) -> list[Any]:
    """The product's shot-state attributes as they are set on the instance (keys refreshed)."""
    product.refresh_keys()
    return [
        ProductItem.shot_status.set(product.shot_status),
        ProductItem.shot_status_look_id.set(product.shot_status_look_id),
        ProductItem.shot_summaries.set(product.shot_summaries),
        ProductItem.shooting_ids.set(product.shooting_ids or []),
        ProductItem.attention_sk.set(product.attention_sk),
    ]


class ShootingRepository:
    def __init__(self) -> None:
        bind_table()

    # -- reads ---------------------------------------------------------------------------

    def get_shooting(self, shooting_id: str) -> ShootingItem | None:
        return get_item(ShootingItem, f"SHOOTING#{shooting_id}", "SHOOTING")

    def get_look(self, look_id: str) -> LookItem | None:
        return get_item(LookItem, f"LOOK#{look_id}", "LOOK")

    def get_shot_ref(self, shot_id: str) -> ShotRefItem | None:
        return get_item(ShotRefItem, f"SHOT#{shot_id}", "SHOT")

    def looks_of_product(self, product_id: str) -> list[LookItem]:
        """Every look of which the product is the main product, newest first (one Query)."""
        found = TableItem.looks_index.query(f"LOOKS#{product_id}", scan_index_forward=False)
        return [item for item in found if isinstance(item, LookItem)]

    def main_looks(self, product_id: str) -> list[LookItem]:
        """Every look of which the product is the main product, as stored now: the ids from the
        (eventually consistent) looks index and from the "main" references in the product's
        partition (read strongly consistent), the looks themselves read by key, consistently."""
        refs = TableItem.query(f"PRODUCT#{product_id}", TableItem.sk.startswith("LOOKREF#"), consistent_read=True)
        ids = [ref.look_id for ref in refs if isinstance(ref, LookRefItem) and ref.role == "main"]
        ids += [look.id for look in self.looks_of_product(product_id)]
        return list(self.batch_get_looks(ids, consistent=True).values()) if ids else []

    def related_page(self, product_id: str, scope: str | None, skip: int, limit: int) -> tuple[list[LookRefItem], int]:
        """The references of one scope's looks that the product takes part in (every scope's with
        None), newest first: those from `skip` to `skip + limit`, and how many there are.

        One Query of `skip + limit` references. When it comes back full, one Select=COUNT Query
        of the rest: DynamoDB reads them (small items, about 400 bytes) without sending them.
        Other scopes' references are never read."""
        partition = f"PRODUCT#{product_id}"
        prefix = look_ref_prefix(scope)
        wanted = skip + limit
        found = list(
            LookRefItem.query(
                partition,
                LookRefItem.sk.startswith(prefix),
                scan_index_forward=False,
                limit=wanted,
                page_size=wanted,
            )
        )
        if len(found) < wanted:
            return found[skip:], len(found)
        # Older than the last one read; `between` takes its bounds in, so that one counts again.
        rest = LookRefItem.count(partition, LookRefItem.sk.between(prefix, found[-1].sk)) - 1
        return found[skip:], wanted + rest

    def batch_get_looks(self, look_ids: Sequence[str], consistent: bool = False) -> dict[str, LookItem]:
        found: dict[str, LookItem] = {}
        keys = [(f"LOOK#{look_id}", "LOOK") for look_id in dict.fromkeys(look_ids)]
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            for item in TableItem.batch_get(keys[start : start + _BATCH_GET_LIMIT], consistent_read=consistent):
                if isinstance(item, LookItem):
                    found[item.id] = item
        return found

    # -- writes --------------------------------------------------------------------------

    def create_shooting(self, shooting: ShootingItem) -> None:
        shooting.refresh_keys()
        with transaction() as tx:
            tx.save(shooting, condition=ShootingItem.pk.does_not_exist())

    def create_look(self, look: LookItem, refs: Sequence[LookRefItem], product: ProductItem) -> None:
        """The look, its references under each product, and the main product's shot state."""
        look.refresh_keys()
        check_item_size(look, {"shots": look.shots, **look.doc})
        _check_product_size(product)
        with _versioned(look, product) as tx:
            tx.save(look, condition=LookItem.pk.does_not_exist())
            for ref in refs:
                # A reference is read by its look's scope (related_page).
                ref.owner_id, ref.organization_id = look.owner_id, look.organization_id
                ref.refresh_keys()
                tx.save(ref)
                if ref.product_id != product.id:
                    # An outfit product deleted meanwhile would be left a reference (a Conflict
                    # naming its key: the service reports it at the field).
                    tx.condition_check(ProductItem, f"PRODUCT#{ref.product_id}", "PRODUCT", ProductItem.pk.exists())
            tx.update(product, _product_actions(product))
            tx.log(product_changes(product))

    def save_look(
        self,
        look: LookItem,
        product: ProductItem | None,
        new_shot: ShotRefItem | None = None,
        new_media: Sequence[MediaItem] = (),
    ) -> None:
        """The look as changed (under its version), a new shot's pointer, and the product's
        shot state when the change moves it (under the product's version)."""
        look.refresh_keys()
        check_item_size(look, {"shots": look.shots, **look.doc})
        if product is not None:
            _check_product_size(product)
        items: list[TableItem] = [look] if product is None else [look, product]
        with _versioned(*items) as tx:
            tx.save(look)
            if new_shot is not None:
                new_shot.refresh_keys()
                tx.save(new_shot, condition=ShotRefItem.pk.does_not_exist())
            if product is not None:
                tx.update(product, _product_actions(product))
                tx.log(product_changes(product))
            for media in new_media:
                media.refresh_keys()
                tx.save(media, condition=MediaItem.pk.does_not_exist())

    def product_delete_keys(self, product_id: str, children: Sequence[TableItem]) -> list[tuple[str, str]]:
        """What goes with a product beyond its own partition: the looks of which it is the main
        product and their shots' pointers (its look references are in its partition)."""
        keys: list[tuple[str, str]] = []
        # The looks index is eventually consistent: a look committed just before the delete read
        # it may be missing there. Its "main" reference is in the product's own partition
        # (`children`, read strongly consistent, and written in the look's transaction with the
        # product's version, so the delete's version condition orders the two): the looks it
        # names are read by key, consistently, and joined with the index's.
        looks = {look.id: look for look in self.looks_of_product(product_id)}
        main_refs = [c.look_id for c in children if isinstance(c, LookRefItem) and c.role == "main"]
        missing = [look_id for look_id in main_refs if look_id not in looks]
        if missing:
            looks.update(self.batch_get_looks(missing, consistent=True))
        for look in looks.values():
            keys.append((look.pk, look.sk))
            # The look's references under its outfit products, its shots' pointers, and the
            # media records of its revisions' images.
            refs = [p for p in look.doc.get("outfit_product_ids") or [] if p != product_id]
            ref_sk = look_ref_sk(look.owner_id, look.organization_id, look.created_at, look.id)
            keys.extend((f"PRODUCT#{p}", ref_sk) for p in refs)
            for shot in look.shots or []:
                keys.append((f"SHOT#{shot['id']}", "SHOT"))
                for revision in shot.get("revisions") or []:
                    for image in revision.get("images") or []:
                        media = image.get("image_media")
                        if isinstance(media, dict) and media.get("id"):
                            keys.append((f"MEDIA#{media['id']}", "MEDIA"))
        return keys
