"""CORS for the configured browser origins (settings.cors_origins), on every route.

Chalice's CORSConfig takes a single origin and answers preflights from API Gateway's mock
integration, so it cannot choose among several origins. Here an explicit OPTIONS route per
path answers the preflight, and an HTTP middleware adds the origin to every response
(errors included), echoing the request's Origin only when it is allowed.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Chalice, Request, Response

from chalicelib.config import get_settings

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Requested-With")
# Headers a browser script may read (Content-Type is safelisted, listed for clarity): the
# error and download answers carry meaning in these.
EXPOSED_HEADERS = ("Content-Type", "Content-Disposition", "Retry-After", "WWW-Authenticate", "Location", "Allow")
# Long enough to spare a preflight on most calls; browsers cap it anyway (Chrome: 2 hours).
MAX_AGE_SECONDS = 600


def allowed_origin(request: Request | None) -> str | None:
    """The request's Origin when the settings allow it, else None."""
    if request is None:
        return None
    origin = request.headers.get("origin")
    if not origin:
        return None
    # Settings are read on use, never at import (config.py): the process environment decides.
    return origin if origin.lower() in get_settings().cors_origins else None


def _add_vary_origin(response: Response) -> None:
    existing = response.headers.get("Vary") or ""
    parts = existing if isinstance(existing, list) else str(existing).split(",")
    values = [v.strip() for v in parts if v.strip()]
    if not any(v.lower() == "origin" or v == "*" for v in values):
        response.headers["Vary"] = ", ".join([*values, "Origin"])


def _preflight_view(app: Chalice, methods: str) -> Callable[..., Response]:
    def preflight(**_path_params: str) -> Response:
        headers: dict[str, str | list[str]] = {"Allow": methods}
        if allowed_origin(app.current_request) is not None:
            headers.update(
                {
                    "Access-Control-Allow-Methods": methods,
                    "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
                    "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
                }
            )
        return Response(body="", status_code=204, headers=headers)

    return preflight


def _cors_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    response = get_response(event)
    if not get_settings().cors_origins:
        return response
    # Whether the answer carries Access-Control-Allow-Origin depends on the Origin: a cache
    # in front of the API must not hand one origin's answer to another.
    _add_vary_origin(response)
    origin = allowed_origin(event)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
    return response


def register_cors(app: Chalice) -> None:
    """Call after every blueprint is registered: a path added later gets no preflight route."""
    for index, (path, entries) in enumerate(sorted(app.routes.items())):
        if "OPTIONS" in entries:
            continue
        methods = ", ".join([*sorted(entries), "OPTIONS"])
        # Preflights carry no token and usually no Content-Type: any content type, no auth.
        app.route(path, methods=["OPTIONS"], content_types=["*/*"], name=f"cors_preflight_{index}")(
            _preflight_view(app, methods)
        )
    app.register_middleware(_cors_middleware, "http")
