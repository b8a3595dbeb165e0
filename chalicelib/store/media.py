"""Media records: a product's images and presigned uploads.

An upload's record is created when its form is signed (PENDING) and finished by the ingest
worker with conditional UpdateItems keyed on the object's ETag, so a delivery of the same object
twice, or of an older version after a newer one, changes nothing.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.errors import Conflict
from chalicelib.schemas.enums import MediaStatus
from chalicelib.store.models import MediaItem, bind_table
from chalicelib.store.table import conditional_update, get_item, unavailable

# S3 sequencers are hex strings of varying length: compared as AWS says, left-padded to one width.
_SEQUENCER_WIDTH = 64


def ordered_sequencer(sequencer: str) -> str:
    return sequencer.upper().rjust(_SEQUENCER_WIDTH, "0")


def _key(media_id: str) -> MediaItem:
    return MediaItem(pk=f"MEDIA#{media_id}", sk="MEDIA")


class MediaRepository:
    def __init__(self) -> None:
        bind_table()

    def get(self, media_id: str) -> MediaItem | None:
        return get_item(MediaItem, f"MEDIA#{media_id}", "MEDIA")

    def create_upload(self, item: MediaItem) -> None:
        item.refresh_keys()
        try:
            item.save(condition=MediaItem.pk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict("Media resource exists") from exc
            mapped = unavailable(exc.cause_response_code)
            if mapped is None:
                raise
            raise mapped from exc

    def finish_upload(
        self,
        media_id: str,
        etag: str,
        status: MediaStatus,
        public: dict[str, Any] | None = None,
        reason: str | None = None,
        sequencer: str | None = None,
    ) -> bool:
        """Record what the object with this ETag turned out to be; False when the record is gone,
        already describes that object (a repeated delivery), or describes a later object of the
        key (its event's sequencer is greater: this delivery is stale)."""
        actions: list[Any] = [MediaItem.status.set(status.value), MediaItem.etag.set(etag)]
        actions.append(MediaItem.public.set(public) if public is not None else MediaItem.public.remove())
        actions.append(MediaItem.failure_reason.set(reason) if reason else MediaItem.failure_reason.remove())
        condition = MediaItem.pk.exists() & (MediaItem.etag.does_not_exist() | (MediaItem.etag != etag))
        if sequencer is not None:
            ordered = ordered_sequencer(sequencer)
            actions.append(MediaItem.sequencer.set(ordered))
            condition &= MediaItem.sequencer.does_not_exist() | (MediaItem.sequencer < ordered)
        return conditional_update(_key(media_id), actions, condition)
