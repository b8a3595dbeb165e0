"""The DynamoDB-calls benchmark at a tiny size, so its code cannot rot and its ratios stay sane."""

from __future__ import annotations

from collections import Counter

from bench import import_time
from bench.dynamodb_calls import SEASONS, BenchResult, render, run

PRODUCTS = 30
BRANDS = 3


def test_bench_counts_are_sane() -> None:
    result: BenchResult = run(products=PRODUCTS, brands=BRANDS)

    # Single requests: a fixed, small number of calls whatever the data.
    assert result.request("GET /products/{id}").stats.calls == Counter({"GetItem": 2})
    png = result.request("POST /products/ (base64 PNG cover)").stats
    # A stored cover is captioned within the request: one more transaction, of the product's
    # caption fields and the cover's media record, and no read (the task runs on the written copy).
    assert png.calls == Counter({"GetItem": 1, "TransactWriteItems": 2})
    assert png.total_written == 5 + 2
    url = result.request("POST /products/ (URL cover)").stats
    assert url.calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
    assert url.total_written == 4
    for label in ("GET /products/ (unfiltered)", "GET /products/?brand=X"):
        assert result.request(label).stats.calls == Counter({"GetItem": 1, "Query": 1, "BatchGetItem": 1})
    # The product, its media record, its brand's two facet counters (scope and shard) and the
    # listing partition's product count.

    # Seeding writes in batches and reads nothing; the items are stored as the API stores them.
    assert set(result.seeding.calls) == {"BatchWriteItem"}
    # Products, then one counter per scope value (list partition, brands, seasons, years) and
    # per shard value.
    assert result.seeding.total_written > PRODUCTS
    assert result.seeding.total_read == 0
    assert result.seed_matches_api

    # A brand-filtered listing reads its brand's items only: items read == items matched.
    brand = result.listing("GET /products/?brand=X (brand index)")
    assert brand.matched == PRODUCTS // BRANDS
    assert brand.index_read == brand.matched
    assert brand.index_ratio == 1.0
    assert brand.stats.total_read == 1 + brand.matched + brand.returned
    assert brand.page_fetched == brand.returned == min(brand.matched, 100)

    # The unfiltered listing reads the page's index entries, and counts from the counter.
    everything = result.listing("GET /products/ (unfiltered, attention index)")
    assert everything.matched == PRODUCTS
    assert everything.index_read == everything.returned == min(PRODUCTS, 100)
    assert everything.stats.calls == Counter({"GetItem": 1, "Query": 1, "BatchGetItem": 1})

    # A filter or order without an index reads the whole scope; several facets the smallest.
    assert result.listing("GET /products/?product_type=X (no index)").index_read == PRODUCTS
    assert result.listing("GET /products/?sort_by=name (scope index)").index_read == PRODUCTS
    both = result.listing("GET /products/?brand=X&season=Y (smaller facet)")
    season_size = sum(1 for i in range(PRODUCTS) if (i // BRANDS) % len(SEASONS) == 0)
    assert both.index_read == min(brand.matched, season_size) < max(brand.matched, season_size)

    assert result.scans == 0
    assert "Scan calls during the whole run: 0 (must be 0)" in render(result)


def test_import_time_bench_runs_and_app_stays_lazy() -> None:
    # One real sample (a fresh interpreter, AWS on a closed port), not the timed run; no .pyc
    # is written, so the working tree stays clean.
    env = import_time.child_environment(write_bytecode=False)
    one = import_time.sample(("app",), env)
    assert one.wall > 0
    assert one.cpu > 0
    # Needed by a few routes only: imported with the app, every cold start would pay for them.
    assert not one.packages & {"PIL", "argon2", "email_validator"}

    rows = {name: import_time.Row(name, [0.1, 0.3, 0.2], [0.1, 0.2, 0.2]) for name in import_time.ROWS}
    rows["app"].wall = [0.24, 0.25, 0.26]
    rows["app"].cpu = [0.22, 0.22, 0.3]
    rows["app"].packages = {"chalicelib", "boto3"}
    rows["floor"].packages = {"boto3"}
    text = import_time.render(rows, 3)
    assert "app ÷ floor  1.25 wall, 1.10 CPU" in text
    assert "app ÷ boto3  1.25 wall, 1.10 CPU" in text
    assert "app beyond the floor: chalicelib\n" in text
    assert "media worker ÷ floor" in text and "export worker ÷ floor" in text
