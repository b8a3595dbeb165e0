"""Registered brands and collections; each name is guarded per scope by its facet counter item."""

from __future__ import annotations

from pynamodb.transactions import TransactWrite

from chalicelib.errors import Conflict, StaleWrite
from chalicelib.store.facets import counter_actions, sweep_empty
from chalicelib.store.models import (
    BrandItem,
    CollectionItem,
    FacetItem,
    bind_table,
    facet_counter_pk,
    facet_shard_pk,
    facet_sk,
)
from chalicelib.store.table import get_item, transaction


def _register(
    tx: TransactWrite, scope: str, entity_id: str, facet: str, name: str, brand: str | None, now: str
) -> None:
    sk = facet_sk(facet, name, brand)
    guard = FacetItem(pk=facet_counter_pk(scope), sk=sk)
    register = [FacetItem.entity_id.set(entity_id), FacetItem.registered.add(1)]
    tx.update(
        guard,
        counter_actions(0, facet, name, brand, now) + register,
        condition=FacetItem.entity_id.does_not_exist(),
    )
    shard = FacetItem(pk=facet_shard_pk(entity_id), sk=sk)
    tx.update(shard, [*counter_actions(0, facet, name, brand, now), FacetItem.registered.add(1)])


def _unregister(
    tx: TransactWrite, scope: str, entity_id: str, facet: str, name: str, brand: str | None, now: str
) -> list[tuple[str, str]]:
    """Drop a registration; returns the counters to sweep once the transaction commits."""
    sk = facet_sk(facet, name, brand)
    tx.update(
        FacetItem(pk=facet_counter_pk(scope), sk=sk),
        [FacetItem.entity_id.remove(), FacetItem.registered.add(-1)],
        condition=FacetItem.entity_id == entity_id,
    )
    tx.update(
        FacetItem(pk=facet_shard_pk(entity_id), sk=sk),
        [*counter_actions(0, None, None, None, now), FacetItem.registered.add(-1)],
    )
    return [(facet_counter_pk(scope), sk), (facet_shard_pk(entity_id), sk)]


def _guard_key(scope: str, facet: str, name: str, brand: str | None = None) -> tuple[str, str]:
    return (facet_counter_pk(scope), facet_sk(facet, name, brand))


class RegistryRepository:
    """Conflicts are told apart by the key whose condition failed: the name's guard (the name
    is taken: 409), or the entity itself (a stale version: StaleWrite, retried by the caller).
    A conflicting transaction on a shared counter is `Busy`, never "name already exists"."""

    def __init__(self) -> None:
        bind_table()

    def get_brand(self, brand_id: str) -> BrandItem | None:
        return get_item(BrandItem, f"BRAND#{brand_id}", "BRAND")

    def create_brand(self, brand: BrandItem) -> None:
        brand.refresh_keys()
        try:
            with transaction() as tx:
                tx.save(brand)
                _register(tx, brand.scope, brand.id, "brand", brand.name, None, brand.created_at)
        except Conflict as exc:
            if _guard_key(brand.scope, "brand", brand.name) in exc.failed_keys:
                raise Conflict("A brand with this name already exists") from exc
            raise

    def rename_brand(self, brand: BrandItem, old_name: str) -> None:
        """Save a brand whose name changed; the guard moves with the name (version-checked)."""
        sk = facet_sk("brand", brand.name)
        same_key = facet_sk("brand", old_name) == sk
        emptied: list[tuple[str, str]] = []
        try:
            with transaction() as tx:
                tx.save(brand)
                if same_key:
                    # A new spelling of the same name: the registered name is shown as renamed.
                    tx.update(
                        FacetItem(pk=facet_counter_pk(brand.scope), sk=sk),
                        [FacetItem.value.set(brand.name)],
                        condition=FacetItem.entity_id == brand.id,
                    )
                    tx.update(FacetItem(pk=facet_shard_pk(brand.id), sk=sk), [FacetItem.value.set(brand.name)])
                else:
                    emptied = _unregister(tx, brand.scope, brand.id, "brand", old_name, None, brand.updated_at)
                    _register(tx, brand.scope, brand.id, "brand", brand.name, None, brand.updated_at)
        except Conflict as exc:
            if not same_key and _guard_key(brand.scope, "brand", brand.name) in exc.failed_keys:
                raise Conflict("A brand with this name already exists") from exc
            # The brand's version, or its own guard, changed since it was read.
            raise StaleWrite("The brand was changed by another request; retry", exc.failed_keys) from exc
        sweep_empty(emptied)

    def create_collection(self, collection: CollectionItem) -> None:
        collection.refresh_keys()
        try:
            with transaction() as tx:
                tx.save(collection)
                _register(
                    tx,
                    collection.scope,
                    collection.id,
                    "collection",
                    collection.name,
                    collection.brand,
                    collection.created_at,
                )
        except Conflict as exc:
            if _guard_key(collection.scope, "collection", collection.name, collection.brand) in exc.failed_keys:
                raise Conflict("A collection with this name already exists for this brand") from exc
            raise
