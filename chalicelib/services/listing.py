"""GET /products/: the scope's catalogue, filtered, ordered and paged in memory; the page read.

Every listing, whatever its filters and order, is answered from the scope's catalogue
(services/catalogue.py), caught up with one consistent Query of the change log, and then the
page's products in one consistent BatchGetItem: the cost of a page at any catalogue size, with
the previous request's write in the answer on any instance.

Ordering is total (ties broken by id, nulls last both ways) so pages never overlap or skip. A
`cursor` (answers carry `next_cursor`) names the last item of a page by its sort key, so the
next page starts after it even when products were added or removed before it meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from chalicelib.errors import InvalidInput
from chalicelib.schemas.enums import ProductSortField, SortOrder
from chalicelib.schemas.products import ProductListQuery, ProductPublic, ProductsPublic
from chalicelib.services.access import Caller
from chalicelib.services.catalogue import Catalogues, Entry
from chalicelib.services.products import to_public
from chalicelib.store.models import DEFAULT_SHOT_STATUS, attention_rank, product_scope
from chalicelib.store.products import ProductRepository


class Listed(Protocol):
    """What a listing filters and orders on (a catalogue entry, or a product as stored)."""

    @property
    def id(self) -> str: ...
    @property
    def name_lc(self) -> str: ...
    @property
    def sku_lc(self) -> str | None: ...
    @property
    def shot_status(self) -> str | None: ...
    @property
    def year(self) -> Any: ...
    @property
    def updated_at(self) -> Any: ...


def _norm(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    return text or None


def _year(item: Any) -> int | None:
    return int(item.year) if item.year is not None else None


def _shot_status(item: Any) -> str:
    return item.shot_status or DEFAULT_SHOT_STATUS


def _flag(attr: str, wanted: bool) -> Callable[[Any], bool]:
    return lambda p: bool(getattr(p, attr)) == wanted


def _text(attr: str, wanted: str) -> Callable[[Any], bool]:
    return lambda p: getattr(p, attr) == wanted


def _collections(q: ProductListQuery) -> set[str]:
    return {c for c in (_norm(v) for v in q.brand_collection or []) if c}


def build_predicate(q: ProductListQuery) -> Callable[[Any], bool]:
    """The query's filters over slim items (lower-cased strings, flags)."""
    checks: list[Callable[[Any], bool]] = []
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


_SORT_KEYS: dict[ProductSortField, Callable[[Any], Any]] = {
    ProductSortField.NAME: lambda p: p.name_lc,
    ProductSortField.SEASON: lambda p: p.season_lc,
    ProductSortField.YEAR: _year,
    ProductSortField.GENDER: lambda p: p.gender,
    ProductSortField.PRODUCT_TYPE: lambda p: p.type_lc,
    ProductSortField.SHOT_STATUS: lambda p: attention_rank(p.shot_status),
    ProductSortField.CREATED_AT: lambda p: p.created_at,
    ProductSortField.UPDATED_AT: lambda p: p.updated_at,
}


def order[T: Listed](items: Sequence[T], sort_by: ProductSortField | None, sort_order: SortOrder) -> list[T]:
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


# -- cursors ---------------------------------------------------------------------------------

_CURSOR_VERSION = 1
_CURSOR_FIELDS = ("skip", "limit", "cursor")


def _fingerprint(q: ProductListQuery) -> str:
    """The query a cursor belongs to: its filters and order, not its paging."""
    shape = q.model_dump(mode="json", exclude=set(_CURSOR_FIELDS))
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def sort_key(item: Listed, sort_by: ProductSortField | None) -> list[Any]:
    """The values the listing orders `item` by, in order (JSON: a cursor carries them)."""
    if sort_by is None:
        return [attention_rank(item.shot_status), item.updated_at, item.id]
    return [_SORT_KEYS[sort_by](item), item.id]


def _compare(a: Sequence[Any], b: Sequence[Any], sort_by: ProductSortField | None, descending: bool) -> int:
    """Which of two sort keys comes first in the listing: the order `order` gives."""

    def cmp(x: Any, y: Any) -> int:
        return int(x > y) - int(x < y)

    if sort_by is None:
        return cmp(a[0], b[0]) or -cmp(a[1], b[1]) or -cmp(a[2], b[2])
    sign = -1 if descending else 1
    if (a[0] is None) != (b[0] is None):
        return 1 if a[0] is None else -1
    if a[0] is not None and (c := cmp(a[0], b[0])):
        return sign * c
    return sign * cmp(a[1], b[1])


def encode_cursor(q: ProductListQuery, item: Listed) -> str:
    body = {"v": _CURSOR_VERSION, "q": _fingerprint(q), "k": sort_key(item, q.sort_by)}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


def _bad_cursor(cursor: str, why: str) -> InvalidInput:
    return InvalidInput.single(["query", "cursor"], f"Invalid cursor: {why}", cursor)


def decode_cursor(q: ProductListQuery) -> list[Any] | None:
    """The sort key after which the page starts, or None without a cursor."""
    if q.cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(q.cursor + "=" * (-len(q.cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad_cursor(q.cursor, "not a cursor this API gave") from None
    width = 3 if q.sort_by is None else 2
    if not isinstance(body, dict) or body.get("v") != _CURSOR_VERSION or not isinstance(body.get("k"), list):
        raise _bad_cursor(q.cursor, "not a cursor this API gave")
    if body.get("q") != _fingerprint(q) or len(body["k"]) != width:
        raise _bad_cursor(q.cursor, "it belongs to a listing with other filters or another order")
    key: list[Any] = list(body["k"])
    return key


def after_cursor(items: Sequence[Listed], q: ProductListQuery, cursor: list[Any]) -> int:
    """The position of the first item that comes after the cursor's key."""
    descending = q.sort_order == SortOrder.DESC
    for position, item in enumerate(items):
        if _compare(sort_key(item, q.sort_by), cursor, q.sort_by, descending) > 0:
            return position
    return len(items)


# -- the listing ---------------------------------------------------------------------------


class ProductListing:
    def __init__(self, products: ProductRepository | None = None, catalogues: Catalogues | None = None) -> None:
        self.products = products or ProductRepository()
        self.catalogues = catalogues or Catalogues()

    def list(self, caller: Caller, q: ProductListQuery) -> ProductsPublic:
        org_id = str(q.organization_id) if q.organization_id else None
        if org_id:
            caller.require_member(org_id)
        cursor = decode_cursor(q)
        matches = self.matching(caller.id, org_id, q)
        start = q.skip + (after_cursor(matches, q, cursor) if cursor is not None else 0)
        page_items = matches[start : start + q.limit]
        full = self.products.batch_get([p.id for p in page_items], consistent=True)
        data: list[ProductPublic] = [to_public(full[p.id]) for p in page_items if p.id in full]
        more = start + q.limit < len(matches) and bool(page_items)
        next_cursor = encode_cursor(q, page_items[-1]) if more else None
        return ProductsPublic(data=data, count=len(matches), next_cursor=next_cursor)

    def matching(self, user_id: str, org_id: str | None, q: ProductListQuery) -> Sequence[Entry]:
        """Every product of the scope these filters match, in the listing's order, as catalogue
        entries (every write committed before the call included)."""
        catalogue = self.catalogues.current(product_scope(user_id, org_id))
        return order(list(filter(build_predicate(q), catalogue.entries())), q.sort_by, q.sort_order)
