"""What GET /products/{id}/related-shooting-looks reads when many looks name the product.

Run: `cd /work/main && .venv/bin/python -m bench.related_looks [--looks 200]`

In-process on moto, as bench/dynamodb_calls.py (whose call counter, HTTP helper and environment
this uses). Through the API: an owner's public product, named in the outfit of `--looks` looks of
a stranger's (their own main product, their own shooting), then in `--looks` looks of the owner's.
Each read is made twice; the second (steady) request's DynamoDB calls and items read are printed
(Query and Scan: ScannedCount; GetItem and BatchGetItem: items returned). Counts only.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence

from bench.dynamodb_calls import (  # sets the test environment first
    URL_COVER,
    CallStats,
    DynamoDBCallCounter,
    Http,
    _table,
    create_user,
)

API = "/api/v1"
LOOKS = 200


def _product(http: Http, name: str, public: bool = False) -> str:
    body = {"name": name, "cover_image": URL_COVER, "public": public}
    return str(http.request("POST", f"{API}/products/", body)["id"])


def _looks(http: Http, product: str, count: int) -> None:
    main = _product(http, "Main coat")
    shooting = http.request("POST", f"{API}/shootings/", {"name": "Shoot"})["id"]
    for _ in range(count):
        http.request("POST", f"{API}/shootings/{shooting}/looks", {"product_id": main, "outfit_product_ids": [product]})


def _read(counter: DynamoDBCallCounter, http: Http, path: str) -> tuple[CallStats, int, int]:
    http.request("GET", path)
    with counter.measure() as stats:
        page = http.request("GET", path)
    return stats, len(page["data"]), int(page["count"])


def run(looks: int = LOOKS) -> list[list[str]]:
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from ops.local.resources import create_resources

    counter = DynamoDBCallCounter()
    rows: list[list[str]] = []
    with mock_aws():
        create_resources()
        counter.install()
        try:
            with Client(app) as client:
                owner = Http(client, create_user(f"owner-{uuid.uuid4().hex[:6]}")[1])
                stranger = Http(client, create_user(f"stranger-{uuid.uuid4().hex[:6]}")[1])
                product = _product(owner, "Public shoes", public=True)
                related = f"{API}/products/{product}/related-shooting-looks"
                reads = [
                    ("owner, limit 20", owner, f"{related}?limit=20"),
                    ("owner, default limit (100)", owner, related),
                    ("stranger, limit 20", stranger, f"{related}?limit=20"),
                    ("stranger, skip 180, limit 20", stranger, f"{related}?skip=180&limit=20"),
                ]
                for world, http in ((f"{looks} stranger's looks", stranger), (f"+ {looks} owner's looks", owner)):
                    _looks(http, product, looks)
                    for label, reader, path in reads:
                        stats, returned, count = _read(counter, reader, path)
                        by_op = ", ".join(f"{op} {n}" for op, n in sorted(stats.items_read.items()))
                        calls = ", ".join(f"{op} {n}" for op, n in sorted(stats.calls.items()))
                        rows.append([world, label, f"{returned}/{count}", str(stats.total_read), by_op, calls])
        finally:
            counter.uninstall()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.related_looks", description=__doc__.splitlines()[0])
    parser.add_argument("--looks", type=int, default=LOOKS, help="looks of each tenant naming the product")
    args = parser.parse_args(argv)
    headers = ["looks naming the product", "read", "returned/count", "items read", "by operation", "calls"]
    print("\n".join(_table(headers, run(args.looks))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
