"""Interactive API documentation (Swagger UI) at /api/v1/docs, for /api/v1/openapi.json.

The Swagger UI files come from the `openapi-ui-bundles` package, served by this blueprint:
nothing is fetched from a CDN, so the page works offline and under a strict
Content-Security-Policy. Only the files in `_VENDOR` (and the generated `init.js`) are served,
looked up by name, never by a path built from the request.

Every URL on the page is relative to it (`docs/...`, `openapi.json`), so it also works behind an
API Gateway stage prefix (`/prod/api/v1/docs`). An asset's URL carries a hash of its content
(`?v=`): a browser may keep it for a year, and a new deployment changes the URL when the file
changes. A request without that hash (or with an old one) is told to revalidate (ETag).

Files are read on first request and kept for the life of the process: the app's cold start
(bench/import_time.py) pays nothing for this module beyond its own import.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chalice.app import Blueprint, Response

from chalicelib.api.errors import api_view, error_response
from chalicelib.errors import NotFound

bp = Blueprint(__name__)

ANY_CONTENT = ["*/*"]

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
HTML = "text/html; charset=utf-8"

# Served asset name -> content type. The favicons are left out: PNG would need a binary media
# type in API Gateway (app.api.binary_types); the page declares an empty icon instead.
_VENDOR: dict[str, str] = {"swagger-ui-bundle.js": JS, "swagger-ui.css": CSS}
INIT = "init.js"
ASSETS: frozenset[str] = frozenset({*_VENDOR, INIT})

# The start-up code lives in a served file rather than an inline <script>, so the policy needs
# no 'unsafe-inline' for scripts. `url` is relative to the page: /api/v1/docs -> /api/v1/openapi.json.
_INIT_JS = """\
"use strict";
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
"""

# Swagger UI sets inline styles from its scripts (CSSOM, which the policy does not restrict) and
# uses data: URIs in its stylesheet (icons). 'self' covers the document, "Try it out" calls and
# the token request of the OAuth2 password flow, all on this API's origin.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

# A year: the longest lifetime caches honour; `immutable` spares revalidation on reload.
IMMUTABLE = "public, max-age=31536000, immutable"
# The page names the assets' current hashes, so it must never be served stale.
REVALIDATE = "no-cache"

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sartiq Products API - docs</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{css}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def _vendor_dir() -> Path:
    # Imported on first use: the app's cold start does not need it.
    from openapi_ui_bundles import swagger_ui

    return Path(swagger_ui.static_path)


@lru_cache(maxsize=len(ASSETS))
def load_asset(name: str) -> Asset:
    """An allowed asset (KeyError for any other name), read once per process."""
    if name == INIT:
        body, content_type = _INIT_JS, JS
    else:
        content_type = _VENDOR[name]
        body = (_vendor_dir() / name).read_text(encoding="utf-8")
    version = hashlib.sha256(body.encode()).hexdigest()[:16]
    return Asset(body=body, content_type=content_type, version=version)


def asset_url(name: str) -> str:
    """Relative to the page (/api/v1/docs), with the content hash that makes it cacheable for good."""
    return f"docs/{name}?v={load_asset(name).version}"


@lru_cache(maxsize=1)
def page() -> str:
    return _PAGE.format(css=asset_url("swagger-ui.css"), bundle=asset_url("swagger-ui-bundle.js"), init=asset_url(INIT))


@bp.route("/docs", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def docs_page() -> Response:
    # API Gateway (and chalice local) route /docs/ here too, where the page's relative URLs
    # would resolve under docs/docs/: send the browser to /docs, relative again for the stage prefix.
    if str(bp.current_request.context.get("path", "")).endswith("/"):
        return Response(body="", status_code=308, headers={"Location": "../docs"})
    return Response(
        body=page(),
        status_code=200,
        headers={
            "Content-Type": HTML,
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": REVALIDATE,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@bp.route("/docs/{asset}", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def docs_asset(asset: str) -> Response:
    # Membership first: the cache above only ever sees allowed names, and no name reaches the
    # file system unless it is one of them (a "../" in it, decoded or not, is just unknown).
    if asset not in ASSETS:
        return error_response(NotFound("Not Found"))
    found = load_asset(asset)
    request = bp.current_request
    versioned = request.query_params is not None and request.query_params.get("v") == found.version
    headers: dict[str, str | list[str]] = {
        "ETag": found.etag,
        "Cache-Control": IMMUTABLE if versioned else REVALIDATE,
        "X-Content-Type-Options": "nosniff",
    }
    tags = _etags(request.headers.get("if-none-match"))
    if found.etag in tags or "*" in tags:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=found.body, status_code=200, headers={**headers, "Content-Type": found.content_type})


def _etags(header: str | None) -> set[str]:
    """The entity tags of an If-None-Match header, weak ones compared as strong (GET only)."""
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
