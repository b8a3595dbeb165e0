"""Request validation and authentication failures on the products endpoints.

422 bodies are FastAPI/pydantic v2's: {"detail": [{"type", "loc", "msg", "input"}]} with `loc`
starting with where the bad value was (body, query or path); 401s carry WWW-Authenticate: Bearer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.factories import Api, Response
from tests.schema import assert_valid

PRODUCTS = "/api/v1/products/"
UNKNOWN_ID = "5d3c2b1a-0f9e-4d8c-b7a6-958473625140"
VALID_BODY: dict[str, Any] = {"name": "Black T-Shirt", "cover_image": "https://example.com/image.jpg"}


def assert_422(r: Response, where: str, loc: list[Any] | None = None) -> list[dict[str, Any]]:
    """Exactly FastAPI's shape; every entry's loc starts with `where`; one entry's loc is `loc`."""
    assert r.status == 422, r
    assert set(r.json) == {"detail"}, r
    detail = r.json["detail"]
    assert isinstance(detail, list) and detail, r
    for entry in detail:
        assert set(entry) == {"type", "loc", "msg", "input"}, entry
        assert isinstance(entry["type"], str) and entry["type"], entry
        assert isinstance(entry["msg"], str) and entry["msg"], entry
        assert isinstance(entry["loc"], list) and entry["loc"][0] == where, entry
        assert all(isinstance(part, str | int) for part in entry["loc"]), entry
    if loc is not None:
        assert loc in [e["loc"] for e in detail], detail
    assert "application/json" in header(r, "content-type")
    result: list[dict[str, Any]] = detail
    return result


def header(r: Response, name: str) -> str:
    found = [v for k, v in r.headers.items() if k.lower() == name.lower()]
    assert found, (name, r.headers)
    return found[0]


@pytest.fixture
def token(api: Api) -> str:
    _, user_token = api.user()
    return user_token


@pytest.fixture
def product(api: Api, token: str) -> dict[str, Any]:
    return api.product(token, brand="Acme")


def unchanged(api: Api, token: str, product: dict[str, Any]) -> None:
    r = api.get(f"{PRODUCTS}{product['id']}", token)
    assert r.status == 200, r
    assert_valid("ProductPublic", r.json)
    assert r.json == product


# -- bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ['{"name": "x", ', "{name: 'x'}", "not json", '{"name": "x"} trailing'])
def test_malformed_json_is_422(api: Api, token: str, raw: str) -> None:
    r = api.call("POST", PRODUCTS, token, raw=raw)
    detail = assert_422(r, "body")
    assert detail[0]["type"] == "json_invalid"
    assert api.get(PRODUCTS, token).json["count"] == 0


def test_malformed_json_on_update_is_422(api: Api, token: str, product: dict[str, Any]) -> None:
    for method in ("PUT", "PATCH"):
        r = api.call(method, f"{PRODUCTS}{product['id']}", token, raw='{"brand": ')
        assert_422(r, "body")
    unchanged(api, token, product)


def test_undecodable_body_is_422(api: Api, token: str) -> None:
    r = api.call("POST", PRODUCTS, token, raw=b"\xff\xfe\xfa not utf-8")
    assert_422(r, "body")


@pytest.mark.parametrize("raw", ["", "   ", "null", "[]", '"a string"', "42"])
def test_body_that_is_not_an_object_is_422(api: Api, token: str, raw: str) -> None:
    r = api.call("POST", PRODUCTS, token, raw=raw)
    assert_422(r, "body")


def test_wrong_content_type(api: Api, token: str, product: dict[str, Any]) -> None:
    r = api.call("POST", PRODUCTS, token, raw=json.dumps(VALID_BODY), headers={"Content-Type": "text/plain"})
    assert r.status in (400, 422), r
    if r.status == 422:
        assert_422(r, "body")
    assert api.get(PRODUCTS, token).json["count"] == 1

    r = api.call(
        "PUT",
        f"{PRODUCTS}{product['id']}",
        token,
        raw=json.dumps({"brand": "Other"}),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status in (400, 422), r
    unchanged(api, token, product)


def test_json_content_type_with_charset_is_accepted(api: Api, token: str) -> None:
    r = api.call(
        "POST", PRODUCTS, token, raw=json.dumps(VALID_BODY), headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert r.status == 200, r
    assert_valid("ProductPublic", r.json)


@pytest.mark.parametrize("gender", ["male", "OTHER", "", 1])
def test_unknown_gender_is_422(api: Api, token: str, gender: Any) -> None:
    r = api.post(PRODUCTS, {**VALID_BODY, "gender": gender}, token)
    detail = assert_422(r, "body", ["body", "gender"])
    assert any(e["input"] == gender for e in detail)


def test_unknown_enum_on_update_is_422(api: Api, token: str, product: dict[str, Any]) -> None:
    r = api.put(f"{PRODUCTS}{product['id']}", {"gender": "OTHER", "brand": "Changed"}, token)
    assert_422(r, "body", ["body", "gender"])
    r = api.patch(f"{PRODUCTS}{product['id']}", {"age_class": "ELDER"}, token)
    assert_422(r, "body", ["body", "age_class"])
    unchanged(api, token, product)


def test_name_length(api: Api, token: str) -> None:
    r = api.post(PRODUCTS, {**VALID_BODY, "name": "x" * 256}, token)
    detail = assert_422(r, "body", ["body", "name"])
    assert detail[0]["type"] == "string_too_long"
    r = api.post(PRODUCTS, {**VALID_BODY, "name": ""}, token)
    assert_422(r, "body", ["body", "name"])
    r = api.post(PRODUCTS, {**VALID_BODY, "name": "x" * 255}, token)
    assert r.status == 200, r
    assert r.json["name"] == "x" * 255
    product = r.json
    r = api.put(f"{PRODUCTS}{product['id']}", {"name": "y" * 256}, token)
    assert_422(r, "body", ["body", "name"])
    unchanged(api, token, product)


def test_missing_required_fields(api: Api, token: str) -> None:
    r = api.post(PRODUCTS, {}, token)
    detail = assert_422(r, "body")
    missing = {tuple(e["loc"]) for e in detail if e["type"] == "missing"}
    assert missing == {("body", "name"), ("body", "cover_image")}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("year", 1800),
        ("year", "twenty"),
        ("product_type_id", "not-a-uuid"),
        ("in_store_date", "yesterday"),
        ("public", "perhaps"),
        ("brand_metadata", [1, 2]),
        ("reference_images", "https://example.com/a.jpg"),
        ("data_images", [{"url": "https://example.com/a.jpg"}]),
        ("sku", "s" * 256),
        ("organization_id", "nope"),
    ],
)
def test_bad_field_values_are_422(api: Api, token: str, field: str, value: Any) -> None:
    r = api.post(PRODUCTS, {**VALID_BODY, field: value}, token)
    detail = assert_422(r, "body")
    assert all(e["loc"][:2] == ["body", field] for e in detail), detail


def test_several_errors_are_reported_together(api: Api, token: str) -> None:
    r = api.post(PRODUCTS, {"name": "x" * 300, "gender": "OTHER", "year": 1}, token)
    detail = assert_422(r, "body")
    locs = {tuple(e["loc"][:2]) for e in detail}
    assert {("body", "name"), ("body", "gender"), ("body", "year"), ("body", "cover_image")} <= locs


# -- path --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PUT", ""), ("PATCH", ""), ("DELETE", ""), ("PATCH", "/archived?archived=true")],
)
def test_bad_uuid_in_path_is_422(api: Api, token: str, method: str, suffix: str) -> None:
    body = {"name": "x"} if method in ("PUT", "PATCH") and not suffix else None
    for bad_id in ("not-a-uuid", "123", "5d3c2b1a-0f9e-4d8c-b7a6-95847362514"):
        r = api.call(method, f"{PRODUCTS}{bad_id}{suffix}", token, body)
        detail = assert_422(r, "path", ["path", "id"])
        assert detail[0]["input"] == bad_id
        assert detail[0]["type"] == "uuid_parsing"


def test_unknown_uuid_is_404(api: Api, token: str) -> None:
    for method in ("GET", "DELETE"):
        r = api.call(method, f"{PRODUCTS}{UNKNOWN_ID}", token)
        assert r.status == 404, r
        assert r.json == {"detail": "Product not found"}
    r = api.put(f"{PRODUCTS}{UNKNOWN_ID}", {"name": "x"}, token)
    assert r.status == 404, r
    assert r.json == {"detail": "Product not found"}


# -- query -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-5", "limit"),
        ("limit=ten", "limit"),
        ("skip=-1", "skip"),
        ("skip=x", "skip"),
        ("sort_by=bogus", "sort_by"),
        ("sort_order=sideways", "sort_order"),
        ("gender=OTHER", "gender"),
        ("archived=maybe", "archived"),
        ("enabled=perhaps", "enabled"),
        ("year=soon", "year"),
        ("organization_id=not-a-uuid", "organization_id"),
        ("shooting_id=bad", "shooting_id"),
    ],
)
def test_bad_list_query_is_422(api: Api, token: str, query: str, param: str) -> None:
    r = api.get(f"{PRODUCTS}?{query}", token)
    assert_422(r, "query", ["query", param])


def test_bad_shot_status_filter_is_422(api: Api, token: str) -> None:
    r = api.get(f"{PRODUCTS}?shot_statuses=TO_REVIEW&shot_statuses=DONE", token)
    assert_422(r, "query", ["query", "shot_statuses", 1])


def test_list_query_bounds_are_accepted(api: Api, token: str) -> None:
    for query in ("limit=1", "limit=1000", "skip=0", "sort_by=name&sort_order=asc"):
        r = api.get(f"{PRODUCTS}?{query}", token)
        assert r.status == 200, (query, r)
        assert_valid("ProductsPublic", r.json)


def test_bad_query_on_create_is_422(api: Api, token: str) -> None:
    r = api.post(f"{PRODUCTS}?organization_id=nope", VALID_BODY, token)
    assert_422(r, "query", ["query", "organization_id"])
    r = api.post(f"{PRODUCTS}?sync_captioning=sometimes", VALID_BODY, token)
    assert_422(r, "query", ["query", "sync_captioning"])
    assert api.get(PRODUCTS, token).json["count"] == 0


# -- authentication ----------------------------------------------------------------------------


ROUTES = [
    ("GET", PRODUCTS),
    ("POST", PRODUCTS),
    ("GET", f"{PRODUCTS}{UNKNOWN_ID}"),
    ("PUT", f"{PRODUCTS}{UNKNOWN_ID}"),
    ("PATCH", f"{PRODUCTS}{UNKNOWN_ID}"),
    ("DELETE", f"{PRODUCTS}{UNKNOWN_ID}"),
    ("PATCH", f"{PRODUCTS}{UNKNOWN_ID}/archived?archived=true"),
]


def _assert_401(r: Response, detail: str) -> None:
    assert r.status == 401, r
    assert r.json == {"detail": detail}
    assert header(r, "www-authenticate") == "Bearer"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_no_token_is_401(api: Api, method: str, path: str) -> None:
    body = VALID_BODY if method in ("POST", "PUT", "PATCH") and "archived" not in path else None
    _assert_401(api.call(method, path, body=body), "Not authenticated")


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc", "abc"])
def test_not_a_bearer_scheme_is_401(api: Api, authorization: str) -> None:
    r = api.get(PRODUCTS, headers={"Authorization": authorization})
    _assert_401(r, "Not authenticated")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_garbage_token_is_401(api: Api, method: str, path: str) -> None:
    body = VALID_BODY if method in ("POST", "PUT", "PATCH") and "archived" not in path else None
    _assert_401(api.call(method, path, "garbage.token.value", body=body), "Could not validate credentials")


@pytest.mark.filterwarnings("ignore:The HMAC key")
def test_expired_and_forged_tokens_are_401(api: Api, token: str) -> None:
    from chalicelib.config import get_settings
    from chalicelib.services.security import create_access_token

    user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    secret = get_settings().secret_key.get_secret_value()
    now = datetime.now(UTC)
    tokens = {
        "expired": create_access_token(user_id, expires_delta=timedelta(minutes=-1)),
        "wrong key": jwt.encode({"sub": user_id, "exp": now + timedelta(hours=1)}, "another-secret-key" * 3, "HS256"),
        "alg none": jwt.encode({"sub": user_id, "exp": now + timedelta(hours=1)}, None, "none"),
        "other alg": jwt.encode({"sub": user_id, "exp": now + timedelta(hours=1)}, secret, "HS512"),
        "no sub": jwt.encode({"exp": now + timedelta(hours=1)}, secret, "HS256"),
    }
    for name, bad in tokens.items():
        r = api.get(PRODUCTS, bad)
        assert r.status == 401, (name, r)
        expected = "Token expired" if name == "expired" else "Could not validate credentials"
        assert r.json == {"detail": expected}, name
        assert header(r, "www-authenticate") == "Bearer", name
    assert api.get(PRODUCTS, token).status == 200


def test_auth_is_checked_before_the_body(api: Api) -> None:
    r = api.call("POST", PRODUCTS, raw="{not json")
    _assert_401(r, "Not authenticated")
    r = api.call("GET", f"{PRODUCTS}not-a-uuid")
    _assert_401(r, "Not authenticated")


def test_oversized_brand_metadata_is_422_not_a_failed_write(api: Api, token: str, product: dict[str, Any]) -> None:
    # A product is one DynamoDB item (400 KB at most): an unbounded map must be refused up front.
    metadata = {"blob": "x" * (70 * 1024)}
    r = api.post(
        "/api/v1/products/", {"name": "P", "cover_image": "https://e.com/a.jpg", "brand_metadata": metadata}, token
    )
    assert_422(r, "body", ["body", "brand_metadata"])
    r = api.put(f"/api/v1/products/{product['id']}", {"brand_metadata": metadata}, token)
    assert_422(r, "body", ["body", "brand_metadata"])
    unchanged(api, token, product)
    ok = api.put(f"/api/v1/products/{product['id']}", {"brand_metadata": {"season_code": "S26"}}, token)
    assert ok.status == 200 and ok.json["brand_metadata"] == {"season_code": "S26"}


def test_every_bad_input_is_in_one_422(api: Api, token: str) -> None:
    """Path, query and body are all read before answering, as FastAPI does: one 422 lists them."""
    r = api.put(f"{PRODUCTS}not-a-uuid?organization_id=nope", {"gender": "ROBOT"}, token)
    assert r.status == 422, r
    locs = [e["loc"] for e in r.json["detail"]]
    assert ["path", "id"] in locs
    assert ["query", "organization_id"] in locs
    assert ["body", "gender"] in locs


def test_authentication_comes_before_validation(api: Api) -> None:
    r = api.put(f"{PRODUCTS}not-a-uuid", {"gender": "ROBOT"})
    assert (r.status, r.json) == (401, {"detail": "Not authenticated"})
