"""Generations use cases: create a batch, record predictions and refines, read, select shots.

Tenancy. A generation belongs to an organization (created with `organization_id`, by a member)
or is personal (its owner's). Creating one needs write access to the product (it produces content
for it). A generation, its predictions and refines are seen by its owner when personal, by the
organization's members otherwise, and by superusers; anyone else gets a 404 ("Prediction not
found", "Refine not found"). Writing them also needs write access to the product now: the
generation's scope was stored at its creation and outlives a membership, so a member removed from
the product's organization keeps seeing their personal generation (404 once the product is hidden
from them, 403 while it is public) but no longer writes under the product. A product's list shows
the caller's scope only: the organization's generations with `organization_id` (membership
required, 403), else the caller's personal ones.

The ids a generation stores lead to other objects, so each is checked when it is stored (a 422 at
its field): `product2_id` a product the caller may read; `shooting_look_id` a look the caller may
access whose main product is the generation's; `shot_id` a shot of such a look (of the named look
when both are sent).

Writes to a generation are read-modify-writes of its one item under its version, retried on a
stale version (`store.retry.with_retries`). Images are decoded, checked and stored once, before
the write, under `products/<product_id>/generations/`; a write that fails removes the objects
it stored unless the stored generation names them (its outcome may be unknown).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.errors import Busy, Forbidden, InvalidField, NotFound, StaleWrite
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import GenerationStatus, PredictionStatus
from chalicelib.schemas.generations import (
    CREATE_ONLY_FIELDS,
    MAX_REFINES_PER_PREDICTION,
    MAX_SEED,
    MAX_SELECTED_SHOTS,
    GenerationCreate,
    GenerationPublic,
    PredictionPublic,
    PredictionUpdate,
    Product,
    RefineCreate,
    RefinePublic,
    RefineUpdate,
    SelectedShotRequest,
)
from chalicelib.schemas.products import MediaInput
from chalicelib.services.access import Caller
from chalicelib.services.media import MediaPlan, MediaResolver, ResolvedImage, store_objects
from chalicelib.services.products import to_public as product_public
from chalicelib.store.blobs import ImageStore, media_id_of_key
from chalicelib.store.generation_models import GenerationItem, PredictionPointerItem, RefinePointerItem
from chalicelib.store.generations import (
    MAX_GENERATION_BYTES,
    GenerationRepository,
    generation_image_key,
    generation_image_of_key,
)
from chalicelib.store.limits import MAX_ITEM_BYTES, ItemTooLarge
from chalicelib.store.media import MediaRepository
from chalicelib.store.models import MediaItem, ProductItem
from chalicelib.store.products import ProductRepository
from chalicelib.store.retry import with_retries
from chalicelib.store.shootings import ShootingRepository

PREDICTION_NOT_FOUND = "Prediction not found"
REFINE_NOT_FOUND = "Refine not found"

_FINISHED = frozenset({PredictionStatus.SUCCEEDED.value, PredictionStatus.FAILED.value})
# What a MediaInput may say about the image it names (as product images take them).
_MEDIA_OVERRIDES = ("alt_text", "caption", "color_profile", "dominant_color", "duration", "protected")
# Prediction fields a PATCH sets as sent (images apart).
_PREDICTION_FIELDS = (
    "status",
    "result_video_url",
    "seed",
    "duration_seconds",
    "error_message",
    "error_category",
    "shot_type",
    "favourite",
)
_REFINE_FIELDS = (
    "status",
    "width",
    "height",
    "scale_factor",
    "prompt",
    "task_id",
    "error_message",
    "error_category",
)
_IMAGE_GENERATION_FIELDS = (
    "subject_image_media",
    "product_image_media",
    "product2_image_media",
    "garment_placement_base_image_media",
    "reference_images_media",
)


# -- rules -----------------------------------------------------------------------------------


def generation_status(statuses: Sequence[str]) -> GenerationStatus:
    """A generation's status, from its predictions' statuses:

    - every prediction finished (succeeded or failed): COMPLETED when at least one succeeded
      (so all succeeded is COMPLETED, some failed and some succeeded is COMPLETED), FAILED when
      none did;
    - else PROCESSING when any is processing, or when some have finished while others are still
      pending (the batch is under way);
    - else (all pending, or no predictions) PENDING.
    """
    if statuses and all(s in _FINISHED for s in statuses):
        if any(s == PredictionStatus.SUCCEEDED.value for s in statuses):
            return GenerationStatus.COMPLETED
        return GenerationStatus.FAILED
    if any(s == PredictionStatus.PROCESSING.value or s in _FINISHED for s in statuses):
        return GenerationStatus.PROCESSING
    return GenerationStatus.PENDING


def refined_image_url(prediction: dict[str, Any]) -> str | None:
    """The newest successful refine's result image (by created_at, then order of addition)."""
    best: tuple[str, int] | None = None
    url: str | None = None
    for n, refine in enumerate(prediction.get("refines") or []):
        if refine.get("status") != PredictionStatus.SUCCEEDED.value or not refine.get("result_image_url"):
            continue
        rank = (str(refine.get("created_at") or ""), n)
        if best is None or rank > best:
            best, url = rank, refine["result_image_url"]
    return url


def can_access(caller: Caller, generation: GenerationItem) -> bool:
    """Read and write alike: the owner of a personal generation, the members of an
    organization's, and superusers."""
    return caller.in_scope(generation.owner_id, generation.organization_id)


# -- stored <-> wire -------------------------------------------------------------------------


def refine_public(prediction: dict[str, Any], refine: dict[str, Any]) -> RefinePublic:
    return RefinePublic.model_validate({**refine, "prediction_id": prediction["id"]})


def prediction_public(generation: GenerationItem, prediction: dict[str, Any]) -> PredictionPublic:
    return PredictionPublic.model_validate(
        {
            **prediction,
            "generation_id": generation.id,
            "refines": [refine_public(prediction, r) for r in prediction.get("refines") or []],
            "refined_image_url": refined_image_url(prediction),
        }
    )


def to_public(generation: GenerationItem) -> GenerationPublic:
    predictions = list(generation.predictions or [])
    return GenerationPublic.model_validate(
        {
            **generation.doc,
            "id": generation.id,
            "product_id": generation.product_id,
            "owner_id": generation.owner_id,
            "organization_id": generation.organization_id,
            "created_at": generation.created_at,
            "updated_at": generation.updated_at,
            "status": generation_status([p["status"] for p in predictions]),
            "predictions": [prediction_public(generation, p) for p in predictions],
        }
    )


def selected_shot_product(item: ProductItem) -> Product:
    """The reference's `Product`: the product's public fields it names, and `selected_shots`."""
    public = product_public(item).model_dump(mode="json")
    fields = {name: public[name] for name in Product.model_fields if name in public}
    return Product.model_validate({**fields, "selected_shots": dict(item.selected_shots or {})})


def _find(items: list[dict[str, Any]], item_id: str) -> dict[str, Any] | None:
    return next((item for item in items if item.get("id") == item_id), None)


# -- images ----------------------------------------------------------------------------------


class ResultImages(MediaResolver):
    """A result image input (http(s) URL, base64 string, data URL or MediaInput, as product
    images take them) as a URL and, for our own images, a media resource stored under the
    generation's product (`products/<id>/generations/`). An outside URL is kept as a link; a media
    resource of another product or an upload is copied, so the product's delete removes it all."""

    def new_key(self, media_id: str, extension: str) -> str:
        return generation_image_key(self.plan.product_id, media_id, extension)

    def media_id_of(self, key: str) -> str | None:
        generation_image = generation_image_of_key(key)
        return generation_image[1] if generation_image else media_id_of_key(key)

    def shares(self, source: MediaItem) -> bool:
        # Already one of this product's generation images: shared, not copied.
        owner = generation_image_of_key(source.key)
        return owner is not None and owner[0] == self.plan.product_id


# -- the service -----------------------------------------------------------------------------


class GenerationService:
    def __init__(
        self,
        generations: GenerationRepository | None = None,
        products: ProductRepository | None = None,
        media: MediaRepository | None = None,
        images: ImageStore | None = None,
        looks: ShootingRepository | None = None,
    ) -> None:
        self.generations = generations or GenerationRepository()
        self.products = products or ProductRepository()
        self.media = media or MediaRepository()
        self.images = images or ImageStore()
        self.looks = looks or ShootingRepository()

    # -- create ------------------------------------------------------------------------

    def create(self, caller: Caller, data: GenerationCreate, organization_id: str | None) -> GenerationPublic:
        """A generation of `batch_size` pending predictions, for the caller's organization (when
        named, in the body or the query) or personal."""
        org_id = caller.target_organization(data.organization_id, organization_id)
        product = caller.check_product(self.products.get(str(data.product_id)), org_id, write=True)
        self._check_links(caller, product, data)
        now = iso(utcnow())
        generation_id = str(uuid.uuid4())
        seed = data.seed if data.seed is not None else random.randint(0, MAX_SEED)
        doc: dict[str, Any] = data.model_dump(mode="json", exclude=set(CREATE_ONLY_FIELDS))
        doc.update({field: None for field in _IMAGE_GENERATION_FIELDS})
        doc.update(batch_size=data.batch_size, seed=seed)
        predictions: list[dict[str, Any]] = [
            {
                "id": str(uuid.uuid4()),
                "created_at": now,
                "updated_at": now,
                "status": PredictionStatus.PENDING.value,
                # One seed per image of the batch, consecutive from the generation's.
                "seed": (seed + n) % (MAX_SEED + 1),
                "result_image_url": None,
                "result_image_media": None,
                "result_video_url": None,
                "result_video_media": None,
                "duration_seconds": None,
                "favourite": False,
                "error_message": None,
                "error_category": None,
                "shot_type": None,
                "refines": [],
            }
            for n in range(data.batch_size)
        ]
        item = GenerationItem(
            id=generation_id,
            product_id=product.id,
            owner_id=caller.id,
            organization_id=org_id,
            created_at=now,
            updated_at=now,
            status=generation_status([p["status"] for p in predictions]).value,
            doc=doc,
            predictions=predictions,
            media_ids=[],
        )
        item.refresh_keys()
        pointers = [
            PredictionPointerItem(
                id=p["id"],
                product_id=product.id,
                generation_id=generation_id,
                generation_pk=item.pk,
                generation_sk=item.sk,
            )
            for p in predictions
        ]
        # Built once: a retry sends the same items with a new token.
        self._guard_size(lambda: self.generations.create(item, pointers), retry_on=(Busy,))
        return to_public(item)

    # -- reads -------------------------------------------------------------------------

    def list_for_product(
        self, caller: Caller, product_id: str, organization_id: str | None, skip: int, limit: int
    ) -> list[GenerationPublic]:
        product = caller.check_product(self.products.get(product_id), organization_id, write=False)
        items = self.generations.page(product.id, caller.id, organization_id, skip, limit)
        return [to_public(item) for item in items]

    # -- predictions -------------------------------------------------------------------

    def update_prediction(self, caller: Caller, prediction_id: str, data: PredictionUpdate) -> PredictionPublic:
        pointer = self.generations.prediction_pointer(prediction_id)
        first = self._writable(caller, pointer, PREDICTION_NOT_FOUND)
        sent = data.model_fields_set
        plan = MediaPlan(product_id=first.product_id, owner_id=first.owner_id)
        image = self._image(caller, plan, data.result_image, "result_image" in sent)
        reads = [first]

        def attempt() -> tuple[GenerationItem, dict[str, Any]]:
            generation = reads.pop() if reads else self._accessible(caller, pointer, PREDICTION_NOT_FOUND)
            predictions = list(generation.predictions or [])
            prediction = _find(predictions, prediction_id)
            if prediction is None:
                raise NotFound(PREDICTION_NOT_FOUND)
            now = iso(utcnow())
            for name in _PREDICTION_FIELDS:
                if name in sent:
                    value = getattr(data, name)
                    prediction[name] = value.value if isinstance(value, PredictionStatus) else value
            if "result_video_url" in sent:
                prediction["result_video_media"] = None
            if "result_image" in sent:
                prediction["result_image_url"] = image.url if image else None
                prediction["result_image_media"] = image.media if image else None
            prediction["updated_at"] = now
            self._touch(generation, predictions, now)
            self._save(generation, plan, image)
            return generation, prediction

        generation, prediction = self._writing(plan, pointer, attempt)
        return prediction_public(generation, prediction)

    # -- refines -----------------------------------------------------------------------

    def add_refine(self, caller: Caller, prediction_id: str, data: RefineCreate) -> RefinePublic:
        pointer = self.generations.prediction_pointer(prediction_id)
        first = self._writable(caller, pointer, PREDICTION_NOT_FOUND)
        sent = data.model_fields_set
        plan = MediaPlan(product_id=first.product_id, owner_id=first.owner_id)
        image = self._image(caller, plan, data.result_image, "result_image" in sent)
        refine_id = str(uuid.uuid4())
        reads = [first]

        def attempt() -> tuple[GenerationItem, dict[str, Any], dict[str, Any]]:
            generation = reads.pop() if reads else self._accessible(caller, pointer, PREDICTION_NOT_FOUND)
            predictions = list(generation.predictions or [])
            prediction = _find(predictions, prediction_id)
            if prediction is None:
                raise NotFound(PREDICTION_NOT_FOUND)
            refines = list(prediction.get("refines") or [])
            if len(refines) >= MAX_REFINES_PER_PREDICTION:
                raise InvalidField.single(
                    [], f"At most {MAX_REFINES_PER_PREDICTION} refines per prediction", len(refines), "too_long"
                )
            parent = str(data.refines_refine_id) if data.refines_refine_id else None
            if parent is not None and _find(refines, parent) is None:
                raise InvalidField.single(
                    ["refines_refine_id"], "Refine not found in this prediction", parent, "refine_not_found"
                )
            now = iso(utcnow())
            refine = {
                "id": refine_id,
                "created_at": now,
                "updated_at": now,
                "status": data.status.value,
                "result_image_url": image.url if image else None,
                "result_image_media": image.media if image else None,
                "width": data.width,
                "height": data.height,
                "scale_factor": data.scale_factor,
                "prompt": data.prompt,
                "refine_model_id": data.refine_model_id,
                "error_message": data.error_message,
                "error_category": data.error_category,
                "refines_refine_id": parent,
                "task_id": data.task_id,
            }
            prediction["refines"] = [*refines, refine]
            self._touch(generation, predictions, now)
            pointer_item = RefinePointerItem(
                id=refine_id,
                product_id=generation.product_id,
                prediction_id=prediction_id,
                generation_id=generation.id,
                generation_pk=generation.pk,
                generation_sk=generation.sk,
            )
            self._save(generation, plan, image, [pointer_item])
            return generation, prediction, refine

        _, prediction, refine = self._writing(plan, pointer, attempt)
        return refine_public(prediction, refine)

    def update_refine(self, caller: Caller, refine_id: str, data: RefineUpdate) -> RefinePublic:
        pointer = self.generations.refine_pointer(refine_id)
        first = self._writable(caller, pointer, REFINE_NOT_FOUND)
        assert pointer is not None
        sent = data.model_fields_set
        plan = MediaPlan(product_id=first.product_id, owner_id=first.owner_id)
        image = self._image(caller, plan, data.result_image, "result_image" in sent)
        reads = [first]

        def attempt() -> tuple[GenerationItem, dict[str, Any], dict[str, Any]]:
            generation = reads.pop() if reads else self._accessible(caller, pointer, REFINE_NOT_FOUND)
            predictions = list(generation.predictions or [])
            prediction = _find(predictions, pointer.prediction_id)
            refines = list(prediction.get("refines") or []) if prediction else []
            refine = _find(refines, refine_id)
            if prediction is None or refine is None:
                raise NotFound(REFINE_NOT_FOUND)
            now = iso(utcnow())
            for name in _REFINE_FIELDS:
                if name in sent:
                    value = getattr(data, name)
                    refine[name] = value.value if isinstance(value, PredictionStatus) else value
            if "result_image" in sent:
                refine["result_image_url"] = image.url if image else None
                refine["result_image_media"] = image.media if image else None
            refine["updated_at"] = now
            prediction["refines"] = refines
            self._touch(generation, predictions, now)
            self._save(generation, plan, image)
            return generation, prediction, refine

        _, prediction, refine = self._writing(plan, pointer, attempt)
        return refine_public(prediction, refine)

    # -- selected shots ----------------------------------------------------------------

    def select_shot(
        self, caller: Caller, product_id: str, data: SelectedShotRequest, organization_id: str | None
    ) -> Product:
        """Set (or with `prediction_id: null` remove) the product's selected shot of a shot type:
        a version-checked UpdateItem of `selected_shots` alone, retried when the product changed."""
        if str(data.product_id) != product_id:
            raise InvalidField.single(
                ["product_id"], "Must match the product in the path", str(data.product_id), "product_mismatch"
            )
        first = caller.check_product(self.products.get(product_id), organization_id, write=True)
        prediction_id = str(data.prediction_id) if data.prediction_id else None
        if prediction_id is not None:
            self._check_prediction_of(caller, product_id, prediction_id)
        # The first attempt writes under the version just read; a retry reads again.
        reads = [first]

        def attempt() -> ProductItem:
            item = (
                reads.pop()
                if reads
                else caller.check_product(self.products.get(product_id), organization_id, write=True)
            )
            shots = {str(k): str(v) for k, v in (item.selected_shots or {}).items()}
            if prediction_id is None:
                shots.pop(data.shot_type, None)
            else:
                shots[data.shot_type] = prediction_id
                if len(shots) > MAX_SELECTED_SHOTS:
                    raise InvalidField.single(
                        ["shot_type"], f"At most {MAX_SELECTED_SHOTS} selected shot types", len(shots), "too_long"
                    )
            self._write_selected_shots(item, shots)
            return item

        return selected_shot_product(with_retries(attempt))

    def _check_prediction_of(self, caller: Caller, product_id: str, prediction_id: str) -> None:
        """The prediction exists, is this product's, and the caller may see it: else a 422."""
        if self.prediction_of(caller, product_id, prediction_id) is None:
            raise InvalidField.single(
                ["prediction_id"], "Prediction not found for this product", prediction_id, "prediction_not_found"
            )

    def prediction_of(self, caller: Caller, product_id: str, prediction_id: str) -> dict[str, Any] | None:
        """The stored prediction when it is this product's and the caller may see it, else None."""
        pointer = self.generations.prediction_pointer(prediction_id)
        generation = None
        if pointer is not None and pointer.product_id == product_id:
            generation = self.generations.get(pointer.generation_pk, pointer.generation_sk)
        if generation is None or generation.product_id != product_id or not can_access(caller, generation):
            return None
        return _find(list(generation.predictions or []), prediction_id)

    def refine_of(self, caller: Caller, product_id: str, refine_id: str) -> tuple[str, dict[str, Any]] | None:
        """(its prediction's id, the stored refine) when the refine is of a prediction of this
        product and the caller may see it, else None."""
        pointer = self.generations.refine_pointer(refine_id)
        if pointer is None or pointer.product_id != product_id:
            return None
        generation = self.generations.get(pointer.generation_pk, pointer.generation_sk)
        if generation is None or generation.product_id != product_id or not can_access(caller, generation):
            return None
        prediction = _find(list(generation.predictions or []), pointer.prediction_id)
        refine = _find(list(prediction.get("refines") or []), refine_id) if prediction else None
        return (pointer.prediction_id, refine) if refine is not None else None

    def _check_links(self, caller: Caller, product: ProductItem, data: GenerationCreate) -> None:
        """Each id the generation will store names an object the caller may read, and one that
        belongs with the product: else a 422 at its field (one the caller may not see is "not
        found", as a look's products are)."""
        if data.product2_id is not None:
            other_id = str(data.product2_id)
            other = self.products.get(other_id)
            if other is None or not caller.can_read(other):
                raise InvalidField.single(["product2_id"], "Product not found", other_id, "product_not_found")
        look = None
        if data.shooting_look_id is not None:
            look_id = str(data.shooting_look_id)
            look = self.looks.get_look(look_id)
            if look is None or not caller.sees_look(look, product.id):
                raise InvalidField.single(
                    ["shooting_look_id"], "Shooting look not found for this product", look_id, "look_not_found"
                )
        if data.shot_id is not None:
            shot_id = str(data.shot_id)
            ref = self.looks.get_shot_ref(shot_id)
            shot_look = None
            if ref is not None and (look is None or ref.look_id == look.id):
                shot_look = look or self.looks.get_look(ref.look_id)
            shots: list[dict[str, Any]] = (shot_look.shots if shot_look is not None else None) or []
            if (
                shot_look is None
                or not caller.sees_look(shot_look, product.id)
                or not any(shot["id"] == shot_id for shot in shots)
            ):
                where = "this shooting look" if look is not None else "this product"
                raise InvalidField.single(["shot_id"], f"Shot not found for {where}", shot_id, "shot_not_found")

    def _write_selected_shots(self, item: ProductItem, shots: dict[str, str]) -> None:
        try:
            self.products.set_selected_shots(item, shots)
        except ItemTooLarge as exc:
            raise InvalidField.single(
                ["shot_type"], f"The product would take {exc.size} bytes, over {MAX_ITEM_BYTES}", None, "too_large"
            ) from exc

    # -- helpers -----------------------------------------------------------------------

    def _accessible(
        self, caller: Caller, pointer: PredictionPointerItem | RefinePointerItem | None, message: str
    ) -> GenerationItem:
        """The generation a pointer names, when it exists and the caller may see it; else 404."""
        if pointer is None:
            raise NotFound(message)
        generation = self.generations.get(pointer.generation_pk, pointer.generation_sk)
        if generation is None or not can_access(caller, generation):
            raise NotFound(message)
        return generation

    def _writable(
        self, caller: Caller, pointer: PredictionPointerItem | RefinePointerItem | None, message: str
    ) -> GenerationItem:
        """The generation a pointer names, for a write: the caller may see it and may write its
        product now (membership is read on every request; the generation's scope is not enough)."""
        generation = self._accessible(caller, pointer, message)
        product = self.products.get(generation.product_id)
        if product is None or not caller.can_read(product):
            raise NotFound(message)
        if not caller.can_write(product):
            raise Forbidden()
        return generation

    def _image(
        self, caller: Caller, plan: MediaPlan, value: str | MediaInput | None, sent: bool
    ) -> ResolvedImage | None:
        """A result image resolved and its object stored once, before the write (a retry reuses it)."""
        if not sent or value is None:
            return None

        from chalicelib import wiring

        # The product's rules for what an image input may name (its own media, readable
        # products', the caller's uploads), with the objects kept under the generations prefix.
        resolver = wiring.products().media_resolver(caller, plan, ResultImages)
        resolved = resolver.resolve(value, ["result_image"])
        store_objects(self.images, plan)
        plan.uploads.clear()
        plan.copies.clear()
        return resolved

    @staticmethod
    def _touch(generation: GenerationItem, predictions: list[dict[str, Any]], now: str) -> None:
        generation.predictions = predictions
        generation.updated_at = now
        generation.status = generation_status([p["status"] for p in predictions]).value

    def _save(
        self,
        generation: GenerationItem,
        plan: MediaPlan,
        image: ResolvedImage | None,
        pointers: Sequence[PredictionPointerItem | RefinePointerItem] = (),
    ) -> None:
        media_id = image.media["id"] if image is not None and image.media else None
        new_media = [m for m in plan.new_items if m.id == media_id]
        if new_media:
            generation.media_ids = sorted({*(generation.media_ids or []), *(m.id for m in new_media)})
        self.generations.save(generation, new_pointers=pointers, new_media=new_media)

    def _writing(self, plan: MediaPlan, pointer: Any, attempt: Callable[[], Any]) -> Any:
        """Run a generation write with retries; on failure, remove the objects it stored that
        the stored generation does not name."""
        try:
            return self._guard_size(attempt)
        except Exception:
            self._discard(plan, pointer)
            raise

    @staticmethod
    def _guard_size(operation: Callable[[], Any], retry_on: tuple[type[Exception], ...] = (Busy, StaleWrite)) -> Any:
        try:
            return with_retries(operation, retry_on=retry_on)
        except ItemTooLarge as exc:
            raise InvalidField.single(
                [],
                f"The generation would take {exc.size} bytes as stored, over its {MAX_GENERATION_BYTES}-byte budget;"
                f" {exc.field or 'its largest field'} takes {exc.field_size}",
                None,
                "too_large",
            ) from exc

    def _discard(self, plan: MediaPlan, pointer: Any) -> None:
        if not plan.new_items:
            return
        stored = self.generations.get(pointer.generation_pk, pointer.generation_sk) if pointer else None
        kept = set(stored.media_ids or []) if stored is not None else set()
        self.images.delete([m.key for m in plan.new_items if m.id not in kept])
