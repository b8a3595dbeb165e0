"""DynamoDB calls and items read by the facet endpoints, at 100 and at 10,000 products in scope.

Run: `cd /work/main && .venv/bin/python -m bench.facet_reads [--small 100] [--large 10000]`

In-process on moto, as bench/dynamodb_calls.py (whose call counter this uses). Products are
created through the real write path (ProductService.create: one TransactWrite per product with
its facet counters), with moto's transaction snapshot made item-level (tests/support) so that
ten thousand transactions do not each deep-copy the table. The scope holds a fixed set of
distinct values (brands, collections, seasons, years); the claim under test is that a facet
read costs the same calls at both sizes and reads items in proportion to distinct values.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.dynamodb_calls import DynamoDBCallCounter, Http, _table, create_user  # sets the environment first

BRANDS = 40
COLLECTIONS_PER_BRAND = 3
SEASONS = ("SS", "FW", "Resort", "Pre-Fall", "Holiday", "Capsule")
YEARS = tuple(range(2017, 2027))
ENDPOINTS = (
    "/api/v1/brands/",
    "/api/v1/brand-collections/",
    "/api/v1/brand-collections/?brand=brand%2007",
    "/api/v1/seasons/",
    "/api/v1/years/",
    "/api/v1/brands/?with_counts=true",
)


@dataclass
class Row:
    endpoint: str
    viewer: str
    products: int
    calls: int
    queries: int
    items_read: int
    values: int


def seed(owner: Any, start: int, stop: int) -> None:
    from chalicelib.schemas.products import ProductCreate
    from chalicelib.services.access import Caller
    from chalicelib.services.products import ProductService

    caller, service = Caller(user=owner), ProductService()
    for i in range(start, stop):
        brand = i % BRANDS
        data = ProductCreate(
            name=f"Product {i}",
            brand=f"Brand {brand:02d}",
            brand_collection=f"Line {(i // BRANDS) % COLLECTIONS_PER_BRAND}",
            season=SEASONS[i % len(SEASONS)],
            year=YEARS[i % len(YEARS)],
            cover_image="https://example.com/cover.jpg",
        )
        service.create(caller, data, organization_id=None)


def measure(counter: DynamoDBCallCounter, http: Http, viewer: str, products: int) -> list[Row]:
    rows = []
    for endpoint in ENDPOINTS:
        with counter.measure() as stats:
            body = http.request("GET", endpoint)
        rows.append(
            Row(
                endpoint,
                viewer,
                products,
                stats.total_calls,
                stats.calls["Query"],
                stats.total_read,
                body["count"],
            )
        )
    return rows


def run(small: int, large: int) -> tuple[list[Row], float]:
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib.services.security import create_access_token
    from chalicelib.services.users import UserService
    from ops.local.moto_transactions import item_level_transactions
    from ops.local.resources import create_resources

    rows: list[Row] = []
    started = time.perf_counter()
    with mock_aws(), item_level_transactions():
        create_resources()
        counter = DynamoDBCallCounter()
        counter.install()
        try:
            with Client(app) as client:
                owner, token = create_user("facets")
                admin = UserService().ensure_first_superuser()
                user_http, admin_http = Http(client, token), Http(client, create_access_token(admin.id))
                seed(owner, 0, small)
                rows += measure(counter, user_http, "user", small)
                rows += measure(counter, admin_http, "superuser", small)
                seed(owner, small, large)
                rows += measure(counter, user_http, "user", large)
                rows += measure(counter, admin_http, "superuser", large)
        finally:
            counter.uninstall()
    return rows, time.perf_counter() - started


def render(rows: Sequence[Row], small: int, large: int) -> str:
    by_key = {(r.endpoint, r.viewer, r.products): r for r in rows}
    lines = [
        f"Facet reads: DynamoDB calls and items read per request, at {small} and {large} products in one scope",
        f"({BRANDS} brands, {BRANDS * COLLECTIONS_PER_BRAND} brand/collection pairs, {len(SEASONS)} seasons, "
        f"{len(YEARS)} years; the superuser view reads 10 shards; every request also reads its user: 1 GetItem)",
        "",
    ]
    table = []
    for endpoint in ENDPOINTS:
        for viewer in ("user", "superuser"):
            a, b = by_key[(endpoint, viewer, small)], by_key[(endpoint, viewer, large)]
            table.append(
                [
                    endpoint,
                    viewer,
                    a.values,
                    a.calls,
                    b.calls,
                    a.items_read,
                    b.items_read,
                    f"{b.items_read / max(1, a.items_read):.2f}",
                    "same" if a.calls == b.calls else "DIFFERENT",
                ]
            )
    headers = [
        "endpoint",
        "viewer",
        "values",
        f"calls@{small}",
        f"calls@{large}",
        f"read@{small}",
        f"read@{large}",
        "read ratio",
        "calls",
    ]
    lines += _table(headers, table)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.facet_reads")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10_000)
    args = parser.parse_args(argv)
    rows, seconds = run(args.small, args.large)
    print(render(rows, args.small, args.large))
    growth = [
        r
        for r in rows
        if r.products == args.large
        and r.calls
        != next(s.calls for s in rows if (s.endpoint, s.viewer, s.products) == (r.endpoint, r.viewer, args.small))
    ]
    print(f"\nruntime {seconds:.1f} s (informational)")
    return 1 if growth else 0


if __name__ == "__main__":
    sys.exit(main())
