"""DynamoDB calls per request, and items read per item matched, of the products API on moto.

Run: `cd /work/main && .venv/bin/python -m bench.dynamodb_calls [--products 5000] [--brands 50]`

Everything runs in-process on moto (no network, no AWS account): the same environment as
tests/conftest.py, the table and buckets from `create_resources()`, the real Chalice app driven
through `chalice.test.Client`. Every DynamoDB API call is counted by a botocore event hook
(see `DynamoDBCallCounter`), whatever client makes it: PynamoDB's own botocore clients, the
transaction connection or boto3's.

Part 1 prints the calls (by operation) of single requests, each made twice (cold, then steady).
Part 2 seeds one user's scope with many products (built by `ProductService.create`, written by
BatchWriteItem with a snapshot of the scope's catalogue: no HTTP, see `seed_products`) and
prints, for listings, the items read against the items matched. `bench.listing_pages` compares
every listing kind at several sizes with a naive Scan. Counts and ratios only; wall-clock time
is reported, never asserted.
"""

from __future__ import annotations

from tests.support import environment

environment.apply()

import argparse
import base64
import io
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import boto3
import botocore.handlers
from chalice.test import Client
from moto import mock_aws
from PIL import Image

_SEEN = "sartiq_bench_counted"
_UNIQUE_ID = "sartiq-bench-dynamodb-counter"

PASSWORD = "bench-password-123"
URL_COVER = "https://example.com/cover.jpg"
PRODUCT_TYPES = ("t-shirt", "shirt", "trousers", "dress", "jacket")
SEASONS = ("ss24", "fw24", "ss25", "fw25")


# -- counting ------------------------------------------------------------------------------


@dataclass
class CallStats:
    """DynamoDB API calls by operation, with the items they read and wrote."""

    calls: Counter[str] = field(default_factory=Counter)
    items_read: Counter[str] = field(default_factory=Counter)
    items_written: Counter[str] = field(default_factory=Counter)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_read(self) -> int:
        return sum(self.items_read.values())

    @property
    def total_written(self) -> int:
        return sum(self.items_written.values())

    def add(self, other: CallStats) -> None:
        self.calls.update(other.calls)
        self.items_read.update(other.items_read)
        self.items_written.update(other.items_written)


def _items_written(operation: str, params: dict[str, Any]) -> int:
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 1
    if operation == "TransactWriteItems":
        return len(params.get("TransactItems") or [])
    if operation == "BatchWriteItem":
        return sum(len(requests) for requests in (params.get("RequestItems") or {}).values())
    return 0


def _items_read(operation: str, parsed: dict[str, Any]) -> int:
    if operation in ("Query", "Scan"):
        return int(parsed.get("ScannedCount") or 0)
    if operation == "GetItem":
        return 1 if parsed.get("Item") else 0
    if operation == "BatchGetItem":
        return sum(len(items) for items in (parsed.get("Responses") or {}).values())
    if operation == "TransactGetItems":
        return sum(1 for r in parsed.get("Responses") or [] if r.get("Item"))
    return 0


class DynamoDBCallCounter:
    """Counts every DynamoDB API call of the process by operation name.

    PynamoDB makes its own botocore session and client per connection, lazily, so the hooks go
    (as moto's own stubber does) into botocore's BUILTIN_HANDLERS, which every session created
    afterwards registers, and are also registered on the clients and sessions that already
    exist (PynamoDB's model connections, the transaction connection, boto3's default session).
    A call is counted once however many of those registrations see it (a flag in its context).
    `before-parameter-build` sees the call's parameters (items written); `after-call` sees the
    parsed response (items read). Retries inside botocore are one call.
    """

    def __init__(self) -> None:
        self.active = False
        self.totals = CallStats()
        self.current = CallStats()
        self._specs: list[tuple[str, Any]] = [
            ("before-parameter-build.dynamodb", self._before),
            ("after-call.dynamodb", self._after),
        ]
        self._emitters: list[Any] = []

    def install(self) -> None:
        for spec in self._specs:
            if spec not in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.append(spec)
        for emitter in _existing_emitters():
            for event, handler in self._specs:
                emitter.register(event, handler, unique_id=f"{_UNIQUE_ID}-{event}")
            self._emitters.append(emitter)
        self.active = True

    def uninstall(self) -> None:
        self.active = False
        for spec in self._specs:
            while spec in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.remove(spec)
        for emitter in self._emitters:
            for event, handler in self._specs:
                emitter.unregister(event, handler, unique_id=f"{_UNIQUE_ID}-{event}")
        self._emitters.clear()

    @contextmanager
    def measure(self) -> Iterator[CallStats]:
        """The calls made inside the block (the stats object fills as they happen)."""
        stats = CallStats()
        previous, self.current = self.current, stats
        try:
            yield stats
        finally:
            self.current = previous

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        if not self.active or context.get(_SEEN):
            return
        context[_SEEN] = "before"
        operation = str(model.name)
        written = _items_written(operation, params)
        for stats in self._targets():
            stats.calls[operation] += 1
            if written:
                stats.items_written[operation] += written

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        if not self.active or context.get(_SEEN) == "after":
            return
        context[_SEEN] = "after"
        operation = str(model.name)
        read = _items_read(operation, parsed)
        if read:
            for stats in self._targets():
                stats.items_read[operation] += read

    def _targets(self) -> tuple[CallStats, ...]:
        return (self.totals,) if self.current is self.totals else (self.totals, self.current)


def _existing_emitters() -> list[Any]:
    """Event emitters of DynamoDB clients and sessions created before the counter was installed."""
    from pynamodb.models import Model

    from chalicelib.store.models import TableItem
    from chalicelib.store.table import connection

    emitters: list[Any] = [connection().client.meta.events]
    pending: list[type[Model]] = [TableItem]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        table_connection = model.__dict__.get("_connection")
        if table_connection is not None:
            emitters.append(table_connection.connection.client.meta.events)
    default_session = boto3.DEFAULT_SESSION
    if default_session is not None:
        emitters.append(default_session.events)
    unique: dict[int, Any] = {id(e): e for e in emitters}
    return list(unique.values())


# -- driving the API -----------------------------------------------------------------------


def png_b64(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 6)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


class Http:
    """JSON over chalice.test.Client with a bearer token; fails loudly on a non-200."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.token = token

    def request(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        payload = json.dumps(body).encode() if body is not None else b""
        response = self.client.http.request(method, path, headers=headers, body=payload)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.body[:300]!r}")
        return json.loads(response.body)


def create_user(label: str) -> tuple[Any, str]:
    """A user made through UserService, and a token from signing in as them."""
    from chalicelib.schemas.users import UserCreate
    from chalicelib.services.users import UserService

    service = UserService()
    email = f"bench-{label}-{uuid.uuid4().hex[:8]}@example.com"
    user = service.create(UserCreate(email=email, password=PASSWORD), caller=None)
    return user, service.authenticate(email, PASSWORD)


def brand_name(i: int) -> str:
    return f"Brand {i:02d}"


class _CollectingProducts:
    """Stands in for ProductRepository.save in ProductService: keeps the items it would write."""

    def __init__(self, products: Any) -> None:
        self.products = products
        self.items: list[Any] = []

    def save(self, product: Any, new_media: Sequence[Any] = (), removed_media_ids: Sequence[str] = ()) -> None:
        if new_media or removed_media_ids:
            raise ValueError("seeded products must not carry media")
        product.refresh_keys()
        self.items.append(product)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.products, name)


SHOT_STATUSES = ("TO_REVIEW", "IN_PROGRESS", "NOT_STARTED", "APPROVED")


def seed_products(user: Any, count: int, brands: int, shot_statuses: bool = False) -> list[str]:
    """`count` products in the user's own scope, built by ProductService.create, written in batches.

    The service builds each ProductItem exactly as POST /products/ does (a URL cover, so no
    media); only the write differs: BatchWriteItem, 25 a call, instead of one TransactWriteItems
    each (thousands of transactions on moto take long). The version is stored as 1, which is what
    the transaction's version condition would have stored, and the counters (facets and the
    listing partition's product count) are written with the totals the transactions would have
    added up to. `shot_statuses`: spread the products over the four statuses, as the shootings
    side would set them, so the default order has every bucket.
    """

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
            brand=brand_name(i % brands),
            type=PRODUCT_TYPES[i % len(PRODUCT_TYPES)],
            season=SEASONS[(i // brands) % len(SEASONS)],
            year=2024 + i % 2,
            cover_image=URL_COVER,
        )
        service.create(caller, data, organization_id=None)

    def spread_statuses(i: int, item: Any) -> None:
        if shot_statuses:
            item.shot_status = SHOT_STATUSES[(i * 7) % len(SHOT_STATUSES)]

    write_seeded(collector.items, spread_statuses)
    return [str(item.id) for item in collector.items]


def write_seeded(items: Sequence[Any], adjust: Any = None) -> None:
    """Products built by the service, written as its transaction would leave them: the version
    stored as 1, by BatchWriteItem, `adjust(i, item)` applied first (as the shootings side would
    set the item's shot state); the counters with the totals the transactions would have added
    up to; and the scope's catalogue snapshot, as the migration for products written before the
    catalogue log makes it (the listings read it)."""
    from collections import Counter as Tally

    from chalicelib.store.catalogue import rebuild
    from chalicelib.store.facets import plan_product_counters
    from chalicelib.store.models import FacetItem, ProductItem

    totals: Tally[tuple[str, str]] = Tally()
    labels: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}
    first_at = items[0].created_at if items else ""
    with ProductItem.batch_write() as batch:
        for i, item in enumerate(items):
            if item.version is None:
                item.version = 1
            if adjust is not None:
                adjust(i, item)
            item.refresh_keys()
            batch.save(item)
            for key, label in plan_product_counters(None, item).increments:
                totals[key] += 1
                labels[key] = label
    with FacetItem.batch_write() as batch:
        for (pk, sk), total in totals.items():
            facet, value, brand = labels[(pk, sk)]
            batch.save(
                FacetItem(pk=pk, sk=sk, product_count=total, facet=facet, value=value, brand=brand, first_at=first_at)
            )
    if items:
        rebuild(items[0].scope, items)


def stored_attributes(product_id: str) -> tuple[set[str], Any]:
    """The attribute names and version of a product as stored (a raw GetItem)."""
    from chalicelib.config import get_settings

    settings = get_settings()
    client = boto3.client("dynamodb", region_name=settings.aws_region)
    key = {"pk": {"S": f"PRODUCT#{product_id}"}, "sk": {"S": "PRODUCT"}}
    item = client.get_item(TableName=settings.table_name, Key=key)["Item"]
    return set(item), item.get("version")


# -- the benchmark -------------------------------------------------------------------------


@dataclass
class RequestRow:
    label: str
    stats: CallStats
    cold: CallStats


@dataclass
class ListingRow:
    label: str
    path: str
    matched: int
    returned: int
    stats: CallStats

    @property
    def index_read(self) -> int:
        """Items the listing read by Query (the catalogue's changes and head) or Scan."""
        return self.stats.items_read["Query"] + self.stats.items_read["Scan"]

    @property
    def page_fetched(self) -> int:
        return self.stats.items_read["BatchGetItem"]

    @property
    def index_ratio(self) -> float:
        return self.index_read / self.matched if self.matched else float("nan")

    @property
    def total_ratio(self) -> float:
        return self.stats.total_read / self.matched if self.matched else float("nan")


@dataclass
class BenchResult:
    products: int
    brands: int
    requests: list[RequestRow]
    listings: list[ListingRow]
    seeding: CallStats
    seed_matches_api: bool
    totals: CallStats
    seconds: dict[str, float]

    @property
    def scans(self) -> int:
        return self.totals.calls["Scan"]

    def request(self, label_start: str) -> RequestRow:
        return next(r for r in self.requests if r.label.startswith(label_start))

    def listing(self, label_start: str) -> ListingRow:
        return next(r for r in self.listings if r.label.startswith(label_start))


def _measure_twice(counter: DynamoDBCallCounter, call: Any) -> tuple[CallStats, CallStats, Any]:
    """The first (cold) and second (steady) calls' stats, and the second call's result."""
    with counter.measure() as cold:
        call()
    with counter.measure() as steady:
        result = call()
    return cold, steady, result


def run(products: int = 5000, brands: int = 50) -> BenchResult:
    """The whole benchmark on a fresh moto; returns counts only (printing is `render`'s)."""
    from app import app
    from ops.local.resources import create_resources

    counter = DynamoDBCallCounter()
    seconds: dict[str, float] = {}
    requests: list[RequestRow] = []
    listings: list[ListingRow] = []
    with mock_aws():
        create_resources()
        counter.install()
        try:
            with Client(app) as client:
                # Part 1: one user with a handful of products, calls of single requests.
                start = time.perf_counter()
                _, token = create_user("requests")
                http = Http(client, token)
                base = "/api/v1/products/"
                png = png_b64()
                for i in range(4):
                    http.request(
                        "POST", base, {"name": f"Warm {i}", "brand": brand_name(i % 2), "cover_image": URL_COVER}
                    )
                product_id = http.request("GET", base)["data"][0]["id"]

                def post(cover: str) -> Any:
                    return lambda: http.request(
                        "POST", base, {"name": "T", "brand": brand_name(0), "cover_image": cover}
                    )

                cases: Sequence[tuple[str, Any]] = (
                    ("GET /products/{id}", lambda: http.request("GET", f"{base}{product_id}")),
                    ("POST /products/ (base64 PNG cover)", post(png)),
                    ("POST /products/ (URL cover)", post(URL_COVER)),
                    ("GET /products/ (unfiltered)", lambda: http.request("GET", base)),
                    (
                        "GET /products/?brand=X",
                        lambda: http.request("GET", f"{base}?{urlencode({'brand': brand_name(0)})}"),
                    ),
                )
                for label, call in cases:
                    cold, steady, _ = _measure_twice(counter, call)
                    requests.append(RequestRow(label, steady, cold))
                seconds["requests"] = time.perf_counter() - start

                # Part 2: one user's scope seeded through the service layer, then listings.
                start = time.perf_counter()
                user, token = create_user("catalog")
                with counter.measure() as seeding:
                    seeded_ids = seed_products(user, products, brands)
                seconds["seed"] = time.perf_counter() - start

                # The seeded items must be stored as the API stores them: compare with a product
                # POSTed (by the part 1 user, outside the seeded scope) with the same fields.
                fields = {
                    "name": "Reference",
                    "sku": "SKU-REF",
                    "brand": brand_name(0),
                    "type": PRODUCT_TYPES[0],
                    "season": SEASONS[0],
                    "year": 2024,
                    "cover_image": URL_COVER,
                }
                reference = http.request("POST", base, fields)["id"]
                http = Http(client, token)
                seed_matches_api = stored_attributes(seeded_ids[0]) == stored_attributes(reference)

                start = time.perf_counter()
                wanted_brand = brand_name(7 % brands)
                listing_cases = (
                    # The first listing of the scope is a cold instance's: the head, the snapshot
                    # the seeding made, the changes after it (none) and the page.
                    ("GET /products/ (cold: the catalogue's snapshot)", base),
                    ("GET /products/?brand=X", f"{base}?{urlencode({'brand': wanted_brand})}"),
                    ("GET /products/ (unfiltered)", base),
                    ("GET /products/?sort_by=name", f"{base}?sort_by=name"),
                    ("GET /products/?product_type=X", f"{base}?product_type={PRODUCT_TYPES[0]}"),
                    ("GET /products/?search=x", f"{base}?search=00"),
                    (
                        "GET /products/?brand=X&season=Y",
                        f"{base}?{urlencode({'brand': wanted_brand, 'season': SEASONS[0]})}",
                    ),
                )
                for label, path in listing_cases:
                    with counter.measure() as stats:
                        body = http.request("GET", path)
                    listings.append(ListingRow(label, path, int(body["count"]), len(body["data"]), stats))
                seconds["listings"] = time.perf_counter() - start
        finally:
            counter.uninstall()
    return BenchResult(products, brands, requests, listings, seeding, seed_matches_api, counter.totals, seconds)


# -- printing ------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        first = row[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join([first, *rest]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _ops(stats: CallStats) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(stats.calls.items())) or "none"


def render(result: BenchResult) -> str:
    lines: list[str] = []
    lines.append(
        "Part 1: DynamoDB calls per request (a user with a few products; steady state = 2nd identical request)"
    )
    ops = sorted({op for r in result.requests for op in r.stats.calls})
    headers = ["request", "calls", *ops, "items read", "items written"]
    rows = [
        [
            r.label,
            r.stats.total_calls,
            *[r.stats.calls[op] or "-" for op in ops],
            r.stats.total_read,
            r.stats.total_written,
        ]
        for r in result.requests
    ]
    lines += _table(headers, rows)
    cold = [r for r in result.requests if r.cold.calls != r.stats.calls]
    for r in cold:
        lines.append(f"  cold first request differs: {r.label}: {_ops(r.cold)}")
    if not cold:
        lines.append("  (first and second requests made the same calls: no cold-start extras)")
    lines.append("")

    seeding = result.seeding
    lines.append(f"Part 2: {result.products} products in one user's scope, {result.brands} brands")
    lines.append(
        "  seeded without HTTP: items built by ProductService.create, written with their counters and a "
        "catalogue snapshot by "
        f"BatchWriteItem: {_ops(seeding)}, {seeding.total_read} items read"
    )
    lines.append(
        "  seeded items stored with the same attributes and version as a POSTed product: "
        + ("yes" if result.seed_matches_api else "NO")
    )
    headers = [
        "listing (one request each)",
        "calls",
        "Query",
        "matched",
        "returned",
        "log items read",
        "page items fetched",
        "all items read",
        "log read / matched",
        "all read / matched",
    ]
    rows = [
        [
            r.label,
            r.stats.total_calls,
            r.stats.calls["Query"],
            r.matched,
            r.returned,
            r.index_read,
            r.page_fetched,
            r.stats.total_read,
            f"{r.index_ratio:.2f}",
            f"{r.total_ratio:.2f}",
        ]
        for r in result.listings
    ]
    lines += _table(headers, rows)
    lines.append(
        "  log items read = Query ScannedCount (the catalogue's changes since the last request, and its head);"
        " page items fetched = BatchGetItem items; all items read adds the caller's GetItem"
        " (and, cold, the head's and the snapshot's parts)"
    )
    for row in result.listings:
        lines.append(f"  {row.label}: {_ops(row.stats)}  [{row.path}]")
    lines.append("")
    lines.append(f"Scan calls during the whole run: {result.scans} (must be 0)")
    lines.append(f"All DynamoDB calls during the whole run: {_ops(result.totals)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--products", type=int, default=5000, help="products seeded in one scope (default 5000)")
    parser.add_argument("--brands", type=int, default=50, help="distinct brands among them (default 50)")
    args = parser.parse_args(argv)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run(args.products, args.brands)
    print(render(result))
    phases = ", ".join(f"{name} {s:.1f}s" for name, s in result.seconds.items())
    print(
        f"Runtime: {time.perf_counter() - start:.1f}s wall, {time.process_time() - cpu_start:.1f}s CPU "
        f"(wall by phase: {phases}); informational only, nothing is timed or asserted"
    )
    return 1 if result.scans else 0


if __name__ == "__main__":
    sys.exit(main())
