"""The docs page (Swagger UI) and its assets: local files only, an allow-list, long-lived caching."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from chalicelib.api import docs
from tests.factories import Api
from tests.support.environment import TEST_ENVIRONMENT
from tests.support.local_stack import ROOT

PAGE = "/api/v1/docs"
CONTENT_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "init.js": "text/javascript; charset=utf-8",
}


class References(HTMLParser):
    """Every URL the page loads or links to (src and href attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value is not None]


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def page_references(api: Api) -> list[str]:
    r = api.get(PAGE)
    assert r.status == 200, r
    parsed = References()
    parsed.feed(r.raw.decode())
    return parsed.urls


def csp(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {d[0]: d[1:] for d in directives}


def test_the_page_is_html_under_a_strict_policy_without_a_token(api: Api) -> None:
    r = api.get(PAGE)
    assert r.status == 200, r
    headers = lower(r.headers)
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert headers["x-content-type-options"] == "nosniff"
    policy = csp(headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    body = r.raw.decode()
    assert '<div id="swagger-ui"></div>' in body
    # No inline script: everything runs from served files, as the policy demands.
    assert re.findall(r"<script[^>]*>([^<]*)</script>", body) == ["", ""]


def test_the_page_loads_only_local_assets_by_relative_urls(api: Api) -> None:
    urls = page_references(api)
    body = api.get(PAGE).raw.decode()
    assert "http://" not in body and "https://" not in body and "//" not in body
    loaded = [u for u in urls if not u.startswith("data:")]
    expected = sorted(f"docs/{asset}" for asset in docs.ASSETS)
    assert sorted(urlsplit(u).path for u in loaded) == expected
    # Relative to the page, so that a stage prefix (/prod/api/v1/docs) is kept.
    for url in loaded:
        assert not url.startswith("/"), url
        assert urljoin("/prod/api/v1/docs", url).startswith("/prod/api/v1/docs/"), url


def test_every_referenced_asset_is_served_for_good(api: Api) -> None:
    for url in page_references(api):
        if url.startswith("data:"):
            continue
        r = api.get(urljoin(PAGE, url))
        assert r.status == 200, (url, r)
        headers = lower(r.headers)
        assert headers["cache-control"] == docs.IMMUTABLE
        version = parse_qs(urlsplit(url).query)["v"][0]
        assert headers["etag"] == f'"{version}"'


def test_the_init_script_points_at_the_document_next_to_the_page(api: Api) -> None:
    r = api.get(f"{PAGE}/init.js")
    assert r.status == 200, r
    script = r.raw.decode()
    assert 'url: "openapi.json"' in script
    assert urljoin("/prod/api/v1/docs", "openapi.json") == "/prod/api/v1/openapi.json"
    for option in ('dom_id: "#swagger-ui"', "deepLinking: true"):
        assert option in script
    # A bearer token (8 days) is not kept in the API origin's localStorage across visits.
    assert "persistAuthorization" not in script


@pytest.mark.parametrize("asset", sorted(CONTENT_TYPES))
def test_each_allowed_asset_is_served_with_its_type(api: Api, asset: str) -> None:
    assert asset in docs.ASSETS
    r = api.get(f"{PAGE}/{asset}")
    assert r.status == 200, r
    headers = lower(r.headers)
    assert headers["content-type"] == CONTENT_TYPES[asset]
    assert headers["x-content-type-options"] == "nosniff"
    assert len(r.raw) > 100
    # Without the version the page names, a cache must revalidate (the file may have changed).
    assert headers["cache-control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{16}"', headers["etag"])


def test_the_allow_list_is_what_the_tests_know() -> None:
    assert set(CONTENT_TYPES) == docs.ASSETS


def test_the_swagger_ui_bundle_is_the_vendored_one(api: Api) -> None:
    body = api.get(f"{PAGE}/swagger-ui-bundle.js").raw.decode()
    # 5.x renders OpenAPI 3.1 (4.x cannot): the document this API serves is 3.1.
    assert re.search(r'"5\.\d+\.\d+"', body)


def test_an_old_or_missing_version_is_told_to_revalidate(api: Api) -> None:
    r = api.get(f"{PAGE}/swagger-ui.css?v=0000000000000000")
    assert r.status == 200
    assert lower(r.headers)["cache-control"] == "no-cache"


@pytest.mark.parametrize("tag", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_a_matching_etag_is_answered_not_modified(api: Api, tag: str) -> None:
    etag = lower(api.get(f"{PAGE}/init.js").headers)["etag"]
    r = api.get(f"{PAGE}/init.js", headers={"If-None-Match": tag.format(etag=etag)})
    assert r.status == 304, r
    assert r.raw == b""
    assert lower(r.headers)["etag"] == etag


def test_a_different_etag_gets_the_file(api: Api) -> None:
    r = api.get(f"{PAGE}/init.js", headers={"If-None-Match": '"0000000000000000"'})
    assert r.status == 200 and r.raw


@pytest.mark.parametrize(
    "asset",
    [
        "index.html",  # the vendor's page, with a CDN-free but foreign configuration
        "index.css",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "openapi.json",
        "SWAGGER-UI.CSS",
        "..%2Fapp.py",
        "%2e%2e%2fapp.py",
        "..%2F..%2F..%2Fapp.py",
        "..%5Capp.py",
        "%2Fetc%2Fpasswd",
        "swagger-ui.css%00",
        "swagger-ui.css%2F",
    ],
)
def test_anything_else_is_not_found(api: Api, asset: str) -> None:
    r = api.get(f"{PAGE}/{asset}")
    assert r.status == 404, r
    assert r.json == {"detail": "Not Found"}
    assert lower(r.headers)["content-type"] == "application/json"


def test_a_trailing_slash_is_sent_back_to_the_page(api: Api) -> None:
    # At /docs/ the page's relative URLs would point under docs/docs/.
    r = api.get(f"{PAGE}/")
    assert r.status == 308, r
    location = lower(r.headers)["location"]
    assert urljoin("/prod/api/v1/docs/", location) == "/prod/api/v1/docs"


@pytest.mark.parametrize("path", [PAGE, f"{PAGE}/init.js"])
def test_the_docs_routes_answer_preflights(api: Api, path: str) -> None:
    r = api.client.http.request("OPTIONS", path, headers={"Access-Control-Request-Method": "GET"})
    assert r.status_code == 204
    assert lower(dict(r.headers))["allow"] == "GET, OPTIONS"


def test_nothing_is_read_at_import() -> None:
    """The files are read on the first request: a cold start that serves the API never pays for them."""
    code = (
        "import sys, app\n"
        "from chalicelib.api import docs\n"
        "assert docs.load_asset.cache_info().currsize == 0\n"
        "assert 'openapi_ui_bundles' not in sys.modules, 'imported at start-up'\n"
    )
    env = {**os.environ, **TEST_ENVIRONMENT}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
