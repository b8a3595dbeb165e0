"""The shooting-reads benchmark at a tiny size: a product's shot and look reads make the same
DynamoDB calls whatever the number of shots in a look and of looks of a product (no N+1)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bench.shooting_reads import (
    LISTING,
    LOOKS,
    LOOKS_READ,
    MAIN_READS,
    OUTFIT,
    OUTFIT_READS,
    OUTFIT_RELATED,
    RELATED_READ,
    SHOTS,
    SHOTS_READ,
    SUMMARY_READ,
    BenchResult,
    render,
    run,
)

SIZES = (1, 3)
SHOTS_PER_LOOK = 2
MAX_CALLS = 5


@pytest.fixture(scope="module")
def result() -> BenchResult:
    return run(shot_sizes=SIZES, look_sizes=SIZES, shots_per_look=SHOTS_PER_LOOK)


def test_every_read_makes_the_same_few_calls_at_every_size(result: BenchResult) -> None:
    expected = {(SHOTS, label) for label, _ in MAIN_READS}
    expected |= {(LOOKS, label) for label, _ in MAIN_READS}
    expected |= {(OUTFIT, label) for label, _ in OUTFIT_READS}
    rows = result.rows()
    assert set(rows) == expected
    for (series, endpoint), by_size in rows.items():
        assert sorted(by_size) == list(SIZES), (series, endpoint)
        calls = {size: sample.stats.calls for size, sample in by_size.items()}
        # By operation, not only in total: a GetItem per look traded for a Query is still N+1.
        assert calls[SIZES[0]] == calls[SIZES[-1]], (series, endpoint, calls)
        assert 0 < by_size[SIZES[-1]].stats.total_calls <= MAX_CALLS, (series, endpoint, calls)
    assert result.constant
    assert result.varying() == []
    assert result.scans == 0
    assert "Call counts constant across sizes for every endpoint: YES" in render(result)


def test_the_worlds_really_grew(result: BenchResult) -> None:
    # Otherwise equal counts would prove nothing.
    rows = result.rows()
    shots = rows[(SHOTS, SHOTS_READ)]
    assert [shots[size].returned for size in SIZES] == list(SIZES)
    looks = rows[(LOOKS, LOOKS_READ)]
    assert [looks[size].returned for size in SIZES] == list(SIZES)
    assert [rows[(LOOKS, SHOTS_READ)][size].returned for size in SIZES] == [s * SHOTS_PER_LOOK for s in SIZES]
    related = rows[(OUTFIT, OUTFIT_RELATED)]
    assert [related[size].returned for size in SIZES] == list(SIZES)
    # The main product is one of the products its related looks name.
    assert [rows[(LOOKS, RELATED_READ)][size].returned for size in SIZES] == list(SIZES)
    # Items read grow with the looks (one item each), calls do not.
    for key in ((LOOKS, SUMMARY_READ), (OUTFIT, OUTFIT_RELATED)):
        small, large = (rows[key][size].stats for size in SIZES)
        assert large.total_read > small.total_read, key
    # A look is one item: more shots in it read no more items.
    assert shots[SIZES[0]].stats.total_read == shots[SIZES[-1]].stats.total_read
    assert rows[(LOOKS, LISTING)][SIZES[-1]].stats.calls == Counter({"GetItem": 1, "Query": 1, "BatchGetItem": 1})


def test_a_call_per_look_would_be_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: a summary that fetched each look again is reported as not constant."""
    from chalicelib.services.shootings import ShootingService

    original = ShootingService.product_looks_summary

    def one_get_per_look(self: ShootingService, caller: Any, product_id: str, q: Any) -> Any:
        for look in self.repo.looks_of_product(product_id):
            self.repo.get_look(look.id)
        return original(self, caller, product_id, q)

    monkeypatch.setattr(ShootingService, "product_looks_summary", one_get_per_look)
    broken = run(shot_sizes=(), look_sizes=SIZES, shots_per_look=1)
    assert broken.varying() == [(LOOKS, SUMMARY_READ)]
    calls = broken.calls(LOOKS, SUMMARY_READ)
    assert calls[SIZES[-1]]["GetItem"] - calls[SIZES[0]]["GetItem"] == SIZES[-1] - SIZES[0]
    assert not broken.constant
    assert "Call counts constant across sizes for every endpoint: NO" in render(broken)
