"""What a products listing reads: the catalogue's changes since the last request and the page.

Every listing, whatever its filters and order, costs one consistent Query of the scope's
catalogue partition (the changes after the instance's number, and the head) and one consistent
BatchGetItem of the page's products: never a Scan, never an index (eventually consistent), and
never a product beyond the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient

from chalicelib import wiring
from tests.factories import Api

Calls = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    calls: Calls = []
    original = BaseClient._make_api_call

    def spy(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.append((operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy)
    yield calls


def _listing_reads(calls: Calls) -> Calls:
    """The calls less the caller's authentication (a GetItem of the user)."""
    return [(op, p) for op, p in calls if not (op == "GetItem" and p["Key"]["pk"]["S"].startswith("USER#"))]


def _page_keys(batch: dict[str, Any]) -> list[str]:
    (request,) = batch["RequestItems"].values()
    assert request["ConsistentRead"] is True
    return [key["pk"]["S"] for key in request["Keys"]]


def _catalogue_query(query: dict[str, Any]) -> None:
    assert "IndexName" not in query
    assert query["ConsistentRead"] is True
    assert any(str(v.get("S", "")).startswith("CATALOGUE#USER#") for v in query["ExpressionAttributeValues"].values())


@pytest.mark.parametrize(
    "params",
    [
        "",
        "sort_by=created_at",
        "sort_by=updated_at&sort_order=asc",
        "enabled=false",
        "brand=ACME",
        "season=ss",
        "year=2024",
        "brand=acme&season=SS",
        "search=tee&gender=MALE",
        "sort_by=name",
        "product_type=shirt&is_public=false",
        "shot_statuses=NOT_STARTED&shot_statuses=TO_REVIEW",
        "brand_collection=core&brand_collection=basics",
        "archived=false&demo=false&is_filler=false&sort_by=shot_status",
        "skip=1&limit=1&sort_by=season&sort_order=asc",
    ],
)
def test_a_warm_listing_reads_the_changes_and_the_page(api: Api, dynamodb_calls: Calls, params: str) -> None:
    _, token = api.user()
    api.product(token, name="Tee", brand="Acme", season="SS", year=2024, gender="MALE", type="Shirt")
    api.product(token, name="Coat", brand="Other", season="FW", year=2023, brand_collection="Core")
    assert api.get("/api/v1/products/", token).status == 200  # the instance holds the catalogue
    dynamodb_calls.clear()
    r = api.get(f"/api/v1/products/?{params}", token)
    assert r.status == 200, r
    reads = _listing_reads(dynamodb_calls)
    ops = [op for op, _ in reads]
    assert ops == ["Query", "BatchGetItem"] if r.json["data"] else ["Query"], ops
    _catalogue_query(reads[0][1])
    if r.json["data"]:
        assert sorted(_page_keys(reads[1][1])) == sorted(f"PRODUCT#{p['id']}" for p in r.json["data"])
    if "brand=" in params or "season=" in params or "year=" in params or "search=" in params:
        assert [p["name"] for p in r.json["data"]] == ["Tee"]


def test_a_deep_page_reads_the_page_only(api: Api, dynamodb_calls: Calls) -> None:
    _, token = api.user()
    for n in range(9):
        api.product(token, name=f"P{n}")
    assert api.get("/api/v1/products/", token).status == 200
    dynamodb_calls.clear()
    r = api.get("/api/v1/products/?skip=6&limit=2&sort_by=name", token)
    assert r.status == 200, r
    assert [p["name"] for p in r.json["data"]] == ["P2", "P1"] and r.json["count"] == 9
    (batch,) = [p for op, p in dynamodb_calls if op == "BatchGetItem"]
    assert len(_page_keys(batch)) == 2
    (query,) = [p for op, p in dynamodb_calls if op == "Query"]
    assert query["Limit"] > 0  # the catch-up is bounded: a long way behind reads the snapshot


def test_a_cold_instance_reads_the_head_the_snapshot_and_the_changes_after_it(api: Api, dynamodb_calls: Calls) -> None:
    from chalicelib.services import catalogue

    _, token = api.user()
    for n in range(3):
        api.product(token, name=f"P{n}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(catalogue, "SNAPSHOT_EVERY", 2)
        assert api.get("/api/v1/products/", token).status == 200  # writes a snapshot at 3
    api.product(token, name="P3")
    wiring.listing().catalogues.forget()
    dynamodb_calls.clear()
    r = api.get("/api/v1/products/?sort_by=name&sort_order=asc", token)
    assert [p["name"] for p in r.json["data"]] == ["P0", "P1", "P2", "P3"]
    reads = _listing_reads(dynamodb_calls)
    ops = [op for op, _ in reads]
    # The head, the snapshot's part(s), the one change after it, the page.
    assert ops == ["GetItem", "BatchGetItem", "Query", "BatchGetItem"], ops
    (request,) = reads[1][1]["RequestItems"].values()
    assert [k["sk"]["S"].split("#")[0] for k in request["Keys"]] == ["SNAP"]


def test_no_listing_scans_or_reads_an_index(api: Api, dynamodb_calls: Calls) -> None:
    _, token = api.user()
    api.product(token, name="Tee")
    for params in ("", "search=t", "sort_by=name", "brand=x&season=y", "skip=5"):
        assert api.get(f"/api/v1/products/?{params}", token).status == 200
    assert not [op for op, _ in dynamodb_calls if op == "Scan"]
    assert not [p for op, p in dynamodb_calls if op == "Query" and "IndexName" in p]
