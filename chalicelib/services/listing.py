"""GET /products/: filter, order and page the slim items of one scope.

The store hands over every product of the scope (or of one facet value of it) as slim
projected items; the rules here decide which match and in what order, and only the page is
then fetched whole. Ordering is total (ties broken by id, nulls last both ways) so pages
never overlap or skip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.schemas.enums import ProductShootingStatus, ProductSortField, SortOrder
from chalicelib.schemas.products import ProductListQuery, ProductPublic, ProductsPublic
from chalicelib.services.access import Caller
from chalicelib.services.products import to_public
from chalicelib.store.models import ProductItem
from chalicelib.store.products import ProductRepository

# Default order: what needs attention first.
BUCKET_RANK = {
    ProductShootingStatus.TO_REVIEW.value: 0,
    ProductShootingStatus.IN_PROGRESS.value: 1,
    ProductShootingStatus.NOT_STARTED.value: 2,
    ProductShootingStatus.APPROVED.value: 3,
}


@dataclass(frozen=True)
class Slim:
    """The listing's view of a product: lower-cased strings, flags, sort keys."""

    id: str
    name: str
    sku: str | None
    brand: str | None
    collection: str | None
    season: str | None
    year: int | None
    gender: str
    product_type: str | None
    archived: bool
    enabled: bool
    demo: bool
    is_filler: bool
    public: bool
    shot_status: str
    shooting_ids: tuple[str, ...]
    created_at: str
    updated_at: str

    @classmethod
    def from_item(cls, item: ProductItem) -> Slim:
        return cls(
            id=item.id,
            name=item.name_lc,
            sku=item.sku_lc,
            brand=item.brand_lc,
            collection=item.collection_lc,
            season=item.season_lc,
            year=int(item.year) if item.year is not None else None,
            gender=item.gender,
            product_type=item.type_lc,
            archived=bool(item.archived),
            enabled=bool(item.enabled),
            demo=bool(item.demo),
            is_filler=bool(item.is_filler),
            public=bool(item.public),
            shot_status=item.shot_status or ProductShootingStatus.NOT_STARTED.value,
            shooting_ids=tuple(item.shooting_ids or ()),
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


def _norm(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    return text or None


def _equals(attr: str, wanted: object) -> Callable[[Slim], bool]:
    return lambda s: bool(getattr(s, attr) == wanted)


def build_predicate(q: ProductListQuery) -> Callable[[Slim], bool]:
    checks: list[Callable[[Slim], bool]] = []
    for flag, attr in (
        ("archived", "archived"),
        ("demo", "demo"),
        ("enabled", "enabled"),
        ("is_filler", "is_filler"),
        ("is_public", "public"),
    ):
        wanted = getattr(q, flag)
        if wanted is not None:
            checks.append(_equals(attr, wanted))
    for param, attr in (("brand", "brand"), ("season", "season"), ("product_type", "product_type")):
        wanted_text = _norm(getattr(q, param))
        if wanted_text is not None:
            checks.append(_equals(attr, wanted_text))
    collections = {c for c in (_norm(v) for v in q.brand_collection or []) if c}
    if collections:
        checks.append(lambda s: s.collection in collections)
    if q.year is not None:
        checks.append(lambda s: s.year == q.year)
    if q.gender is not None:
        gender = q.gender.value
        checks.append(lambda s: s.gender == gender)
    if q.shot_statuses:
        statuses = {s.value for s in q.shot_statuses}
        checks.append(lambda s: s.shot_status in statuses)
    if q.shooting_id is not None:
        shooting = str(q.shooting_id)
        checks.append(lambda s: shooting in s.shooting_ids)
    needle = (q.search or "").lower()
    if needle:
        checks.append(lambda s: needle in s.name or (s.sku is not None and needle in s.sku))
    return lambda s: all(check(s) for check in checks)


_SORT_KEYS: dict[ProductSortField, Callable[[Slim], Any]] = {
    ProductSortField.NAME: lambda s: s.name,
    ProductSortField.SEASON: lambda s: s.season,
    ProductSortField.YEAR: lambda s: s.year,
    ProductSortField.GENDER: lambda s: s.gender,
    ProductSortField.PRODUCT_TYPE: lambda s: s.product_type,
    ProductSortField.SHOT_STATUS: lambda s: BUCKET_RANK.get(s.shot_status, len(BUCKET_RANK)),
    ProductSortField.CREATED_AT: lambda s: s.created_at,
    ProductSortField.UPDATED_AT: lambda s: s.updated_at,
}


def order(items: Sequence[Slim], sort_by: ProductSortField | None, sort_order: SortOrder) -> list[Slim]:
    if sort_by is None:
        # Bucket by shot status, newest change first inside a bucket.
        by_update = sorted(items, key=lambda s: (s.updated_at, s.id), reverse=True)
        return sorted(by_update, key=lambda s: BUCKET_RANK.get(s.shot_status, len(BUCKET_RANK)))
    key = _SORT_KEYS[sort_by]
    descending = sort_order == SortOrder.DESC
    present = [s for s in items if key(s) is not None]
    missing = [s for s in items if key(s) is None]
    present.sort(key=lambda s: (key(s), s.id), reverse=descending)
    missing.sort(key=lambda s: s.id, reverse=descending)
    return present + missing


def choose_facet(q: ProductListQuery) -> tuple[str, str | int] | None:
    """The facet index that serves a filtered listing: any of them narrows the read."""
    if _norm(q.brand):
        return ("brand", _norm(q.brand) or "")
    if _norm(q.season):
        return ("season", _norm(q.season) or "")
    if q.year is not None:
        return ("year", q.year)
    return None


class ProductListing:
    def __init__(self, products: ProductRepository | None = None) -> None:
        self.products = products or ProductRepository()

    def list(self, caller: Caller, q: ProductListQuery) -> ProductsPublic:
        org_id = str(q.organization_id) if q.organization_id else None
        if org_id:
            caller.require_member(org_id)
        slim_items = self.products.slim_in_scope(caller.id, org_id, choose_facet(q))
        matches = list(filter(build_predicate(q), map(Slim.from_item, slim_items)))
        page = order(matches, q.sort_by, q.sort_order)[q.skip : q.skip + q.limit]
        full = self.products.batch_get([s.id for s in page])
        data: list[ProductPublic] = [to_public(full[s.id]) for s in page if s.id in full]
        return ProductsPublic(data=data, count=len(matches))
