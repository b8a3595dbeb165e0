"""The load run's pure parts: percentiles, the weighted mix, search terms, the figures and the
report. The stack is never started here."""

from __future__ import annotations

import random

import pytest

from bench.load_run import MIX, KindStats, Mix, figures, merge_stats, percentile, product_body, render, search_term


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 0)


def test_mix_picks_by_cumulated_weights() -> None:
    mix = Mix({"a": 1, "b": 0, "c": 3})
    assert mix.kinds == ["a", "c"]
    assert [mix.pick(r) for r in (0.0, 0.2499, 0.25, 0.99, 1.0)] == ["a", "a", "c", "c", "c"]
    with pytest.raises(ValueError):
        Mix({"a": 0})


def test_the_mix_gives_each_kind_its_share() -> None:
    mix, rng, n = Mix(MIX), random.Random(1), 40_000
    picks = [mix.pick(rng.random()) for _ in range(n)]
    assert abs(sum(MIX.values()) - 1) < 1e-9
    for kind, weight in MIX.items():
        assert abs(picks.count(kind) / n - weight) < 0.01, kind
    assert MIX["search"] == 0.15


def test_search_terms_are_typed_from_the_name() -> None:
    rng = random.Random(3)
    body = product_body(7, rng)
    assert body["sku"].startswith("LR-00007-") and body["cover_image"].startswith("https://")
    for _ in range(200):
        term = search_term(body["name"], rng)
        assert 2 <= len(term) <= 4 and term in body["name"].lower()


def test_figures_and_report() -> None:
    one, two = {"list": KindStats(), "search": KindStats()}, {"list": KindStats(), "search": KindStats()}
    for ms in (100.0, 200.0, 300.0):
        one["list"].record(200, ms)
    two["list"].record(503, 900.0)
    two["search"].record(200, 500.0)
    two["search"].record("ReadTimeout", None)
    stats = merge_stats([one, two])
    assert stats["list"].requests == 4 and stats["list"].errors == 1
    assert stats["search"].requests == 2 and stats["search"].errors == 1
    assert stats["get"].requests == 0  # every kind has its row

    meta = {
        "machine": {"cpus": 2, "platform": "Linux", "python": "3.12.1"},
        "config": {
            "repo": "/r",
            "revision": "abc1234",
            "python": "3.12.1",
            "clients": 8,
            "seconds": 90,
            "products": 1500,
            "mix": MIX,
        },
        "seeding": {"created": 1500, "seconds": 10.0, "per_second": 150.0, "threads": 8, "statuses": {"200": 1500}},
    }
    data = figures(stats, 90.0, 100.0, meta)
    assert data["kinds"]["list"] == {
        "requests": 4,
        "errors": 1,
        "statuses": {"200": 3, "503": 1},
        "p50_ms": 200.0,
        "p99_ms": 900.0,
        "max_ms": 900.0,
    }
    assert data["all"]["requests"] == 6 and data["all"]["errors"] == 2
    assert data["requests_per_second"] == 0.06
    assert data["search_p50_over_list_p50"] == 2.5

    text = render(data)
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.split()}
    assert rows["list"][1:6] == ["4", "1", "200", "900", "900"]
    assert "ReadTimeout: 1" in text and "503: 1" in text
    assert rows["get"][1:6] == ["0", "0", "-", "-", "-"]
    assert "0.06 requests/s" in text
    assert "search p50 / default page p50: 2.50" in text
    assert "2 CPUs" in text
