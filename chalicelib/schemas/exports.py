"""Exports of approved shots on the wire: the reference's ExportApprovedShotsRequest,
ExportTaskPublic and ExportTasksPublic."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from chalicelib.errors import InvalidInput
from chalicelib.schemas.common import PageQuery, WireModel
from chalicelib.schemas.enums import ExportTaskType, TaskStatus

MAX_EXPORT_PRODUCTS = 1000
# The Idempotency-Key header of POST /products/export-approved-shots/async: 1 to this many
# printable ASCII characters, not all of them spaces (surrounding spaces are dropped).
IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$"


class ExportApprovedShotsRequest(WireModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    product_ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_EXPORT_PRODUCTS)
    # The listing's filters (GET /products/ query parameters), validated as the listing does.
    product_filters: dict[str, Any] | None = None
    shooting_id: uuid.UUID | None = None
    shooting_look_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ExportApprovedShotsRequest:
        given = [
            name for name in ("product_ids", "product_filters", "shooting_look_id") if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "Give exactly one of product_ids, product_filters or shooting_look_id"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class ExportTaskPublic(WireModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    task_type: ExportTaskType
    status: TaskStatus
    progress: int
    total_items: int
    processed_items: int
    # Beyond the reference (which allows other properties): what a run left out.
    skipped_items: int = Field(
        default=0,
        description="Products, looks and images the export left out because its owner may not read them"
        " when the run reads them; none of them is in the archive or its manifest",
    )
    download_url: str | None = None
    error_message: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class ExportTasksPublic(WireModel):
    data: list[ExportTaskPublic]
    count: int


class ExportTasksQuery(PageQuery):
    """GET /products/export-tasks: the caller's tasks, newest first (10 a page, as the reference)."""

    limit: int = Field(default=10, ge=1, le=1000)
    status: TaskStatus | None = None


def check_idempotency_key(value: str | None) -> str | None:
    """The Idempotency-Key header: absent (None), or 1 to 255 visible ASCII characters."""
    if value is None:
        return None
    key = value.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidInput.single(
            ["header", "Idempotency-Key"],
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters",
            value,
            "idempotency_key",
        )
    return key
