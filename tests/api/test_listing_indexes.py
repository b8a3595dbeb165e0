"""The products listing reads the cheapest index for its query, never Scan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.factories import Api


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def spy(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.append((operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy)
    yield calls


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ("", "attention"),
        ("sort_by=created_at", "scope"),
        ("sort_by=created_at&sort_order=asc", "scope"),
        ("sort_by=updated_at", "updated"),
        ("enabled=false", "attention"),
        ("brand=ACME", "brand"),
        ("season=ss", "season"),
        ("year=2024", "year"),
        ("brand=acme&season=SS", "brand"),
        ("search=tee&gender=MALE", "scope"),
        ("sort_by=name", "scope"),
    ],
)
def test_listing_reads_the_cheapest_index(
    api: Api, dynamodb_calls: list[tuple[str, dict[str, Any]]], params: str, index: str
) -> None:
    _, token = api.user()
    api.product(token, name="Tee", brand="Acme", season="SS", year=2024, gender="MALE")
    api.product(token, name="Coat", brand="Other", season="FW", year=2023)
    dynamodb_calls.clear()
    r = api.get(f"/api/v1/products/?{params}", token)
    assert r.status == 200, r
    queries = [p for op, p in dynamodb_calls if op == "Query"]
    assert [q.get("IndexName") for q in queries] == [index]
    assert not [op for op, _ in dynamodb_calls if op == "Scan"]
    if "brand" in params or "season" in params or "year" in params or "search" in params:
        assert [p["name"] for p in r.json["data"]] == ["Tee"]


@pytest.mark.parametrize("params", ["", "sort_by=created_at", "sort_by=updated_at&sort_order=asc"])
def test_unfiltered_pages_read_skip_plus_limit_entries_and_count_from_the_counter(
    api: Api, dynamodb_calls: list[tuple[str, dict[str, Any]]], params: str
) -> None:
    _, token = api.user()
    for n in range(7):
        api.product(token, name=f"P{n}")
    dynamodb_calls.clear()
    r = api.get(f"/api/v1/products/?skip=2&limit=3&{params}", token)
    assert r.status == 200, r
    assert r.json["count"] == 7 and len(r.json["data"]) == 3
    (query,) = [p for op, p in dynamodb_calls if op == "Query"]
    assert query["Limit"] == 5
    (batch,) = [p for op, p in dynamodb_calls if op == "BatchGetItem"]
    (keys,) = [request["Keys"] for request in batch["RequestItems"].values()]
    # The page's three products and the partition's counter, in one call.
    assert len(keys) == 4
    assert [op for op, _ in dynamodb_calls] == ["GetItem", "Query", "BatchGetItem"]


def test_several_facets_read_the_smallest_index(api: Api, dynamodb_calls: list[tuple[str, dict[str, Any]]]) -> None:
    _, token = api.user()
    for n in range(4):
        api.product(token, name=f"Acme {n}", brand="Acme", season="SS")
    api.product(token, name="Other", brand="Other", season="FW")
    api.product(token, name="Acme FW", brand="Acme", season="FW")
    dynamodb_calls.clear()
    # Acme has 5 products, FW 2: the season index is read.
    r = api.get("/api/v1/products/?brand=acme&season=fw", token)
    assert r.status == 200, r
    assert [p["name"] for p in r.json["data"]] == ["Acme FW"] and r.json["count"] == 1
    queries = [p for op, p in dynamodb_calls if op == "Query"]
    assert [q.get("IndexName") for q in queries] == ["season"]

    # A value no product has: nothing to read at all.
    dynamodb_calls.clear()
    r = api.get("/api/v1/products/?brand=acme&season=nope", token)
    assert r.status == 200 and r.json == {"data": [], "count": 0}
    assert not [op for op, _ in dynamodb_calls if op == "Query"]
