"""DynamoDB's limits are budgeted before writing: a 422 naming the field, or a safe split;
never a 500, never a half-written product. Stored data is never re-validated with input rules."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.store import limits
from chalicelib.store.media import MediaRepository
from chalicelib.store.models import ProductItem
from chalicelib.store.products import ProductRepository
from chalicelib.store.table import MAX_TRANSACTION_ITEMS
from tests.factories import Api, png_b64
from tests.schema import assert_valid


def _media_ids(product: dict[str, Any]) -> set[str]:
    found = [product.get("cover_image_media"), product.get("back_image_media")]
    found += product.get("reference_images_media") or []
    return {m["id"] for m in found if m}


def _every_image(shade: int) -> dict[str, Any]:
    """Cover, back, 20 reference and 20 data images, all distinct PNGs."""
    return {
        "cover_image": png_b64((shade, 0, 0)),
        "back_image": png_b64((shade, 1, 0)),
        "reference_images": [png_b64((shade, n, 1)) for n in range(20)],
        "data_images": [png_b64((shade, n, 2)) for n in range(20)],
    }


def test_replacing_every_image_and_moving_every_facet_fits(api: Api) -> None:
    """42 new media, 42 removed, four facets moved in scope and shard: more than one
    transaction holds. The removed media records follow the transaction."""
    _, token = api.user()
    images = _every_image(shade=1)
    facets = {"brand": "Acme", "brand_collection": "Core", "season": "SS", "year": 2024}
    product = api.product(token, **images, **facets)
    old_ids = _media_ids(product)
    assert len(old_ids) == 22

    new_images = _every_image(shade=2)
    new_facets = {"brand": "Nordwind", "brand_collection": "Edit", "season": "FW", "year": 2025}
    r = api.put(f"/api/v1/products/{product['id']}", {**new_images, **new_facets}, token)
    assert r.status == 200, r
    updated = r.json
    assert_valid("ProductPublic", updated)
    assert len(updated["reference_images"]) == 20 and len(updated["data_image_urls"]) == 20
    assert not _media_ids(updated) & old_ids

    stored = ProductRepository().get(product["id"])
    assert stored is not None and len(stored.media_ids) == 42
    media = MediaRepository()
    assert all(media.get(m) is None for m in old_ids)
    assert all(media.get(m) is not None for m in stored.media_ids)

    brands = api.get("/api/v1/brands/?with_counts=true", token).json
    assert brands["data"] == ["Nordwind"] and brands["counts"] == {"Nordwind": 1}
    assert api.get("/api/v1/seasons/", token).json["data"] == ["FW"]
    assert api.get("/api/v1/years/", token).json["data"] == [2025]
    assert MAX_TRANSACTION_ITEMS == 100


def _names(loc: list[Any], detail: list[dict[str, Any]]) -> bool:
    """Some error's loc is `loc`, or `loc` with pydantic's union-branch label in between."""
    return any(e["loc"] == loc or (e["loc"][:2] == loc[:2] and e["loc"][3:] == loc[2:]) for e in detail)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"cover_image": "https://example.com/" + "a" * 450_000}, ["body", "cover_image"]),
        ({"reference_images": ["https://example.com/" + "b" * 30_000] * 20}, ["body", "reference_images", 0]),
        ({"cover_image": {"url": "https://example.com/" + "c" * 3000}}, ["body", "cover_image", "url"]),
        ({"data_images": ["https://example.com/" + "d" * 2100]}, ["body", "data_images", 0]),
    ],
)
def test_long_urls_are_a_422_naming_the_field(api: Api, body: dict[str, Any], loc: list[Any]) -> None:
    _, token = api.user()
    r = api.post("/api/v1/products/", {"name": "Tee", "cover_image": "https://example.com/a.jpg", **body}, token)
    assert r.status == 422, r
    assert _names(loc, r.json["detail"]), r.json["detail"]
    assert api.get("/api/v1/products/", token).json["count"] == 0

    product = api.product(token)
    r = api.put(f"/api/v1/products/{product['id']}", body, token)
    assert r.status == 422, r
    assert _names(loc, r.json["detail"]), r.json["detail"]


def test_an_item_over_the_size_budget_is_a_422_naming_its_largest_field(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = api.user()
    product = api.product(token)
    # The inputs' own bounds keep a product far below 400 KB; a smaller budget shows the check.
    monkeypatch.setattr(limits, "MAX_ITEM_BYTES", 12_000)
    body = {"description": "d" * 2000, "ecommerce_description": "e" * 4000, "brand_metadata": {"k": "m" * 9000}}
    r = api.put(f"/api/v1/products/{product['id']}", body, token)
    assert r.status == 422, r
    (error,) = r.json["detail"]
    assert error["loc"] == ["body", "brand_metadata"] and error["type"] == "too_large"
    r = api.post("/api/v1/products/", {"name": "Big", "cover_image": "https://e.com/a.jpg", **body}, token)
    assert r.status == 422 and r.json["detail"][0]["loc"] == ["body", "brand_metadata"]
    # Nothing was written: the product is unchanged, no second product exists.
    monkeypatch.setattr(limits, "MAX_ITEM_BYTES", 400 * 1024)
    assert api.get(f"/api/v1/products/{product['id']}", token).json == product
    assert api.get("/api/v1/products/", token).json["count"] == 1


def test_item_size_counts_like_dynamodb() -> None:
    assert limits.value_size({"S": "héllo"}) == 6
    assert limits.value_size({"BOOL": True}) == 1
    assert limits.value_size({"NULL": True}) == 1
    assert limits.value_size({"L": [{"S": "ab"}, {"S": "c"}]}) == 3 + 3 + 2
    assert limits.value_size({"M": {"ab": {"S": "cd"}}}) == 3 + 2 + 2 + 1
    assert limits.value_size({"N": "12345"}) <= 21


def test_stored_data_is_not_revalidated_with_input_rules(api: Api) -> None:
    """A stored product whose brand_metadata exceeds today's 64 KB input bound (written under
    another rule, or by another service) is still readable and listed."""
    _, token = api.user()
    product = api.product(token, brand="Acme")
    repository = ProductRepository()
    stored = repository.get(product["id"])
    assert isinstance(stored, ProductItem)
    big = {"history": "x" * 100_000}
    stored.doc = {**stored.doc, "brand_metadata": big}
    repository.save(stored)

    got = api.get(f"/api/v1/products/{product['id']}", token)
    assert got.status == 200, got
    assert got.json["brand_metadata"] == big
    for query in ("", "?brand=acme", "?sort_by=name"):
        listed = api.get(f"/api/v1/products/{query}", token)
        assert listed.status == 200, listed
        assert [p["brand_metadata"] for p in listed.json["data"]] == [big]
    # Only a change of the field itself meets the input rule again.
    assert api.put(f"/api/v1/products/{product['id']}", {"colour": "Red"}, token).status == 200
    too_big = api.put(f"/api/v1/products/{product['id']}", {"brand_metadata": big}, token)
    assert too_big.status == 422


def test_the_product_size_error_names_the_shootings_side_when_it_is_the_largest() -> None:
    """A product over the budget because of its looks' shot summaries: the error names them, not
    the largest field of the product's own document (every product write checks the same way)."""
    from chalicelib.store.limits import ItemTooLarge
    from chalicelib.store.models import ProductItem
    from chalicelib.store.products import check_product_size

    product = ProductItem(
        pk="PRODUCT#p", sk="PRODUCT", id="p", owner_id="u", name_lc="tee", gender="UNISEX",
        created_at="2026-01-01", updated_at="2026-01-01",
        doc={"name": "Tee", "description": "d" * 1000},
        shot_summaries=[{"shot_id": f"s{n}", "status": "TO_REVIEW", "padding": "x" * 500} for n in range(900)],
    )  # fmt: skip
    with pytest.raises(ItemTooLarge) as raised:
        check_product_size(product)
    assert raised.value.field == "shot_summaries"
