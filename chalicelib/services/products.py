"""Product use cases: create, read, update (with organization transfer), archive, delete."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from chalicelib.config import get_settings
from chalicelib.observability import metric

if TYPE_CHECKING:
    from chalicelib.services.captions import CaptionService
from chalicelib.errors import Busy, Forbidden, InvalidField
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import ProductGender, ProductShootingStatus, TaskStatus
from chalicelib.schemas.products import (
    NOT_NULLABLE_UPDATES,
    STORED_FIELDS,
    MediaInput,
    ProductCreate,
    ProductPublic,
    ProductUpdate,
)
from chalicelib.services.access import SYSTEM, Caller, SystemActor
from chalicelib.services.media import MediaPlan, MediaResolver, store_objects
from chalicelib.services.uploads import can_use_upload
from chalicelib.store.blobs import ImageStore, product_image_key
from chalicelib.store.limits import MAX_ITEM_BYTES, ItemTooLarge
from chalicelib.store.media import MediaRepository
from chalicelib.store.models import MediaItem, ProductItem
from chalicelib.store.products import MAX_NEW_MEDIA, ProductRepository
from chalicelib.store.retry import with_retries

# The request field a stored document field comes from (for errors that name a field).
_INPUT_FIELD = {
    "cover_image_url": "cover_image",
    "cover_image_media": "cover_image",
    "back_image_url": "back_image",
    "back_image_media": "back_image",
    "reference_images_media": "reference_images",
    "data_image_urls": "data_images",
    "data_images_media": "data_images",
}
# Fields copied from the request as they are (images, flags and ownership are handled apart).
_PLAIN_FIELDS = tuple(
    f
    for f in STORED_FIELDS
    if f
    not in {
        "name",
        "gender",
        "cover_image_url",
        "back_image_url",
        "reference_images",
        "cover_image_media",
        "back_image_media",
        "reference_images_media",
        "data_image_urls",
        "public",
        "enabled",
        "archived",
        "demo",
        "is_filler",
    }
)


def _plan_caption(item: ProductItem) -> bool:
    # Imported on use: captioning (its store, queue and backends) is not every cold start's cost.
    from chalicelib.services.captions import plan_caption

    return plan_caption(item)


def auto_is_filler(sku: str | None) -> bool:
    return bool(sku) and str(sku).upper().startswith(("FILLER", "FILL-"))


def media_ids_of(doc: dict[str, Any]) -> set[str]:
    return set(media_of(doc))


def media_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = [
        doc.get("cover_image_media"),
        doc.get("back_image_media"),
        *(doc.get("reference_images_media") or []),
        # Not in ProductPublic: the deprecated data images have URLs only, but their objects
        # are ours and must be tracked like the others.
        *(doc.get("data_images_media") or []),
    ]
    return {m["id"]: m for m in found if m}


def to_public(item: ProductItem) -> ProductPublic:
    doc = with_caption(item, dict(item.doc))
    return ProductPublic.model_validate(
        {
            **doc,
            "id": item.id,
            "created_at": item.created_at,
            "updated_at": item.updated_at,
            "owner_id": item.owner_id,
            "organization_id": item.organization_id,
            "product_type": doc.get("type"),
            "shot_status": item.shot_status or ProductShootingStatus.NOT_STARTED.value,
            "shot_status_shooting_look_id": item.shot_status_look_id,
            # The summaries of the product's shots, kept on the product by every shot change.
            "shots": [shot for shots in (item.shot_summaries or {}).values() for shot in shots],
            "caption_task_id": item.caption_task_id,
            "caption_status": item.caption_status,
            "caption_retry_count": int(item.caption_retry_count or 0),
        }
    )


def with_caption(item: ProductItem, doc: dict[str, Any]) -> dict[str, Any]:
    """The caption worker's texts where the user's are absent: the cover media's caption and alt
    text (when the caption is of that cover) and the product's description."""
    if item.caption_status != TaskStatus.COMPLETED.value:
        return doc
    cover = doc.get("cover_image_media")
    # A caption describes the cover it was made of: once the cover changed (a draft's cover is
    # captioned only when the draft is completed), none of its texts are shown.
    if not isinstance(cover, dict) or cover.get("id") != item.caption_media_id:
        return doc
    cover = dict(cover)
    if cover.get("caption") is None:
        cover["caption"] = item.caption_text
    if cover.get("alt_text") is None:
        cover["alt_text"] = item.caption_alt_text
    doc["cover_image_media"] = cover
    if doc.get("description") is None and item.caption_description:
        doc["description"] = item.caption_description
    return doc


class ProductService:
    def __init__(
        self,
        products: ProductRepository | None = None,
        media: MediaRepository | None = None,
        images: ImageStore | None = None,
        captions: CaptionService | None = None,
    ) -> None:
        self.products = products or ProductRepository()
        self.media = media or MediaRepository()
        self.images = images or ImageStore()
        self._captions = captions

    @property
    def captions(self) -> CaptionService:
        if self._captions is None:
            from chalicelib import wiring

            self._captions = wiring.captions()
        return self._captions

    # -- reads -------------------------------------------------------------------------

    def get(self, caller: Caller | SystemActor, product_id: str, organization_id: str | None) -> ProductItem:
        return caller.check_product(self.products.get(product_id), organization_id, write=False)

    # -- create ------------------------------------------------------------------------

    def create(
        self,
        caller: Caller,
        data: ProductCreate,
        *,
        organization_id: str | None,
        mode: str = "complete",
        demo: bool = False,
        sync_captioning: bool = True,
    ) -> ProductItem:
        org_id = caller.target_organization(data.organization_id, organization_id)
        self._check_image_counts(data)

        now = iso(utcnow())
        product_id = str(uuid.uuid4())
        doc: dict[str, Any] = {f: None for f in STORED_FIELDS}
        doc.update(data.model_dump(mode="json", include=set(_PLAIN_FIELDS)))
        doc.update(
            name=data.name,
            gender=(data.gender or ProductGender.UNISEX).value,
            public=data.public,
            enabled=mode != "basic",
            archived=False,
            demo=demo,
            is_filler=data.is_filler if data.is_filler is not None else auto_is_filler(data.sku),
            reference_images=[],
            data_image_urls=[],
        )
        plan = MediaPlan(product_id=product_id, owner_id=caller.id)
        resolver = self.media_resolver(caller, plan)
        images = {k: getattr(data, k) for k in ("cover_image", "back_image", "reference_images", "data_images")}
        self._apply_images(doc, images, resolver)

        item = ProductItem(
            id=product_id,
            owner_id=caller.id,
            organization_id=org_id,
            created_at=now,
            updated_at=now,
            doc=doc,
            media_ids=sorted(media_ids_of(doc)),
            is_filler_explicit=data.is_filler is not None,
            shot_status=ProductShootingStatus.NOT_STARTED.value,
        )
        captioning = _plan_caption(item)
        try:
            self._store_objects(plan)
            # The product is built once: a retry sends the same records again.
            with_retries(lambda: self._save(item, plan, {}), retry_on=(Busy,))
        except Exception:
            self._discard_uploads(product_id, [plan])
            raise
        self._after_save(item, plan, {})
        metric("ProductsCreated")
        if captioning:
            return self.captions.start(item, sync=sync_captioning)
        return item

    # -- update ------------------------------------------------------------------------

    def update(self, caller: Caller, product_id: str, data: ProductUpdate, organization_id: str | None) -> ProductItem:
        sent = data.model_fields_set
        for name in NOT_NULLABLE_UPDATES:
            if name in sent and getattr(data, name) is None:
                raise InvalidField.single([name], "Field cannot be null", None, "not_nullable")
        self._check_image_counts(data)
        image_fields = {"cover_image", "back_image", "reference_images", "data_images"} & sent
        plans: list[MediaPlan] = []
        resolved: dict[str, Any] = {}

        def attempt() -> tuple[ProductItem, dict[str, dict[str, Any]]]:
            # Every attempt re-reads: a retry applies the request to what is stored now.
            item = caller.check_product(self.products.get(product_id), organization_id, write=True)
            scope = item.scope
            if "organization_id" in sent:
                self._check_transfer(caller, item, str(data.organization_id) if data.organization_id else None)
            if not plans:
                # Images are decoded, checked and stored once; a retry reuses them.
                plan = MediaPlan(product_id=product_id, owner_id=item.owner_id)
                plans.append(plan)
                resolved.update(self._resolve_images(caller, plan, {f: getattr(data, f) for f in image_fields}))
                self._store_objects(plan)
            old_doc = dict(item.doc)
            doc = dict(old_doc)
            doc.update(data.model_dump(mode="json", include=set(_PLAIN_FIELDS) & sent))
            if "name" in sent:
                doc["name"] = data.name
            if "gender" in sent:
                doc["gender"] = (data.gender or ProductGender.UNISEX).value
            if "public" in sent:
                doc["public"] = data.public
            if "enabled" in sent:
                doc["enabled"] = data.enabled
            if "is_filler" in sent:
                item.is_filler_explicit = data.is_filler is not None
            if not item.is_filler_explicit:
                doc["is_filler"] = auto_is_filler(doc.get("sku"))
            elif "is_filler" in sent:
                doc["is_filler"] = data.is_filler
            doc.update(resolved)
            if "organization_id" in sent:
                target = str(data.organization_id) if data.organization_id else None
                if item.organization_id and target is None:
                    # Personal now, so it needs an owner who may see it: the one who moved it out
                    # (its creator may have left the organization, or may not be the one who asked).
                    item.owner_id = caller.id
                item.organization_id = target
            item.doc = doc
            item.media_ids = sorted(media_ids_of(doc))
            item.updated_at = iso(utcnow())
            removed = {m: old for m, old in media_of(old_doc).items() if m not in media_ids_of(doc)}
            captioning[0] = _plan_caption(item)
            if item.scope != scope:
                # Its looks stay in the scope they were made in, where the new readers cannot
                # see them: the shot state follows the looks of the new scope (services/shootings.py).
                from chalicelib import wiring

                wiring.shootings().follow_scope(item)
            self._save(item, plans[0], removed)
            return item, removed

        captioning = [False]
        try:
            item, removed = with_retries(attempt)
        except Exception:
            self._discard_uploads(product_id, plans)
            raise
        self._after_save(item, plans[0], removed)
        if captioning[0]:
            # A changed cover or a completed draft: captioned in the background.
            return self.captions.start(item, sync=False)
        return item

    def set_archived(self, caller: Caller, product_id: str, archived: bool, organization_id: str | None) -> ProductItem:
        def attempt() -> ProductItem:
            item = caller.check_product(self.products.get(product_id), organization_id, write=True)
            item.doc = {**item.doc, "archived": archived}
            item.updated_at = iso(utcnow())
            self.products.save(item)
            return item

        return with_retries(attempt)

    def set_shot_status(
        self, product_id: str, shot_status: ProductShootingStatus, actor: SystemActor = SYSTEM
    ) -> ProductItem:
        """The shootings side's write of a product's status: a system action, not a caller's."""

        def attempt() -> ProductItem:
            item = actor.check_product(self.products.get(product_id), None, write=True)
            self.products.set_shot_status(item, shot_status.value)
            return item

        return with_retries(attempt)

    # -- delete ------------------------------------------------------------------------

    def delete(self, caller: Caller, product_id: str, organization_id: str | None) -> None:
        def attempt() -> ProductItem:
            # Re-read on a retry: the delete must count down the values stored now.
            item = caller.check_product(self.products.get(product_id), organization_id, write=True)
            self.products.delete(item)
            return item

        item = with_retries(attempt)
        # Its objects (images, revision images, generation results) all live under its prefix.
        self.images.delete_prefix(f"products/{item.id}/")

    # -- helpers -----------------------------------------------------------------------

    def _check_transfer(self, caller: Caller, item: ProductItem, target: str | None) -> None:
        current = item.organization_id
        if target == current:
            return
        if current and not (caller.is_superuser or caller.is_org_owner(current)):
            # Only the organization's owner may move a product out of it.
            raise Forbidden()
        if target:
            caller.require_member(target)

    def _check_image_counts(self, data: ProductCreate | ProductUpdate) -> None:
        settings = get_settings()
        for name, limit in (
            ("reference_images", settings.max_reference_images),
            ("data_images", settings.max_data_images),
        ):
            values = getattr(data, name)
            if values is not None and len(values) > limit:
                raise InvalidField.single([name], f"At most {limit} images", len(values), "too_long")

    def media_resolver(
        self, caller: Caller, plan: MediaPlan, kind: type[MediaResolver] = MediaResolver
    ) -> MediaResolver:
        """Image inputs resolved for `caller`: what it may use, stored objects and records planned.
        `kind`: a resolver that keeps its objects elsewhere (generation results)."""

        def can_use(media: MediaItem) -> bool:
            if media.product_id:
                owner = self.products.get(media.product_id)
                return owner is not None and caller.can_read(owner)
            return not media.expired and can_use_upload(caller, media)

        return kind(plan, self.media.get, can_use)

    def _resolve_images(self, caller: Caller, plan: MediaPlan, images: dict[str, Any]) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        self._apply_images(doc, images, self.media_resolver(caller, plan))
        return doc

    @staticmethod
    def _apply_images(doc: dict[str, Any], images: dict[str, Any], resolver: MediaResolver) -> None:
        for single in ("cover_image", "back_image"):
            if single in images:
                value: str | MediaInput | None = images[single]
                resolved = resolver.resolve(value, [single]) if value is not None else None
                doc[f"{single}_url"] = resolved.url if resolved else None
                doc[f"{single}_media"] = resolved.media if resolved else None
        if "reference_images" in images:
            refs = [
                resolver.resolve(v, ["reference_images", i]) for i, v in enumerate(images["reference_images"] or [])
            ]
            doc["reference_images"] = [r.url for r in refs]
            media = [r.media for r in refs if r.media]
            doc["reference_images_media"] = media or None
        if "data_images" in images:
            data = [resolver.resolve(v, ["data_images", i]) for i, v in enumerate(images["data_images"] or [])]
            doc["data_image_urls"] = [r.url for r in data]
            doc["data_images_media"] = [r.media for r in data if r.media] or None

    def _store_objects(self, plan: MediaPlan) -> None:
        """Objects go first: the records that name them are written after, in one transaction."""
        store_objects(self.images, plan)
        plan.uploads.clear()
        plan.copies.clear()

    def _discard_uploads(self, product_id: str, plans: list[MediaPlan]) -> None:
        """Delete the objects a failed write uploaded, except those the stored product names:
        a write whose outcome DynamoDB did not report may have applied."""
        new_items = [m for plan in plans for m in plan.new_items]
        if not new_items:
            return
        stored = self.products.get(product_id)
        kept = set(stored.media_ids) if stored is not None else set()
        self.images.delete([m.key for m in new_items if m.id not in kept])

    def _save(self, item: ProductItem, plan: MediaPlan, removed: dict[str, dict[str, Any]]) -> None:
        kept = set(item.media_ids)
        new_items = [m for m in plan.new_items if m.id in kept]
        if len(new_items) > MAX_NEW_MEDIA:
            raise InvalidField.single(
                ["reference_images"],
                f"At most {MAX_NEW_MEDIA} new images in one request",
                len(new_items),
                "too_long",
            )
        try:
            self.products.save(item, new_media=new_items, removed_media_ids=sorted(removed))
        except ItemTooLarge as exc:
            field = _INPUT_FIELD.get(exc.field or "", exc.field or "")
            raise InvalidField.single(
                [field] if field else [],
                f"The product would take {exc.size} bytes as stored, over the {MAX_ITEM_BYTES}-byte limit;"
                f" {field or 'its largest field'} takes {exc.field_size}",
                None,
                "too_large",
            ) from exc

    def _after_save(self, item: ProductItem, plan: MediaPlan, removed: dict[str, dict[str, Any]]) -> None:
        kept = set(item.media_ids)
        # Objects planned but no longer referenced (replaced within the same request).
        self.images.delete([m.key for m in plan.new_items if m.id not in kept])
        plan.new_items = []
        self.images.delete([product_image_key(item.id, m["id"], m["extension"]) for m in removed.values()])
