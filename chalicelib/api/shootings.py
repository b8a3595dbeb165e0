"""Shootings, looks, shots, revisions, push records; and the product's shot and look reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import View, endpoint
from chalicelib.schemas.products import OrganizationQuery

if TYPE_CHECKING:
    from chalicelib.schemas.shootings import (
        ExternalImagePushPublic,
        LooksQuery,
        PushRecordCreate,
        PushRecordUpdate,
        ShootingCreate,
        ShootingLookCreate,
        ShootingLookPublic,
        ShootingLooksPublic,
        ShootingLooksSummaryPublic,
        ShootingPublic,
        ShotCreate,
        ShotPublic,
        ShotRevisionCreate,
        ShotRevisionPublic,
        ShotsPublic,
        ShotsQuery,
        ShotUpdate,
    )
    from chalicelib.services.access import Caller

bp = Blueprint(__name__)


def _schemas() -> Any:
    # The models by name, imported on first use: not every cold start's cost (about 9 ms).
    from chalicelib.schemas import shootings

    return shootings


def _views() -> Any:
    # Imported on use: the shootings service is not every cold start's cost.
    from chalicelib.services import shootings

    return shootings


WRITE_ERRORS = frozenset({403, 409, 503})
# The reference's `{product_id}` is `{id}` on these routes: API Gateway needs one name per path
# position, and /products/{id} is taken.
PRODUCT_ID = {"id": "product_id"}


def _write(
    method: str, path: str, operation_id: str, summary: str, tag: str, response: Any, **options: Any
) -> Callable[[View], View]:
    return endpoint(
        bp,
        method,
        path,
        operation_id=operation_id,
        summary=summary,
        tag=tag,
        response=response,
        errors=WRITE_ERRORS,
        **options,
    )


def _product_read(path: str, operation_id: str, summary: str, response: Any, query: Any) -> Callable[[View], View]:
    return endpoint(
        bp,
        "GET",
        path,
        operation_id=operation_id,
        summary=summary,
        tag="products",
        response=response,
        query=query,
        doc_names=PRODUCT_ID,
        errors=frozenset({403}),
    )


@_write(
    "POST",
    "/shootings/",
    "create_shooting",
    "Create Shooting",
    "shootings",
    "shootings.ShootingPublic",
    query=OrganizationQuery,
    body="shootings.ShootingCreate",
)
def create_shooting(caller: Caller, query: OrganizationQuery, body: ShootingCreate) -> ShootingPublic:
    """Create a shooting, personal or in an organization."""
    org = str(query.organization_id) if query.organization_id else None
    item = wiring.shootings().create_shooting(caller, body, org)
    result: ShootingPublic = _schemas().ShootingPublic.model_validate(_views().shooting_public(item))
    return result


@endpoint(
    bp,
    "GET",
    "/shootings/{id}",
    operation_id="read_shooting",
    summary="Read Shooting",
    tag="shootings",
    response="shootings.ShootingPublic",
)
def read_shooting(caller: Caller, id: str) -> ShootingPublic:
    """A shooting."""
    item = wiring.shootings().get_shooting(caller, id)
    result: ShootingPublic = _schemas().ShootingPublic.model_validate(_views().shooting_public(item))
    return result


@_write(
    "POST",
    "/shootings/{id}/looks",
    "create_shooting_look",
    "Create Shooting Look",
    "shootings",
    "shootings.ShootingLookPublic",
    body="shootings.ShootingLookCreate",
)
def create_look(caller: Caller, id: str, body: ShootingLookCreate) -> ShootingLookPublic:
    """Add a look (a main product and its outfit) to a shooting."""
    service = wiring.shootings()
    result: ShootingLookPublic = service.look_view(caller, service.create_look(caller, id, body))
    return result


@_write(
    "POST",
    "/shooting-looks/{id}/shots",
    "create_shot",
    "Create Shot",
    "shots",
    "shootings.ShotPublic",
    body="shootings.ShotCreate",
)
def create_shot(caller: Caller, id: str, body: ShotCreate) -> ShotPublic:
    """Add a shot to a look."""
    look_id, shot = wiring.shootings().add_shot(caller, id, body)
    result: ShotPublic = _views().shot_public(look_id, shot)
    return result


@_write(
    "PATCH", "/shots/{id}", "update_shot", "Update Shot", "shots", "shootings.ShotPublic", body="shootings.ShotUpdate"
)
def update_shot(caller: Caller, id: str, body: ShotUpdate) -> ShotPublic:
    """Review a shot (status) or change what it shows; the product's shot status follows."""
    look_id, shot = wiring.shootings().update_shot(caller, id, body)
    result: ShotPublic = _views().shot_public(look_id, shot)
    return result


@_write(
    "POST",
    "/shots/{id}/revisions",
    "create_shot_revision",
    "Create Shot Revision",
    "shots",
    "shootings.ShotRevisionPublic",
    body="shootings.ShotRevisionCreate",
)
def create_revision(caller: Caller, id: str, body: ShotRevisionCreate) -> ShotRevisionPublic:
    """Add a revision (images) to a shot; it becomes the shot's current revision."""
    revision, shot = wiring.shootings().add_revision(caller, id, body)
    result: ShotRevisionPublic = _views().revision_public(shot, revision)
    return result


@_write(
    "POST",
    "/shots/{id}/revisions/{revision_id}/push-records",
    "create_push_record",
    "Create Push Record",
    "shots",
    "shootings.ExternalImagePushPublic",
    body="shootings.PushRecordCreate",
)
def create_push_record(caller: Caller, id: str, revision_id: str, body: PushRecordCreate) -> ExternalImagePushPublic:
    """Record a push of a revision's images to an external system."""
    record = wiring.shootings().add_push_record(caller, id, revision_id, body)
    result: ExternalImagePushPublic = _schemas().ExternalImagePushPublic.model_validate(record)
    return result


@_write(
    "PATCH",
    "/shots/{id}/revisions/{revision_id}/push-records/{push_id}",
    "update_push_record",
    "Update Push Record",
    "shots",
    "shootings.ExternalImagePushPublic",
    body="shootings.PushRecordUpdate",
)
def update_push_record(
    caller: Caller, id: str, revision_id: str, push_id: str, body: PushRecordUpdate
) -> ExternalImagePushPublic:
    """Change a push record's status as the external system reports it."""
    record = wiring.shootings().update_push_record(caller, id, revision_id, push_id, body)
    result: ExternalImagePushPublic = _schemas().ExternalImagePushPublic.model_validate(record)
    return result


@_product_read(
    "/products/{id}/shots", "read_product_shots", "Read Product Shots", "shootings.ShotsPublic", "shootings.ShotsQuery"
)
def product_shots(caller: Caller, id: str, query: ShotsQuery) -> ShotsPublic:
    """The shots of a product's looks, filtered by status and shot type."""
    result: ShotsPublic = wiring.shootings().product_shots(caller, id, query)
    return result


@_product_read(
    "/products/{id}/shooting-looks",
    "read_product_shooting_looks",
    "Read Product Shooting Looks",
    "shootings.ShootingLooksPublic",
    "shootings.LooksQuery",
)
def product_looks(caller: Caller, id: str, query: LooksQuery) -> ShootingLooksPublic:
    """The looks whose main product is this product, with their shots."""
    result: ShootingLooksPublic = wiring.shootings().product_looks(caller, id, query)
    return result


@_product_read(
    "/products/{id}/shooting-looks-summary",
    "read_product_shooting_looks_summary",
    "Read Product Shooting Looks Summary",
    "shootings.ShootingLooksSummaryPublic",
    "shootings.LooksQuery",
)
def product_looks_summary(caller: Caller, id: str, query: LooksQuery) -> ShootingLooksSummaryPublic:
    """The product's looks in short: look-level data and shot counts, no shots."""
    result: ShootingLooksSummaryPublic = wiring.shootings().product_looks_summary(caller, id, query)
    return result


@_product_read(
    "/products/{id}/related-shooting-looks",
    "read_product_related_shooting_looks",
    "Read Product Related Shooting Looks",
    "shootings.ShootingLooksPublic",
    "shootings.LooksQuery",
)
def related_looks(caller: Caller, id: str, query: LooksQuery) -> ShootingLooksPublic:
    """The looks of the caller's scope (or the organization's) the product appears in, as the main
    product or in the outfit."""
    result: ShootingLooksPublic = wiring.shootings().related_looks(caller, id, query)
    return result
