"""PynamoDB models of generations: one item per generation under its product, plus pointers.

A generation lives in its product's partition, `PRODUCT#<product_id>` /
`GENERATION#<scope>#<created_at>#<id>` (scope `ORG#<org>` or `USER#<owner>`), so a product's
generations of one scope, newest first, are one Query with `begins_with` read backwards, and
deleting the product's partition deletes its generations. Predictions and their refines are
embedded in the generation item (JSON): a batch is at most a few predictions, each with a bounded
number of refines, so the whole stays far below DynamoDB's 400 KB (and is measured before every
write).

A prediction or refine is found by id through a pointer item, `PREDICTION#<id>` / `PREDICTION`
and `REFINE#<id>` / `REFINE`, holding the generation's keys; a pointer is written in the same
transaction as the generation (or the refine) it points into.

This module must be imported wherever table items are read (`chalicelib/store/models.py` imports
it): PynamoDB's polymorphism only knows the `kind` values of the classes defined.
"""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, ListAttribute, UnicodeAttribute, VersionAttribute

from chalicelib.store.models import TableItem, product_scope

GENERATION_PREFIX = "GENERATION#"


def product_pk(product_id: str) -> str:
    return f"PRODUCT#{product_id}"


def generation_scope_prefix(owner_id: str, organization_id: str | None) -> str:
    """The sort-key prefix of one scope's generations in a product's partition."""
    return f"{GENERATION_PREFIX}{product_scope(owner_id, organization_id)}#"


def prediction_pointer_pk(prediction_id: str) -> str:
    return f"PREDICTION#{prediction_id}"


def refine_pointer_pk(refine_id: str) -> str:
    return f"REFINE#{refine_id}"


PREDICTION_POINTER_SK = "PREDICTION"
REFINE_POINTER_SK = "REFINE"


class GenerationItem(TableItem, discriminator="Generation"):
    id = UnicodeAttribute()
    version = VersionAttribute()
    product_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    organization_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # GenerationStatus, derived from the predictions by the service on every write.
    status = UnicodeAttribute()
    # The generation's own fields (GenerationPublic's inputs) as one JSON document.
    doc = JSONAttribute()
    # The predictions, each with its refines embedded: [{..., "refines": [{...}]}].
    predictions = JSONAttribute()
    # Media records (MEDIA#<id>) of the images stored for this generation's results: deleted with
    # the product (see store.generations.pointer_keys).
    media_ids: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[arg-type]

    @property
    def scope(self) -> str:
        return product_scope(self.owner_id, self.organization_id)

    def refresh_keys(self) -> None:
        self.pk = product_pk(self.product_id)
        self.sk = f"{generation_scope_prefix(self.owner_id, self.organization_id)}{self.created_at}#{self.id}"


class PredictionPointerItem(TableItem, discriminator="PredictionPointer"):
    """Where prediction `id` lives: its generation's keys (and product, for quick checks)."""

    id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    generation_id = UnicodeAttribute()
    generation_pk = UnicodeAttribute()
    generation_sk = UnicodeAttribute()

    def refresh_keys(self) -> None:
        self.pk = prediction_pointer_pk(self.id)
        self.sk = PREDICTION_POINTER_SK


class RefinePointerItem(TableItem, discriminator="RefinePointer"):
    """Where refine `id` lives: its generation's keys and the prediction it refines."""

    id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    prediction_id = UnicodeAttribute()
    generation_id = UnicodeAttribute()
    generation_pk = UnicodeAttribute()
    generation_sk = UnicodeAttribute()

    def refresh_keys(self) -> None:
        self.pk = refine_pointer_pk(self.id)
        self.sk = REFINE_POINTER_SK
