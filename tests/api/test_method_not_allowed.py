"""A method a path lacks: 405 `{"detail": "Method Not Allowed"}` with `Allow`, before any token is
read, with the CORS headers and the access log line every answer has."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from chalicelib.api.method_not_allowed import REFUSED_METHODS, is_refusal
from tests.factories import Api

ALLOWED = "http://localhost:3000"
OTHER = "https://evil.example.com"
SOME_ID = "0b7f3f5e-8a59-4e0c-9a7e-0d6f0c6c1c11"


@pytest.fixture
def cors_api(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    from chalicelib.config import get_settings

    monkeypatch.setenv("CORS_ORIGINS", ALLOWED)
    get_settings.cache_clear()
    # Read now: chalice's test client patches the stage's environment in during a request.
    assert get_settings().cors_origins == [ALLOWED]
    yield api
    monkeypatch.undo()
    get_settings.cache_clear()


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _tokens(value: str) -> set[str]:
    return {v.strip() for v in value.split(",") if v.strip()}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/v1/brands/", {"GET", "POST", "OPTIONS"}),
        ("PUT", "/api/v1/products/", {"GET", "POST", "OPTIONS"}),
        ("POST", f"/api/v1/products/{SOME_ID}", {"GET", "PUT", "PATCH", "DELETE", "OPTIONS"}),
        ("GET", "/api/v1/login/access-token", {"POST", "OPTIONS"}),
        ("PATCH", "/api/v1/openapi.json", {"GET", "OPTIONS"}),
    ],
)
def test_a_method_the_path_lacks_is_a_405_in_the_apis_shape(api: Api, method: str, path: str, allow: set[str]) -> None:
    r = api.call(method, path, body={"name": "x"})
    assert r.status == 405, r
    assert r.json == {"detail": "Method Not Allowed"}
    headers = _lower(r.headers)
    assert headers["content-type"] == "application/json"
    assert _tokens(headers["allow"]) == allow


def test_head_is_a_405_too(api: Api) -> None:
    r = api.call("HEAD", "/api/v1/brands/")
    assert r.status == 405, r
    assert _tokens(_lower(r.headers)["allow"]) == {"GET", "POST", "OPTIONS"}


def test_no_token_is_read_before_the_405(api: Api) -> None:
    """FastAPI refuses the method before its dependencies run: no 401 for a missing or bad token."""
    assert api.call("DELETE", "/api/v1/users/me").status == 405
    r = api.call("DELETE", "/api/v1/brands/", token="not-a-token")
    assert r.status == 405, r
    assert "www-authenticate" not in _lower(r.headers)


def test_any_content_type_is_refused_with_405_not_415(api: Api) -> None:
    r = api.call("PUT", "/api/v1/brands/", headers={"Content-Type": "text/plain"}, raw="plain")
    assert r.status == 405, r


def test_every_405_route_allows_exactly_the_paths_own_methods(api: Api) -> None:
    from app import app

    for path, entries in app.routes.items():
        own = {m for m, entry in entries.items() if not is_refusal(entry.view_function)}
        concrete = re.sub(r"\{[^}]+\}", SOME_ID, path)
        for method in REFUSED_METHODS:
            if method in own:
                continue
            r = api.call(method, concrete)
            assert r.status == 405, (method, path, r)
            assert _tokens(_lower(r.headers)["allow"]) == own | {"OPTIONS"}, (method, path)


def test_the_405_carries_cors_headers_for_an_allowed_origin_only(cors_api: Api) -> None:
    allowed = _lower(cors_api.call("DELETE", "/api/v1/brands/", headers={"Origin": ALLOWED}).headers)
    assert allowed["access-control-allow-origin"] == ALLOWED
    assert "Origin" in _tokens(allowed["vary"])
    other = _lower(cors_api.call("DELETE", "/api/v1/brands/", headers={"Origin": OTHER}).headers)
    assert "access-control-allow-origin" not in other
    assert "Origin" in _tokens(other["vary"])


def test_the_preflight_offers_only_the_paths_own_methods(cors_api: Api) -> None:
    r = cors_api.client.http.request(
        "OPTIONS",
        "/api/v1/brands/",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "DELETE"},
    )
    headers = _lower(dict(r.headers))
    assert _tokens(headers["access-control-allow-methods"]) == {"GET", "POST", "OPTIONS"}
    assert _tokens(headers["allow"]) == {"GET", "POST", "OPTIONS"}


def test_the_405_has_its_access_log_line(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert api.call("PUT", "/api/v1/brands/").status == 405
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    access = [line for line in lines if line.get("message") == "request" and line["method"] == "PUT"]
    assert len(access) == 1, lines
    assert access[0]["path"] == "/api/v1/brands"
    assert access[0]["status"] == 405
    assert access[0]["correlation_id"]


def test_the_openapi_document_lists_no_405_route(api: Api) -> None:
    doc = api.get("/api/v1/openapi.json").json
    assert "put" not in doc["paths"]["/api/v1/brands/"]
    assert "delete" not in doc["paths"]["/api/v1/brands/"]
    assert set(doc["paths"]["/api/v1/brands/"]) == {"get", "post"}
