"""The products listing reads the facet index of a brand, season or year filter, never Scan."""

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
        ("", "scope"),
        ("brand=ACME", "brand"),
        ("season=ss", "season"),
        ("year=2024", "year"),
        ("brand=acme&season=SS", "brand"),
        ("search=tee&gender=MALE", "scope"),
    ],
)
def test_listing_reads_the_narrowest_index(
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
    if params:
        assert [p["name"] for p in r.json["data"]] == ["Tee"]
