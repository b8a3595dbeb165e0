"""What a products page costs at 100 and at 10,000 products in one scope.

Run: `cd /work/main && .venv/bin/python -m bench.listing_pages [--sizes 100 10000]`

For each size, a fresh moto holds one user's scope seeded as `bench.dynamodb_calls` seeds it
(products and their counters; shot statuses spread over the four buckets), and each listing is
one request through the real app. Printed per listing: index items read (Query ScannedCount),
page items fetched (BatchGetItem), `count` against the exact number, and whether the page is
the one the in-memory order gives (the same query plus `is_filler=false`, which every seeded
product matches, takes the read-everything path). Counts and ratios only; nothing is timed.
"""

from __future__ import annotations

from tests.support import environment

environment.apply()

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from chalice.test import Client
from moto import mock_aws

from bench.dynamodb_calls import (
    SEASONS,
    DynamoDBCallCounter,
    Http,
    brand_name,
    create_user,
    seed_products,
)

BRANDS = 50
BASE = "/api/v1/products/"


@dataclass
class Row:
    size: int
    label: str
    index_read: int
    fetched: int
    count: int
    exact: int
    same_as_memory: bool | None
    note: str = ""


def _listing(http: Http, counter: DynamoDBCallCounter, params: dict[str, object]) -> tuple[dict[str, object], int, int]:
    path = BASE + (f"?{urlencode(params)}" if params else "")
    with counter.measure() as stats:
        body = http.request("GET", path)
    return body, stats.items_read["Query"], stats.items_read["BatchGetItem"]


def measure(size: int) -> list[Row]:
    from app import app
    from ops.local.resources import create_resources

    rows: list[Row] = []
    counter = DynamoDBCallCounter()
    with mock_aws():
        create_resources()
        with Client(app) as client:
            user, token = create_user(f"pages-{size}")
            seed_products(user, size, BRANDS, shot_statuses=True)
            counter.install()
            try:
                http = Http(client, token)
                pages: list[tuple[str, dict[str, object]]] = []
                for skip in (0, 40):
                    pages.append((f"default order, limit 20, skip {skip}", {"limit": 20, "skip": skip}))
                for field in ("created_at", "updated_at"):
                    for skip in (0, 40):
                        pages.append(
                            (f"sort_by={field}, limit 20, skip {skip}", {"sort_by": field, "limit": 20, "skip": skip})
                        )
                pages.append(("sort_by=name, limit 20 (no index order)", {"sort_by": "name", "limit": 20}))
                for label, params in pages:
                    body, index_read, fetched = _listing(http, counter, params)
                    memory, _, _ = _listing(http, counter, {**params, "is_filler": "false"})
                    same = [p["id"] for p in body["data"]] == [p["id"] for p in memory["data"]]  # type: ignore[index]
                    rows.append(Row(size, label, index_read, fetched, int(body["count"]), size, same))  # type: ignore[call-overload]

                brand, season = brand_name(7 % BRANDS), SEASONS[0]
                brand_size = sum(1 for i in range(size) if i % BRANDS == 7 % BRANDS)
                season_size = sum(1 for i in range(size) if (i // BRANDS) % len(SEASONS) == 0)
                both = sum(1 for i in range(size) if i % BRANDS == 7 % BRANDS and (i // BRANDS) % len(SEASONS) == 0)
                body, index_read, fetched = _listing(http, counter, {"brand": brand, "season": season, "limit": 20})
                rows.append(
                    Row(
                        size,
                        "brand=X&season=Y, limit 20",
                        index_read,
                        fetched,
                        int(body["count"]),  # type: ignore[call-overload]
                        both,
                        None,
                        f"brand has {brand_size}, season {season_size}: read {index_read} = the smaller",
                    )
                )
            finally:
                counter.uninstall()
    return rows


def render(rows: Sequence[Row]) -> str:
    headers = (
        "products",
        "listing",
        "index items read",
        "batch-got (page + counters)",
        "count",
        "exact",
        "same page as in-memory",
    )
    cells = [
        (
            str(r.size),
            r.label,
            str(r.index_read),
            str(r.fetched),
            str(r.count),
            "yes" if r.count == r.exact else f"NO ({r.exact})",
            "-" if r.same_as_memory is None else ("yes" if r.same_as_memory else "NO"),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [headers, *cells]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    lines += [f"  {r.size}: {r.note}" for r in rows if r.note]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listing_pages")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000])
    args = parser.parse_args(argv)
    rows = [row for size in args.sizes for row in measure(size)]
    print(render(rows))
    wrong = [r for r in rows if r.count != r.exact or r.same_as_memory is False]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
