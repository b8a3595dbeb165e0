"""CORS: preflights and answers for the configured origins only, on every route."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.factories import Api

ALLOWED = "http://localhost:3000"
ALSO_ALLOWED = "https://studio.example.com"
OTHER = "https://evil.example.com"
SOME_ID = "0b7f3f5e-8a59-4e0c-9a7e-0d6f0c6c1c11"


@pytest.fixture
def cors_api(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    from chalicelib.config import get_settings

    monkeypatch.setenv("CORS_ORIGINS", f"{ALLOWED}, {ALSO_ALLOWED}/")
    get_settings.cache_clear()
    # Read now: chalice's test client patches the dev stage's environment (its own
    # CORS_ORIGINS) into os.environ during a request, and settings read then would use it.
    assert get_settings().cors_origins == [ALLOWED, ALSO_ALLOWED]
    yield api
    monkeypatch.undo()
    get_settings.cache_clear()


def _preflight(api: Api, path: str, origin: str, method: str = "GET") -> tuple[int, dict[str, str]]:
    r = api.client.http.request(
        "OPTIONS",
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    return r.status_code, {k.lower(): v for k, v in r.headers.items()}


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _tokens(value: str) -> set[str]:
    return {v.strip().lower() for v in value.split(",") if v.strip()}


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/products/", {"get", "post"}),
        (f"/api/v1/products/{SOME_ID}", {"get", "put", "patch", "delete"}),
        (f"/api/v1/organizations/{SOME_ID}/invitations", {"get", "post"}),
        ("/api/v1/login/access-token", {"post"}),
    ],
)
def test_preflight_from_an_allowed_origin(cors_api: Api, path: str, methods: set[str]) -> None:
    status, headers = _preflight(cors_api, path, ALLOWED, method=sorted(methods)[0].upper())
    assert status in (200, 204)
    assert headers["access-control-allow-origin"] == ALLOWED
    assert "origin" in _tokens(headers["vary"])
    assert _tokens(headers["access-control-allow-methods"]) == methods | {"options"}
    assert {"authorization", "content-type"} <= _tokens(headers["access-control-allow-headers"])
    assert int(headers["access-control-max-age"]) > 0


def test_every_route_answers_a_preflight_without_a_token(cors_api: Api) -> None:
    from app import app
    from chalicelib.api.method_not_allowed import is_refusal

    for path, entries in app.routes.items():
        concrete = re.sub(r"\{[^}]+\}", SOME_ID, path)
        status, headers = _preflight(cors_api, concrete, ALSO_ALLOWED)
        assert status in (200, 204), path
        assert headers.get("access-control-allow-origin") == ALSO_ALLOWED, path
        # The path's own methods, not the 405 answers of the others.
        own = {m.lower() for m, entry in entries.items() if not is_refusal(entry.view_function)}
        assert _tokens(headers["access-control-allow-methods"]) == own, path


def test_preflight_from_another_origin_allows_nothing(cors_api: Api) -> None:
    status, headers = _preflight(cors_api, "/api/v1/products/", OTHER, method="POST")
    assert status in (200, 204)
    assert "access-control-allow-origin" not in headers
    assert "access-control-allow-methods" not in headers
    assert "access-control-allow-headers" not in headers
    assert "origin" in _tokens(headers["vary"])


def test_origin_is_matched_exactly(cors_api: Api) -> None:
    # A prefix or a different port of an allowed origin is another origin.
    for origin in (f"{ALLOWED}.evil.example.com", "http://localhost:3001", "https://localhost:3000", "null"):
        _, headers = _preflight(cors_api, "/api/v1/products/", origin)
        assert "access-control-allow-origin" not in headers, origin


def test_get_from_an_allowed_origin_carries_cors_headers(cors_api: Api) -> None:
    _, token = cors_api.user()
    r = cors_api.get("/api/v1/products/", token, headers={"Origin": ALLOWED})
    assert r.status == 200, r
    headers = _lower(r.headers)
    assert headers["access-control-allow-origin"] == ALLOWED
    assert "origin" in _tokens(headers["vary"])
    exposed = _tokens(headers["access-control-expose-headers"])
    assert {"content-disposition", "retry-after", "www-authenticate", "location"} <= exposed


def test_get_from_another_origin_carries_no_allow_origin(cors_api: Api) -> None:
    _, token = cors_api.user()
    r = cors_api.get("/api/v1/products/", token, headers={"Origin": OTHER})
    assert r.status == 200, r
    headers = _lower(r.headers)
    assert "access-control-allow-origin" not in headers
    assert "access-control-expose-headers" not in headers


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/v1/users/me", None, 401),
        ("POST", "/api/v1/login/access-token", "username=nobody%40example.com&password=wrong", 400),
    ],
)
def test_error_answers_carry_cors_headers(cors_api: Api, method: str, path: str, body: str | None, status: int) -> None:
    headers = {"Origin": ALLOWED}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    r = cors_api.call(method, path, headers=headers, raw=body)
    assert r.status == status, r
    got = _lower(r.headers)
    assert got["access-control-allow-origin"] == ALLOWED
    # A browser script reads WWW-Authenticate of a 401 only when it is exposed.
    assert "www-authenticate" in _tokens(got["access-control-expose-headers"])


def test_validation_error_carries_cors_headers(cors_api: Api) -> None:
    _, token = cors_api.user()
    r = cors_api.get("/api/v1/products/?limit=0", token, headers={"Origin": ALLOWED})
    assert r.status == 422, r
    assert _lower(r.headers)["access-control-allow-origin"] == ALLOWED


def test_no_configured_origin_allows_nothing(api: Api) -> None:
    # The test environment sets no CORS_ORIGINS: the default of a deployed stage.
    from chalicelib.config import get_settings

    assert get_settings().cors_origins == []
    status, headers = _preflight(api, "/api/v1/products/", ALLOWED)
    assert status in (200, 204)
    assert "access-control-allow-origin" not in headers
    r = api.get("/api/v1/users/me", headers={"Origin": ALLOWED})
    assert r.status == 401
    assert "access-control-allow-origin" not in _lower(r.headers)


def test_openapi_document_lists_no_preflight_routes() -> None:
    from chalicelib.api.openapi import document

    for path, operations in document()["paths"].items():
        assert "options" not in operations, path


def test_the_dev_stage_allows_the_usual_front_end_origins() -> None:
    from chalicelib.config import Settings
    from ops.cli import _stage_environment

    env = _stage_environment("dev")
    origins = Settings.model_validate({"cors_origins": env["CORS_ORIGINS"]}).cors_origins
    assert {"http://localhost:3000", "http://localhost:5173"} <= set(origins)
    assert "CORS_ORIGINS" not in _stage_environment("prod")
