"""GET /api/v1/openapi.json: the document generated from the routes
(chalicelib/api/openapi_document.py), built on the first request and kept for the process."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

if TYPE_CHECKING:
    from chalice.app import Chalice

bp = Blueprint(__name__)


@lru_cache(maxsize=1)
def _serialized(app: Chalice) -> str:
    from chalicelib.api.openapi_document import build_document

    return json.dumps(build_document(app))


def document() -> dict[str, Any]:
    """The document of the app this blueprint is registered on (after registration)."""
    parsed: dict[str, Any] = json.loads(_serialized(bp.current_app))
    return parsed


def base_path(context: dict[str, Any]) -> str:
    """What precedes the route in the path the client called: API Gateway's stage (`/api`) or a
    custom domain's base path; empty locally. The routes are documented without it."""
    path, route = str(context.get("path") or ""), str(context.get("resourcePath") or "")
    return path[: -len(route)].rstrip("/") if route and path.endswith(route) else ""


@bp.route("/openapi.json", methods=["GET"])
def openapi() -> Response:
    body = _serialized(bp.current_app)
    prefix = base_path(bp.current_request.context)
    if prefix:
        # Behind a stage, the docs page's "Try it out" (and any client reading `servers`) must
        # call /<stage>/api/v1/..., not the host's root.
        doc = json.loads(body)
        doc["servers"] = [{"url": prefix}]
        flow = doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]
        flow["tokenUrl"] = prefix + flow["tokenUrl"]
        body = json.dumps(doc)
    return Response(body=body, status_code=200, headers={"Content-Type": "application/json"})
