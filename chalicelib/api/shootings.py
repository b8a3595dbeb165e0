"""Shootings, looks, shots, revisions, push records; and the product's shot and look reads."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.api import deps
from chalicelib.api.errors import api_view, render
from chalicelib.api.request import json_body, path_uuid, query
from chalicelib.schemas.products import OrganizationQuery
from chalicelib.schemas.shootings import (
    ExternalImagePushPublic,
    LooksQuery,
    PushRecordCreate,
    PushRecordUpdate,
    ShootingCreate,
    ShootingLookCreate,
    ShootingPublic,
    ShotCreate,
    ShotRevisionCreate,
    ShotsQuery,
    ShotUpdate,
)

bp = Blueprint(__name__)


def _views() -> Any:
    # Imported on use: the shootings service is not every cold start's cost.
    from chalicelib.services import shootings

    return shootings


ANY_CONTENT = ["*/*"]


@bp.route("/shootings/", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_shooting() -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    q = query(request, OrganizationQuery)
    data = json_body(request, ShootingCreate)
    org = str(q.organization_id) if q.organization_id else None
    item = wiring.shootings().create_shooting(caller, data, org)
    return render(ShootingPublic.model_validate(_views().shooting_public(item)))


@bp.route("/shootings/{id}", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_shooting(id: str) -> Response:
    caller = deps.caller(bp.current_request)
    item = wiring.shootings().get_shooting(caller, path_uuid("id", id))
    return render(ShootingPublic.model_validate(_views().shooting_public(item)))


@bp.route("/shootings/{id}/looks", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_look(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    shooting_id = path_uuid("id", id)
    data = json_body(request, ShootingLookCreate)
    service = wiring.shootings()
    return render(service.look_view(caller, service.create_look(caller, shooting_id, data)))


@bp.route("/shooting-looks/{id}/shots", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_shot(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    look_id = path_uuid("id", id)
    data = json_body(request, ShotCreate)
    look_id, shot = wiring.shootings().add_shot(caller, look_id, data)
    return render(_views().shot_public(look_id, shot))


@bp.route("/shots/{id}", methods=["PATCH"], content_types=ANY_CONTENT)
@api_view
def update_shot(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    shot_id = path_uuid("id", id)
    data = json_body(request, ShotUpdate)
    look_id, shot = wiring.shootings().update_shot(caller, shot_id, data)
    return render(_views().shot_public(look_id, shot))


@bp.route("/shots/{id}/revisions", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_revision(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    shot_id = path_uuid("id", id)
    data = json_body(request, ShotRevisionCreate)
    service = wiring.shootings()
    revision, shot = service.add_revision(caller, shot_id, data)
    return render(_views().revision_public(shot, revision))


@bp.route("/shots/{id}/revisions/{revision_id}/push-records", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_push_record(id: str, revision_id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    shot_id = path_uuid("id", id)
    rev_id = path_uuid("revision_id", revision_id)
    data = json_body(request, PushRecordCreate)
    record = wiring.shootings().add_push_record(caller, shot_id, rev_id, data)
    return render(ExternalImagePushPublic.model_validate(record))


@bp.route("/shots/{id}/revisions/{revision_id}/push-records/{push_id}", methods=["PATCH"], content_types=ANY_CONTENT)
@api_view
def update_push_record(id: str, revision_id: str, push_id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    shot_id = path_uuid("id", id)
    rev_id = path_uuid("revision_id", revision_id)
    record_id = path_uuid("push_id", push_id)
    data = json_body(request, PushRecordUpdate)
    record = wiring.shootings().update_push_record(caller, shot_id, rev_id, record_id, data)
    return render(ExternalImagePushPublic.model_validate(record))


# -- the product's reads (the reference's `{product_id}` is `{id}` here: API Gateway needs one
# name per path position, and /products/{id} is taken) ---------------------------------------


@bp.route("/products/{id}/shots", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def product_shots(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    product_id = path_uuid("product_id", id)
    return render(wiring.shootings().product_shots(caller, product_id, query(request, ShotsQuery)))


@bp.route("/products/{id}/shooting-looks", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def product_looks(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    product_id = path_uuid("product_id", id)
    return render(wiring.shootings().product_looks(caller, product_id, query(request, LooksQuery)))


@bp.route("/products/{id}/shooting-looks-summary", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def product_looks_summary(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    product_id = path_uuid("product_id", id)
    return render(wiring.shootings().product_looks_summary(caller, product_id, query(request, LooksQuery)))


@bp.route("/products/{id}/related-shooting-looks", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def related_looks(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    product_id = path_uuid("product_id", id)
    return render(wiring.shootings().related_looks(caller, product_id, query(request, LooksQuery)))
