"""Generations: create a batch, record predictions and refines, list a product's, select shots.

`POST /generations/`, `PATCH /predictions/{id}`, `POST /predictions/{id}/refines` and
`PATCH /refines/{id}` are what the generation service calls to record its work;
`GET /products/{id}/generations` and `POST /products/selected_shot/{product_id}` are the
reference's. The models are named as strings: they are imported on first use, not on every
cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import endpoint
from chalicelib.schemas.products import OrganizationQuery

if TYPE_CHECKING:
    from chalicelib.schemas.generations import (
        GenerationCreate,
        GenerationList,
        GenerationListQuery,
        GenerationPublic,
        PredictionPublic,
        PredictionUpdate,
        Product,
        RefineCreate,
        RefinePublic,
        RefineUpdate,
        SelectedShotRequest,
    )
    from chalicelib.services.access import Caller

bp = Blueprint(__name__)

TAG = "generations"
WRITE_ERRORS = frozenset({403, 409, 503})


def _org(q: OrganizationQuery | GenerationListQuery) -> str | None:
    return str(q.organization_id) if q.organization_id else None


@endpoint(
    bp,
    "POST",
    "/generations/",
    operation_id="create_generation",
    summary="Create Generation",
    tag=TAG,
    response="generations.GenerationPublic",
    query=OrganizationQuery,
    body="generations.GenerationCreate",
    errors=WRITE_ERRORS,
)
def create_generation(caller: Caller, query: OrganizationQuery, body: GenerationCreate) -> GenerationPublic:
    """Record a generation batch for a product, with its predictions."""
    return wiring.generations().create(caller, body, _org(query))


@endpoint(
    bp,
    "GET",
    "/products/{id}/generations",
    operation_id="read_product_generations",
    summary="Read Product Generations",
    tag="products",
    response="generations.GenerationList",
    query="generations.GenerationListQuery",
    doc_names={"id": "product_id"},
    errors=frozenset({403}),
)
def read_product_generations(caller: Caller, id: str, query: GenerationListQuery) -> GenerationList:
    """A product's generations, newest first."""
    from chalicelib.schemas.generations import GenerationList

    return GenerationList(wiring.generations().list_for_product(caller, id, _org(query), query.skip, query.limit))


@endpoint(
    bp,
    "PATCH",
    "/predictions/{id}",
    operation_id="update_prediction",
    summary="Update Prediction",
    tag=TAG,
    response="generations.PredictionPublic",
    body="generations.PredictionUpdate",
    errors=WRITE_ERRORS,
)
def update_prediction(caller: Caller, id: str, body: PredictionUpdate) -> PredictionPublic:
    """Record a prediction's progress or result."""
    return wiring.generations().update_prediction(caller, id, body)


@endpoint(
    bp,
    "POST",
    "/predictions/{id}/refines",
    operation_id="create_refine",
    summary="Create Refine",
    tag=TAG,
    response="generations.RefinePublic",
    body="generations.RefineCreate",
    errors=WRITE_ERRORS,
)
def create_refine(caller: Caller, id: str, body: RefineCreate) -> RefinePublic:
    """Start a refine of a prediction."""
    return wiring.generations().add_refine(caller, id, body)


@endpoint(
    bp,
    "PATCH",
    "/refines/{id}",
    operation_id="update_refine",
    summary="Update Refine",
    tag=TAG,
    response="generations.RefinePublic",
    body="generations.RefineUpdate",
    errors=WRITE_ERRORS,
)
def update_refine(caller: Caller, id: str, body: RefineUpdate) -> RefinePublic:
    """Record a refine's progress or result."""
    return wiring.generations().update_refine(caller, id, body)


@endpoint(
    bp,
    "POST",
    "/products/selected_shot/{product_id}",
    operation_id="set_selected_shot",
    summary="Set Selected Shot",
    tag="products",
    response="generations.Product",
    query=OrganizationQuery,
    body="generations.SelectedShotRequest",
    errors=WRITE_ERRORS,
)
def set_selected_shot(caller: Caller, product_id: str, query: OrganizationQuery, body: SelectedShotRequest) -> Product:
    """Select a prediction as the product's shot of its shot type (or clear it)."""
    return wiring.generations().select_shot(caller, product_id, body, _org(query))
