"""Products: create, list, read, update (PUT and PATCH alike), archive, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import endpoint
from chalicelib.schemas.common import Message
from chalicelib.schemas.products import (
    ArchivedQuery,
    CreateQuery,
    OrganizationQuery,
    ProductCreate,
    ProductListQuery,
    ProductPublic,
    ProductsPublic,
    ProductUpdate,
)
from chalicelib.services.products import to_public

if TYPE_CHECKING:
    from chalicelib.services.access import Caller

bp = Blueprint(__name__)

TAG = "products"
# Writes: a member's scope (403), a version or name conflict (409), DynamoDB busy (503).
WRITE_ERRORS = frozenset({403, 409, 503})


def _org(q: OrganizationQuery) -> str | None:
    return str(q.organization_id) if q.organization_id else None


@endpoint(
    bp,
    "POST",
    "/products/",
    operation_id="create_product",
    summary="Create Product",
    tag=TAG,
    response=ProductPublic,
    query=CreateQuery,
    body=ProductCreate,
    errors=WRITE_ERRORS,
)
def create_product(caller: Caller, query: CreateQuery, body: ProductCreate) -> ProductPublic:
    """Create a product. `mode=basic` creates a draft (not enabled, not captioned);
    `sync_captioning=false` leaves the caption to the caption worker. Images are URLs, base64
    data or the `media_resource_id` of a READY upload (POST /api/v1/uploads/)."""
    item = wiring.products().create(
        caller, body, organization_id=_org(query), mode=query.mode, sync_captioning=query.sync_captioning
    )
    return to_public(item)


@endpoint(
    bp,
    "GET",
    "/products/",
    operation_id="read_products",
    summary="Read Products",
    tag=TAG,
    response=ProductsPublic,
    query=ProductListQuery,
    multi=("brand_collection", "shot_statuses"),
    errors=frozenset({403}),
)
def list_products(caller: Caller, query: ProductListQuery) -> Any:
    """List the products in the caller's scope, filtered and sorted, one page at a time."""
    return wiring.listing().list(caller, query)


@endpoint(
    bp,
    "GET",
    "/products/{id}",
    operation_id="read_product",
    summary="Read Product",
    tag=TAG,
    response=ProductPublic,
    query=OrganizationQuery,
    errors=frozenset({403}),
)
def read_product(caller: Caller, id: str, query: OrganizationQuery) -> ProductPublic:
    """A product by id, if the caller may read it."""
    return to_public(wiring.products().get(caller, id, _org(query)))


def update_product(caller: Caller, id: str, query: OrganizationQuery, body: ProductUpdate) -> ProductPublic:
    """Change the fields sent (an explicit null clears a nullable field). Setting `enabled` to
    true completes a draft and starts its captioning."""
    return to_public(wiring.products().update(caller, id, body, _org(query)))


for _method, _operation_id in (("PUT", "update_product"), ("PATCH", "patch_product")):
    endpoint(
        bp,
        _method,
        "/products/{id}",
        operation_id=_operation_id,
        summary="Update Product",
        tag=TAG,
        response=ProductPublic,
        query=OrganizationQuery,
        body=ProductUpdate,
        errors=WRITE_ERRORS,
    )(update_product)


@endpoint(
    bp,
    "DELETE",
    "/products/{id}",
    operation_id="delete_product",
    summary="Delete Product",
    tag=TAG,
    response=Message,
    query=OrganizationQuery,
    errors=WRITE_ERRORS,
)
def delete_product(caller: Caller, id: str, query: OrganizationQuery) -> Message:
    """Delete a product with its images and everything recorded about it."""
    wiring.products().delete(caller, id, _org(query))
    return Message(message="Product deleted successfully")


@endpoint(
    bp,
    "PATCH",
    "/products/{id}/archived",
    operation_id="update_product_archive_status",
    summary="Update Product Archive Status",
    tag=TAG,
    response=ProductPublic,
    query=ArchivedQuery,
    errors=WRITE_ERRORS,
)
def set_archived(caller: Caller, id: str, query: ArchivedQuery) -> ProductPublic:
    """Archive or restore a product."""
    return to_public(wiring.products().set_archived(caller, id, query.archived, _org(query)))
