"""What a products page costs from the catalogue, against the naive Scan, at 100 to 10,000 products.

Run: `cd /work/main && .venv/bin/python -m bench.listing_pages [--sizes 100 1000 10000]`

For each size, a fresh moto holds one user's scope: products built by `ProductService.create`
(as POST /products/ builds them), varied over brands, seasons, years, types, genders, public,
collections, shot statuses, a few shootings and some drafts (disabled, so the listing's default
`enabled=true` filters them out), written as ProductItems with `refresh_keys()` by BatchWriteItem
with their counters, and the scope's catalogue made from them by `store.catalogue.rebuild`.

Each listing kind is one request through the real app on a warm function (the same request made
once before, so the catalogue is loaded), and the same listing as a newcomer would write it
(`naive_listing`: boto3 `scan` with a FilterExpression, paginated to the end, sorted and sliced
in Python, as the Chalice sample lists). Printed per kind: DynamoDB calls, items read (Query
ScannedCount, BatchGetItem items, GetItem 1, Scan ScannedCount) and wall time of both; the
budget `2 * (skip + limit) + 20` items in at most 5 calls; `count` against the exact number
(brute force over what was seeded); whether both give the same page. Once per size: the cold
read (a function without the catalogue: the snapshot parts' bytes per product, and the product
items it reads, only the page's), and the catalogue's memory per product (tracemalloc, built as a
cold load builds it). Times are moto's, not DynamoDB's: compare them, don't quote them.

The exit status is 1 when a goal fails at the largest size given.
"""

from __future__ import annotations

from tests.support import environment

environment.apply()

import argparse
import contextlib
import gc
import json
import os
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import boto3
from boto3.dynamodb.conditions import Attr, ConditionBase
from chalice.test import Client
from moto import mock_aws

from bench.dynamodb_calls import (
    _SEEN,
    PRODUCT_TYPES,
    SEASONS,
    SHOT_STATUSES,
    URL_COVER,
    DynamoDBCallCounter,
    Http,
    _CollectingProducts,
    brand_name,
    create_user,
    write_seeded,
)

DEFAULT_SIZES = (100, 1000, 10_000)
BRANDS = 50
LIMIT = 20
DEEP_SKIP = 5000
MAX_CALLS = 5
MAX_BYTES_PER_PRODUCT = 300
BASE = "/api/v1/products/"

GENDERS = ("MALE", "FEMALE", "UNISEX")
COLLECTIONS = ("Core", "Capsule", "Runway", "Basics", "Outlet", "Resort", "Denim", "Essentials")
# Every DRAFT_EVERY-th product is a draft (`mode=basic`: not enabled).
DRAFT_EVERY = 50
SHOOTING = str(uuid.uuid5(uuid.NAMESPACE_URL, "bench-listing-pages-shooting-a"))
OTHER_SHOOTING = str(uuid.uuid5(uuid.NAMESPACE_URL, "bench-listing-pages-shooting-b"))
SEARCH = "042"

Product = Any  # a ProductItem (imported lazily: the environment comes first)


def _progress(message: str) -> None:
    print(f"[listing_pages] {message}", file=sys.stderr, flush=True)


# -- seeding -------------------------------------------------------------------------------


def _shootings(i: int) -> list[str] | None:
    if i % 300 == 1:
        return [SHOOTING, OTHER_SHOOTING]
    if i % 200 == 0:
        return [SHOOTING]
    if i % 250 == 2:
        return [OTHER_SHOOTING]
    return None


def seed_scope(user: Any, count: int) -> list[Product]:
    """`count` products in the user's own scope, built by ProductService.create, written in batches
    (as `bench.dynamodb_calls.seed_products` writes them, with more varied fields), then the
    scope's catalogue snapshot made from them by `rebuild`. Returns the items as written."""

    from chalicelib.schemas.products import ProductCreate
    from chalicelib.services.access import Caller
    from chalicelib.services.products import ProductService
    from chalicelib.store.products import ProductRepository

    collector = _CollectingProducts(ProductRepository())
    service = ProductService(products=collector)  # type: ignore[arg-type]
    caller = Caller(user=user)
    for i in range(count):
        data = ProductCreate(
            name=f"Seeded product {i:05d}",
            sku=f"SKU-{i:05d}",
            brand=brand_name(i % BRANDS),
            type=PRODUCT_TYPES[i % len(PRODUCT_TYPES)],
            season=SEASONS[(i // BRANDS) % len(SEASONS)],
            year=2024 + i % 2,
            gender=GENDERS[i % len(GENDERS)],
            public=i % 4 == 0,
            brand_collection=COLLECTIONS[i % len(COLLECTIONS)],
            cover_image=URL_COVER,
        )
        mode = "basic" if i % DRAFT_EVERY == DRAFT_EVERY - 1 else "complete"
        service.create(caller, data, organization_id=None, mode=mode)
    items: list[Product] = collector.items

    def shot_state(i: int, item: Product) -> None:
        # As the shootings side sets them: a status bucket each, a few products in shootings.
        item.shot_status = SHOT_STATUSES[(i * 7) % len(SHOT_STATUSES)]
        item.shooting_ids = _shootings(i)

    write_seeded(items, shot_state)
    return items


# -- the listing kinds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    label: str
    params: dict[str, Any]  # the query string (lists repeat the parameter)
    expect: Callable[[Product], bool]  # brute force over the seeded items (enabled ones only)
    cursor: bool = False  # measure the page after the first one, by its next_cursor

    @property
    def skip(self) -> int:
        return int(self.params.get("skip", 0))

    @property
    def limit(self) -> int:
        return int(self.params.get("limit", 100))

    @property
    def budget(self) -> int:
        return 2 * (self.skip + self.limit) + 20


def kinds(size: int) -> list[Kind]:
    enabled = size - size // DRAFT_EVERY  # the drafts: i % DRAFT_EVERY == DRAFT_EVERY - 1
    deep = max(0, min(DEEP_SKIP, enabled - LIMIT))
    brand, season, year = brand_name(7 % BRANDS), SEASONS[0], 2025

    def every(_: Product) -> bool:
        return True

    return [
        Kind("default order (limit 100)", {}, every),
        Kind("sort_by=name asc", {"sort_by": "name", "sort_order": "asc", "limit": LIMIT}, every),
        Kind("sort_by=created_at", {"sort_by": "created_at", "limit": LIMIT}, every),
        Kind("sort_by=updated_at asc", {"sort_by": "updated_at", "sort_order": "asc", "limit": LIMIT}, every),
        Kind(
            f"search={SEARCH}",
            {"search": SEARCH, "limit": LIMIT},
            lambda p: SEARCH in p.name_lc or SEARCH in (p.sku_lc or ""),
        ),
        Kind("product_type=dress", {"product_type": "dress", "limit": LIMIT}, lambda p: p.type_lc == "dress"),
        Kind("gender=FEMALE", {"gender": "FEMALE", "limit": LIMIT}, lambda p: p.gender == "FEMALE"),
        Kind("is_public=true", {"is_public": "true", "limit": LIMIT}, lambda p: bool(p.public)),
        Kind(
            "shot_statuses=TO_REVIEW,APPROVED",
            {"shot_statuses": ["TO_REVIEW", "APPROVED"], "limit": LIMIT},
            lambda p: p.shot_status in ("TO_REVIEW", "APPROVED"),
        ),
        Kind(
            "brand_collection=Core,Resort",
            {"brand_collection": ["Core", "Resort"], "limit": LIMIT},
            lambda p: p.collection_lc in ("core", "resort"),
        ),
        Kind(
            "shooting_id=S",
            {"shooting_id": SHOOTING, "limit": LIMIT},
            lambda p: SHOOTING in (p.shooting_ids or ()),
        ),
        Kind(
            "brand+season+year",
            {"brand": brand, "season": season, "year": year, "limit": LIMIT},
            lambda p: p.brand_lc == brand.lower() and p.season_lc == season and p.year == year,
        ),
        Kind(f"deep page (skip {deep})", {"skip": deep, "limit": LIMIT}, every),
        Kind("cursor page (2nd, via next_cursor)", {"limit": LIMIT}, every, cursor=True),
    ]


# -- the naive listing ---------------------------------------------------------------------

_RANK = {"TO_REVIEW": 0, "IN_PROGRESS": 1, "NOT_STARTED": 2, "APPROVED": 3}
_SORT_ATTRIBUTE = {
    "name": "name_lc",
    "season": "season_lc",
    "year": "year",
    "gender": "gender",
    "product_type": "type_lc",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def _rank(item: dict[str, Any]) -> int:
    return _RANK.get(item.get("shot_status") or "NOT_STARTED", len(_RANK))


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def naive_filter(owner_id: str, params: dict[str, Any]) -> ConditionBase:
    """The FilterExpression a newcomer writes from the query parameters."""
    condition: ConditionBase = (
        Attr("kind").eq("Product") & Attr("owner_id").eq(owner_id) & Attr("organization_id").not_exists()
    )
    flags = {"archived": "archived", "demo": "demo", "enabled": "enabled", "is_filler": "is_filler"}
    flags["is_public"] = "public"
    wanted = {"enabled": "true", **params}
    for param, attribute in flags.items():
        if param in wanted:
            condition &= Attr(attribute).eq(str(wanted[param]).lower() == "true")
    for param, attribute in (("brand", "brand_lc"), ("season", "season_lc"), ("product_type", "type_lc")):
        if param in params:
            condition &= Attr(attribute).eq(str(params[param]).strip().lower())
    if "gender" in params:
        condition &= Attr("gender").eq(str(params["gender"]))
    if "year" in params:
        condition &= Attr("year").eq(int(params["year"]))
    if "brand_collection" in params:
        condition &= Attr("collection_lc").is_in([v.strip().lower() for v in _as_list(params["brand_collection"])])
    if "shot_statuses" in params:
        condition &= Attr("shot_status").is_in(_as_list(params["shot_statuses"]))
    if "shooting_id" in params:
        condition &= Attr("shooting_ids").contains(str(params["shooting_id"]))
    if params.get("search"):
        needle = str(params["search"]).lower()
        condition &= Attr("name_lc").contains(needle) | Attr("sku_lc").contains(needle)
    return condition


def naive_order(items: list[dict[str, Any]], sort_by: str | None, sort_order: str) -> list[dict[str, Any]]:
    if sort_by is None:
        newest = sorted(items, key=lambda p: (p["updated_at"], p["id"]), reverse=True)
        return sorted(newest, key=_rank)
    descending = sort_order == "desc"
    if sort_by == "shot_status":
        return sorted(items, key=lambda p: (_rank(p), p["id"]), reverse=descending)
    attribute = _SORT_ATTRIBUTE[sort_by]
    present = sorted((p for p in items if p.get(attribute) is not None), key=lambda p: (p[attribute], p["id"]))
    missing = sorted((p for p in items if p.get(attribute) is None), key=lambda p: p["id"])
    if descending:
        present.reverse()
        missing.reverse()
    return present + missing


def naive_listing(table: Any, owner_id: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The page and the count: Scan the table with the filter to the end, sort, slice."""
    kwargs: dict[str, Any] = {"FilterExpression": naive_filter(owner_id, params)}
    items: list[dict[str, Any]] = []
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    ordered = naive_order(items, params.get("sort_by"), str(params.get("sort_order", "desc")))
    skip, limit = int(params.get("skip", 0)), int(params.get("limit", 100))
    return ordered[skip : skip + limit], len(ordered)


# -- counting ------------------------------------------------------------------------------


class _Counter(DynamoDBCallCounter):
    """DynamoDBCallCounter that also adds up, over every response, the bytes of catalogue
    snapshot parts and the number of whole product items read."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshot_parts = 0
        self.snapshot_bytes = 0
        self.product_items = 0

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        if self.active and context.get(_SEEN) != "after":
            for item in _response_items(parsed):
                kind = (item.get("kind") or {}).get("S")
                if kind == "CatalogueChunk":
                    self.snapshot_parts += 1
                    self.snapshot_bytes += len((item.get("data") or {}).get("B") or b"")
                elif kind == "Product":
                    self.product_items += 1
        super()._after(parsed, model, context, **kwargs)

    def marks(self) -> tuple[int, int, int]:
        return self.snapshot_parts, self.snapshot_bytes, self.product_items


def _response_items(parsed: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if parsed.get("Item"):
        yield parsed["Item"]
    yield from parsed.get("Items") or []
    for items in (parsed.get("Responses") or {}).values():
        if isinstance(items, list):
            yield from items


# -- measuring -----------------------------------------------------------------------------


@dataclass
class Row:
    kind: Kind
    calls: int
    items: int
    ms: float
    returned: int
    count: int
    exact: int
    naive_calls: int
    naive_items: int
    naive_ms: float
    naive_count: int
    same_page: bool

    @property
    def ok(self) -> bool:
        return self.items <= self.kind.budget and self.calls <= MAX_CALLS


@dataclass
class ColdRead:
    calls: dict[str, int]
    items: int
    ms: float
    snapshot_parts: int
    snapshot_bytes: int
    product_items: int
    limit: int
    count_exact: bool

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


@dataclass
class Memory:
    kept: int  # bytes the catalogue holds once loaded
    peak: int  # bytes at the peak of the load (the decoded entries still alive)
    packed: int  # bytes of its records' keys and values alone


@dataclass
class SizeResult:
    size: int
    enabled: int
    seed_seconds: float
    rows: list[Row]
    cold: ColdRead
    memory: Memory
    notes: list[str] = field(default_factory=list)

    def per_product(self, value: int) -> float:
        return value / self.size if self.size else 0.0

    @property
    def pages_ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def counts_ok(self) -> bool:
        return all(r.count == r.exact for r in self.rows) and self.cold.count_exact

    @property
    def memory_ok(self) -> bool:
        return self.per_product(self.memory.kept) <= MAX_BYTES_PER_PRODUCT

    @property
    def cold_ok(self) -> bool:
        return (
            self.per_product(self.cold.snapshot_bytes) <= MAX_BYTES_PER_PRODUCT
            and self.cold.product_items <= self.cold.limit
        )

    @property
    def ok(self) -> bool:
        return self.pages_ok and self.counts_ok and self.memory_ok and self.cold_ok


def _path(params: dict[str, Any]) -> str:
    return BASE + (f"?{urlencode(params, doseq=True)}" if params else "")


def _ids(data: Sequence[dict[str, Any]]) -> list[str]:
    return [str(p["id"]) for p in data]


def _measure_kind(
    kind: Kind, http: Http, counter: _Counter, table: Any, owner_id: str, items: Sequence[Product]
) -> Row:
    params = dict(kind.params)
    first = http.request("GET", _path(params))  # warms the catalogue (and gives the cursor)
    naive_params = dict(params)
    if kind.cursor:
        cursor = first.get("next_cursor")
        if not cursor:
            raise RuntimeError(f"{kind.label}: the first page has no next_cursor")
        params["cursor"] = cursor
        naive_params["skip"] = kind.skip + kind.limit  # the same page, as a newcomer pages
    with counter.measure() as stats:
        start = time.perf_counter()
        body = http.request("GET", _path(params))
        ms = (time.perf_counter() - start) * 1000
    with counter.measure() as naive_stats:
        start = time.perf_counter()
        naive_page, naive_count = naive_listing(table, owner_id, naive_params)
        naive_ms = (time.perf_counter() - start) * 1000
    exact = sum(1 for p in items if p.enabled and kind.expect(p))
    return Row(
        kind=kind,
        calls=stats.total_calls,
        items=stats.total_read,
        ms=ms,
        returned=len(body["data"]),
        count=int(body["count"]),
        exact=exact,
        naive_calls=naive_stats.total_calls,
        naive_items=naive_stats.total_read,
        naive_ms=naive_ms,
        naive_count=naive_count,
        same_page=_ids(body["data"]) == _ids(naive_page),
    )


def _measure_cold(kind: Kind, http: Http, counter: _Counter, items: Sequence[Product]) -> ColdRead:
    from chalicelib import wiring

    wiring.listing().catalogues.forget()
    parts, size, products = counter.marks()
    with counter.measure() as stats:
        start = time.perf_counter()
        body = http.request("GET", _path(kind.params))
        ms = (time.perf_counter() - start) * 1000
    parts_after, size_after, products_after = counter.marks()
    exact = sum(1 for p in items if p.enabled and kind.expect(p))
    return ColdRead(
        calls=dict(stats.calls),
        items=stats.total_read,
        ms=ms,
        snapshot_parts=parts_after - parts,
        snapshot_bytes=size_after - size,
        product_items=products_after - products,
        limit=kind.limit,
        count_exact=int(body["count"]) == exact,
    )


def catalogue_memory(scope: str, items: Sequence[Product]) -> Memory:
    """What the catalogue of these products takes in memory, loaded as a cold function loads it
    (the wire entries decoded from JSON, then applied), under tracemalloc: the bytes still held
    once the decoded entries are gone, and the peak while loading."""
    from chalicelib.services.catalogue import ScopeCatalogue
    from chalicelib.store.catalogue import entry_of

    blob = json.dumps([entry_of(p) for p in items], separators=(",", ":"))
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        entries = json.loads(blob)
        catalogue = ScopeCatalogue(scope)
        for entry in entries:
            catalogue.apply(entry[0], entry)
        del entries
        gc.collect()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if len(catalogue) != len(items):
        raise RuntimeError(f"the catalogue holds {len(catalogue)} products of {len(items)}")
    packed = sum(len(key) + len(record) for key, record in catalogue.records.items())
    return Memory(kept=kept - base, peak=peak - base, packed=packed)


def measure(size: int) -> SizeResult:
    """One size on a fresh moto: seed, the cold read, every kind warm and naive, the memory."""
    from app import app
    from chalicelib import wiring
    from chalicelib.config import get_settings
    from ops.local.resources import create_resources

    counter = _Counter()
    wiring.listing.cache_clear()
    # The app's metric and log lines (EMF on stdout) are not the bench's output.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), mock_aws():
        create_resources()
        with Client(app) as client:
            user, token = create_user(f"pages-{size}")
            _progress(f"{size}: seeding {size} products")
            start = time.perf_counter()
            items = seed_scope(user, size)
            seed_seconds = time.perf_counter() - start
            _progress(f"{size}: seeded in {seed_seconds:.1f}s")
            settings = get_settings()
            counter.install()
            try:
                http = Http(client, token)
                table = boto3.resource("dynamodb", region_name=settings.aws_region).Table(settings.table_name)
                all_kinds = kinds(size)
                cold = _measure_cold(all_kinds[0], http, counter, items)
                rows = []
                for kind in all_kinds:
                    _progress(f"{size}: {kind.label}")
                    rows.append(_measure_kind(kind, http, counter, table, str(user.id), items))
            finally:
                counter.uninstall()
                wiring.listing.cache_clear()
        _progress(f"{size}: catalogue memory")
        memory = catalogue_memory(items[0].scope, items) if items else Memory(0, 0, 0)
    enabled = sum(1 for p in items if p.enabled)
    return SizeResult(size, enabled, seed_seconds, rows, cold, memory)


# -- printing ------------------------------------------------------------------------------


def _n(value: int) -> str:
    return f"{value:,}"


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _status(ok: bool) -> str:
    return "OK" if ok else "FAIL"


_HEADERS = (
    ("listing", ""),
    ("calls", "catalogue (warm)"),
    ("items read", "catalogue (warm)"),
    ("ms", "catalogue (warm)"),
    ("page", "catalogue (warm)"),
    ("budget", "catalogue (warm)"),
    ("ok", "catalogue (warm)"),
    ("count", "catalogue (warm)"),
    ("exact", "catalogue (warm)"),
    ("calls", "naive Scan"),
    ("items read", "naive Scan"),
    ("ms", "naive Scan"),
    ("count", "naive Scan"),
    ("same page", "naive Scan"),
)


def _row_cells(r: Row) -> list[str]:
    return [
        r.kind.label,
        str(r.calls),
        _n(r.items),
        _ms(r.ms),
        str(r.returned),
        _n(r.kind.budget),
        "ok" if r.ok else "FAIL",
        _n(r.count),
        "=" if r.count == r.exact else f"NO ({_n(r.exact)})",
        str(r.naive_calls),
        _n(r.naive_items),
        _ms(r.naive_ms),
        _n(r.naive_count) if r.naive_count == r.exact else f"{_n(r.naive_count)} (NO)",
        "yes" if r.same_page else "NO",
    ]


def _table(rows: Sequence[Row]) -> list[str]:
    cells = [[h for h, _ in _HEADERS], *[_row_cells(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_HEADERS))]

    def line(row: Sequence[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    groups: list[str] = []
    for i, (_, group) in enumerate(_HEADERS):
        if i and group == _HEADERS[i - 1][1]:
            continue
        span = [j for j, (_, g) in enumerate(_HEADERS) if g == group]
        width = sum(widths[j] for j in span) + 2 * (len(span) - 1)
        groups.append(f"{group:-^{width}}" if group else " " * width)
    lines = ["  ".join(groups).rstrip(), line(cells[0]), "  ".join("-" * w for w in widths)]
    lines += [line(row) for row in cells[1:]]
    return lines


def goal_line(result: SizeResult) -> str:
    return (
        f"goal: items ≤ 2(skip+limit)+20 and ≤{MAX_CALLS} calls for every kind: {_status(result.pages_ok)}; "
        f"count exact for every kind: {_status(result.counts_ok)}; "
        f"memory ≤ {MAX_BYTES_PER_PRODUCT} B/product: {_status(result.memory_ok)}; "
        f"cold read ≤ {MAX_BYTES_PER_PRODUCT} B/product: {_status(result.cold_ok)}"
    )


def render(result: SizeResult) -> str:
    size, cold, memory = result.size, result.cold, result.memory
    per = result.per_product
    lines = [
        f"== {_n(size)} products in one scope ({_n(result.enabled)} enabled, {BRANDS} brands), "
        f"seeded in {result.seed_seconds:.1f}s =="
    ]
    ops = ", ".join(f"{op} {n}" for op, n in sorted(cold.calls.items()))
    lines.append(
        f"cold function (no catalogue), {result.rows[0].kind.label if result.rows else 'default order'}: "
        f"{cold.total_calls} calls ({ops}), {_n(cold.items)} items read, {_ms(cold.ms)} ms; "
        f"snapshot: {cold.snapshot_parts} part(s), {_n(cold.snapshot_bytes)} B = {per(cold.snapshot_bytes):.1f} "
        f"B/product; whole product items read: {cold.product_items} (page limit {cold.limit}); "
        f"count {'exact' if cold.count_exact else 'NOT exact'}"
    )
    lines.append(
        f"catalogue in memory (tracemalloc, loaded from the wire entries): {_n(memory.kept)} B = "
        f"{per(memory.kept):.1f} B/product (peak while loading {per(memory.peak):.1f} B/product; "
        f"packed keys and records alone {per(memory.packed):.1f} B/product)"
    )
    lines += _table(result.rows)
    lines.append(goal_line(result))
    return "\n".join(lines)


FOOTER = (
    "items read: Query ScannedCount + BatchGetItem items + GetItem 1 (the caller's user included) + Scan "
    "ScannedCount; budget = 2(skip + limit) + 20 in ≤ 5 calls; warm = the same listing requested once "
    "before; the cursor page's budget counts from its cursor (skip 0); naive = Scan with a FilterExpression "
    "to the end, sorted and sliced in Python (its time excludes the HTTP layer); times are moto's."
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listing_pages")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = []
    for size in args.sizes:
        result = measure(size)
        results.append(result)
        print(render(result), flush=True)
        print(flush=True)
    print(FOOTER)
    print(f"Runtime: {time.perf_counter() - start:.1f}s wall")
    largest = max(results, key=lambda r: r.size)
    if not largest.ok:
        print(f"FAIL at {_n(largest.size)} products: {goal_line(largest)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
