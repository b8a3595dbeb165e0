"""The OpenAPI document, served at /api/v1/openapi.json."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response

bp = Blueprint(__name__)

_DOCUMENT = Path(__file__).resolve().parent.parent / "openapi" / "reference-openapi.json"


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_DOCUMENT.read_text())
    return doc


@bp.route("/openapi.json", methods=["GET"])
def openapi() -> Response:
    return Response(body=json.dumps(document()), status_code=200, headers={"Content-Type": "application/json"})
