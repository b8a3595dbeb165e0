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
    # The other read is the catalogue's head: the product's change takes the number after it.
    assert png.calls == Counter({"GetItem": 2, "TransactWriteItems": 2})
    # The product, its media record, its brand's two facet counters (scope and shard), the
    # listing partition's product count, the catalogue's change and head; then the caption's two.
    assert png.total_written == 7 + 2
    url = result.request("POST /products/ (URL cover)").stats
    assert url.calls == Counter({"GetItem": 2, "TransactWriteItems": 1})
    assert url.total_written == 6
    for label in ("GET /products/ (unfiltered)", "GET /products/?brand=X"):
        assert result.request(label).stats.calls == Counter({"GetItem": 1, "Query": 1, "BatchGetItem": 1})

    # Seeding writes in batches, then the catalogue's snapshot (its parts, and the head naming
    # them), and reads nothing but that head.
    assert set(result.seeding.calls) == {"BatchWriteItem", "GetItem", "UpdateItem"}
    assert result.seeding.calls["GetItem"] == result.seeding.calls["UpdateItem"] == 1
    assert result.seeding.total_written > PRODUCTS
    assert result.seed_matches_api

    # A cold instance reads the head, the snapshot's part, the changes after it and the page.
    cold = result.listing("GET /products/ (cold")
    assert cold.stats.calls == Counter({"GetItem": 2, "BatchGetItem": 2, "Query": 1})
    assert cold.index_read == 1  # no change after the snapshot: the head alone

    # Warm, every listing reads the head (no change since) and its page, whatever it filters on.
    brand = result.listing("GET /products/?brand=X")
    assert brand.matched == PRODUCTS // BRANDS
    assert brand.page_fetched == brand.returned == min(brand.matched, 100)
    assert brand.stats.total_read == 1 + 1 + brand.returned
    for row in result.listings[1:]:
        assert row.stats.calls == Counter({"GetItem": 1, "Query": 1, "BatchGetItem": 1}), row.label
        assert row.index_read == 1, row.label
        assert row.page_fetched == row.returned, row.label
    assert result.listing("GET /products/ (unfiltered)").matched == PRODUCTS
    both = result.listing("GET /products/?brand=X&season=Y")
    season_size = sum(1 for i in range(PRODUCTS) if (i // BRANDS) % len(SEASONS) == 0 and i % BRANDS == 7 % BRANDS)
    assert both.matched == season_size

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
