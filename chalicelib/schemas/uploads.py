"""Presigned uploads on the wire: POST /uploads/ and GET /uploads/{id}."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from chalicelib.schemas.common import WireModel
from chalicelib.schemas.enums import MediaStatus
from chalicelib.schemas.products import MediaResourcePublic


class UploadCreate(WireModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=100)
    size: int = Field(gt=0, description="The file's size in bytes; the signed form takes no larger file")
    organization_id: uuid.UUID | None = None


class UploadPublic(WireModel):
    """A presigned S3 POST: post `fields` and then the file (as the form's last field) to `url`."""

    url: str
    fields: dict[str, str]
    media_resource_id: uuid.UUID
    expires_at: datetime


class UploadStatusPublic(WireModel):
    """An upload's media resource: PENDING until inspected, then READY (with `media`) or FAILED."""

    media_resource_id: uuid.UUID
    status: MediaStatus
    failure_reason: str | None = None
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    owner_id: uuid.UUID
    organization_id: uuid.UUID | None = None
    created_at: datetime
    media: MediaResourcePublic | None = None
