"""Shootings, looks, shots, revisions and push records: the write side and the product reads.

A shooting belongs to a user or an organization, as a product does; its looks and shots carry
the same scope. Every product a look names (main and outfit) must be readable by the caller,
and a look is made only in its main product's scope. The product's `shot_status` is derived
from the shots of its most recent look of its own scope (the rule in shared/spec/README.md) and
written with each shot change, in the same transaction.

Stored shapes (LookItem.doc and .shots) are converted to the wire explicitly here, and never
re-validated with input rules on read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from chalicelib.errors import Conflict, InvalidField, NotFound
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import (
    ProductShootingStatus,
    PushStatus,
    ShootingLookStatus,
    ShotStatus,
)
from chalicelib.schemas.shootings import (
    ExternalImagePushPublic,
    LooksQuery,
    PushRecordCreate,
    PushRecordUpdate,
    ShootingCreate,
    ShootingLookCreate,
    ShootingLookOutfitPublic,
    ShootingLookPublic,
    ShootingLooksPublic,
    ShootingLooksSummaryPublic,
    ShootingLookSummary,
    ShotCreate,
    ShotPublic,
    ShotRevisionCreate,
    ShotRevisionImagePublic,
    ShotRevisionPublic,
    ShotsPublic,
    ShotsQuery,
    ShotSummary,
    ShotUpdate,
)
from chalicelib.services.access import Caller
from chalicelib.services.media import MediaPlan, store_objects
from chalicelib.services.products import ProductService, to_public
from chalicelib.store.blobs import ImageStore
from chalicelib.store.limits import ItemTooLarge
from chalicelib.store.models import (
    LookItem,
    LookRefItem,
    MediaItem,
    ProductItem,
    ShootingItem,
    ShotRefItem,
    product_scope,
)
from chalicelib.store.products import ProductRepository
from chalicelib.store.retry import with_retries
from chalicelib.store.shootings import ShootingRepository

T = TypeVar("T")

# Aggregate push status across integrations: the first of these present wins.
PUSH_PRIORITY = (
    PushStatus.FAILED,
    PushStatus.IN_PROGRESS,
    PushStatus.AWAITING_CONFIRMATION,
    PushStatus.PENDING,
    PushStatus.COMPLETED,
)
# Allowed push status changes (a failed push may be retried: back to PENDING).
PUSH_TRANSITIONS: dict[PushStatus, frozenset[PushStatus]] = {
    PushStatus.PENDING: frozenset({PushStatus.IN_PROGRESS, PushStatus.FAILED}),
    PushStatus.IN_PROGRESS: frozenset({PushStatus.AWAITING_CONFIRMATION, PushStatus.COMPLETED, PushStatus.FAILED}),
    PushStatus.AWAITING_CONFIRMATION: frozenset({PushStatus.COMPLETED, PushStatus.FAILED}),
    PushStatus.FAILED: frozenset({PushStatus.PENDING}),
    PushStatus.COMPLETED: frozenset(),
}
MAX_SHOTS_PER_LOOK = 100
MAX_REVISIONS_PER_SHOT = 30
MAX_PUSH_RECORDS = 20


# -- rules -----------------------------------------------------------------------------------


def aggregate_push_status(records: Iterable[dict[str, Any]]) -> PushStatus | None:
    present = {PushStatus(r["push_status"]) for r in records}
    return next((status for status in PUSH_PRIORITY if status in present), None)


def product_shot_status(shots: Sequence[dict[str, Any]]) -> ProductShootingStatus:
    """no shots → NOT_STARTED; any TO_REVIEW → TO_REVIEW; all APPROVED → APPROVED; else IN_PROGRESS."""
    statuses = [s["status"] for s in shots]
    if not statuses:
        return ProductShootingStatus.NOT_STARTED
    if ShotStatus.TO_REVIEW.value in statuses:
        return ProductShootingStatus.TO_REVIEW
    if all(s == ShotStatus.APPROVED.value for s in statuses):
        return ProductShootingStatus.APPROVED
    return ProductShootingStatus.IN_PROGRESS


def look_status(shots: Sequence[dict[str, Any]]) -> ShootingLookStatus:
    """no shots → DRAFT; all approved → COMPLETED; any past PENDING → IN_PROGRESS; else READY."""
    statuses = [s["status"] for s in shots]
    if not statuses:
        return ShootingLookStatus.DRAFT
    if all(s == ShotStatus.APPROVED.value for s in statuses):
        return ShootingLookStatus.COMPLETED
    if any(s != ShotStatus.PENDING.value for s in statuses):
        return ShootingLookStatus.IN_PROGRESS
    return ShootingLookStatus.READY


def _current_revision(shot: dict[str, Any]) -> dict[str, Any] | None:
    current = shot.get("current_revision_id")
    revisions: list[dict[str, Any]] = shot.get("revisions") or []
    return next((r for r in revisions if r["id"] == current), None)


def shot_summary(shot: dict[str, Any]) -> dict[str, Any]:
    revision = _current_revision(shot)
    push = aggregate_push_status(revision.get("push_records") or []) if revision else None
    return {
        "id": shot["id"],
        "shot_type": shot.get("shot_type"),
        "status": shot["status"],
        "current_revision_id": shot.get("current_revision_id"),
        "push_status": push.value if push else None,
    }


def in_products_scope(item: ShootingItem | LookItem, product: ProductItem) -> bool:
    """A look steers its main product (status, order, filters, summaries) only from the
    product's own scope: the looks its readers can see. Checked on every write of the product's
    shot state, and again by `follow_scope` when the product moves, so a look left behind in
    its old scope stops counting (and counts again if the product comes back)."""
    return product_scope(item.owner_id, item.organization_id) == product.scope


def follow_scope(product: ProductItem, looks: Iterable[LookItem]) -> None:
    """The product's shot state derived again from its looks (all of them, read consistently)
    that are in its scope now: after a move between scopes."""
    own = sorted(
        (look for look in looks if look.product_id == product.id and in_products_scope(look, product)),
        key=lambda look: (look.created_at, look.id),
    )
    newest = own[-1] if own else None
    # Oldest first, as the looks' creations added them.
    product.shot_summaries = {look.id: [shot_summary(shot) for shot in look.shots or []] for look in own}
    product.shot_status_look_id = newest.id if newest else None
    product.shot_status = product_shot_status((newest.shots or []) if newest else []).value
    product.shooting_ids = sorted({look.shooting_id for look in own})


# -- stored shapes to the wire ---------------------------------------------------------------


def _image_public(revision_id: str, image: dict[str, Any]) -> ShotRevisionImagePublic:
    media = image.get("image_media")
    return ShotRevisionImagePublic.model_validate(
        {
            **image,
            "shot_revision_id": revision_id,
            "effective_image_url": (media or {}).get("url") or image.get("image_url"),
        }
    )


def revision_public(shot: dict[str, Any], revision: dict[str, Any]) -> ShotRevisionPublic:
    images = [_image_public(revision["id"], image) for image in revision.get("images") or []]
    push = aggregate_push_status(revision.get("push_records") or [])
    return ShotRevisionPublic.model_validate(
        {
            **{k: v for k, v in revision.items() if k not in {"images", "push_records"}},
            "shot_id": shot["id"],
            "display_name": f"{shot.get('shot_type') or 'Shot'} v{revision['version']}",
            "images": images,
            "effective_image_url": next((i.effective_image_url for i in images if i.effective_image_url), None),
            "push_records": [ExternalImagePushPublic.model_validate(p) for p in revision.get("push_records") or []],
            "push_status": push,
        }
    )


def shot_public(look_id: str, shot: dict[str, Any]) -> ShotPublic:
    return ShotPublic.model_validate(
        {
            **{k: v for k, v in shot.items() if k != "revisions"},
            "shooting_look_id": look_id,
            "revisions": [revision_public(shot, r) for r in shot.get("revisions") or []],
        }
    )


def _look_fields(look: LookItem, product: ProductItem | None) -> dict[str, Any]:
    doc = look.doc
    shots = look.shots or []
    cover = product.doc.get("cover_image_url") if product else None
    return {
        "id": look.id,
        "shooting_id": look.shooting_id,
        "product_id": look.product_id,
        "product_name": product.doc.get("name") if product else None,
        "product_sku": product.doc.get("sku") if product else None,
        "product_cover_image_url": cover,
        "status": look_status(shots).value,
        "shot_status": product_shot_status(shots).value,
        "created_at": look.created_at,
        "updated_at": look.updated_at,
        "subject_id": doc.get("subject_id"),
        "style_id": doc.get("style_id"),
        "width": doc.get("width"),
        "height": doc.get("height"),
        "file_format": doc.get("file_format") or "png",
    }


def _outfit(look: LookItem, products: dict[str, ProductItem]) -> ShootingLookOutfitPublic | None:
    doc = look.doc
    if not doc.get("outfit_id"):
        return None
    ids = doc.get("outfit_product_ids") or []
    return ShootingLookOutfitPublic.model_validate(
        {
            "id": doc["outfit_id"],
            "created_at": look.created_at,
            "updated_at": look.updated_at,
            "shooting_look_id": look.id,
            "outfit_product_ids": ids,
            "outfit_products": [to_public(products[i]) for i in ids if i in products],
            "outfit_instruction": doc.get("outfit_instruction"),
        }
    )


def look_public(look: LookItem, products: dict[str, ProductItem]) -> ShootingLookPublic:
    doc = look.doc
    outfit = _outfit(look, products)
    return ShootingLookPublic.model_validate(
        {
            **_look_fields(look, products.get(look.product_id)),
            "outfit_id": doc.get("outfit_id"),
            "outfit": outfit,
            "outfit_product_ids": doc.get("outfit_product_ids") or [],
            "outfit_instruction": doc.get("outfit_instruction"),
            "outfit_proposals": [outfit] if outfit else [],
            "shots": [shot_public(look.id, shot) for shot in look.shots or []],
        }
    )


def look_summary(look: LookItem, products: dict[str, ProductItem]) -> ShootingLookSummary:
    return ShootingLookSummary.model_validate(
        {
            **_look_fields(look, products.get(look.product_id)),
            "outfit_products_count": len(look.doc.get("outfit_product_ids") or []),
            "shots": [ShotSummary.model_validate(shot_summary(shot)) for shot in look.shots or []],
        }
    )


def shooting_public(item: ShootingItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "owner_id": item.owner_id,
        "organization_id": item.organization_id,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _too_large(exc: ItemTooLarge) -> InvalidField:
    what = "shot_summaries" if exc.field == "shot_summaries" else "look"
    return InvalidField.single(
        [],
        f"The change would take {exc.size} bytes as stored, over DynamoDB's 400 KB"
        f" ({'the product carries too many shots' if what == 'shot_summaries' else 'the look is too large'})",
        None,
        "too_large",
    )


def _page[T](items: list[T], skip: int, limit: int) -> list[T]:
    return items[skip : skip + limit]


# -- the service -----------------------------------------------------------------------------


class ShootingService:
    def __init__(
        self,
        repo: ShootingRepository | None = None,
        products: ProductRepository | None = None,
        product_service: ProductService | None = None,
        images: ImageStore | None = None,
    ) -> None:
        self.repo = repo or ShootingRepository()
        self.products = products or ProductRepository()
        self._product_service = product_service
        self.images = images or ImageStore()

    @property
    def product_service(self) -> ProductService:
        if self._product_service is None:
            from chalicelib import wiring

            self._product_service = wiring.products()
        return self._product_service

    # -- tenancy -------------------------------------------------------------------------

    @staticmethod
    def can_access(caller: Caller, item: ShootingItem | LookItem) -> bool:
        return caller.in_scope(item.owner_id, item.organization_id)

    def _shooting(self, caller: Caller, shooting_id: str) -> ShootingItem:
        item = self.repo.get_shooting(shooting_id)
        if item is None or not self.can_access(caller, item):
            raise NotFound("Shooting not found")
        return item

    def _look(self, caller: Caller, look_id: str) -> LookItem:
        look = self.repo.get_look(look_id)
        if look is None or not self.can_access(caller, look):
            raise NotFound("Shooting look not found")
        return look

    def _shot(self, caller: Caller, shot_id: str) -> tuple[LookItem, dict[str, Any]]:
        ref = self.repo.get_shot_ref(shot_id)
        look = self.repo.get_look(ref.look_id) if ref else None
        shots: list[dict[str, Any]] = (look.shots if look else None) or []
        shot = next((s for s in shots if s["id"] == shot_id), None)
        if look is None or shot is None or not self.can_access(caller, look):
            raise NotFound("Shot not found")
        return look, shot

    # -- shootings and looks -------------------------------------------------------------

    def create_shooting(self, caller: Caller, data: ShootingCreate, organization_id: str | None) -> ShootingItem:
        org_id = caller.target_organization(data.organization_id, organization_id)
        now = iso(utcnow())
        item = ShootingItem(
            id=str(uuid.uuid4()),
            name=data.name,
            owner_id=caller.id,
            organization_id=org_id,
            created_at=now,
            updated_at=now,
        )
        self.repo.create_shooting(item)
        return item

    def get_shooting(self, caller: Caller, shooting_id: str) -> ShootingItem:
        return self._shooting(caller, shooting_id)

    def follow_scope(self, product: ProductItem) -> None:
        """Set a product that is moving to another scope to the shot state of its looks there
        (ProductService.update, in the write of the move, under the product's version)."""
        follow_scope(product, self.repo.main_looks(product.id))

    def create_look(self, caller: Caller, shooting_id: str, data: ShootingLookCreate) -> LookItem:
        shooting = self._shooting(caller, shooting_id)
        product_id = str(data.product_id)
        sent_outfit = [str(p) for p in data.outfit_product_ids]
        # The main product's status, summaries and order follow the look: its writers only. An
        # outfit product is only shown, so reading it is enough.
        self._check_products(caller, [product_id], ["product_id"], write=True)
        self._check_products(caller, sent_outfit, ["outfit_product_ids"], write=False)
        outfit_ids = list(dict.fromkeys(p for p in sent_outfit if p != product_id))
        now = iso(utcnow())
        look = LookItem(
            id=str(uuid.uuid4()),
            shooting_id=shooting.id,
            product_id=product_id,
            # The shooting's: a look added by a superuser (or a member) belongs to its scope.
            owner_id=shooting.owner_id,
            organization_id=shooting.organization_id,
            created_at=now,
            updated_at=now,
            doc={
                "outfit_id": str(uuid.uuid4()) if outfit_ids else None,
                "outfit_product_ids": outfit_ids,
                "outfit_instruction": data.outfit_instruction,
                "subject_id": str(data.subject_id) if data.subject_id else None,
                "style_id": str(data.style_id) if data.style_id else None,
                "width": data.width,
                "height": data.height,
                "file_format": data.file_format,
            },
            shots=[],
        )
        refs = [LookRefItem(product_id=product_id, look_id=look.id, role="main", created_at=now)]
        refs += [LookRefItem(product_id=p, look_id=look.id, role="outfit", created_at=now) for p in outfit_ids]

        def attempt() -> LookItem:
            product = self.products.get(product_id)
            if product is None:
                raise InvalidField.single(["product_id"], "Product not found", product_id, "product_not_found")
            if not in_products_scope(shooting, product):
                # Checked on the product as this attempt writes it (under its version): a move
                # meanwhile fails the write, and the retry sees the new scope.
                raise InvalidField.single(
                    ["product_id"],
                    "The product is not in the shooting's scope: a look belongs to its main product's"
                    " organization (or to its owner, for a personal product)",
                    product_id,
                    "scope_mismatch",
                )
            # The newest look is the one the product's status follows.
            product.shot_status_look_id = look.id
            product.shot_status = ProductShootingStatus.NOT_STARTED.value
            product.shot_summaries = {**(product.shot_summaries or {}), look.id: []}
            product.shooting_ids = sorted({*(product.shooting_ids or []), shooting.id})
            try:
                self.repo.create_look(look, refs, product)
            except ItemTooLarge as exc:
                raise _too_large(exc) from exc
            except Conflict as exc:
                gone = [p for p in outfit_ids if (f"PRODUCT#{p}", "PRODUCT") in exc.failed_keys]
                if not gone:
                    raise
                index = sent_outfit.index(gone[0])
                raise InvalidField.single(
                    ["outfit_product_ids", index], "Product not found", gone[0], "product_not_found"
                ) from exc
            return look

        return with_retries(attempt)

    def _check_products(self, caller: Caller, product_ids: list[str], loc: list[str | int], *, write: bool) -> None:
        """Each product exists and the caller may read it (and write it, with `write`): else a
        422 at its place in the body (a product the caller may not see is "not found")."""
        if not product_ids:
            return
        found = self.products.batch_get(list(dict.fromkeys(product_ids)))
        for index, product_id in enumerate(product_ids):
            product = found.get(product_id)
            where = loc if loc == ["product_id"] else [*loc, index]
            if product is None or not caller.can_read(product):
                raise InvalidField.single(where, "Product not found", product_id, "product_not_found")
            if write and not caller.can_write(product):
                raise InvalidField.single(where, "Not enough permissions on this product", product_id, "forbidden")

    # -- shots ---------------------------------------------------------------------------

    def _change(
        self,
        caller: Caller,
        find: Callable[[], tuple[LookItem, dict[str, Any] | None]],
        change: Callable[[LookItem, dict[str, Any] | None], T],
        new_shot: Callable[[LookItem], ShotRefItem | None] = lambda look: None,
        new_media: Sequence[MediaItem] = (),
        first: tuple[LookItem, dict[str, Any] | None, ProductItem | None] | None = None,
    ) -> T:
        """Read the look (and shot), apply `change`, write it with the product's copies; a
        concurrent change of either re-reads and applies again. `first`: the look, shot and
        product the caller has just read, for the first attempt (no second read)."""
        reads = [first] if first is not None else []

        def attempt() -> T:
            if reads:
                look, shot, product = reads.pop()
            else:
                look, shot = find()
                product = self.products.get(look.product_id)
            if product is not None and not caller.can_write(product):
                # The product's status follows its shots: only its writers change them.
                raise NotFound("Shot not found" if shot is not None else "Shooting look not found")
            result = change(look, shot)
            look.updated_at = iso(utcnow())
            # A look left in another scope by its product's move changes alone; the product is
            # still written (unchanged) so this write and a move back are ordered by its version.
            if product is not None and in_products_scope(look, product):
                summaries = dict(product.shot_summaries or {})
                summaries[look.id] = [shot_summary(s) for s in look.shots or []]
                product.shot_summaries = summaries
                if product.shot_status_look_id == look.id:
                    product.shot_status = product_shot_status(look.shots or []).value
            try:
                self.repo.save_look(look, product, new_shot(look), new_media)
            except ItemTooLarge as exc:
                raise _too_large(exc) from exc
            return result

        return with_retries(attempt)

    def add_shot(self, caller: Caller, look_id: str, data: ShotCreate) -> tuple[str, dict[str, Any]]:
        shot_id = str(uuid.uuid4())

        def change(look: LookItem, _: dict[str, Any] | None) -> dict[str, Any]:
            if len(look.shots or []) >= MAX_SHOTS_PER_LOOK:
                raise InvalidField.single([], f"A look has at most {MAX_SHOTS_PER_LOOK} shots", None, "too_long")
            now = iso(utcnow())
            shot: dict[str, Any] = {
                "id": shot_id,
                "shot_type": data.shot_type,
                "pose_preset_id": str(data.pose_preset_id) if data.pose_preset_id else None,
                "status": ShotStatus.PENDING.value,
                "current_revision_id": None,
                "rework_available": 0,
                "rework_used": 0,
                "revisions": [],
                "created_at": now,
                "updated_at": now,
            }
            look.shots = [*(look.shots or []), shot]
            return shot

        def new_shot(look: LookItem) -> ShotRefItem:
            return ShotRefItem(shot_id=shot_id, look_id=look.id, product_id=look.product_id)

        shot = self._change(caller, lambda: (self._look(caller, look_id), None), change, new_shot)
        return look_id, shot

    def update_shot(self, caller: Caller, shot_id: str, data: ShotUpdate) -> tuple[str, dict[str, Any]]:
        def change(look: LookItem, shot: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
            assert shot is not None
            shot["status"] = data.status.value
            shot["updated_at"] = iso(utcnow())
            revision = _current_revision(shot)
            if revision is not None:
                revision["shot_status"] = data.status.value
            return look.id, shot

        return self._change(caller, lambda: self._shot(caller, shot_id), change)

    def add_revision(
        self, caller: Caller, shot_id: str, data: ShotRevisionCreate
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The new revision and its shot as written (stored shapes): the route renders them
        without reading the look again."""
        look, first_shot = self._shot(caller, shot_id)
        product = self.products.get(look.product_id)
        if product is None or not caller.can_write(product):
            raise NotFound("Shot not found")
        # Images are checked and stored once (under the product's prefix, so the product's
        # delete removes them); a retry of the look write reuses them.
        plan = MediaPlan(product_id=product.id, owner_id=product.owner_id, reuse_own=False)
        resolver = self.product_service.media_resolver(caller, plan)
        now = iso(utcnow())
        revision_id = str(uuid.uuid4())
        images = []
        for index, entry in enumerate(data.images):
            prediction = self._sources(
                caller,
                product.id,
                str(entry.prediction_id) if entry.prediction_id else None,
                str(entry.refine_id) if entry.refine_id else None,
                ["images", index],
            )
            if entry.image is None:
                url, media = self._prediction_image(prediction, ["images", index, "prediction_id"])
            else:
                resolved = resolver.resolve(entry.image, ["images", index, "image"])
                url, media = resolved.url, resolved.media
            images.append(
                {
                    "id": str(uuid.uuid4()),
                    "source_type": entry.source_type.value,
                    "prediction_id": str(entry.prediction_id) if entry.prediction_id else None,
                    "refine_id": str(entry.refine_id) if entry.refine_id else None,
                    "image_url": url,
                    "image_media": media,
                    "notes": entry.notes,
                    "autogenerated": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )

        def change(look: LookItem, shot: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
            assert shot is not None
            revisions = list(shot.get("revisions") or [])
            if len(revisions) >= MAX_REVISIONS_PER_SHOT:
                raise InvalidField.single(
                    [], f"A shot has at most {MAX_REVISIONS_PER_SHOT} revisions", None, "too_long"
                )
            revision = {
                "id": revision_id,
                "version": max((r["version"] for r in revisions), default=0) + 1,
                "notes": data.notes,
                "shot_status": ShotStatus.TO_REVIEW.value,
                "shot_revision_status": None,
                "owner_id": caller.id,
                "created_at": now,
                "updated_at": now,
                "previous_revision_id": shot.get("current_revision_id"),
                "images": images,
                "push_records": [],
            }
            shot["revisions"] = [*revisions, revision]
            shot["current_revision_id"] = revision_id
            shot["status"] = ShotStatus.TO_REVIEW.value
            shot["rework_used"] = max(0, len(shot["revisions"]) - 1)
            shot["updated_at"] = now
            return shot, revision

        try:
            store_objects(self.images, plan)
            shot, revision = self._change(
                caller,
                lambda: self._shot(caller, shot_id),
                change,
                new_media=plan.new_items,
                first=(look, first_shot, product),
            )
            return revision, shot
        except Exception:
            self._discard(plan, shot_id)
            raise

    def _discard(self, plan: MediaPlan, shot_id: str) -> None:
        """Delete the objects a failed revision write stored, except those the stored look
        names: a write whose outcome DynamoDB did not report may have applied."""
        if not plan.new_items:
            return
        ref = self.repo.get_shot_ref(shot_id)
        look = self.repo.get_look(ref.look_id) if ref else None
        kept = {
            image["image_media"]["id"]
            for shot in (look.shots if look else None) or []
            for revision in shot.get("revisions") or []
            for image in revision.get("images") or []
            if isinstance(image.get("image_media"), dict)
        }
        self.images.delete([m.key for m in plan.new_items if m.id not in kept])

    @staticmethod
    def _sources(
        caller: Caller, product_id: str, prediction_id: str | None, refine_id: str | None, loc: list[str | int]
    ) -> dict[str, Any] | None:
        """The prediction and refine a revision image names (stored with it, shown as its sources):
        each must be of the look's product and one the caller may see, and the refine one of the
        named prediction's; else a 422 at the id. The prediction, when one is named."""
        from chalicelib import wiring

        generations = wiring.generations()
        prediction = None
        if prediction_id is not None:
            prediction = generations.prediction_of(caller, product_id, prediction_id)
            if prediction is None:
                raise InvalidField.single(
                    [*loc, "prediction_id"],
                    "Prediction not found for this product",
                    prediction_id,
                    "prediction_not_found",
                )
        if refine_id is not None:
            found = generations.refine_of(caller, product_id, refine_id)
            if found is None:
                raise InvalidField.single(
                    [*loc, "refine_id"], "Refine not found for this product", refine_id, "refine_not_found"
                )
            if prediction_id is not None and found[0] != prediction_id:
                raise InvalidField.single(
                    [*loc, "refine_id"], "The refine is not one of this prediction's", refine_id, "refine_mismatch"
                )
        return prediction

    @staticmethod
    def _prediction_image(prediction: dict[str, Any] | None, loc: list[str | int]) -> tuple[str, dict[str, Any] | None]:
        """A succeeded prediction's result image (of the look's product): it becomes the
        revision's image as stored (the generation's object stays under the product's prefix)."""
        # The input's rule: an image, or a PREDICTION source with its prediction_id (checked by _sources).
        assert prediction is not None
        if prediction.get("status") != "succeeded" or not prediction.get("result_image_url"):
            raise InvalidField.single(
                loc, "The prediction has no result image yet", prediction.get("id"), "prediction_not_ready"
            )
        return str(prediction["result_image_url"]), prediction.get("result_image_media")

    # -- push records --------------------------------------------------------------------

    def add_push_record(self, caller: Caller, shot_id: str, revision_id: str, data: PushRecordCreate) -> dict[str, Any]:
        def change(look: LookItem, shot: dict[str, Any] | None) -> dict[str, Any]:
            revision = self._revision(shot, revision_id)
            records = list(revision.get("push_records") or [])
            if len(records) >= MAX_PUSH_RECORDS:
                raise InvalidField.single(
                    [], f"A revision has at most {MAX_PUSH_RECORDS} push records", None, "too_long"
                )
            now = iso(utcnow())
            record = {
                "id": str(uuid.uuid4()),
                "integration_id": str(data.integration_id),
                "push_status": PushStatus.PENDING.value,
                "pushed_at": None,
                "completed_at": None,
                "error_message": None,
                "created_at": now,
                "updated_at": now,
            }
            revision["push_records"] = [*records, record]
            return record

        return self._change(caller, lambda: self._shot(caller, shot_id), change)

    def update_push_record(
        self, caller: Caller, shot_id: str, revision_id: str, push_id: str, data: PushRecordUpdate
    ) -> dict[str, Any]:
        def change(look: LookItem, shot: dict[str, Any] | None) -> dict[str, Any]:
            revision = self._revision(shot, revision_id)
            records: list[dict[str, Any]] = revision.get("push_records") or []
            record = next((r for r in records if r["id"] == push_id), None)
            if record is None:
                raise NotFound("Push record not found")
            current = PushStatus(record["push_status"])
            target = data.push_status
            if target != current and target not in PUSH_TRANSITIONS[current]:
                raise InvalidField.single(
                    ["push_status"],
                    f"A push record cannot go from {current.value} to {target.value}",
                    target.value,
                    "invalid_transition",
                )
            now = iso(utcnow())
            record["push_status"] = target.value
            record["updated_at"] = now
            if target == PushStatus.IN_PROGRESS and record.get("pushed_at") is None:
                record["pushed_at"] = now
            if target == PushStatus.COMPLETED:
                record["completed_at"] = now
            record["error_message"] = data.error_message if target == PushStatus.FAILED else None
            return record

        return self._change(caller, lambda: self._shot(caller, shot_id), change)

    @staticmethod
    def _revision(shot: dict[str, Any] | None, revision_id: str) -> dict[str, Any]:
        revisions: list[dict[str, Any]] = (shot or {}).get("revisions") or []
        revision = next((r for r in revisions if r["id"] == revision_id), None)
        if revision is None:
            raise NotFound("Shot revision not found")
        return revision

    # -- the product's reads -------------------------------------------------------------

    def _product(self, caller: Caller, product_id: str, organization_id: str | None) -> ProductItem:
        return caller.check_product(self.products.get(product_id), organization_id, write=False)

    def _readable_looks(self, caller: Caller, looks: Iterable[LookItem]) -> list[LookItem]:
        return [look for look in looks if self.can_access(caller, look)]

    def product_shots(self, caller: Caller, product_id: str, q: ShotsQuery) -> ShotsPublic:
        self._product(caller, product_id, str(q.organization_id) if q.organization_id else None)
        shots = [
            (look.id, shot)
            for look in self._readable_looks(caller, self.repo.looks_of_product(product_id))
            for shot in look.shots or []
            if (q.shot_type is None or shot.get("shot_type") == q.shot_type)
            and (q.status is None or shot["status"] == q.status.value)
        ]
        page = _page(shots, q.skip, q.limit)
        return ShotsPublic(data=[shot_public(look_id, shot) for look_id, shot in page], count=len(shots))

    def product_looks(self, caller: Caller, product_id: str, q: LooksQuery) -> ShootingLooksPublic:
        product = self._product(caller, product_id, str(q.organization_id) if q.organization_id else None)
        looks = self._readable_looks(caller, self.repo.looks_of_product(product_id))
        page = _page(looks, q.skip, q.limit)
        products = self._products_of(caller, page, {product.id: product})
        return ShootingLooksPublic(data=[look_public(look, products) for look in page], count=len(looks))

    def product_looks_summary(self, caller: Caller, product_id: str, q: LooksQuery) -> ShootingLooksSummaryPublic:
        product = self._product(caller, product_id, str(q.organization_id) if q.organization_id else None)
        looks = self._readable_looks(caller, self.repo.looks_of_product(product_id))
        page = _page(looks, q.skip, q.limit)
        products = {product.id: product}
        return ShootingLooksSummaryPublic(data=[look_summary(look, products) for look in page], count=len(looks))

    def related_looks(self, caller: Caller, product_id: str, q: LooksQuery) -> ShootingLooksPublic:
        """The looks of one scope that the product takes part in (main or outfit), newest first:
        with `organization_id` that organization's (membership required, 403), else the caller's
        own; a superuser's without it, every scope's (by scope, then newest first). The product
        must be readable, and may be of another scope (a public product in the outfit).

        A public product may be named by any tenant's looks: only the scope's references are
        read, a page of them, then the page's looks; `count` is the scope's references (one whose
        look is gone, left by a product delete that failed midway, counts but shows nothing)."""
        org_id = str(q.organization_id) if q.organization_id else None
        if org_id is not None:
            caller.require_member(org_id)
        product = caller.check_product(self.products.get(product_id), None, write=False)
        scope = None if org_id is None and caller.is_superuser else product_scope(caller.id, org_id)
        refs, count = self.repo.related_page(product.id, scope, q.skip, q.limit)
        look_ids = [ref.look_id for ref in refs]
        found = self.repo.batch_get_looks(look_ids)
        page = self._readable_looks(caller, (found[i] for i in look_ids if i in found))
        products = self._products_of(caller, page, {product.id: product})
        return ShootingLooksPublic(data=[look_public(look, products) for look in page], count=count)

    def look_view(self, caller: Caller, look: LookItem) -> ShootingLookPublic:
        return look_public(look, self._products_of(caller, [look], {}))

    def _products_of(
        self, caller: Caller, looks: Sequence[LookItem], known: dict[str, ProductItem]
    ) -> dict[str, ProductItem]:
        """The main and outfit products of these looks that the caller may read (one BatchGet)."""
        wanted = {look.product_id for look in looks} | {
            pid for look in looks for pid in look.doc.get("outfit_product_ids") or []
        }
        missing = [pid for pid in wanted if pid not in known]
        found = {**known, **(self.products.batch_get(missing) if missing else {})}
        return {pid: item for pid, item in found.items() if caller.can_read(item)}
