"""Brands, brand collections, seasons and years."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import View, endpoint
from chalicelib.schemas.catalog import (
    BrandCollectionCreate,
    BrandCollectionPublic,
    BrandCollectionsPublic,
    BrandCreate,
    BrandPublic,
    BrandsPublic,
    BrandUpdate,
    CollectionFacetQuery,
    CountedValues,
    FacetQuery,
    SeasonsPublic,
    YearsPublic,
)
from chalicelib.schemas.products import OrganizationQuery

if TYPE_CHECKING:
    from chalicelib.services.access import Caller

bp = Blueprint(__name__)

WRITE_ERRORS = frozenset({403, 409, 503})


def _views() -> Any:
    # Imported on use: the registry's service and stores are not every cold start's cost.
    from chalicelib.services import catalog

    return catalog


def _org(q: OrganizationQuery | FacetQuery) -> str | None:
    return str(q.organization_id) if q.organization_id else None


def _brand(item: Any) -> BrandPublic:
    result: BrandPublic = _views().brand_public(item)
    return result


def _collection(item: Any) -> BrandCollectionPublic:
    result: BrandCollectionPublic = _views().collection_public(item)
    return result


def _facet_list(
    caller: Caller,
    q: FacetQuery,
    facet: str,
    model: type[CountedValues],
    to_value: Callable[[str], str | int] = str,
) -> dict[str, Any]:
    """One of the four distinct-value lists, in the caller's scope; `counts` only when asked."""
    brand = q.brand if isinstance(q, CollectionFacetQuery) else None
    rows = wiring.catalog().values(caller, facet, _org(q), brand=brand)
    body: dict[str, object] = {"data": [to_value(r.value) for r in rows], "count": len(rows)}
    if q.with_counts:
        body["counts"] = {r.value: r.count for r in rows}
    return model.model_validate(body).model_dump(mode="json", exclude_none=True)


def _facet(
    path: str, operation_id: str, summary: str, tag: str, model: type[CountedValues], **options: Any
) -> Callable[[View], View]:
    return endpoint(
        bp,
        "GET",
        path,
        operation_id=operation_id,
        summary=summary,
        tag=tag,
        response=model,
        query=options.pop("query", FacetQuery),
        errors=frozenset({403}),
        **options,
    )


@_facet("/brands/", "read_brands", "Read Brands", "brands", BrandsPublic)
def read_brands(caller: Caller, query: FacetQuery) -> dict[str, Any]:
    """The distinct brand names in the caller's scope, from products and registered brands,
    alphabetical and de-duplicated case-insensitively."""
    return _facet_list(caller, query, "brand", BrandsPublic)


@endpoint(
    bp,
    "POST",
    "/brands/",
    operation_id="create_brand",
    summary="Create Brand",
    tag="brands",
    response=BrandPublic,
    query=OrganizationQuery,
    body=BrandCreate,
    errors=WRITE_ERRORS,
)
def create_brand(caller: Caller, query: OrganizationQuery, body: BrandCreate) -> BrandPublic:
    """Register a brand, personal or in an organization; its name is unique in that scope."""
    return _brand(wiring.catalog().create_brand(caller, body, _org(query)))


@endpoint(
    bp, "GET", "/brands/{id}", operation_id="read_brand", summary="Read Brand", tag="brands", response=BrandPublic
)
def read_brand(caller: Caller, id: str) -> BrandPublic:
    """A registered brand."""
    return _brand(wiring.catalog().get_brand(caller, id))


@endpoint(
    bp,
    "PATCH",
    "/brands/{id}",
    operation_id="update_brand",
    summary="Update Brand",
    tag="brands",
    response=BrandPublic,
    body=BrandUpdate,
    errors=WRITE_ERRORS,
)
def update_brand(caller: Caller, id: str, body: BrandUpdate) -> BrandPublic:
    """Rename a registered brand."""
    return _brand(wiring.catalog().update_brand(caller, id, body))


@_facet(
    "/brand-collections/",
    "read_brand_collections",
    "Read Brand Collections",
    "brand-collections",
    BrandCollectionsPublic,
    query=CollectionFacetQuery,
)
def read_brand_collections(caller: Caller, query: CollectionFacetQuery) -> dict[str, Any]:
    """The distinct collection names in the caller's scope (of one brand when `brand` is given)."""
    return _facet_list(caller, query, "collection", BrandCollectionsPublic)


@endpoint(
    bp,
    "POST",
    "/brand-collections/",
    operation_id="create_brand_collection",
    summary="Create Brand Collection",
    tag="brand-collections",
    response=BrandCollectionPublic,
    query=OrganizationQuery,
    body=BrandCollectionCreate,
    errors=WRITE_ERRORS,
)
def create_brand_collection(
    caller: Caller, query: OrganizationQuery, body: BrandCollectionCreate
) -> BrandCollectionPublic:
    """Register a collection of a brand; its name is unique for that brand in that scope."""
    return _collection(wiring.catalog().create_collection(caller, body, _org(query)))


@_facet("/seasons/", "read_seasons", "Read Seasons", "seasons", SeasonsPublic)
def read_seasons(caller: Caller, query: FacetQuery) -> dict[str, Any]:
    """The distinct season names in the caller's scope."""
    return _facet_list(caller, query, "season", SeasonsPublic)


@_facet("/years/", "read_years", "Read Years", "years", YearsPublic)
def read_years(caller: Caller, query: FacetQuery) -> dict[str, Any]:
    """The distinct years in the caller's scope (the reference gives years no organization_id;
    it is accepted here like the others)."""
    return _facet_list(caller, query, "year", YearsPublic, to_value=int)
