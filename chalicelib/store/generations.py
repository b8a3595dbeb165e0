"""Generations: one item per generation (predictions and refines embedded), pointers by id.

Reads:
- a product's generations of one scope, newest first: one Query of `PRODUCT#<id>` with
  `begins_with(sk, GENERATION#<scope>#)`, read backwards, `Limit = skip + limit`. The answer of
  `GET /products/{id}/generations` is a bare list (the reference has no count), so no count is
  read; were one needed, a counter item updated in the generation's transaction would be it (a
  `Select=COUNT` Query still reads, and pays for, every generation item of the scope, and these
  items are the large ones of the table).
- a prediction or refine by id: its pointer (GetItem), then the generation (GetItem).

Writes: a new generation is one transaction (the generation and a pointer per prediction); a
change is a read-modify-write of the whole generation item under its version (StaleWrite when
someone wrote it since: the caller re-reads and retries), in a transaction when new pointers or
media records go with it. Every transaction carries a ClientRequestToken (`store.table`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pynamodb.exceptions import PutError, PynamoDBException, TransactWriteError

from chalicelib.errors import Conflict, NotFound, StaleWrite
from chalicelib.store.generation_models import (
    PREDICTION_POINTER_SK,
    REFINE_POINTER_SK,
    GenerationItem,
    PredictionPointerItem,
    RefinePointerItem,
    generation_scope_prefix,
    prediction_pointer_pk,
    product_pk,
    refine_pointer_pk,
)
from chalicelib.store.limits import ItemTooLarge, check_item_size, item_size
from chalicelib.store.models import MediaItem, ProductItem, TableItem, bind_table
from chalicelib.store.table import MAX_TRANSACTION_ITEMS, get_item, transaction, unavailable

logger = logging.getLogger(__name__)

Key = tuple[str, str]

_STALE = "The generation was changed by another request; retry"

# A generation item's budget: below DynamoDB's 400 KB with a margin, so that the estimate
# (store.limits) erring by a little, or an emulator counting a little differently (moto refuses
# items above 405,000 bytes), never turns a write into a ValidationException.
MAX_GENERATION_BYTES = 390_000

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_GENERATION_IMAGE_KEY = re.compile(rf"^products/(?P<product>{_UUID})/generations/(?P<media>{_UUID})\.\w+$")


def generation_image_key(product_id: str, media_id: str, extension: str) -> str:
    """Where a generation's result image lives: under its product, so the product's delete (which
    removes `products/<product_id>/`) removes it."""
    return f"products/{product_id}/generations/{media_id}.{extension}"


def generation_image_of_key(key: str) -> tuple[str, str] | None:
    """(product id, media id) of a generation image's key, else None."""
    match = _GENERATION_IMAGE_KEY.match(key)
    return (match.group("product"), match.group("media")) if match else None


def pointer_keys(items: Iterable[TableItem]) -> list[Key]:
    """Given the items found in a product's partition, the keys outside it that its generations
    own, to delete with the product: the prediction and refine pointers and the media records of
    stored result images. Items other than generations are ignored."""
    keys: list[Key] = []
    for item in items:
        if not isinstance(item, GenerationItem):
            continue
        for prediction in item.predictions or []:
            keys.append((prediction_pointer_pk(prediction["id"]), PREDICTION_POINTER_SK))
            for refine in prediction.get("refines") or []:
                keys.append((refine_pointer_pk(refine["id"]), REFINE_POINTER_SK))
        keys.extend((f"MEDIA#{media_id}", "MEDIA") for media_id in item.media_ids or [])
    return keys


def delete_keys(keys: Sequence[Key]) -> None:
    """Delete items by key in batches (BatchWriteItem, 25 a call, unprocessed items resent).

    Meant for `pointer_keys` after the product's own delete: a pointer left behind points at a
    generation that no longer exists and reads as not found, a media record names a product that
    no longer exists and cannot be used; so a failure here is logged, not raised.
    """
    if not keys:
        return
    try:
        with TableItem.batch_write() as batch:
            for pk, sk in keys:
                batch.delete(TableItem(pk=pk, sk=sk))
    except PynamoDBException:
        logger.warning("generation pointers left behind", extra={"count": len(keys)}, exc_info=True)


class GenerationRepository:
    def __init__(self) -> None:
        bind_table()

    # -- reads -------------------------------------------------------------------------

    def get(self, pk: str, sk: str) -> GenerationItem | None:
        return get_item(GenerationItem, pk, sk)

    def prediction_pointer(self, prediction_id: str) -> PredictionPointerItem | None:
        return get_item(PredictionPointerItem, prediction_pointer_pk(prediction_id), PREDICTION_POINTER_SK)

    def refine_pointer(self, refine_id: str) -> RefinePointerItem | None:
        return get_item(RefinePointerItem, refine_pointer_pk(refine_id), REFINE_POINTER_SK)

    def page(
        self, product_id: str, owner_id: str, organization_id: str | None, skip: int, limit: int
    ) -> list[GenerationItem]:
        """One scope's generations of a product, newest first: reads skip + limit items."""
        wanted = skip + limit
        results = GenerationItem.query(
            product_pk(product_id),
            GenerationItem.sk.startswith(generation_scope_prefix(owner_id, organization_id)),
            scan_index_forward=False,
            limit=wanted,
            page_size=wanted,
        )
        return [item for item in results if isinstance(item, GenerationItem)][skip:]

    # -- writes ------------------------------------------------------------------------

    def create(self, generation: GenerationItem, pointers: Sequence[PredictionPointerItem]) -> None:
        """The generation and its prediction pointers in one transaction; fails if any exists, and
        with NotFound if the product was deleted meanwhile (nothing is left under it).

        The product's version is incremented too (not checked): a product delete that listed the
        product's partition before this commit then fails its own version condition and lists it
        again, so the new generation and its pointers go with the product instead of staying
        behind it."""
        generation.refresh_keys()
        _check_size(generation)
        product_key = (f"PRODUCT#{generation.product_id}", "PRODUCT")
        product = ProductItem(pk=product_key[0], sk=product_key[1], version=0)
        try:
            with _too_large_as_such(generation), transaction("The generation already exists") as tx:
                tx.update(product, [], ProductItem.pk.exists(), add_version_condition=False)
                tx.save(generation)
                for pointer in pointers:
                    pointer.refresh_keys()
                    tx.save(pointer, condition=PredictionPointerItem.pk.does_not_exist())
        except Conflict as exc:
            if product_key in exc.failed_keys:
                raise NotFound("Product not found") from exc
            raise

    def save(
        self,
        generation: GenerationItem,
        new_pointers: Sequence[PredictionPointerItem | RefinePointerItem] = (),
        new_media: Sequence[MediaItem] = (),
    ) -> None:
        """Replace a generation read before, under its version (StaleWrite when it changed since),
        with the new pointers and media records it names, in one transaction when there are any."""
        generation.refresh_keys()
        _check_size(generation)
        if 1 + len(new_pointers) + len(new_media) > MAX_TRANSACTION_ITEMS:
            # Budgeted by the service (one refine, one or two images per write).
            raise RuntimeError("a generation write over the transaction limit")
        if not new_pointers and not new_media:
            self._put(generation)
            return
        key = (generation.pk, generation.sk)
        try:
            with _too_large_as_such(generation), transaction(_STALE) as tx:
                tx.save(generation)
                for pointer in new_pointers:
                    pointer.refresh_keys()
                    tx.save(pointer, condition=type(pointer).pk.does_not_exist())
                for media in new_media:
                    media.refresh_keys()
                    tx.save(media, condition=MediaItem.pk.does_not_exist())
        except Conflict as exc:
            if key in exc.failed_keys:
                raise StaleWrite(_STALE, exc.failed_keys) from exc
            raise

    @staticmethod
    def _put(generation: GenerationItem) -> None:
        try:
            generation.save()
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise StaleWrite(_STALE) from exc
            if _says_too_large(exc):
                raise ItemTooLarge(item_size(generation), "predictions", 0) from exc
            mapped = unavailable(exc.cause_response_code)
            if mapped is None:
                raise
            raise mapped from exc


def _fields(generation: GenerationItem) -> dict[str, Any]:
    """The document's fields and the predictions, for naming the largest when too large."""
    return {**(generation.doc or {}), "predictions": generation.predictions}


def _check_size(generation: GenerationItem) -> None:
    """ItemTooLarge when the generation would pass its budget (MAX_GENERATION_BYTES)."""
    check_item_size(generation, _fields(generation))
    size = item_size(generation)
    if size > MAX_GENERATION_BYTES:
        sizes = {name: len(json.dumps(value, default=str).encode()) for name, value in _fields(generation).items()}
        largest = max(sizes, key=lambda name: sizes[name])
        raise ItemTooLarge(size, largest, sizes[largest])


def _says_too_large(exc: PynamoDBException) -> bool:
    return exc.cause_response_code == "ValidationException" and "size" in (exc.cause_response_message or "").lower()


@contextmanager
def _too_large_as_such(generation: GenerationItem) -> Iterator[None]:
    """DynamoDB's own refusal of an item over its limit (were the budget ever wrong) is the same
    ItemTooLarge as the budget's, not an unhandled error."""
    try:
        yield
    except TransactWriteError as exc:
        if _says_too_large(exc):
            raise ItemTooLarge(item_size(generation), "predictions", 0) from exc
        raise
