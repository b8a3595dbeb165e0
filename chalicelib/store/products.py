"""Products: writes in transactions with a version condition, listings from slim indexes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from chalicelib.store.facets import sweep_empty, write_product_counters
from chalicelib.store.models import MediaItem, ProductItem, TableItem, bind_table, facet_index_key, product_scope
from chalicelib.store.table import get_item, transaction

_BATCH_GET_LIMIT = 100


class ProductRepository:
    def __init__(self) -> None:
        bind_table()

    def get(self, product_id: str) -> ProductItem | None:
        return get_item(ProductItem, f"PRODUCT#{product_id}", "PRODUCT")

    def save(
        self,
        product: ProductItem,
        new_media: Sequence[MediaItem] = (),
        removed_media_ids: Iterable[str] = (),
    ) -> None:
        """Create or replace a product with its media records in one transaction.

        The version attribute makes this conditional: a create fails if the id exists, a
        replace fails if anyone wrote the product since it was read (Conflict).
        """
        existing = product.version is not None
        with transaction("The product was changed by another request; retry") as tx:
            # Counters first: they read the stored keys that refresh_keys() replaces.
            decremented = write_product_counters(tx, product if existing else None, product, product.updated_at)
            product.refresh_keys()
            tx.save(product)
            for media in new_media:
                media.refresh_keys()
                tx.save(media, condition=MediaItem.pk.does_not_exist())
            for media_id in removed_media_ids:
                tx.delete(MediaItem(pk=f"MEDIA#{media_id}", sk="MEDIA"), add_version_condition=False)
        sweep_empty(decremented)

    def delete(self, product: ProductItem) -> None:
        children = [item for item in TableItem.query(f"PRODUCT#{product.id}") if item.sk != "PRODUCT"]
        media_keys = [(f"MEDIA#{m}", "MEDIA") for m in product.media_ids]
        # One transaction holds 100 items: the product, its media, its facet counters (16 at
        # most) and its children; children beyond that (later: generations) go in batches first.
        overflow = children[: max(0, len(children) + len(media_keys) + 17 - 100)]
        if overflow:
            with TableItem.batch_write() as batch:
                for item in overflow:
                    batch.delete(item)
            children = children[len(overflow) :]
        with transaction("The product was changed by another request; retry") as tx:
            decremented = write_product_counters(tx, product, None, product.updated_at)
            tx.delete(product)
            for pk, sk in media_keys:
                tx.delete(MediaItem(pk=pk, sk=sk), add_version_condition=False)
            for child in children:
                tx.delete(child, add_version_condition=False)
        sweep_empty(decremented)

    def slim_in_scope(
        self, user_id: str, organization_id: str | None, facet: tuple[str, str | int] | None = None
    ) -> list[ProductItem]:
        """Every product of a scope as slim projected items, from a facet index when given."""
        scope = product_scope(user_id, organization_id)
        if facet is None:
            results: Iterable[Any] = TableItem.scope_index.query(scope)
        else:
            name, value = facet
            index = {"brand": TableItem.brand_index, "season": TableItem.season_index, "year": TableItem.year_index}[
                name
            ]
            results = index.query(facet_index_key(scope, name, value))
        return [item for item in results if isinstance(item, ProductItem)]

    def batch_get(self, product_ids: Sequence[str]) -> dict[str, ProductItem]:
        found: dict[str, ProductItem] = {}
        for start in range(0, len(product_ids), _BATCH_GET_LIMIT):
            chunk = product_ids[start : start + _BATCH_GET_LIMIT]
            for item in ProductItem.batch_get([(f"PRODUCT#{pid}", "PRODUCT") for pid in chunk]):
                if isinstance(item, ProductItem):
                    found[item.id] = item
        return found


class MediaRepository:
    def __init__(self) -> None:
        bind_table()

    def get(self, media_id: str) -> MediaItem | None:
        return get_item(MediaItem, f"MEDIA#{media_id}", "MEDIA")
