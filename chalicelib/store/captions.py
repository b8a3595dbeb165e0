"""The caption worker's writes: conditional UpdateItems of the fields it owns.

Each names the task it belongs to (`caption_task_id = :task`) and needs it unfinished: a job for a
superseded task (the cover changed, the product was deleted) or a late attempt at a finished one
changes nothing. Each also increments the product's
version, without checking it, so that a user's write that read the product before it fails its
own version check and re-reads instead of putting back the old caption fields.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import Conflict
from chalicelib.schemas.enums import TaskStatus
from chalicelib.store.models import MediaItem, ProductItem, bind_table
from chalicelib.store.table import conditional_update, transaction

# A caption task's terminal statuses.
FINISHED = frozenset({TaskStatus.COMPLETED.value, TaskStatus.FAILED.value, TaskStatus.CANCELLED.value})


def _open_task(task_id: str) -> Any:
    """The task is the product's current one and has not ended: a late attempt (a request's
    thread that outlived its budget, a repeated delivery) cannot undo a finished task."""
    return (ProductItem.caption_task_id == task_id) & ~ProductItem.caption_status.is_in(*sorted(FINISHED))


def _product(product_id: str) -> ProductItem:
    # Any version: conditional_update increments it without checking it.
    return ProductItem(pk=f"PRODUCT#{product_id}", sk="PRODUCT", version=0)


class CaptionStore:
    def __init__(self) -> None:
        bind_table()

    def mark(
        self,
        product_id: str,
        task_id: str,
        status: TaskStatus,
        *,
        retry_count: int | None = None,
        error: str | None = None,
    ) -> bool:
        actions: list[Any] = [ProductItem.caption_status.set(status.value)]
        if retry_count is not None:
            actions.append(ProductItem.caption_retry_count.set(retry_count))
        actions.append(ProductItem.caption_error.set(error) if error else ProductItem.caption_error.remove())
        return conditional_update(_product(product_id), actions, _open_task(task_id))

    def complete(
        self, product_id: str, task_id: str, media_id: str, caption: str, alt_text: str, description: str
    ) -> bool:
        """The caption, on the product and on its cover's media record, in one transaction."""
        product = _product(product_id)
        actions: list[Any] = [
            ProductItem.caption_status.set(TaskStatus.COMPLETED.value),
            ProductItem.caption_text.set(caption),
            ProductItem.caption_alt_text.set(alt_text),
            ProductItem.caption_description.set(description),
            ProductItem.caption_error.remove(),
        ]
        condition = _open_task(task_id) & (ProductItem.caption_media_id == media_id)
        media = MediaItem(pk=f"MEDIA#{media_id}", sk="MEDIA")
        try:
            with transaction("The caption's task was superseded") as tx:
                tx.update(product, list(actions), condition, add_version_condition=False)
                tx.update(
                    media,
                    [MediaItem.caption.set(caption), MediaItem.alt_text.set(alt_text)],
                    MediaItem.pk.exists(),
                )
        except Conflict as exc:
            if (product.pk, product.sk) in exc.failed_keys:
                return False
            # The media record is gone (being replaced): the product still gets its caption.
            return conditional_update(_product(product_id), list(actions), condition)
        return True
