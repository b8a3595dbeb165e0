"""The listing-pages benchmark at a small size, so its code cannot rot and its goals keep holding."""

from __future__ import annotations

from bench.listing_pages import MAX_CALLS, SizeResult, goal_line, measure, render

# Past the catalogue's fixed overhead (its tables of strings, the dict itself: ~9 KB), which at 100
# products would take a third of the 300-byte budget.
PRODUCTS = 200


def test_listing_pages_bench_meets_its_goals_at_a_small_size() -> None:
    result: SizeResult = measure(PRODUCTS)

    assert len(result.rows) >= 14
    for row in result.rows:
        # The catalogue: the page (and the log's head, the caller) in a few calls, counted exactly.
        assert row.ok, (row.kind.label, row.calls, row.items, row.kind.budget)
        assert row.calls <= MAX_CALLS
        assert row.count == row.exact, row.kind.label
        assert 0 < row.returned <= row.kind.limit, row.kind.label
        # The naive Scan reads the whole table whatever the filter, and lists the same page.
        assert row.naive_items >= PRODUCTS, row.kind.label
        assert row.naive_count == row.exact, row.kind.label
        assert row.same_page, row.kind.label
    assert {row.exact for row in result.rows} != {result.enabled}  # the filters do filter

    # A cold function reads the snapshot and the page's products, never the whole scope.
    assert result.cold.snapshot_parts >= 1
    assert result.cold.product_items <= result.cold.limit
    assert result.cold_ok and result.memory_ok and result.pages_ok and result.counts_ok
    assert result.ok

    text = render(result)
    assert goal_line(result) in text
    assert "FAIL" not in text
