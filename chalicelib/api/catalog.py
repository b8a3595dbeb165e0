"""Brands, brand collections, seasons and years."""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.api import deps
from chalicelib.api.errors import api_view, render
from chalicelib.api.request import json_body, path_uuid, query
from chalicelib.schemas.catalog import (
    BrandCollectionCreate,
    BrandCollectionsPublic,
    BrandCreate,
    BrandsPublic,
    BrandUpdate,
    CollectionFacetQuery,
    CountedValues,
    FacetQuery,
    SeasonsPublic,
    YearsPublic,
)
from chalicelib.schemas.products import OrganizationQuery
from chalicelib.services.catalog import brand_public, collection_public

bp = Blueprint(__name__)

ANY_CONTENT = ["*/*"]


def _org(q: OrganizationQuery | FacetQuery) -> str | None:
    return str(q.organization_id) if q.organization_id else None


def _facet_list(
    facet: str,
    model: type[CountedValues],
    query_model: type[FacetQuery] = FacetQuery,
    to_value: Callable[[str], str | int] = str,
) -> Response:
    """One of the four distinct-value lists, in the caller's scope; `counts` only when asked."""
    caller = deps.caller(bp.current_request)
    q = query(bp.current_request, query_model)
    brand = q.brand if isinstance(q, CollectionFacetQuery) else None
    rows = wiring.catalog().values(caller, facet, _org(q), brand=brand)
    body: dict[str, object] = {"data": [to_value(r.value) for r in rows], "count": len(rows)}
    if q.with_counts:
        body["counts"] = {r.value: r.count for r in rows}
    return render(model.model_validate(body).model_dump(mode="json", exclude_none=True))


@bp.route("/brands/", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_brands() -> Response:
    return _facet_list("brand", BrandsPublic)


@bp.route("/brands/", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_brand() -> Response:
    caller = deps.caller(bp.current_request)
    q = query(bp.current_request, OrganizationQuery)
    data = json_body(bp.current_request, BrandCreate)
    return render(brand_public(wiring.catalog().create_brand(caller, data, _org(q))))


@bp.route("/brands/{id}", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_brand(id: str) -> Response:
    caller = deps.caller(bp.current_request)
    return render(brand_public(wiring.catalog().get_brand(caller, path_uuid("id", id))))


@bp.route("/brands/{id}", methods=["PATCH"], content_types=ANY_CONTENT)
@api_view
def update_brand(id: str) -> Response:
    caller = deps.caller(bp.current_request)
    brand_id = path_uuid("id", id)
    data = json_body(bp.current_request, BrandUpdate)
    return render(brand_public(wiring.catalog().update_brand(caller, brand_id, data)))


@bp.route("/brand-collections/", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_brand_collections() -> Response:
    return _facet_list("collection", BrandCollectionsPublic, CollectionFacetQuery)


@bp.route("/brand-collections/", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_brand_collection() -> Response:
    caller = deps.caller(bp.current_request)
    q = query(bp.current_request, OrganizationQuery)
    data = json_body(bp.current_request, BrandCollectionCreate)
    return render(collection_public(wiring.catalog().create_collection(caller, data, _org(q))))


@bp.route("/seasons/", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_seasons() -> Response:
    return _facet_list("season", SeasonsPublic)


@bp.route("/years/", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_years() -> Response:
    # The reference gives years no organization_id; it is accepted here like the others.
    return _facet_list("year", YearsPublic, to_value=int)
