"""405 Method Not Allowed, in the API's error shape, for the methods a path does not have.

API Gateway answers a method its resource lacks as it answers an unknown path (its
MISSING_AUTHENTICATION_TOKEN response: one answer for both), and chalice's own 405 says
`{"Code", "Message"}`. So each path gets explicit routes for the API Gateway methods it lacks,
answering `{"detail": "Method Not Allowed"}` with `Allow`, as FastAPI does: before any
authentication (no contract, no token read), through the app's middleware (access log, CORS).
Each is one cheap invocation of the API function. The OpenAPI document leaves them out
(`is_refusal`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from chalice.app import Chalice, Response

from chalicelib.api.errors import JSON_HEADERS

# What an API Gateway REST resource can route besides OPTIONS (ANY aside): any other method
# never reaches the function. HEAD too: without a route it would be API Gateway's "not found".
REFUSED_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")

_REFUSALS: set[Callable[..., Response]] = set()


def is_refusal(view: Callable[..., object]) -> bool:
    """Whether a route's view is one of these 405 answers (not an operation of the API)."""
    return view in _REFUSALS


def _refusal_view(allow: str) -> Callable[..., Response]:
    body = json.dumps({"detail": "Method Not Allowed"})

    def method_not_allowed(**_path_params: str) -> Response:
        return Response(body=body, status_code=405, headers={**JSON_HEADERS, "Allow": allow})

    _REFUSALS.add(method_not_allowed)
    return method_not_allowed


def register_method_not_allowed(app: Chalice) -> None:
    """Call last, after cors.register_cors: a path registered later gets no 405 routes, and
    register_cors would take these methods for the path's own (its preflights' Allow)."""
    for index, (path, entries) in enumerate(sorted(app.routes.items())):
        missing = [method for method in REFUSED_METHODS if method not in entries]
        if not missing:
            continue
        own = {method for method, entry in entries.items() if not is_refusal(entry.view_function)}
        allow = ", ".join(sorted(own | {"OPTIONS"}))
        # Any content type: chalice would otherwise answer a body it does not expect with 415.
        app.route(path, methods=missing, content_types=["*/*"], name=f"method_not_allowed_{index}")(
            _refusal_view(allow)
        )
