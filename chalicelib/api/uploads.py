"""Presigned uploads: sign a form for the images bucket, and read the upload's state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import endpoint
from chalicelib.schemas.products import OrganizationQuery
from chalicelib.schemas.uploads import UploadCreate, UploadPublic, UploadStatusPublic

if TYPE_CHECKING:
    from chalicelib.services.access import Caller

bp = Blueprint(__name__)


@endpoint(
    bp,
    "POST",
    "/uploads/",
    operation_id="create_upload",
    summary="Create Upload",
    tag="uploads",
    response=UploadPublic,
    query=OrganizationQuery,
    body=UploadCreate,
    errors=frozenset({403, 503}),
)
def create_upload(caller: Caller, query: OrganizationQuery, body: UploadCreate) -> UploadPublic:
    """A presigned S3 POST for one image: send the file with `fields` to `url`; the upload is
    READY once the service has checked it (GET /api/v1/uploads/{id})."""
    org = str(query.organization_id) if query.organization_id else None
    return wiring.uploads().create(caller, body, org)


@endpoint(
    bp,
    "GET",
    "/uploads/{id}",
    operation_id="read_upload",
    summary="Read Upload",
    tag="uploads",
    response=UploadStatusPublic,
)
def read_upload(caller: Caller, id: str) -> UploadStatusPublic:
    """An upload's state: PENDING, READY (with its media resource) or FAILED (with the reason)."""
    return wiring.uploads().get(caller, id)
