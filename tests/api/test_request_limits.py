"""Bodies nested too deeply are a 422, never a 500 (the decoder's recursion limit)."""

from __future__ import annotations

import json

import pytest

from chalicelib.api.request import MAX_JSON_DEPTH
from tests.factories import Api, Response


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _assert_too_deep(r: Response) -> None:
    assert r.status == 422, r
    [error] = r.json["detail"]
    assert error["type"] == "json_invalid"
    assert error["loc"][0] == "body"
    assert "nested too deeply" in error["msg"]


@pytest.mark.parametrize("body", ["[" * 100_000, _nested(100_000), '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_a_body_past_the_recursion_limit_is_a_422(api: Api, body: str) -> None:
    _, token = api.user()
    _assert_too_deep(api.call("POST", "/api/v1/products/", token, raw=body))


def test_a_field_nested_past_the_limit_is_a_422(api: Api) -> None:
    # Decodes fine, but pydantic's serializer gives up at 255 levels: it used to be a 500.
    _, token = api.user()
    deep: object = 1
    for _ in range(400):
        deep = {"a": deep}
    body = {"name": "Deep", "cover_image": "https://example.com/a.jpg", "brand_metadata": deep}
    _assert_too_deep(api.post("/api/v1/products/", body, token))


def test_nesting_up_to_the_limit_is_accepted(api: Api) -> None:
    _, token = api.user()
    deep: object = 1
    # The product body is level 1, brand_metadata level 2.
    for _ in range(MAX_JSON_DEPTH - 1):
        deep = {"a": deep}
    body = {"name": "Deep enough", "cover_image": "https://example.com/a.jpg", "brand_metadata": deep}
    r = api.post("/api/v1/products/", body, token)
    assert r.status == 200, r
    too_deep = {**body, "brand_metadata": {"a": deep}}
    _assert_too_deep(api.post("/api/v1/products/", too_deep, token))


def test_the_sign_in_form_as_deep_json_is_a_422(api: Api) -> None:
    r = api.call(
        "POST",
        "/api/v1/login/access-token",
        raw=json.dumps({"username": "x"})[:-1] + ', "password": ' + _nested(100_000) + "}",
    )
    _assert_too_deep(r)


def test_malformed_json_keeps_its_own_error(api: Api) -> None:
    _, token = api.user()
    r = api.call("POST", "/api/v1/products/", token, raw="[" * 10)
    assert r.status == 422, r
    [error] = r.json["detail"]
    assert error["type"] == "json_invalid"
    assert error["msg"] == "JSON decode error"


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "Tee", "cover_image": "https://e.com/a.jpg", "brand_metadata": {"k": "\\ud800"}}',
        '{"name": "Tee", "cover_image": "https://e.com/a.jpg", "brand_metadata": {"\\udfff": 1}}',
        '{"name": "Tee", "cover_image": "https://e.com/a.jpg", "brand_metadata": {"k": NaN}}',
        '{"name": "Tee", "cover_image": "https://e.com/a.jpg", "brand_metadata": {"k": -Infinity}}',
    ],
)
def test_json_python_accepts_but_nothing_can_store_is_a_422(api: Api, raw: str) -> None:
    """Lone surrogates are not UTF-8 and NaN/Infinity are not JSON: refused before they reach
    a stored product that every later read would fail to render."""
    _, token = api.user()
    r = api.post("/api/v1/products/", token=token, raw=raw)
    assert r.status == 422, r
    assert r.json["detail"][0]["type"] == "json_invalid"
    listed = api.get("/api/v1/products/", token)
    assert listed.status == 200 and listed.json["count"] == 0
