"""Export tasks: the record, the owner's newest-first list, and the worker's conditional writes.

The API writes a task when it is created, cancelled or dismissed; the worker writes status,
progress and the archive's fields with UpdateItems conditioned on the task not being CANCELLED
(or finished), so a cancel is never overwritten by a worker that had not seen it yet.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.errors import Conflict
from chalicelib.schemas.enums import TaskStatus
from chalicelib.store.models import ExportTaskItem, TableItem, bind_table
from chalicelib.store.table import conditional_update, get_item, unavailable

# Statuses a task can still be cancelled from (and the worker may still write).
ACTIVE = (TaskStatus.PENDING, TaskStatus.SCHEDULED, TaskStatus.PROCESSING, TaskStatus.RETRYING)
TERMINAL = (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


def _key(task_id: str) -> ExportTaskItem:
    # Any version: conditional_update increments it without checking it.
    return ExportTaskItem(pk=f"EXPORT#{task_id}", sk="EXPORT", version=0)


def _raise_mapped(exc: PutError | DeleteError) -> None:
    mapped = unavailable(exc.cause_response_code)
    if mapped is not None:
        raise mapped from exc
    raise exc


def _actions(fields: dict[str, Any]) -> list[Any]:
    """Each field set, or removed when None."""
    return [
        getattr(ExportTaskItem, name).set(value) if value is not None else getattr(ExportTaskItem, name).remove()
        for name, value in fields.items()
    ]


def _unheld(now: str) -> Any:
    """Active, and no run holds it (no lease, or an expired one)."""
    return ExportTaskItem.status.is_in(*(s.value for s in ACTIVE)) & (
        ExportTaskItem.lease_until.does_not_exist() | (ExportTaskItem.lease_until < now)
    )


class ExportRepository:
    def __init__(self) -> None:
        bind_table()

    def get(self, task_id: str) -> ExportTaskItem | None:
        return get_item(ExportTaskItem, f"EXPORT#{task_id}", "EXPORT")

    def create(self, task: ExportTaskItem) -> None:
        task.refresh_keys()
        try:
            task.save(condition=ExportTaskItem.pk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict("Export task exists") from exc
            _raise_mapped(exc)

    def of_owner(self, owner_id: str) -> list[ExportTaskItem]:
        """The owner's tasks, newest first (one Query; a user's tasks are few and expire)."""
        found = TableItem.exports_index.query(f"USER#{owner_id}", scan_index_forward=False)
        return [item for item in found if isinstance(item, ExportTaskItem)]

    def update(self, task_id: str, fields: dict[str, Any], *, only_from: tuple[TaskStatus, ...] = ACTIVE) -> bool:
        """Set `fields` when the task's status is one of `only_from`; False otherwise (cancelled,
        finished or gone)."""
        actions = _actions(fields)
        condition = ExportTaskItem.status.is_in(*(s.value for s in only_from))
        return conditional_update(_key(task_id), actions, condition)

    def delete(self, task_id: str) -> None:
        try:
            ExportTaskItem(pk=f"EXPORT#{task_id}", sk="EXPORT").delete(add_version_condition=False)
        except DeleteError as exc:
            _raise_mapped(exc)

    def claim(self, task_id: str, lease_id: str, now: str, until: str, fields: dict[str, Any]) -> bool:
        """Take the task for one worker run: it is active and no other run holds it (no lease, or
        an expired one); `fields` are set with the lease. False: cancelled, finished or held."""
        actions = [ExportTaskItem.lease_id.set(lease_id), ExportTaskItem.lease_until.set(until)]
        actions += [getattr(ExportTaskItem, name).set(value) for name, value in fields.items()]
        condition = _unheld(now)
        return conditional_update(_key(task_id), actions, condition)

    def give_up(self, task_id: str, now: str, fields: dict[str, Any]) -> bool:
        """Set `fields` on a task still active that no run holds (no lease, or an expired one):
        False once finished, cancelled, or held by a live run."""
        actions = _actions(fields)
        condition = _unheld(now)
        return conditional_update(_key(task_id), actions, condition)

    def update_held(self, task_id: str, lease_id: str, fields: dict[str, Any]) -> bool:
        """A write of the run that holds the task, while it is PROCESSING: False once cancelled
        (the run stops at its next member)."""
        actions = _actions(fields)
        condition = (ExportTaskItem.status == TaskStatus.PROCESSING.value) & (ExportTaskItem.lease_id == lease_id)
        return conditional_update(_key(task_id), actions, condition)
