"""Exports of approved shots: start one, follow it, cancel or dismiss it, download its archive.

Registered before the products blueprint: `/products/export-tasks` and
`/products/export-approved-shots/async` are concrete paths beside `/products/{id}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.contract import Header, endpoint
from chalicelib.schemas.common import Message
from chalicelib.schemas.exports import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    ExportApprovedShotsRequest,
    ExportTaskPublic,
    ExportTasksPublic,
    ExportTasksQuery,
    check_idempotency_key,
)
from chalicelib.schemas.products import OrganizationQuery

if TYPE_CHECKING:
    from chalicelib.services.access import Caller

bp = Blueprint(__name__)

TAG = "products"
# A task's state forbids the change (cancel a finished one, download an unfinished one).
STATE_ERRORS = frozenset({409, 503})


def to_public(task: Any) -> ExportTaskPublic:
    # Imported on use: the export service (with the listing it reuses) is not a cold start's cost.
    from chalicelib.services.exports import to_public as public

    return public(task)


@endpoint(
    bp,
    "POST",
    "/products/export-approved-shots/async",
    operation_id="start_export_approved_shots_async",
    summary="Start Export Approved Shots Async",
    tag=TAG,
    response=ExportTaskPublic,
    query=OrganizationQuery,
    body=ExportApprovedShotsRequest,
    headers=(
        Header(
            "Idempotency-Key",
            "Repeating a request with the same key (and body) within 24 hours answers the task the first one started.",
            IDEMPOTENCY_KEY_MAX_LENGTH,
            IDEMPOTENCY_KEY_PATTERN,
            check_idempotency_key,
        ),
    ),
    errors=frozenset({403, 409, 503}),
)
def start_export(
    caller: Caller, query: OrganizationQuery, body: ExportApprovedShotsRequest, idempotency_key: str | None
) -> ExportTaskPublic:
    """Start a ZIP export of the approved shots of the products named (by ids, by the listing's
    filters or by a shooting look). Poll the task, then download its archive."""
    org = str(query.organization_id) if query.organization_id else None
    return to_public(wiring.exports().create(caller, body, org, idempotency_key=idempotency_key))


@endpoint(
    bp,
    "GET",
    "/products/export-tasks",
    operation_id="list_export_tasks",
    summary="List Export Tasks",
    tag=TAG,
    response=ExportTasksPublic,
    query=ExportTasksQuery,
)
def list_export_tasks(caller: Caller, query: ExportTasksQuery) -> ExportTasksPublic:
    """The caller's export tasks, newest first."""
    return wiring.exports().list(caller, query)


@endpoint(
    bp,
    "GET",
    "/products/export-tasks/{task_id}",
    operation_id="get_export_task_status",
    summary="Get Export Task Status",
    tag=TAG,
    response=ExportTaskPublic,
)
def read_export_task(caller: Caller, task_id: str) -> ExportTaskPublic:
    """An export task's status and progress."""
    return to_public(wiring.exports().get(caller, task_id))


@endpoint(
    bp,
    "DELETE",
    "/products/export-tasks/{task_id}",
    operation_id="cancel_export_task",
    summary="Cancel Export Task",
    tag=TAG,
    response=ExportTaskPublic,
    errors=STATE_ERRORS,
)
def cancel_export_task(caller: Caller, task_id: str) -> ExportTaskPublic:
    """Cancel a task that has not finished (PENDING, SCHEDULED, PROCESSING or RETRYING)."""
    return to_public(wiring.exports().cancel(caller, task_id))


@endpoint(
    bp,
    "DELETE",
    "/products/export-tasks/{task_id}/dismiss",
    operation_id="dismiss_export_task",
    summary="Dismiss Export Task",
    tag=TAG,
    response=Message,
    errors=STATE_ERRORS,
)
def dismiss_export_task(caller: Caller, task_id: str) -> Message:
    """Remove a completed, failed or cancelled task with its archive."""
    wiring.exports().dismiss(caller, task_id)
    return Message(message="Export task dismissed successfully")


@endpoint(
    bp,
    "GET",
    "/products/export-tasks/{task_id}/download",
    operation_id="download_export_task",
    summary="Download Export Task",
    tag=TAG,
    response=None,
    status=302,
    errors=STATE_ERRORS,
)
def download_export_task(caller: Caller, task_id: str) -> Response:
    """Redirect to a short-lived URL of the archive; the task and its archive are removed once
    that URL has expired."""
    url = wiring.exports().download(caller, task_id)
    return Response(body="", status_code=302, headers={"Location": url, "Cache-Control": "no-store"})
