"""The ingest of presigned uploads: what S3 reports is inspected and the media resource finished.

Called by the media worker (workers/media.py) for each ObjectCreated record. Idempotent on
bucket, key and ETag: a repeated delivery finds the record already describing that ETag; an
older version's event, delivered after a newer object replaced it, finds the object changed
(the read is conditional on the event's ETag) and does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.config import get_settings
from chalicelib.observability import metric
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import MediaStatus
from chalicelib.services.media import ImageRejected, examine_image, media_public
from chalicelib.store.blobs import ImageStore, ObjectChanged, upload_media_id
from chalicelib.store.media import MediaRepository

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    READY = "ready"
    FAILED = "failed"
    # Nothing to do: another bucket or prefix, an unknown upload, a repeated or stale delivery.
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""


DEAD_LETTER_REASON = "The upload could not be processed"


class MediaIngest:
    def __init__(self, media: MediaRepository | None = None, images: ImageStore | None = None) -> None:
        self.media = media or MediaRepository()
        self.images = images or ImageStore()

    def ingest(self, bucket: str, key: str, etag: str, sequencer: str | None = None) -> Result:
        """`sequencer`: the S3 event's, which orders the events of one key (S3 always sends it;
        moto does not, and then only the ETag guards the write)."""
        etag = etag.strip('"')
        if bucket != self.images.bucket:
            return Result(Outcome.SKIPPED, f"not the images bucket: {bucket}")
        media_id = upload_media_id(key)
        if media_id is None:
            return Result(Outcome.SKIPPED, f"not an upload key: {key}")
        record = self.media.get(media_id)
        if record is None or record.product_id is not None:
            # Expired, or never signed by us: the bucket's lifecycle rule removes the object.
            return Result(Outcome.SKIPPED, "no upload record")
        if record.etag == etag:
            return Result(Outcome.SKIPPED, "already ingested")
        try:
            stored = self.images.open_version(key, etag)
        except ObjectChanged as exc:
            return Result(Outcome.SKIPPED, f"object changed since the event ({exc})")

        settings = get_settings()
        limit = min(int(record.declared_size or settings.max_image_bytes), settings.max_image_bytes)
        if stored.size > limit:
            # The POST policy caps the size, but not every S3 (moto) enforces it: checked here,
            # before the body is read.
            stored.body.close()
            return self._fail(
                media_id, key, etag, sequencer, f"The upload is {stored.size} bytes, larger than declared ({limit})"
            )
        data = bytes(stored.body.read())
        try:
            image = examine_image(data)
        except ImageRejected as exc:
            return self._fail(media_id, key, etag, sequencer, exc.reason)
        actual_type = image.content_type
        if record.declared_type and actual_type != record.declared_type:
            return self._fail(
                media_id,
                key,
                etag,
                sequencer,
                f"Declared {record.declared_type}, but the file is {actual_type or 'another type'}",
            )
        public = media_public(media_id, settings.media_url(key), image, record.created_at or iso(utcnow()))
        if not self.media.finish_upload(media_id, etag, MediaStatus.READY, public=public, sequencer=sequencer):
            return Result(Outcome.SKIPPED, "already ingested")
        metric("UploadsIngested")
        return Result(Outcome.READY)

    def give_up(self, bucket: str, key: str, etag: str, sequencer: str | None = None) -> Result:
        """The event reached the dead-letter queue: every ingest of this object failed (the last
        ones perhaps without a word: a timeout, memory). The upload is FAILED and the object
        removed, unless a later object of the key was recorded meanwhile."""
        etag = etag.strip('"')
        media_id = upload_media_id(key) if bucket == self.images.bucket else None
        if media_id is None:
            return Result(Outcome.SKIPPED, f"not an upload of the images bucket: {bucket}/{key}")
        record = self.media.get(media_id)
        if record is None or record.product_id is not None or record.etag == etag:
            return Result(Outcome.SKIPPED, "no pending upload of this object")
        return self._fail(media_id, key, etag, sequencer, DEAD_LETTER_REASON)

    def _fail(self, media_id: str, key: str, etag: str, sequencer: str | None, reason: str) -> Result:
        # The record first: were the delete to go first and this write fail, the redelivery
        # would find no object and the upload would stay PENDING. A crash between the two
        # leaves an object the uploads lifecycle rule removes. The delete takes only the
        # version inspected: a newer object posted meanwhile is kept for its own event.
        if not self.media.finish_upload(media_id, etag, MediaStatus.FAILED, reason=reason, sequencer=sequencer):
            return Result(Outcome.SKIPPED, "already recorded")
        self.images.delete_version(key, etag)
        metric("UploadsRejected")
        logger.info("upload refused", extra={"media_id": media_id, "reason": reason})
        return Result(Outcome.FAILED, reason)
