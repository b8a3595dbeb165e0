"""GET /products/: choose the cheapest read for the query, then filter, order and page.

- No filter beyond `enabled` and an order an index keeps (the default attention order,
  `sort_by=created_at|updated_at`): one Query of skip + limit index entries, then the page and
  the partition's product counter in one BatchGetItem (`ProductRepository.page`).
- Otherwise the slim projected items of the narrowest index are read (one facet value's, the
  smallest by the facet counters when several are given, else the scope's `enabled`
  partition), filtered, ordered and counted here, and only the page is fetched whole.

Ordering is total (ties broken by id, nulls last both ways) so pages never overlap or skip,
and the in-memory order is the same as the indexes' for the orders both serve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.schemas.enums import ProductSortField, SortOrder
from chalicelib.schemas.products import ProductListQuery, ProductPublic, ProductsPublic
from chalicelib.services.access import Caller
from chalicelib.services.products import to_public
from chalicelib.store.models import DEFAULT_SHOT_STATUS, ProductItem, attention_rank
from chalicelib.store.products import PageOrder, ProductRepository

Facet = tuple[str, str | int]


def _norm(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    return text or None


def _year(item: ProductItem) -> int | None:
    return int(item.year) if item.year is not None else None


def _shot_status(item: ProductItem) -> str:
    return item.shot_status or DEFAULT_SHOT_STATUS


def _flag(attr: str, wanted: bool) -> Callable[[ProductItem], bool]:
    return lambda p: bool(getattr(p, attr)) == wanted


def _text(attr: str, wanted: str) -> Callable[[ProductItem], bool]:
    return lambda p: getattr(p, attr) == wanted


def _collections(q: ProductListQuery) -> set[str]:
    return {c for c in (_norm(v) for v in q.brand_collection or []) if c}


def build_predicate(q: ProductListQuery) -> Callable[[ProductItem], bool]:
    """The query's filters over slim items (lower-cased strings, flags)."""
    checks: list[Callable[[ProductItem], bool]] = []
    for param, attr in (
        ("archived", "archived"),
        ("demo", "demo"),
        ("enabled", "enabled"),
        ("is_filler", "is_filler"),
        ("is_public", "public"),
    ):
        wanted = getattr(q, param)
        if wanted is not None:
            checks.append(_flag(attr, wanted))
    for param, attr in (("brand", "brand_lc"), ("season", "season_lc"), ("product_type", "type_lc")):
        wanted_text = _norm(getattr(q, param))
        if wanted_text is not None:
            checks.append(_text(attr, wanted_text))
    collections = _collections(q)
    if collections:
        checks.append(lambda p: p.collection_lc in collections)
    if q.year is not None:
        checks.append(lambda p: _year(p) == q.year)
    if q.gender is not None:
        gender = q.gender.value
        checks.append(lambda p: p.gender == gender)
    if q.shot_statuses:
        statuses = {s.value for s in q.shot_statuses}
        checks.append(lambda p: _shot_status(p) in statuses)
    if q.shooting_id is not None:
        shooting = str(q.shooting_id)
        checks.append(lambda p: shooting in (p.shooting_ids or ()))
    needle = (q.search or "").lower()
    if needle:
        checks.append(lambda p: needle in p.name_lc or (p.sku_lc is not None and needle in p.sku_lc))
    return lambda p: all(check(p) for check in checks)


def filters_beyond_enabled(q: ProductListQuery) -> bool:
    """Whether the query filters on anything but `enabled` (what the page indexes partition on)."""
    flags = (q.archived, q.demo, q.is_filler, q.is_public, q.gender, q.year, q.shooting_id)
    texts = (q.brand, q.season, q.product_type)
    return (
        any(f is not None for f in flags)
        or any(_norm(t) for t in texts)
        or bool(_collections(q))
        or bool(q.shot_statuses)
        or bool(q.search)
    )


def page_order(q: ProductListQuery) -> tuple[PageOrder, bool] | None:
    """The index order (and direction) that answers the query as it stands, if any."""
    if q.enabled is None or filters_beyond_enabled(q):
        return None
    ascending = q.sort_order == SortOrder.ASC
    if q.sort_by is None:
        # Bucket rank ascending, newest change first: the attention key read backwards.
        return ("attention", False)
    if q.sort_by == ProductSortField.CREATED_AT:
        return ("created", ascending)
    if q.sort_by == ProductSortField.UPDATED_AT:
        return ("updated", ascending)
    return None


_SORT_KEYS: dict[ProductSortField, Callable[[ProductItem], Any]] = {
    ProductSortField.NAME: lambda p: p.name_lc,
    ProductSortField.SEASON: lambda p: p.season_lc,
    ProductSortField.YEAR: _year,
    ProductSortField.GENDER: lambda p: p.gender,
    ProductSortField.PRODUCT_TYPE: lambda p: p.type_lc,
    ProductSortField.SHOT_STATUS: lambda p: attention_rank(p.shot_status),
    ProductSortField.CREATED_AT: lambda p: p.created_at,
    ProductSortField.UPDATED_AT: lambda p: p.updated_at,
}


def order(items: Sequence[ProductItem], sort_by: ProductSortField | None, sort_order: SortOrder) -> list[ProductItem]:
    if sort_by is None:
        # Bucket by shot status, newest change first inside a bucket (the attention index's order).
        by_update = sorted(items, key=lambda p: (p.updated_at, p.id), reverse=True)
        return sorted(by_update, key=lambda p: attention_rank(p.shot_status))
    key = _SORT_KEYS[sort_by]
    descending = sort_order == SortOrder.DESC
    present = [p for p in items if key(p) is not None]
    missing = [p for p in items if key(p) is None]
    present.sort(key=lambda p: (key(p), p.id), reverse=descending)
    missing.sort(key=lambda p: p.id, reverse=descending)
    return present + missing


def facet_filters(q: ProductListQuery) -> list[Facet]:
    """The query's filters that have an index of their own."""
    facets: list[Facet] = []
    for name in ("brand", "season"):
        value = _norm(getattr(q, name))
        if value is not None:
            facets.append((name, value))
    if q.year is not None:
        facets.append(("year", q.year))
    return facets


class ProductListing:
    def __init__(self, products: ProductRepository | None = None) -> None:
        self.products = products or ProductRepository()

    def list(self, caller: Caller, q: ProductListQuery) -> ProductsPublic:
        org_id = str(q.organization_id) if q.organization_id else None
        if org_id:
            caller.require_member(org_id)
        indexed = page_order(q)
        if indexed is not None:
            assert q.enabled is not None
            index_order, ascending = indexed
            page = self.products.page(caller.id, org_id, q.enabled, index_order, ascending, q.skip, q.limit)
            return ProductsPublic(data=[to_public(p) for p in page.products], count=page.count)

        matches = self.matching(caller.id, org_id, q)
        page_items = matches[q.skip : q.skip + q.limit]
        full = self.products.batch_get([p.id for p in page_items])
        data: list[ProductPublic] = [to_public(full[p.id]) for p in page_items if p.id in full]
        return ProductsPublic(data=data, count=len(matches))

    def matching(self, user_id: str, org_id: str | None, q: ProductListQuery) -> Sequence[ProductItem]:
        """Every product of the scope these filters match, as slim items, in the listing's order
        (the filtered path: the narrowest index's slim items, the predicate, the sort)."""
        facets = facet_filters(q)
        facet: Facet | None = facets[0] if facets else None
        if len(facets) > 1:
            # Read the smallest of the facet indexes; a value no product has matches nothing.
            sizes = self.products.facet_sizes(user_id, org_id, facets)
            if min(sizes) == 0:
                return []
            facet = facets[sizes.index(min(sizes))]
        slim_items = self.products.slim_in_scope(user_id, org_id, q.enabled, facet)
        return order(list(filter(build_predicate(q), slim_items)), q.sort_by, q.sort_order)
