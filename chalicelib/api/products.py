"""Products: create, list, read, update (PUT and PATCH alike), archive, delete."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.api import deps
from chalicelib.api.errors import api_view, render
from chalicelib.api.request import json_body, path_uuid, query
from chalicelib.schemas.common import Message
from chalicelib.schemas.products import (
    ArchivedQuery,
    CreateQuery,
    OrganizationQuery,
    ProductCreate,
    ProductListQuery,
    ProductUpdate,
)
from chalicelib.services.products import to_public

bp = Blueprint(__name__)

ANY_CONTENT = ["*/*"]


def _org(q: OrganizationQuery) -> str | None:
    return str(q.organization_id) if q.organization_id else None


@bp.route("/products/", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_product() -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    q = query(request, CreateQuery)
    data = json_body(request, ProductCreate)
    item = wiring.products().create(
        caller, data, organization_id=_org(q), mode=q.mode, sync_captioning=q.sync_captioning
    )
    return render(to_public(item))


@bp.route("/products/", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def list_products() -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    q = query(request, ProductListQuery, multi=("brand_collection", "shot_statuses"))
    return render(wiring.listing().list(caller, q))


@bp.route("/products/{id}", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_product(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    product_id = path_uuid("id", id)
    q = query(request, OrganizationQuery)
    return render(to_public(wiring.products().get(caller, product_id, _org(q))))


@bp.route("/products/{id}", methods=["PUT", "PATCH"], content_types=ANY_CONTENT)
@api_view
def update_product(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    product_id = path_uuid("id", id)
    q = query(request, OrganizationQuery)
    data = json_body(request, ProductUpdate)
    return render(to_public(wiring.products().update(caller, product_id, data, _org(q))))


@bp.route("/products/{id}", methods=["DELETE"], content_types=ANY_CONTENT)
@api_view
def delete_product(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    product_id = path_uuid("id", id)
    q = query(request, OrganizationQuery)
    wiring.products().delete(caller, product_id, _org(q))
    return render(Message(message="Product deleted successfully"))


@bp.route("/products/{id}/archived", methods=["PATCH"], content_types=ANY_CONTENT)
@api_view
def set_archived(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    product_id = path_uuid("id", id)
    q = query(request, ArchivedQuery)
    return render(to_public(wiring.products().set_archived(caller, product_id, q.archived, _org(q))))
