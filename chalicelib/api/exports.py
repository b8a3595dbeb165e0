"""Exports of approved shots: start one, follow it, cancel or dismiss it, download its archive.

Registered before the products blueprint: `/products/export-tasks` and
`/products/export-approved-shots/async` are concrete paths beside `/products/{id}`.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.api import deps
from chalicelib.api.errors import api_view, render
from chalicelib.api.request import json_body, path_uuid, query
from chalicelib.schemas.common import Message
from chalicelib.schemas.exports import ExportApprovedShotsRequest, ExportTasksQuery
from chalicelib.schemas.products import OrganizationQuery

bp = Blueprint(__name__)


def to_public(task: Any) -> Any:
    # Imported on use: the export service (with the listing it reuses) is not a cold start's cost.
    from chalicelib.services.exports import to_public as public

    return public(task)


ANY_CONTENT = ["*/*"]


@bp.route("/products/export-approved-shots/async", methods=["POST"], content_types=ANY_CONTENT)
@api_view
def start_export() -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    q = query(request, OrganizationQuery)
    data = json_body(request, ExportApprovedShotsRequest)
    org = str(q.organization_id) if q.organization_id else None
    task = wiring.exports().create(caller, data, org, idempotency_key=request.headers.get("idempotency-key"))
    return render(to_public(task))


@bp.route("/products/export-tasks", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def list_export_tasks() -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    q = query(request, ExportTasksQuery)
    return render(wiring.exports().list(caller, q))


@bp.route("/products/export-tasks/{task_id}", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def read_export_task(task_id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    return render(to_public(wiring.exports().get(caller, path_uuid("task_id", task_id))))


@bp.route("/products/export-tasks/{task_id}", methods=["DELETE"], content_types=ANY_CONTENT)
@api_view
def cancel_export_task(task_id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    return render(to_public(wiring.exports().cancel(caller, path_uuid("task_id", task_id))))


@bp.route("/products/export-tasks/{task_id}/dismiss", methods=["DELETE"], content_types=ANY_CONTENT)
@api_view
def dismiss_export_task(task_id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    wiring.exports().dismiss(caller, path_uuid("task_id", task_id))
    return render(Message(message="Export task dismissed successfully"))


@bp.route("/products/export-tasks/{task_id}/download", methods=["GET"], content_types=ANY_CONTENT)
@api_view
def download_export_task(task_id: str) -> Response:
    request = bp.current_request
    caller = deps.caller(request)
    url = wiring.exports().download(caller, path_uuid("task_id", task_id))
    # A redirect to a short-lived presigned URL: the browser fetches the archive from S3.
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"})
