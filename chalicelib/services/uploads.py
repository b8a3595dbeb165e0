"""Presigned uploads: a browser sends an image straight to the images bucket.

Signing creates the media resource as PENDING, owned by the caller's scope; the ingest worker
(services/ingest.py) inspects the object when S3 reports it and makes the resource READY or
FAILED. An upload no product used is removed after `upload_retention_hours` (the record's TTL,
the bucket's lifecycle rule for the objects).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from chalicelib.config import get_settings
from chalicelib.errors import InvalidField, NotFound
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import MediaStatus
from chalicelib.schemas.uploads import UploadCreate, UploadPublic, UploadStatusPublic
from chalicelib.services.access import Caller
from chalicelib.store.blobs import ImageStore, upload_key
from chalicelib.store.media import MediaRepository
from chalicelib.store.models import MediaItem

_NOT_FOUND = "Media resource not found"


def can_use_upload(caller: Caller, media: MediaItem) -> bool:
    """An upload belongs to its organization's members, or to its owner when personal."""
    return caller.in_scope(media.owner_id, media.organization_id)


class UploadService:
    def __init__(self, media: MediaRepository | None = None, images: ImageStore | None = None) -> None:
        self.media = media or MediaRepository()
        self.images = images or ImageStore()

    def create(self, caller: Caller, data: UploadCreate, organization_id: str | None) -> UploadPublic:
        settings = get_settings()
        content_type = data.content_type.strip().lower()
        if content_type not in settings.upload_content_types:
            raise InvalidField.single(
                ["content_type"],
                f"Content type must be one of {', '.join(settings.upload_content_types)}",
                data.content_type,
                "content_type",
            )
        if data.size > settings.max_image_bytes:
            raise InvalidField.single(
                ["size"],
                f"The file is larger than the {settings.max_image_bytes / 2**20:g} MiB limit for an image"
                f" ({settings.max_image_bytes} bytes)",
                data.size,
                "less_than_equal",
            )
        org_id = caller.target_organization(data.organization_id, organization_id)
        media_id = str(uuid.uuid4())
        now = utcnow()
        key = upload_key(media_id)
        # Signed first: a record without a form is harmless (it expires), the reverse is not.
        post = self.images.presigned_post(key, content_type, data.size, settings.upload_expires_seconds)
        retention = timedelta(hours=settings.upload_retention_hours)
        item = MediaItem(
            id=media_id,
            product_id=None,
            owner_id=caller.id,
            organization_id=org_id,
            key=key,
            public=None,
            created_at=iso(now),
            status=MediaStatus.PENDING.value,
            declared_type=content_type,
            declared_size=data.size,
            filename=data.filename,
            expires_at_ttl=now + retention,
        )
        self.media.create_upload(item)
        return UploadPublic(
            url=post.url,
            fields=post.fields,
            media_resource_id=uuid.UUID(media_id),
            expires_at=now + timedelta(seconds=settings.upload_expires_seconds),
        )

    def get(self, caller: Caller, media_id: str) -> UploadStatusPublic:
        item = self.media.get(media_id)
        if item is None or item.product_id is not None or item.expired or not can_use_upload(caller, item):
            raise NotFound(_NOT_FOUND)
        status = upload_status(item)
        if status.media is not None:
            # The images CDN serves products' copies only, never unchecked uploads: a preview of
            # an upload is a short-lived URL of the object itself (a product still takes it by
            # this URL or by its id).
            preview = self.images.presigned_get(upload_key(item.id), get_settings().upload_expires_seconds)
            status.media.url = preview
        return status


def upload_status(item: MediaItem) -> UploadStatusPublic:
    """The stored record as the wire shows it (stored data is not re-checked by input rules)."""
    return UploadStatusPublic.model_validate(
        {
            "media_resource_id": item.id,
            "status": item.status or MediaStatus.READY.value,
            "failure_reason": item.failure_reason,
            "filename": item.filename,
            "content_type": item.declared_type,
            "size": int(item.declared_size) if item.declared_size is not None else None,
            "owner_id": item.owner_id,
            "organization_id": item.organization_id,
            "created_at": item.created_at,
            "media": item.public_fields() if item.ready and item.public else None,
        }
    )
