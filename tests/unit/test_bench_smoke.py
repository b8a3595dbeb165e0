"""The DynamoDB-calls benchmark at a tiny size, so its code cannot rot and its ratios stay sane."""

from __future__ import annotations

from collections import Counter

from bench.dynamodb_calls import BenchResult, render, run

PRODUCTS = 30
BRANDS = 3


def test_bench_counts_are_sane() -> None:
    result: BenchResult = run(products=PRODUCTS, brands=BRANDS)

    # Single requests: a fixed, small number of calls whatever the data.
    assert result.request("GET /products/{id}").stats.calls == Counter({"GetItem": 2})
    png = result.request("POST /products/ (base64 PNG cover)").stats
    assert png.calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
    # The product, its media record and its brand's two facet counters (scope and shard).
    assert png.total_written == 4
    url = result.request("POST /products/ (URL cover)").stats
    assert url.calls == Counter({"GetItem": 1, "TransactWriteItems": 1})
    assert url.total_written == 3
    for label in ("GET /products/ (unfiltered)", "GET /products/?brand=X"):
        assert result.request(label).stats.calls == Counter({"GetItem": 1, "Query": 1, "BatchGetItem": 1})

    # Seeding writes in batches and reads nothing; the items are stored as the API stores them.
    assert set(result.seeding.calls) == {"BatchWriteItem"}
    assert result.seeding.total_written == PRODUCTS
    assert result.seeding.total_read == 0
    assert result.seed_matches_api

    # A brand-filtered listing reads its brand's items only: items read == items matched.
    brand = result.listing("GET /products/?brand=X (brand index)")
    assert brand.matched == PRODUCTS // BRANDS
    assert brand.index_read == brand.matched
    assert brand.index_ratio == 1.0
    assert brand.stats.total_read == 1 + brand.matched + brand.returned
    assert brand.page_fetched == brand.returned == min(brand.matched, 100)

    # The unfiltered listing reads the scope once, every item of it matching.
    everything = result.listing("GET /products/ (unfiltered, scope index)")
    assert everything.matched == PRODUCTS
    assert everything.index_read == PRODUCTS
    assert everything.stats.calls["Query"] >= 1

    # A filter without an index reads the whole scope; one with a brand never more than the brand.
    assert result.listing("GET /products/?product_type=X (no index)").index_read == PRODUCTS
    assert result.listing("GET /products/?brand=X&season=Y (brand index)").index_read == brand.matched

    assert result.scans == 0
    assert "Scan calls during the whole run: 0 (must be 0)" in render(result)
