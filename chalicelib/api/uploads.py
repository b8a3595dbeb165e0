"""Presigned uploads: sign a form for the images bucket, and read the upload's state."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.api import deps
from chalicelib.api.errors import api_view, render
from chalicelib.api.request import json_body, path_uuid, query
from chalicelib.schemas.products import OrganizationQuery
from chalicelib.schemas.uploads import UploadCreate

bp = Blueprint(__name__)

ANY_CONTENT = ["*/*"]


@bp.route("/uploads/", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_upload() -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    q = query(request, OrganizationQuery)
    data = json_body(request, UploadCreate)
    org = str(q.organization_id) if q.organization_id else None
    return render(wiring.uploads().create(caller, data, org))


@bp.route("/uploads/{id}", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_upload(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    return render(wiring.uploads().get(caller, path_uuid("id", id)))
