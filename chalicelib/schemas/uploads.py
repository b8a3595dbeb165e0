"""Presigned uploads on the wire: POST /uploads/ and GET /uploads/{id}."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import ConfigDict, Field

from chalicelib.schemas.common import SPACE, WireModel
from chalicelib.schemas.enums import MediaStatus
from chalicelib.schemas.products import MediaResourcePublic

# The image types an upload may declare (UPLOAD_CONTENT_TYPES picks among them).
SUPPORTED_UPLOAD_TYPES = ("image/jpeg", "image/png", "image/webp")


def _case_insensitive(choices: tuple[str, ...]) -> str:
    """A JSON Schema pattern (ECMA regex has no case-insensitive flag) for one of `choices` in
    any case, with the white space around it that the service strips."""

    def letters(text: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)

    space = f"[{SPACE}]*"
    return f"^{space}({'|'.join(letters(c) for c in choices)}){space}$"


class UploadCreate(WireModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(
        min_length=1,
        max_length=100,
        description="A MIME type (any case), one of the configured UPLOAD_CONTENT_TYPES",
        json_schema_extra={"pattern": _case_insensitive(SUPPORTED_UPLOAD_TYPES)},
    )
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
