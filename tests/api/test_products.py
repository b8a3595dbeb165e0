"""Products end to end through the API: create, read, update, archive, delete, transfer, list.

Every product body is checked against the reference's ProductPublic schema (lists against
ProductsPublic); image objects are looked up in the moto S3 bucket itself.
"""

from __future__ import annotations

import base64
import copy
import threading
from datetime import datetime
from functools import cmp_to_key, lru_cache
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from tests.factories import Api, png_b64
from tests.schema import assert_valid, reference
from tests.support import harness

Product = dict[str, Any]

PRODUCTS = "/api/v1/products/"
BUCKET = "test-images"
S3_PREFIX = f"https://{BUCKET}.s3.us-east-1.amazonaws.com/"

# Every property of the reference's ProductPublic.
PUBLIC_FIELDS = list(reference()["components"]["schemas"]["ProductPublic"]["properties"])


# -- helpers ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def s3() -> Any:
    # One client for the process: the session's moto serves every test (tests/support/harness.py).
    return boto3.client("s3", region_name="us-east-1")


def key_of(url: str) -> str:
    assert url.startswith(S3_PREFIX), url
    return url[len(S3_PREFIX) :]


def object_exists(url: str) -> bool:
    try:
        s3().head_object(Bucket=BUCKET, Key=key_of(url))
    except s3().exceptions.ClientError:
        return False
    return True


def object_bytes(url: str) -> bytes:
    body: bytes = s3().get_object(Bucket=BUCKET, Key=key_of(url))["Body"].read()
    return body


def keys_under(prefix: str) -> list[str]:
    listed = s3().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def product_url(product_id: str, suffix: str = "") -> str:
    return f"{PRODUCTS}{product_id}{suffix}"


def get_product(api: Api, token: str, product_id: str) -> Product:
    r = api.get(product_url(product_id), token)
    assert r.status == 200, r
    assert_valid("ProductPublic", r.json)
    body: Product = r.json
    return body


def create(api: Api, token: str, body: dict[str, Any], query: str = "") -> Product:
    r = api.post(PRODUCTS + query, body, token)
    assert r.status == 200, r
    assert_valid("ProductPublic", r.json)
    product: Product = r.json
    return product


def update(api: Api, token: str, product_id: str, body: dict[str, Any], method: str = "PUT") -> Product:
    r = api.call(method, product_url(product_id), token, body)
    assert r.status == 200, r
    assert_valid("ProductPublic", r.json)
    product: Product = r.json
    return product


def listing(api: Api, token: str, params: list[tuple[str, str]] | dict[str, str] | None = None) -> dict[str, Any]:
    query = urlencode(params or {})
    r = api.get(PRODUCTS + (f"?{query}" if query else ""), token)
    assert r.status == 200, r
    assert_valid("ProductsPublic", r.json)
    body: dict[str, Any] = r.json
    return body


def listed_ids(api: Api, token: str, params: list[tuple[str, str]] | dict[str, str] | None = None) -> list[str]:
    return [p["id"] for p in listing(api, token, params)["data"]]


def assert_422(r: Any, loc_start: list[Any] | None = None) -> list[dict[str, Any]]:
    assert r.status == 422, r
    detail = r.json["detail"]
    assert isinstance(detail, list) and detail, r
    for entry in detail:
        assert {"type", "loc", "msg", "input"} <= set(entry), entry
    if loc_start is not None:
        assert any(e["loc"][: len(loc_start)] == loc_start for e in detail), detail
    result: list[dict[str, Any]] = detail
    return result


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def store_edit(product_id: str, **changes: Any) -> None:
    """Set what the API cannot (yet) set: shot_status (derived from shots) and demo (seeded data)."""
    from chalicelib.store.products import ProductRepository

    repo = ProductRepository()
    item = repo.get(product_id)
    assert item is not None
    if "shot_status" in changes:
        item.shot_status = changes.pop("shot_status")
    if changes:
        item.doc = {**item.doc, **changes}
    repo.save(item)


# -- round trip --------------------------------------------------------------------------------


def full_body() -> dict[str, Any]:
    return {
        "sku": "SKU-0001",
        "name": "Black T-Shirt",
        "brand": "Acme Apparel",
        "master_item_code": "MIC-42",
        "product_type_id": "3f1c9a52-7d1e-4a57-9a53-0f1d2c3b4a59",
        "gender": "FEMALE",
        "age_class": "TEEN",
        "type": "T-Shirt",
        "category": "Tops",
        "sleeve_type": "Short",
        "neckline": "Crew",
        "closure_type": "None",
        "fit_type": "Regular",
        "length_type": "Hip",
        "pattern": "Solid",
        "materials": "100% Cotton",
        "colour": "Black",
        "season": "SS",
        "year": 2025,
        "style_code": "ST-9",
        "in_store_date": "2025-03-01T10:00:00Z",
        "theme": "Urban",
        "brand_collection": "SS 2025 Core",
        "description": "A black t-shirt.",
        "back_description": "Plain back.",
        "ecommerce_description": "Our best black tee.",
        "brand_metadata": {"supplier": "X", "codes": [1, 2], "nested": {"ok": True}},
        "cover_image": png_b64((10, 20, 30)),
        "back_image": "data:image/png;base64," + png_b64((40, 50, 60)),
        "reference_images": ["https://example.com/ref-1.jpg", png_b64((70, 80, 90))],
        "data_images": ["https://example.com/data-1.jpg"],
        "public": True,
        "is_filler": True,
    }


PLAIN_FIELDS = [
    "sku",
    "name",
    "brand",
    "master_item_code",
    "product_type_id",
    "gender",
    "age_class",
    "type",
    "category",
    "sleeve_type",
    "neckline",
    "closure_type",
    "fit_type",
    "length_type",
    "pattern",
    "materials",
    "colour",
    "season",
    "year",
    "style_code",
    "theme",
    "brand_collection",
    "description",
    "back_description",
    "ecommerce_description",
    "brand_metadata",
    "public",
    "is_filler",
]


def test_round_trip_keeps_every_field(api: Api) -> None:
    user_id, token = api.user()
    body = full_body()
    created = create(api, token, body)
    assert set(PUBLIC_FIELDS) <= set(created), set(PUBLIC_FIELDS) - set(created)

    fetched = get_product(api, token, created["id"])
    assert set(PUBLIC_FIELDS) <= set(fetched)
    for product in (created, fetched):
        for field in PLAIN_FIELDS:
            assert product[field] == body[field], field
        assert when(product["in_store_date"]) == when(body["in_store_date"])
        assert product["product_type"] == "T-Shirt"
        assert product["owner_id"] == user_id
        assert product["organization_id"] is None
        assert product["enabled"] is True
        assert product["archived"] is False
        assert product["demo"] is False
        assert product["shot_status"] == "NOT_STARTED"

        cover = product["cover_image_media"]
        assert product["cover_image_url"] == cover["url"]
        assert (cover["width"], cover["height"], cover["extension"]) == (8, 6, "png")
        assert cover["dominant_color"] == "#0a141e"
        back = product["back_image_media"]
        assert product["back_image_url"] == back["url"]
        assert back["extension"] == "png"
        assert back["content_hash"] != cover["content_hash"]
        refs = product["reference_images"]
        assert len(refs) == 2
        assert refs[0] == "https://example.com/ref-1.jpg"
        assert [m["url"] for m in product["reference_images_media"]] == [refs[1]]
        assert product["data_image_urls"] == ["https://example.com/data-1.jpg"]

    assert fetched["cover_image_media"] == created["cover_image_media"]
    assert fetched["back_image_media"] == created["back_image_media"]
    assert fetched["reference_images_media"] == created["reference_images_media"]
    assert fetched["created_at"] == created["created_at"]
    assert fetched["updated_at"] == created["updated_at"]
    for url in (created["cover_image_url"], created["back_image_url"], created["reference_images"][1]):
        assert object_exists(url), url
    assert object_bytes(created["cover_image_url"]) == base64.b64decode(body["cover_image"])


def test_defaults_of_a_minimal_product(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "Plain", "cover_image": "https://example.com/a.jpg"})
    assert product["gender"] == "UNISEX"
    assert product["public"] is False
    assert product["is_filler"] is False
    assert product["reference_images"] == []
    assert product["data_image_urls"] == []
    for field in ("sku", "brand", "season", "year", "back_image_url", "cover_image_media", "brand_metadata"):
        assert product[field] is None, field


# -- images ------------------------------------------------------------------------------------


def test_base64_and_data_url_images_are_stored_in_s3(api: Api) -> None:
    _, token = api.user()
    raw = png_b64((1, 2, 3), size=(5, 9))
    product = create(api, token, {"name": "P", "cover_image": raw, "back_image": f"data:image/png;base64,{raw}"})
    for field in ("cover_image", "back_image"):
        media = product[f"{field}_media"]
        url = product[f"{field}_url"]
        assert media["url"] == url
        assert key_of(url) == f"products/{product['id']}/{media['id']}.png"
        assert object_exists(url)
        assert object_bytes(url) == base64.b64decode(raw)
        assert (media["width"], media["height"], media["orientation"]) == (5, 9, "portrait")
        assert media["file_size"] == len(base64.b64decode(raw))
    # the same bytes twice: two distinct media resources with the same hash
    assert product["cover_image_media"]["id"] != product["back_image_media"]["id"]
    assert product["cover_image_media"]["content_hash"] == product["back_image_media"]["content_hash"]


def test_http_url_is_kept_as_a_link(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": "http://example.com/pic.jpg"})
    assert product["cover_image_url"] == "http://example.com/pic.jpg"
    assert product["cover_image_media"] is None
    assert keys_under(f"products/{product['id']}/") == []


def test_data_images_given_as_base64_are_stored(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": "https://example.com/a.jpg", "data_images": [png_b64()]})
    (url,) = product["data_image_urls"]
    assert url.startswith(S3_PREFIX)
    assert object_exists(url), "data_image_urls points at an object that is not in the bucket"


def test_media_input_by_id_copies_the_media(api: Api) -> None:
    _, token = api.user()
    source = create(api, token, {"name": "Source", "cover_image": png_b64((9, 9, 9))})
    media = source["cover_image_media"]

    product = create(
        api,
        token,
        {"name": "Copy", "cover_image": {"media_resource_id": media["id"], "alt_text": "front view"}},
    )
    copied = product["cover_image_media"]
    assert copied["id"] != media["id"]
    assert copied["content_hash"] == media["content_hash"]
    assert copied["alt_text"] == "front view"
    assert product["cover_image_url"] == copied["url"]
    assert key_of(copied["url"]) == f"products/{product['id']}/{copied['id']}.png"
    assert object_exists(copied["url"])
    assert object_bytes(copied["url"]) == object_bytes(media["url"])

    # The copy is independent: deleting the source keeps it.
    assert api.delete(product_url(source["id"]), token).status == 200
    assert object_exists(copied["url"])
    assert get_product(api, token, product["id"])["cover_image_media"] == copied


def test_media_input_by_url_of_our_bucket_copies_the_media(api: Api) -> None:
    _, token = api.user()
    source = create(api, token, {"name": "Source", "cover_image": png_b64((9, 9, 9))})
    media = source["cover_image_media"]

    product = create(api, token, {"name": "Copy", "cover_image": {"url": media["url"]}})
    copied = product["cover_image_media"]
    assert copied["id"] != media["id"]
    assert copied["content_hash"] == media["content_hash"]
    assert object_exists(copied["url"])

    product = create(api, token, {"name": "Link", "cover_image": {"url": "https://example.com/x.png"}})
    assert product["cover_image_url"] == "https://example.com/x.png"
    assert product["cover_image_media"] is None


BAD_IMAGES = [
    base64.b64encode(b"this is plain text, not an image").decode(),
    "data:image/png;base64," + base64.b64encode(b"GIF89a but not really").decode(),
    "not base64 at all !!",
    "data:image/png;base64,%%%",
    "ftp://example.com/image.jpg",
    "",
]


def test_bad_image_strings_are_422(api: Api) -> None:
    _, token = api.user()
    for value in BAD_IMAGES:
        r = api.post(PRODUCTS, {"name": "P", "cover_image": value}, token)
        assert_422(r, ["body", "cover_image"])
    assert listing(api, token)["count"] == 0
    assert keys_under("products/") == []


def test_bad_reference_image_is_422_and_stores_nothing(api: Api) -> None:
    _, token = api.user()
    body = {"name": "P", "cover_image": png_b64(), "reference_images": [png_b64(), "garbage!!"]}
    r = api.post(PRODUCTS, body, token)
    assert_422(r, ["body", "reference_images", 1])
    assert keys_under("products/") == []


def test_unknown_media_id_is_422(api: Api) -> None:
    _, token = api.user()
    body = {"name": "P", "cover_image": {"media_resource_id": "8c1d6b7e-2f0a-4f7c-9d3e-5a6b7c8d9e0f"}}
    detail = assert_422(api.post(PRODUCTS, body, token), ["body", "cover_image"])
    assert detail[0]["input"] == "8c1d6b7e-2f0a-4f7c-9d3e-5a6b7c8d9e0f"


def test_media_input_without_source_is_422(api: Api) -> None:
    _, token = api.user()
    assert_422(api.post(PRODUCTS, {"name": "P", "cover_image": {"alt_text": "x"}}, token), ["body", "cover_image"])


def test_another_users_media_is_422(api: Api) -> None:
    _, alice = api.user()
    _, bob = api.user()
    private = create(api, alice, {"name": "Alice's", "cover_image": png_b64()})
    media_id = private["cover_image_media"]["id"]

    r = api.post(PRODUCTS, {"name": "Bob's", "cover_image": {"media_resource_id": media_id}}, bob)
    assert_422(r, ["body", "cover_image"])
    r = api.post(PRODUCTS, {"name": "Bob's", "cover_image": {"url": private["cover_image_url"]}}, bob)
    assert_422(r, ["body", "cover_image"])
    bobs = create(api, bob, {"name": "Bob's", "cover_image": "https://example.com/a.jpg"})
    r = api.put(product_url(bobs["id"]), {"back_image": {"media_resource_id": media_id}}, bob)
    assert_422(r, ["body", "back_image"])


# -- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_is_partial(api: Api, method: str) -> None:
    _, token = api.user()
    body = full_body()
    product = create(api, token, body)

    updated = update(api, token, product["id"], {"colour": "Navy", "year": 2026}, method)
    assert updated["colour"] == "Navy"
    assert updated["year"] == 2026
    for field in PLAIN_FIELDS:
        if field not in ("colour", "year"):
            assert updated[field] == product[field], field
    for field in ("cover_image_url", "cover_image_media", "back_image_media", "reference_images", "created_at"):
        assert updated[field] == product[field], field
    assert when(updated["updated_at"]) > when(product["updated_at"])
    assert get_product(api, token, product["id"]) == updated


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_explicit_null_clears_a_nullable_field(api: Api, method: str) -> None:
    _, token = api.user()
    product = create(
        api, token, {"name": "P", "cover_image": png_b64(), "brand": "Acme", "season": "SS", "back_image": png_b64()}
    )
    updated = update(api, token, product["id"], {"brand": None, "back_image": None}, method)
    assert updated["brand"] is None
    assert updated["back_image_url"] is None
    assert updated["back_image_media"] is None
    assert updated["season"] == "SS"
    assert not object_exists(product["back_image_url"])
    assert object_exists(product["cover_image_url"])
    fetched = get_product(api, token, product["id"])
    assert fetched["brand"] is None
    # the brand facet no longer finds it
    assert listing(api, token, {"brand": "acme"})["count"] == 0


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("field", ["name", "public"])
def test_null_for_a_required_field_is_422(api: Api, method: str, field: str) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": "https://example.com/a.jpg"})
    r = api.call(method, product_url(product["id"]), token, {field: None})
    assert_422(r, ["body", field])
    assert get_product(api, token, product["id"]) == product


def test_empty_update_changes_nothing_but_updated_at(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, full_body())
    updated = update(api, token, product["id"], {})
    for field in PUBLIC_FIELDS:
        if field != "updated_at":
            assert updated[field] == product[field], field


def test_replacing_the_cover_deletes_the_old_object(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": png_b64((1, 1, 1))})
    old_url = product["cover_image_url"]
    assert object_exists(old_url)

    updated = update(api, token, product["id"], {"cover_image": png_b64((2, 2, 2))})
    new_url = updated["cover_image_url"]
    assert new_url != old_url
    assert updated["cover_image_media"]["id"] != product["cover_image_media"]["id"]
    assert object_exists(new_url)
    assert not object_exists(old_url)
    assert keys_under(f"products/{product['id']}/") == [key_of(new_url)]
    assert when(updated["updated_at"]) > when(product["updated_at"])

    # The removed media can no longer be referenced.
    old_id = product["cover_image_media"]["id"]
    r = api.put(product_url(product["id"]), {"back_image": {"media_resource_id": old_id}}, token)
    assert_422(r, ["body", "back_image"])


def test_update_can_keep_its_own_media_by_id(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": png_b64()})
    media = product["cover_image_media"]
    updated = update(api, token, product["id"], {"cover_image": {"media_resource_id": media["id"], "alt_text": "A"}})
    assert updated["cover_image_media"]["id"] == media["id"]
    assert updated["cover_image_media"]["alt_text"] == "A"
    assert object_exists(media["url"])


def test_updating_another_users_product_is_404(api: Api) -> None:
    _, alice = api.user()
    _, bob = api.user()
    product = create(api, alice, {"name": "P", "cover_image": "https://example.com/a.jpg"})
    r = api.put(product_url(product["id"]), {"name": "mine"}, bob)
    assert r.status == 404, r
    assert r.json == {"detail": "Product not found"}
    assert api.get(product_url(product["id"]), bob).json == {"detail": "Product not found"}


def test_public_product_is_readable_not_writable(api: Api) -> None:
    _, alice = api.user()
    _, bob = api.user()
    product = create(api, alice, {"name": "P", "cover_image": "https://example.com/a.jpg", "public": True})
    assert get_product(api, bob, product["id"])["id"] == product["id"]
    r = api.put(product_url(product["id"]), {"name": "mine"}, bob)
    assert r.status == 403, r
    assert r.json == {"detail": "Not enough permissions"}
    r = api.delete(product_url(product["id"]), bob)
    assert r.status == 403, r


# -- is_filler ---------------------------------------------------------------------------------


FILLER_SKUS = [
    ("FILLER-001", True),
    ("filler", True),
    ("Filler42", True),
    ("FILL-9", True),
    ("fill-9", True),
    ("FILL9", False),
    ("XFILLER-1", False),
    ("SKU-1", False),
    (None, False),
]


def test_is_filler_detected_from_sku(api: Api) -> None:
    _, token = api.user()
    got = {
        sku: create(api, token, {"name": "P", "cover_image": "https://example.com/a.jpg", "sku": sku})["is_filler"]
        for sku, _ in FILLER_SKUS
    }
    assert got == dict(FILLER_SKUS)


def test_explicit_is_filler_wins(api: Api) -> None:
    _, token = api.user()
    base = {"name": "P", "cover_image": "https://example.com/a.jpg"}
    product = create(api, token, {**base, "sku": "FILLER-1", "is_filler": False})
    assert product["is_filler"] is False
    # still explicit after a sku change
    assert update(api, token, product["id"], {"sku": "FILL-2"})["is_filler"] is False

    product = create(api, token, {**base, "sku": "SKU-1", "is_filler": True})
    assert product["is_filler"] is True
    assert update(api, token, product["id"], {"sku": "SKU-2"})["is_filler"] is True


def test_is_filler_recomputed_when_sku_changes(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": "https://example.com/a.jpg", "sku": "SKU-1"})
    assert product["is_filler"] is False
    assert update(api, token, product["id"], {"sku": "filler-1"})["is_filler"] is True
    assert update(api, token, product["id"], {"name": "renamed"})["is_filler"] is True
    assert update(api, token, product["id"], {"sku": None})["is_filler"] is False
    # an explicit value set by update then wins over the sku
    assert update(api, token, product["id"], {"is_filler": True})["is_filler"] is True
    assert update(api, token, product["id"], {"sku": "SKU-3"})["is_filler"] is True


# -- drafts ------------------------------------------------------------------------------------


def test_basic_mode_creates_a_hidden_draft(api: Api) -> None:
    _, token = api.user()
    draft = create(api, token, {"name": "Draft", "cover_image": "https://example.com/a.jpg"}, "?mode=basic")
    done = create(api, token, {"name": "Done", "cover_image": "https://example.com/a.jpg"}, "?mode=complete")
    assert draft["enabled"] is False
    assert done["enabled"] is True

    assert listed_ids(api, token) == [done["id"]]
    assert listed_ids(api, token, {"enabled": "false"}) == [draft["id"]]
    assert get_product(api, token, draft["id"])["enabled"] is False

    completed = update(api, token, draft["id"], {"enabled": True})
    assert completed["enabled"] is True
    assert set(listed_ids(api, token)) == {draft["id"], done["id"]}
    assert listing(api, token, {"enabled": "false"})["count"] == 0


def test_bad_mode_is_422(api: Api) -> None:
    _, token = api.user()
    r = api.post(PRODUCTS + "?mode=draft", {"name": "P", "cover_image": "https://example.com/a.jpg"}, token)
    assert_422(r, ["query", "mode"])


def test_enabled_cannot_be_null(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": "https://example.com/a.jpg"})
    assert_422(api.put(product_url(product["id"]), {"enabled": None}, token), ["body", "enabled"])


# -- archive -----------------------------------------------------------------------------------


def test_archive_and_unarchive(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": "https://example.com/a.jpg", "brand": "Acme"})

    r = api.patch(product_url(product["id"], "/archived?archived=true"), token=token)
    assert r.status == 200, r
    assert_valid("ProductPublic", r.json)
    assert r.json["archived"] is True
    assert r.json["brand"] == "Acme"
    assert when(r.json["updated_at"]) > when(product["updated_at"])
    assert get_product(api, token, product["id"])["archived"] is True
    assert listed_ids(api, token, {"archived": "true"}) == [product["id"]]
    assert listed_ids(api, token, {"archived": "false"}) == []

    r = api.patch(product_url(product["id"], "/archived?archived=false"), token=token)
    assert r.status == 200, r
    assert r.json["archived"] is False
    assert get_product(api, token, product["id"])["archived"] is False


def test_archive_needs_the_flag(api: Api) -> None:
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": "https://example.com/a.jpg"})
    assert_422(api.patch(product_url(product["id"], "/archived"), token=token), ["query", "archived"])
    assert_422(api.patch(product_url(product["id"], "/archived?archived=maybe"), token=token), ["query", "archived"])
    assert get_product(api, token, product["id"])["archived"] is False


def test_archive_of_unknown_product_is_404(api: Api) -> None:
    _, token = api.user()
    r = api.patch(product_url("0b8f2d4e-5c6a-4b7d-8e9f-0a1b2c3d4e5f", "/archived?archived=true"), token=token)
    assert r.status == 404, r
    assert r.json == {"detail": "Product not found"}


# -- delete ------------------------------------------------------------------------------------


def test_delete_removes_the_product_and_its_objects(api: Api) -> None:
    _, token = api.user()
    product = create(
        api,
        token,
        {"name": "P", "cover_image": png_b64(), "back_image": png_b64((0, 0, 0)), "reference_images": [png_b64()]},
    )
    other = create(api, token, {"name": "Other", "cover_image": png_b64()})
    assert len(keys_under(f"products/{product['id']}/")) == 3

    r = api.delete(product_url(product["id"]), token)
    assert r.status == 200, r
    assert r.json == {"message": "Product deleted successfully"}

    r = api.get(product_url(product["id"]), token)
    assert r.status == 404, r
    assert r.json == {"detail": "Product not found"}
    assert keys_under(f"products/{product['id']}/") == []
    assert object_exists(other["cover_image_url"])
    assert listed_ids(api, token) == [other["id"]]

    # its media records are gone too
    media_id = product["cover_image_media"]["id"]
    r = api.post(PRODUCTS, {"name": "Q", "cover_image": {"media_resource_id": media_id}}, token)
    assert_422(r, ["body", "cover_image"])

    r = api.delete(product_url(product["id"]), token)
    assert r.status == 404, r
    assert r.json == {"detail": "Product not found"}


def test_delete_of_another_users_product_is_404(api: Api) -> None:
    _, alice = api.user()
    _, bob = api.user()
    product = create(api, alice, {"name": "P", "cover_image": png_b64()})
    r = api.delete(product_url(product["id"]), bob)
    assert r.status == 404, r
    assert object_exists(product["cover_image_url"])
    get_product(api, alice, product["id"])


# -- organization transfer ---------------------------------------------------------------------


def test_transfer_personal_to_org_by_a_member(api: Api) -> None:
    _, owner = api.user()
    member_id, member = api.user()
    org_id = api.org(owner)
    api.add_member(owner, org_id, member_id)
    product = create(api, member, {"name": "P", "cover_image": png_b64(), "brand": "Acme"})

    moved = update(api, member, product["id"], {"organization_id": org_id})
    assert moved["organization_id"] == org_id
    assert moved["brand"] == "Acme"
    assert moved["cover_image_media"] == product["cover_image_media"]

    assert listed_ids(api, member) == []
    assert listed_ids(api, member, {"organization_id": org_id}) == [product["id"]]
    assert listed_ids(api, owner, {"organization_id": org_id}) == [product["id"]]
    assert listed_ids(api, owner, {"organization_id": org_id, "brand": "ACME"}) == [product["id"]]
    # the owner of the organization may now change it
    assert update(api, owner, product["id"], {"colour": "Red"})["colour"] == "Red"


def test_transfer_to_an_org_one_is_not_member_of_is_403(api: Api) -> None:
    _, owner = api.user()
    _, outsider = api.user()
    org_id = api.org(owner)
    product = create(api, outsider, {"name": "P", "cover_image": "https://example.com/a.jpg"})

    r = api.put(product_url(product["id"]), {"organization_id": org_id, "name": "moved"}, outsider)
    assert r.status == 403, r
    assert r.json == {"detail": "Not enough permissions"}
    fetched = get_product(api, outsider, product["id"])
    assert fetched["organization_id"] is None
    assert fetched["name"] == "P"


def test_transfer_out_of_an_org_by_its_owner(api: Api) -> None:
    _, owner = api.user()
    member_id, member = api.user()
    org_id = api.org(owner)
    api.add_member(owner, org_id, member_id)
    product = create(
        api, member, {"name": "P", "cover_image": "https://example.com/a.jpg"}, f"?organization_id={org_id}"
    )
    assert product["organization_id"] == org_id

    moved = update(api, owner, product["id"], {"organization_id": None})
    assert moved["organization_id"] is None
    assert listed_ids(api, owner, {"organization_id": org_id}) == []


def test_transfer_out_of_an_org_by_a_plain_member_is_403(api: Api) -> None:
    _, owner = api.user()
    member_id, member = api.user()
    org_id = api.org(owner)
    api.add_member(owner, org_id, member_id)
    product = create(
        api, member, {"name": "P", "cover_image": "https://example.com/a.jpg"}, f"?organization_id={org_id}"
    )

    r = api.put(product_url(product["id"]), {"organization_id": None}, member)
    assert r.status == 403, r
    assert r.json == {"detail": "Not enough permissions"}
    assert get_product(api, member, product["id"])["organization_id"] == org_id
    other_org = api.org(member, "Mine")
    r = api.put(product_url(product["id"]), {"organization_id": other_org}, member)
    assert r.status == 403, r
    assert get_product(api, member, product["id"])["organization_id"] == org_id
    # a plain member may still edit it in place
    assert update(api, member, product["id"], {"organization_id": org_id, "colour": "Blue"})["colour"] == "Blue"


# -- listing -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog_snapshot(_moto: None) -> tuple[list[Any], tuple[str, dict[str, Product]]]:
    """Built through the API once per module (URL covers: DynamoDB items only)."""
    from chalice.test import Client

    from app import app

    harness.reset_data()
    with Client(app) as client:
        built = _build_catalog(Api(client))
    return harness.snapshot(), built


@pytest.fixture
def catalog(
    api: Api, catalog_snapshot: tuple[list[Any], tuple[str, dict[str, Product]]]
) -> tuple[str, dict[str, Product]]:
    """One user's products with varied fields (some nulls), one archived, one demo, one draft:
    built once, copied back into the emptied table for each test (tests may write)."""
    items, built = catalog_snapshot
    harness.restore(items)
    return copy.deepcopy(built)


def _build_catalog(api: Api) -> tuple[str, dict[str, Product]]:
    _, token = api.user()
    url = "https://example.com/a.jpg"
    specs: dict[str, dict[str, Any]] = {
        "alpha": {
            "name": "Alpha Shirt",
            "sku": "SKU-100",
            "brand": "Acme",
            "brand_collection": "Core",
            "gender": "MALE",
            "season": "SS24",
            "year": 2024,
            "type": "T-Shirt",
            "public": True,
        },
        "beta": {
            "name": "beta jeans",
            "sku": "FILLER-7",
            "brand": "ACME",
            "brand_collection": "Summer Edit",
            "gender": "FEMALE",
            "season": "fw24",
            "year": 2023,
            "type": "jeans",
        },
        "gamma": {"name": "Gamma", "brand": "Nordwind", "brand_collection": "core", "type": "Jeans"},
        "delta": {"name": "delta dress", "sku": "dd-1", "season": "FW24", "year": 2024, "gender": "FEMALE"},
        "eps": {"name": "Epsilon", "brand": "acme", "season": "ss24", "year": 2022, "gender": "MALE", "type": "Hat"},
        "zeta": {"name": "Zeta coat", "brand": "Nordwind", "sku": "Z-1", "year": 2024},
    }
    products: dict[str, Product] = {}
    for label, fields in specs.items():
        products[label] = create(api, token, {"cover_image": url, **fields})
    r = api.patch(product_url(products["eps"]["id"], "/archived?archived=true"), token=token)
    assert r.status == 200, r
    store_edit(products["zeta"]["id"], demo=True)
    store_edit(products["alpha"]["id"], shot_status="TO_REVIEW")
    store_edit(products["beta"]["id"], shot_status="APPROVED")
    store_edit(products["gamma"]["id"], shot_status="IN_PROGRESS")
    draft = create(api, token, {"cover_image": url, "name": "Draft", "brand": "Acme"}, "?mode=basic")
    products["draft"] = draft
    for label in products:
        products[label] = get_product(api, token, products[label]["id"])
    return token, products


def _ids(products: dict[str, Product], *labels: str) -> set[str]:
    return {products[label]["id"] for label in labels}


ENABLED = ("alpha", "beta", "gamma", "delta", "eps", "zeta")


FILTER_CASES: list[tuple[list[tuple[str, str]], tuple[str, ...]]] = [
    ([], ENABLED),
    ([("archived", "true")], ("eps",)),
    ([("archived", "false")], ("alpha", "beta", "gamma", "delta", "zeta")),
    ([("brand", "acme")], ("alpha", "beta", "eps")),
    ([("brand", "ACME")], ("alpha", "beta", "eps")),
    ([("brand", "nordWIND")], ("gamma", "zeta")),
    ([("brand", "Nobody")], ()),
    ([("brand_collection", "CORE")], ("alpha", "gamma")),
    ([("brand_collection", "core"), ("brand_collection", "summer edit")], ("alpha", "beta", "gamma")),
    ([("demo", "true")], ("zeta",)),
    ([("demo", "false")], ("alpha", "beta", "gamma", "delta", "eps")),
    ([("enabled", "false")], ("draft",)),
    ([("enabled", "true")], ENABLED),
    ([("gender", "FEMALE")], ("beta", "delta")),
    ([("gender", "UNISEX")], ("gamma", "zeta")),
    ([("is_filler", "true")], ("beta",)),
    ([("is_filler", "false")], ("alpha", "gamma", "delta", "eps", "zeta")),
    ([("is_public", "true")], ("alpha",)),
    ([("is_public", "false")], ("beta", "gamma", "delta", "eps", "zeta")),
    ([("product_type", "JEANS")], ("beta", "gamma")),
    ([("product_type", "t-shirt")], ("alpha",)),
    ([("search", "ALPHA")], ("alpha",)),
    ([("search", "filler")], ("beta",)),
    ([("search", "a")], ("alpha", "beta", "gamma", "delta", "zeta")),
    ([("search", "dd-")], ("delta",)),
    ([("search", "nothing-like-it")], ()),
    ([("season", "FW24")], ("beta", "delta")),
    ([("season", "ss24")], ("alpha", "eps")),
    ([("year", "2024")], ("alpha", "delta", "zeta")),
    ([("year", "2022")], ("eps",)),
    ([("shot_statuses", "TO_REVIEW")], ("alpha",)),
    ([("shot_statuses", "TO_REVIEW"), ("shot_statuses", "APPROVED")], ("alpha", "beta")),
    ([("shot_statuses", "NOT_STARTED")], ("delta", "eps", "zeta")),
    ([("brand", "acme"), ("year", "2024")], ("alpha",)),
    ([("season", "fw24"), ("gender", "FEMALE"), ("is_filler", "false")], ("delta",)),
    ([("enabled", "false"), ("brand", "acme")], ("draft",)),
]


def test_listing_filters(api: Api, catalog: tuple[str, dict[str, Product]]) -> None:
    """Every filter on one catalog (one case per filter value; the catalog is costly to build)."""
    token, products = catalog
    label = {p["id"]: name for name, p in products.items()}
    failures: list[str] = []
    for params, labels in FILTER_CASES:
        body = listing(api, token, params)
        got = sorted(label.get(p["id"], p["id"]) for p in body["data"])
        if got != sorted(labels) or body["count"] != len(labels):
            failures.append(f"{urlencode(params)}: expected {sorted(labels)}, got {got} (count {body['count']})")
        for item in body["data"]:
            if item != products[label[item["id"]]]:
                failures.append(f"{urlencode(params)}: listed item {label[item['id']]} differs from GET")
    assert failures == []


BUCKETS = {"TO_REVIEW": 0, "IN_PROGRESS": 1, "NOT_STARTED": 2, "APPROVED": 3}
SORT_KEYS: dict[str, Any] = {
    "name": lambda p: p["name"].lower(),
    "season": lambda p: p["season"].lower() if p["season"] is not None else None,
    "year": lambda p: p["year"],
    "gender": lambda p: p["gender"],
    "product_type": lambda p: p["type"].lower() if p["type"] is not None else None,
    "shot_status": lambda p: BUCKETS[p["shot_status"]],
    "created_at": lambda p: when(p["created_at"]),
    "updated_at": lambda p: when(p["updated_at"]),
}


def expected_order(products: list[Product], sort_by: str, sort_order: str) -> list[str]:
    key = SORT_KEYS[sort_by]
    sign = -1 if sort_order == "desc" else 1

    def compare(a: Product, b: Product) -> int:
        ka, kb = key(a), key(b)
        if (ka is None) != (kb is None):
            return 1 if ka is None else -1
        if ka is not None and ka != kb:
            return sign * (1 if ka > kb else -1)
        return sign * ((a["id"] > b["id"]) - (a["id"] < b["id"]))

    return [p["id"] for p in sorted(products, key=cmp_to_key(compare))]


def test_listing_sort(api: Api, catalog: tuple[str, dict[str, Product]]) -> None:
    """Each of the eight fields, both directions: ties by id, nulls last either way."""
    token, products = catalog
    enabled = [products[label] for label in ENABLED]
    by_id = {p["id"]: p for p in enabled}
    label = {p["id"]: name for name, p in products.items()}
    failures: list[str] = []
    for sort_by, key in SORT_KEYS.items():
        for sort_order in ("asc", "desc"):
            got = listed_ids(api, token, {"sort_by": sort_by, "sort_order": sort_order})
            want = expected_order(enabled, sort_by, sort_order)
            if got != want:
                failures.append(f"{sort_by} {sort_order}: {[label[i] for i in got]} != {[label[i] for i in want]}")
            nulls = [key(by_id[i]) is None for i in got]
            if nulls != sorted(nulls):
                failures.append(f"{sort_by} {sort_order}: nulls not last")
    assert failures == []


def test_listing_sort_spot_checks(api: Api, catalog: tuple[str, dict[str, Product]]) -> None:
    token, products = catalog
    label = {p["id"]: name for name, p in products.items()}

    def order(**params: str) -> list[str]:
        return [label[i] for i in listed_ids(api, token, params)]

    assert order(sort_by="name", sort_order="asc") == ["alpha", "beta", "delta", "eps", "gamma", "zeta"]
    assert order(sort_by="name", sort_order="desc") == ["zeta", "gamma", "eps", "delta", "beta", "alpha"]
    assert order(sort_by="year", sort_order="asc")[-1] == "gamma"
    assert order(sort_by="year", sort_order="desc")[-1] == "gamma"
    assert order(sort_by="year", sort_order="asc")[:2] == ["eps", "beta"]
    assert order(sort_by="season", sort_order="desc")[-2:] in (["gamma", "zeta"], ["zeta", "gamma"])
    assert order(sort_by="product_type", sort_order="asc")[-2:] in (["delta", "zeta"], ["zeta", "delta"])
    assert order(sort_by="shot_status", sort_order="asc")[0] == "alpha"
    assert order(sort_by="shot_status", sort_order="asc")[-1] == "beta"
    created = ["alpha", "beta", "gamma", "delta", "eps", "zeta"]
    assert order(sort_by="created_at", sort_order="asc") == created
    assert order(sort_by="created_at") == created[::-1]  # sort_order defaults to desc


def test_listing_default_order(api: Api, catalog: tuple[str, dict[str, Product]]) -> None:
    token, products = catalog
    label = {p["id"]: name for name, p in products.items()}
    got = [label[i] for i in listed_ids(api, token)]
    assert got[0] == "alpha"  # TO_REVIEW
    assert got[1] == "gamma"  # IN_PROGRESS
    assert got[-1] == "beta"  # APPROVED
    not_started = sorted(
        ("delta", "eps", "zeta"), key=lambda n: (when(products[n]["updated_at"]), products[n]["id"]), reverse=True
    )
    assert got[2:5] == not_started

    # touching a product moves it first inside its bucket
    update(api, token, products["delta"]["id"], {"colour": "Red"})
    got = [label[i] for i in listed_ids(api, token)]
    assert got[2] == "delta"


def test_listing_paging(api: Api, catalog: tuple[str, dict[str, Product]]) -> None:
    token, _ = catalog
    full = listed_ids(api, token, {"sort_by": "name", "sort_order": "asc"})
    assert len(full) == 6
    pages: list[str] = []
    for skip in range(0, 6, 4):
        body = listing(api, token, {"sort_by": "name", "sort_order": "asc", "skip": str(skip), "limit": "4"})
        assert body["count"] == 6
        pages.extend(p["id"] for p in body["data"])
    assert pages == full
    body = listing(api, token, {"skip": "10"})
    assert body == {"data": [], "count": 6, "next_cursor": None}
    body = listing(api, token, {"limit": "1"})
    assert len(body["data"]) == 1
    assert body["count"] == 6
    # the default order pages as well
    default = listed_ids(api, token)
    assert [i for s in range(6) for i in listed_ids(api, token, {"skip": str(s), "limit": "1"})] == default


def test_listing_is_scoped_to_the_caller(api: Api, catalog: tuple[str, dict[str, Product]]) -> None:
    _, other = api.user()
    assert listing(api, other) == {"data": [], "count": 0, "next_cursor": None}
    assert listing(api, other, {"is_public": "true"}) == {"data": [], "count": 0, "next_cursor": None}
    _, products = catalog
    mine = create(api, other, {"name": "Mine", "cover_image": "https://example.com/a.jpg"})
    assert listed_ids(api, other) == [mine["id"]]
    assert products["alpha"]["id"] not in listed_ids(api, other)


def test_listing_of_an_org_needs_membership(api: Api) -> None:
    _, owner = api.user()
    _, outsider = api.user()
    org_id = api.org(owner)
    r = api.get(PRODUCTS + f"?organization_id={org_id}", outsider)
    assert r.status == 403, r
    assert r.json == {"detail": "Not enough permissions"}


# -- concurrency -------------------------------------------------------------------------------


def test_concurrent_updates_of_different_fields_are_not_lost(api: Api, threaded_client: None) -> None:
    # Two threads share the test client and moto: `threaded_client` makes chalice's request
    # per-thread, and moto's item-level, locked operations (the whole session) leave the
    # version condition as the only thing that can refuse a stale write, as in DynamoDB.
    _, token = api.user()
    product = create(api, token, {"name": "P", "cover_image": "https://example.com/a.jpg"})
    rounds = 15
    errors: list[str] = []
    start = threading.Barrier(2)

    def writer(field: str) -> None:
        start.wait()
        for i in range(rounds):
            for _attempt in range(10):
                r = api.put(product_url(product["id"]), {field: f"{field}-{i}"}, token)
                # 503 (Busy, Retry-After): the service's own retries ran out; the client tries again.
                if r.status != 503:
                    break
            if r.status != 200:
                errors.append(f"{field} {i}: {r!r}")
                return
            if r.json[field] != f"{field}-{i}":
                errors.append(f"{field} {i}: answered {r.json[field]!r}")

    threads = [threading.Thread(target=writer, args=(f,)) for f in ("colour", "description")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = get_product(api, token, product["id"])
    assert final["colour"] == f"colour-{rounds - 1}"
    assert final["description"] == f"description-{rounds - 1}"
    assert final["name"] == "P"
