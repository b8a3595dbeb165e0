"""Facet counters: written inside the product's transaction, read with one Query per scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError
from pynamodb.transactions import TransactWrite

from chalicelib.store.models import (
    FacetItem,
    ProductItem,
    doc_facet_values,
    facet_all_pks,
    facet_counter_pk,
    facet_prefix,
    facet_shard_pk,
    list_counter_sk,
    stored_facet_sks,
)


@dataclass
class FacetRow:
    value: str
    count: int
    brand: str | None = None


def counter_actions(delta: int, facet: str | None, display: str | None, brand: str | None, now: str) -> list[Any]:
    actions: list[Any] = [
        FacetItem.product_count.add(delta),
        FacetItem.kind.set(FacetItem.kind | FacetItem),
        FacetItem.first_at.set(FacetItem.first_at | now),
    ]
    if facet is not None and display is not None:
        actions += [FacetItem.facet.set(FacetItem.facet | facet), FacetItem.value.set(FacetItem.value | display)]
        if brand is not None:
            actions.append(FacetItem.brand.set(FacetItem.brand | brand))
    return actions


CounterKey = tuple[str, str]
# What a new counter shows: (facet, display value, brand display); all None for list counters.
CounterLabel = tuple[str | None, str | None, str | None]


@dataclass
class CounterPlan:
    """The counter updates of one product write: -1 for the values it leaves, +1 for those it
    takes (a value it keeps is not touched, so an unchanged product writes no counter)."""

    decrements: list[CounterKey]
    increments: list[tuple[CounterKey, CounterLabel]]

    def __len__(self) -> int:
        return len(self.decrements) + len(self.increments)


# At most: four facets in the scope and in a shard, left and taken, plus the list counters.
MAX_COUNTER_UPDATES = 4 * 2 * 2 + 2


def _stored_counters(product: ProductItem) -> set[CounterKey]:
    """The counters a product item counts in, from its stored attributes (as read)."""
    scope_pk = facet_counter_pk(str(product.scope_pk))
    shard = facet_shard_pk(product.id)
    keys = {(scope_pk, list_counter_sk(bool(product.enabled)))}
    for sk in stored_facet_sks(product):
        keys |= {(scope_pk, sk), (shard, sk)}
    return keys


def _new_counters(product: ProductItem) -> dict[CounterKey, CounterLabel]:
    scope_pk = facet_counter_pk(product.scope)
    shard = facet_shard_pk(product.id)
    keys: dict[CounterKey, CounterLabel] = {
        (scope_pk, list_counter_sk(bool(product.doc["enabled"]))): (None, None, None)
    }
    for sk, value in doc_facet_values(product.doc).items():
        keys[(scope_pk, sk)] = value
        keys[(shard, sk)] = value
    return keys


def plan_product_counters(before: ProductItem | None, after: ProductItem | None) -> CounterPlan:
    """Move the product's counts from its stored state (`before`, as read: refresh_keys not yet
    applied) to its new one (`after`, from its doc)."""
    old = _stored_counters(before) if before is not None else set()
    new = _new_counters(after) if after is not None else {}
    return CounterPlan(
        decrements=sorted(old - set(new)),
        increments=[(key, label) for key, label in sorted(new.items()) if key not in old],
    )


def apply_counters(tx: TransactWrite, plan: CounterPlan, now: str) -> list[CounterKey]:
    """Add the plan's updates to the transaction; returns the decremented counters: pass them to
    `sweep_empty` once the transaction commits."""
    for pk, sk in plan.decrements:
        tx.update(FacetItem(pk=pk, sk=sk), counter_actions(-1, None, None, None, now))
    for (pk, sk), (facet, display, brand) in plan.increments:
        tx.update(FacetItem(pk=pk, sk=sk), counter_actions(1, facet, display, brand, now))
    return plan.decrements


def read_counts(keys: list[CounterKey]) -> dict[CounterKey, int]:
    """Product counts of the given counters (absent: 0), in one BatchGetItem."""
    counts = dict.fromkeys(keys, 0)
    if not keys:
        return counts
    for item in FacetItem.batch_get(keys):
        if isinstance(item, FacetItem):
            counts[(item.pk, item.sk)] = int(item.product_count or 0)
    return counts


def sweep_empty(keys: list[CounterKey]) -> None:
    """Delete counters that reached zero, so a value that comes back is shown as then written
    and a scope's counter partition holds live values only.

    The condition makes this safe against a concurrent increment (the delete then fails and the
    item stays); a failure of any kind only leaves a zero counter, which reads skip.
    """
    empty = (FacetItem.product_count <= 0) & (FacetItem.registered.does_not_exist() | (FacetItem.registered <= 0))
    for pk, sk in keys:
        try:
            FacetItem(pk=pk, sk=sk).delete(condition=empty)
        except DeleteError:
            continue


def read_facet(scope: str | None, facet: str, brand: str | None = None) -> list[FacetRow]:
    """Distinct values of a facet in a scope (None: every scope), alphabetical, with counts.

    One Query per partition read: one for a scope, one per shard for every scope. The cost
    follows the number of distinct values, never the number of products.
    """
    pks = [facet_counter_pk(scope)] if scope is not None else facet_all_pks()
    prefix = facet_prefix(facet, brand)
    merged: dict[str, tuple[str, int, int, str]] = {}
    for pk in pks:
        for item in FacetItem.query(pk, FacetItem.sk.startswith(prefix)):
            if not isinstance(item, FacetItem) or not item.value:
                continue
            # Collections of different brands share a name: list the name once.
            name_key = item.value.lower() if facet != "year" else item.value
            count, registered = int(item.product_count or 0), int(item.registered or 0)
            first_at = item.first_at or ""
            if name_key in merged:
                value, c, r, seen = merged[name_key]
                if first_at < seen:
                    value, seen = item.value, first_at
                merged[name_key] = (value, c + count, r + registered, seen)
            else:
                merged[name_key] = (item.value, count, registered, first_at)
    rows = [FacetRow(value=v, count=c) for v, c, r, _ in merged.values() if c > 0 or r > 0]
    if facet == "year":
        return sorted(rows, key=lambda r: int(r.value), reverse=True)
    return sorted(rows, key=lambda r: (r.value.lower(), r.value))
