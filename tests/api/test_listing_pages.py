"""The page indexes stay current: counts per partition, and the shot status a product changes to."""

from __future__ import annotations

from chalicelib.schemas.enums import ProductShootingStatus
from chalicelib.services.products import ProductService
from tests.factories import Api


def _ids(api: Api, token: str, query: str = "") -> tuple[list[str], int]:
    r = api.get(f"/api/v1/products/{query}", token)
    assert r.status == 200, r
    return [p["id"] for p in r.json["data"]], r.json["count"]


def test_shot_status_changes_move_the_product_in_the_default_order(api: Api) -> None:
    _, token = api.user()
    first, second, third = (api.product(token, name=n)["id"] for n in ("A", "B", "C"))
    # All NOT_STARTED: newest change first.
    assert _ids(api, token) == ([third, second, first], 3)

    service = ProductService()
    service.set_shot_status(first, ProductShootingStatus.TO_REVIEW)
    service.set_shot_status(third, ProductShootingStatus.APPROVED)
    service.set_shot_status(second, ProductShootingStatus.IN_PROGRESS)
    assert _ids(api, token) == ([first, second, third], 3)
    # The same order where the listing must read everything (a filter every product matches).
    assert _ids(api, token, "?is_filler=false") == ([first, second, third], 3)
    assert _ids(api, token, "?shot_statuses=TO_REVIEW&shot_statuses=APPROVED") == ([first, third], 2)
    got = api.get(f"/api/v1/products/{first}", token).json
    assert got["shot_status"] == "TO_REVIEW"

    # A later edit keeps the status and the product's place among its bucket.
    assert api.put(f"/api/v1/products/{third}", {"colour": "Red"}, token).status == 200
    assert _ids(api, token) == ([first, second, third], 3)


def test_counts_follow_enabled_transfers_and_deletes(api: Api) -> None:
    owner, token = api.user()
    org = api.org(token)
    drafts = [
        api.post("/api/v1/products/?mode=basic", {"name": f"D{n}", "cover_image": "https://e.com/a.jpg"}, token).json
        for n in range(2)
    ]
    live = [api.product(token, name=f"L{n}") for n in range(3)]
    assert _ids(api, token)[1] == 3
    assert _ids(api, token, "?enabled=false")[1] == 2
    assert _ids(api, token, "?sort_by=created_at&sort_order=asc") == ([p["id"] for p in live], 3)

    # Completing a draft moves it between partitions and counters.
    assert api.patch(f"/api/v1/products/{drafts[0]['id']}", {"enabled": True}, token).status == 200
    assert _ids(api, token)[1] == 4 and _ids(api, token, "?enabled=false")[1] == 1
    # A transfer moves it to the organization's partition.
    moved = api.patch(f"/api/v1/products/{live[0]['id']}", {"organization_id": org}, token)
    assert moved.status == 200, moved
    assert _ids(api, token)[1] == 3
    assert _ids(api, token, f"?organization_id={org}") == ([live[0]["id"]], 1)
    # Archiving is not a partition: still listed and counted by default.
    assert api.patch(f"/api/v1/products/{live[1]['id']}/archived?archived=true", None, token).status == 200
    assert _ids(api, token)[1] == 3
    assert api.delete(f"/api/v1/products/{live[2]['id']}", token).status == 200
    ids, count = _ids(api, token, "?sort_by=updated_at")
    assert count == len(ids) == 2 and live[2]["id"] not in ids

    # Another user's scope is another partition and another counter.
    _, other = api.user()
    assert _ids(api, other) == ([], 0)
    assert api.get(f"/api/v1/products/?organization_id={org}", other).status == 403
    assert owner
