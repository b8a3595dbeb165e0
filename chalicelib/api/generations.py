"""Generations: create a batch, record predictions and refines, list a product's, select shots.

`POST /generations/`, `PATCH /predictions/{id}`, `POST /predictions/{id}/refines` and
`PATCH /refines/{id}` are what the generation service calls to record its work;
`GET /products/{id}/generations` and `POST /products/selected_shot/{product_id}` are the
reference's. (The product's path parameter is `{id}` as in the other `/products/{id}/...`
routes: API Gateway takes one parameter name per path level.)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response
from pydantic import BaseModel

from chalicelib import wiring
from chalicelib.api import deps
from chalicelib.api.errors import api_view, render
from chalicelib.api.request import json_body, path_uuid, query
from chalicelib.schemas.products import OrganizationQuery

if TYPE_CHECKING:
    from types import ModuleType

    from chalicelib.schemas.generations import GenerationListQuery
    from chalicelib.services.generations import GenerationService

bp = Blueprint(__name__)


def _schemas() -> ModuleType:
    # Imported on use: the generation models are not every cold start's cost.
    from chalicelib.schemas import generations

    return generations


ANY_CONTENT = ["*/*"]


@lru_cache(maxsize=1)
def _own_service() -> GenerationService:
    from chalicelib.services.generations import GenerationService

    return GenerationService()


def service() -> GenerationService:
    """`chalicelib.wiring.generations()` once wiring has it; this module's own instance before."""
    factory: Any = getattr(wiring, "generations", None) or _own_service
    result: GenerationService = factory()
    return result


def _org(q: OrganizationQuery | GenerationListQuery) -> str | None:
    return str(q.organization_id) if q.organization_id else None


@bp.route("/generations/", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_generation() -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    q = query(request, OrganizationQuery)
    data = json_body(request, _schemas().GenerationCreate)
    return render(service().create(caller, data, _org(q)))


@bp.route("/products/{id}/generations", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_product_generations(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    product_id = path_uuid("product_id", id)
    q = query(request, _schemas().GenerationListQuery)
    items = service().list_for_product(caller, product_id, _org(q), q.skip, q.limit)
    return render(_schemas().GenerationList(items))


@bp.route("/predictions/{id}", methods=["PATCH"], content_types=ANY_CONTENT)
@api_view
def update_prediction(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    prediction_id = path_uuid("id", id)
    data = json_body(request, _schemas().PredictionUpdate)
    return render(service().update_prediction(caller, prediction_id, data))


@bp.route("/predictions/{id}/refines", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def create_refine(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    prediction_id = path_uuid("id", id)
    data = json_body(request, _schemas().RefineCreate)
    return render(service().add_refine(caller, prediction_id, data))


@bp.route("/refines/{id}", methods=["PATCH"], content_types=ANY_CONTENT)
@api_view
def update_refine(id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    refine_id = path_uuid("id", id)
    data = json_body(request, _schemas().RefineUpdate)
    return render(service().update_refine(caller, refine_id, data))


@bp.route("/products/selected_shot/{product_id}", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def set_selected_shot(product_id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    pid = path_uuid("product_id", product_id)
    q = query(request, OrganizationQuery)
    data = json_body(request, _schemas().SelectedShotRequest)
    return render(service().select_shot(caller, pid, data, _org(q)))


def openapi_paths(
    op: Callable[..., dict[str, Any]],
    uuid_param: Callable[[str], dict[str, Any]],
    query_params: Callable[[type[BaseModel]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """The OpenAPI operations of the endpoints this module adds beyond the reference (the
    reference documents `GET /products/{product_id}/generations` and the selected shot itself),
    for `chalicelib.api.openapi._added_paths` (pass its `ops.op`, `_uuid_param`, `_query_params`)."""
    create = op("Create Generation", _schemas().GenerationPublic, _schemas().GenerationCreate)
    create["parameters"] = query_params(OrganizationQuery)
    prediction = op("Update Prediction", _schemas().PredictionPublic, _schemas().PredictionUpdate)
    prediction["parameters"] = [uuid_param("id")]
    add_refine = op("Create Refine", _schemas().RefinePublic, _schemas().RefineCreate)
    add_refine["parameters"] = [uuid_param("id")]
    refine = op("Update Refine", _schemas().RefinePublic, _schemas().RefineUpdate)
    refine["parameters"] = [uuid_param("id")]
    return {
        "/api/v1/generations/": {"post": create},
        "/api/v1/predictions/{id}": {"patch": prediction},
        "/api/v1/predictions/{id}/refines": {"post": add_refine},
        "/api/v1/refines/{id}": {"patch": refine},
    }
