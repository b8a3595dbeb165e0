"""Exports of approved shots: the API's side (create, list, read, cancel, dismiss, download) and
the delayed clean-up the export worker runs after a download link expired.

Creating a task resolves, for the caller's tenancy, the products it exports (given ids, the
listing's filters, or a shooting look's main product) and stores them in the task's `request`
(`{"product_ids", "shooting_id", "shooting_look_id"}`, what the worker reads), then sends
`{"action": "export", "task_id"}` to the export queue. With an `Idempotency-Key`, the creation
runs under Powertools idempotency persisted in the single table: the same key and body within
24 hours answer the same task, another body with that key is a 422.

A download answers a presigned GET of the archive valid for `DOWNLOAD_URL_SECONDS`; the task
records when that link expires (`download_expires_at`) and a delayed `{"action": "cleanup"}`
message lets the worker remove the archive and the record after it (`ExportService.cleanup`).

`expires_at` of a COMPLETED task: when the download link handed out last expires, if one was;
otherwise when the exports bucket's lifecycle rule removes the archive (`completed_at` plus
`EXPORT_RETENTION_DAYS`). The record itself carries a TTL a day beyond that, so an export
nobody downloaded or dismissed leaves nothing behind.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

import boto3
from botocore.exceptions import ClientError
from pydantic import ValidationError

from chalicelib.config import get_settings
from chalicelib.errors import Conflict, InvalidField, InvalidInput, NotFound, Unavailable
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import ExportTaskType, TaskStatus
from chalicelib.schemas.exports import (
    MAX_EXPORT_PRODUCTS,
    ExportApprovedShotsRequest,
    ExportTaskPublic,
    ExportTasksPublic,
    ExportTasksQuery,
    check_idempotency_key,
)
from chalicelib.schemas.products import ProductListQuery
from chalicelib.services.access import Caller
from chalicelib.services.shootings import ShootingService
from chalicelib.store.blobs import s3_client
from chalicelib.store.exports import ACTIVE, TERMINAL, ExportRepository
from chalicelib.store.jobs import JobQueue, export_queue
from chalicelib.store.models import ExportTaskItem
from chalicelib.store.products import ProductRepository
from chalicelib.store.shootings import ShootingRepository
from chalicelib.store.table import conditional_delete

logger = logging.getLogger(__name__)

NOT_FOUND = "Export task not found"
API_PREFIX = "/api/v1"

# How long a presigned download link is valid; the clean-up message is delayed this much plus
# a margin (SQS delays at most 15 minutes).
DOWNLOAD_URL_SECONDS = 300
CLEANUP_MARGIN_SECONDS = 60
MAX_SQS_DELAY_SECONDS = 900
CLEANUP_DELAY_SECONDS = min(MAX_SQS_DELAY_SECONDS, DOWNLOAD_URL_SECONDS + CLEANUP_MARGIN_SECONDS)
# The exports bucket's lifecycle expiry (ops/template.py EXPORT_EXPIRE_DAYS): an archive
# nobody downloaded or dismissed is gone this long after it was written.
EXPORT_RETENTION_DAYS = 7
# The record's TTL, from its creation: the retention plus a day for the export's own run.
RECORD_TTL = timedelta(days=EXPORT_RETENTION_DAYS + 1)

# Idempotency-Key: how long a key answers the same task.
IDEMPOTENCY_SECONDS = 24 * 3600

# The partition of the idempotency records (no other item's pk starts with IDEMPOTENCY#); the
# sort key is `<IDEMPOTENCY_PREFIX>#<hash of (user id, key)>`, so one user's key never answers
# another user's request.
IDEMPOTENCY_PK = "IDEMPOTENCY#exports"
IDEMPOTENCY_PREFIX = "export-approved-shots"
# An in-progress record blocks a concurrent request with the same key for this long (then a
# request that died mid-way no longer holds the key): the API function's longest run.
IDEMPOTENCY_LEASE_SECONDS = 60

_CLIENT_LOCK = threading.Lock()


def download_path(task_id: str) -> str:
    return f"{API_PREFIX}/products/export-tasks/{task_id}/download"


def export_prefix(task_id: str) -> str:
    """Everything of one export in the exports bucket lives under this prefix (the archive, the
    worker's checkpoints)."""
    return f"exports/{task_id}/"


def archive_filename(task_id: str) -> str:
    return f"export-{task_id}.zip"


def _parse(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None


def expires_at(task: ExportTaskItem) -> datetime | None:
    """When a COMPLETED task's archive stops being downloadable: the download link's expiry when
    one was handed out (the clean-up follows it), else the bucket's lifecycle expiry."""
    if task.status != TaskStatus.COMPLETED.value or not task.object_key:
        return None
    link = _parse(task.download_expires_at)
    if link is not None:
        return link
    completed = _parse(task.completed_at) or _parse(task.updated_at)
    return completed + timedelta(days=EXPORT_RETENTION_DAYS) if completed else None


def to_public(task: ExportTaskItem) -> ExportTaskPublic:
    completed = task.status == TaskStatus.COMPLETED.value and bool(task.object_key)
    return ExportTaskPublic.model_validate(
        {
            "id": task.id,
            "owner_id": task.owner_id,
            "task_type": task.task_type,
            "status": task.status,
            "progress": int(task.progress or 0),
            "total_items": int(task.total_items or 0),
            "processed_items": int(task.processed_items or 0),
            "skipped_items": int(task.skipped_items or 0),
            "download_url": download_path(task.id) if completed else None,
            "error_message": task.error_message,
            "started_at": task.started_at,
            "completed_at": task.completed_at,
            "expires_at": expires_at(task),
            "created_at": task.created_at,
            "updated_at": task.updated_at,
        }
    )


@lru_cache(maxsize=1)
def _dynamodb() -> Any:
    with _CLIENT_LOCK:
        return boto3.client("dynamodb", region_name=get_settings().aws_region)


class _Lease:
    """Stands in for the Lambda context Powertools asks for the remaining time: how long an
    in-progress idempotency record holds its key."""

    def get_remaining_time_in_millis(self) -> int:
        return IDEMPOTENCY_LEASE_SECONDS * 1000


@lru_cache(maxsize=1)
def _idempotent_start() -> Callable[..., Any]:
    """The idempotent creation step (built on first use: Powertools costs a few ms to import).

    One persistence layer and config for the process: their state is the same for every call
    (the user is inside the hashed key, not in the key's layout), so concurrent requests of a
    threaded server share them safely.
    """
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings().table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=IDEMPOTENCY_PK,
        # The table's TTL attribute: DynamoDB removes a record after its 24 hours.
        expiry_attr="expires_at_ttl",
        boto3_client=_dynamodb(),
    )
    config = IdempotencyConfig(
        event_key_jmespath="[user_id, idempotency_key]",
        payload_validation_jmespath="[organization_id, request]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )
    config.register_lambda_context(cast(Any, _Lease()))

    def start(run: Callable[[], str], *, payload: dict[str, Any]) -> str:
        # The task's id (JSON): a repeated request reads the task it names.
        return run()

    idempotent = idempotent_function(
        start,
        data_keyword_argument="payload",
        persistence_store=persistence,
        config=config,
        key_prefix=IDEMPOTENCY_PREFIX,
    )
    return cast(Callable[..., Any], idempotent)


class ExportService:
    def __init__(
        self,
        tasks: ExportRepository | None = None,
        products: ProductRepository | None = None,
        shootings: ShootingRepository | None = None,
        queue: JobQueue | None = None,
        s3: Any = None,
    ) -> None:
        self.tasks = tasks or ExportRepository()
        self.products = products or ProductRepository()
        self.shootings = shootings or ShootingRepository()
        self.queue = queue or export_queue()
        self._s3 = s3

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = s3_client()
        return self._s3

    @property
    def bucket(self) -> str:
        return get_settings().exports_bucket

    # -- create --------------------------------------------------------------------------

    def create(
        self,
        caller: Caller,
        data: ExportApprovedShotsRequest,
        organization_id: str | None,
        idempotency_key: str | None = None,
    ) -> ExportTaskItem:
        """A PENDING task, its export job sent. With `idempotency_key`: the task a request with
        the same key and body made in the last 24 hours, if any (422 when the body differs)."""
        key = check_idempotency_key(idempotency_key)
        if organization_id:
            caller.require_member(organization_id)
        filters = self._filters(data, organization_id)

        def run() -> str:
            return self._start(caller, data, filters, organization_id)

        task_id = run() if key is None else self._idempotently(caller, key, data, organization_id, run)
        task = self.tasks.get(task_id)
        if task is None or task.owner_id != caller.id:
            # Dismissed (or cleaned up) since the request that made it.
            raise NotFound(NOT_FOUND)
        return task

    def _idempotently(
        self,
        caller: Caller,
        key: str,
        data: ExportApprovedShotsRequest,
        organization_id: str | None,
        run: Callable[[], str],
    ) -> str:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        payload = {
            "user_id": caller.id,
            "idempotency_key": key,
            "organization_id": organization_id,
            "request": data.model_dump(mode="json"),
        }
        try:
            return str(_idempotent_start()(run, payload=payload))
        except IdempotencyValidationError as exc:
            raise InvalidInput.single(
                ["header", "Idempotency-Key"],
                "Idempotency-Key was already used with a different request",
                key,
                "idempotency_key_reused",
            ) from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise Conflict("A request with this Idempotency-Key is still in progress") from exc
        except IdempotencyPersistenceLayerError as exc:
            logger.exception("idempotency store failed")
            raise Unavailable("The service is busy; retry shortly") from exc

    def _filters(self, data: ExportApprovedShotsRequest, organization_id: str | None) -> ProductListQuery | None:
        """`product_filters` validated as GET /products/ validates its query (422 at
        body.product_filters.<field>)."""
        if data.product_filters is None:
            return None
        raw = dict(data.product_filters)
        # A query string repeats these; a JSON body may give one value or a list.
        for name in ("brand_collection", "shot_statuses"):
            if isinstance(raw.get(name), str):
                raw[name] = [raw[name]]
        try:
            q = ProductListQuery.model_validate(raw)
        except ValidationError as exc:
            errors: list[dict[str, Any]] = []
            for err in exc.errors(include_url=False, include_context=False):
                entry: dict[str, Any] = dict(err)
                entry["loc"] = ["product_filters", *err["loc"]]
                errors.append(entry)
            raise InvalidField(errors) from exc
        filter_org = str(q.organization_id) if q.organization_id else None
        if filter_org != organization_id and filter_org is not None:
            raise InvalidField.single(
                ["product_filters", "organization_id"],
                "Must match the organization_id query parameter",
                filter_org,
            )
        return q

    def _start(
        self,
        caller: Caller,
        data: ExportApprovedShotsRequest,
        filters: ProductListQuery | None,
        organization_id: str | None,
    ) -> str:
        shooting_id = str(data.shooting_id) if data.shooting_id else None
        look_id = str(data.shooting_look_id) if data.shooting_look_id else None
        if shooting_id is not None:
            shooting = self.shootings.get_shooting(shooting_id)
            if shooting is None or not ShootingService.can_access(caller, shooting):
                raise InvalidField.single(["shooting_id"], "Shooting not found", shooting_id, "shooting_not_found")
        if look_id is not None:
            product_ids = [self._look_product(caller, look_id, organization_id)]
        elif filters is not None:
            product_ids = self.matching_products(caller, filters, organization_id)
        else:
            product_ids = self._readable(caller, [str(p) for p in data.product_ids or []], organization_id)

        now = utcnow()
        task = ExportTaskItem(
            id=str(uuid.uuid4()),
            owner_id=caller.id,
            organization_id=organization_id,
            task_type=ExportTaskType.APPROVED_SHOTS.value,
            status=TaskStatus.PENDING.value,
            progress=0,
            total_items=0,
            processed_items=0,
            request={"product_ids": product_ids, "shooting_id": shooting_id, "shooting_look_id": look_id},
            created_at=iso(now),
            updated_at=iso(now),
            expires_at_ttl=now + RECORD_TTL,
        )
        # The job first, then the task: were the process to die between the two, a task whose
        # job was never sent would stay PENDING for ever, while a job whose task was never
        # written is dropped by the worker (which waits a little for a task not written yet).
        try:
            self.queue.send({"action": "export", "task_id": task.id})
        except Exception as exc:
            logger.exception("export job not sent", extra={"task_id": task.id})
            raise Unavailable("The export could not be started; retry shortly") from exc
        self.tasks.create(task)
        return task.id

    def _look_product(self, caller: Caller, look_id: str, organization_id: str | None) -> str:
        look = self.shootings.get_look(look_id)
        if (
            look is None
            or not ShootingService.can_access(caller, look)
            or (organization_id is not None and look.organization_id != organization_id)
        ):
            raise NotFound("Shooting look not found")
        return look.product_id

    def _readable(self, caller: Caller, product_ids: list[str], organization_id: str | None) -> list[str]:
        """Each product exists and the caller may read it in this tenancy, else a 422 at its
        place in `product_ids`; the ids in order, without repeats."""
        unique = list(dict.fromkeys(product_ids))
        found = self.products.batch_get(unique) if unique else {}
        for index, product_id in enumerate(product_ids):
            product = found.get(product_id)
            if (
                product is None
                or (organization_id is not None and product.organization_id != organization_id)
                or not caller.can_read(product)
            ):
                raise InvalidField.single(["product_ids", index], "Product not found", product_id, "product_not_found")
        return unique

    def matching_products(self, caller: Caller, q: ProductListQuery, organization_id: str | None) -> list[str]:
        """The ids GET /products/ lists for these filters in this tenancy, in its order, every
        page (its skip and limit do not apply), at most MAX_EXPORT_PRODUCTS.

        Read as the listing's filtered path reads (slim items of the narrowest index, the
        listing's own predicate and order), so no product is fetched whole."""
        from chalicelib import wiring

        matches = wiring.listing().matching(caller.id, organization_id, q)
        return [p.id for p in matches[:MAX_EXPORT_PRODUCTS]]

    # -- read ----------------------------------------------------------------------------

    def get(self, caller: Caller, task_id: str) -> ExportTaskItem:
        """The caller's own task; anyone else's is not found."""
        task = self.tasks.get(task_id)
        if task is None or task.owner_id != caller.id:
            raise NotFound(NOT_FOUND)
        return task

    def list(self, caller: Caller, q: ExportTasksQuery) -> ExportTasksPublic:
        tasks = self.tasks.of_owner(caller.id)
        if q.status is not None:
            tasks = [t for t in tasks if t.status == q.status.value]
        page = tasks[q.skip : q.skip + q.limit]
        return ExportTasksPublic(data=[to_public(t) for t in page], count=len(tasks))

    # -- cancel, dismiss -----------------------------------------------------------------

    def cancel(self, caller: Caller, task_id: str) -> ExportTaskItem:
        """CANCELLED, from an active status only (409 otherwise); the worker stops at its next
        write, which the cancel makes fail."""
        task = self.get(caller, task_id)
        if task.status in {s.value for s in ACTIVE}:
            fields = {"status": TaskStatus.CANCELLED.value, "updated_at": iso(utcnow())}
            if self.tasks.update(task_id, fields, only_from=ACTIVE):
                return self.get(caller, task_id)
            # Finished (or gone) since it was read.
            task = self.get(caller, task_id)
        raise Conflict(
            f"Export task cannot be cancelled: it is {task.status}, and only a pending or running task can be."
            f" A finished task is removed with DELETE /api/v1/products/export-tasks/{task_id}/dismiss"
        )

    def dismiss(self, caller: Caller, task_id: str) -> None:
        """A finished task (COMPLETED, FAILED, CANCELLED) goes with its objects; 409 otherwise."""
        task = self.get(caller, task_id)
        if task.status not in {s.value for s in TERMINAL}:
            raise Conflict("Only a completed, failed or cancelled export task can be dismissed")
        self.tasks.delete(task_id)
        self._delete_objects(task)

    # -- download and clean-up -----------------------------------------------------------

    def download(self, caller: Caller, task_id: str) -> str:
        """A presigned GET of the archive, valid DOWNLOAD_URL_SECONDS; the archive and the record
        are removed after it expires (a delayed clean-up message). 409 unless COMPLETED."""
        task = self.get(caller, task_id)
        if task.status != TaskStatus.COMPLETED.value:
            raise Conflict("Export task is not completed")
        if not task.object_key or not self._exists(task.object_key):
            raise NotFound("Export file not found")
        now = utcnow()
        until = now + timedelta(seconds=DOWNLOAD_URL_SECONDS)
        fields = {"download_expires_at": iso(until), "updated_at": iso(now)}
        if not self.tasks.update(task_id, fields, only_from=(TaskStatus.COMPLETED,)):
            raise NotFound(NOT_FOUND)
        url = self.s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": task.object_key,
                "ResponseContentDisposition": f'attachment; filename="{archive_filename(task_id)}"',
                "ResponseContentType": "application/zip",
            },
            ExpiresIn=DOWNLOAD_URL_SECONDS,
        )
        try:
            self.queue.send({"action": "cleanup", "task_id": task_id}, delay_seconds=CLEANUP_DELAY_SECONDS)
        except Exception as exc:
            # Without its clean-up the archive would outlive the link: no link either.
            logger.exception("export clean-up not scheduled", extra={"task_id": task_id})
            raise Unavailable("The download could not be prepared; retry shortly") from exc
        return str(url)

    def cleanup(self, task_id: str, now: datetime | None = None) -> bool:
        """The worker's delayed clean-up: remove the archive and the record of a finished task
        whose last download link has expired. False (nothing done) when the task is gone, still
        active, never handed out, or a newer link is still valid (its own message follows)."""
        task = self.tasks.get(task_id)
        if task is None or task.status not in {s.value for s in TERMINAL}:
            return False
        link = _parse(task.download_expires_at)
        if link is None or link > (now or utcnow()):
            return False
        # The record first, and only if no newer link was handed out since it was read: a
        # download that comes after finds no task rather than a link to a deleted archive.
        if not self._delete_unchanged(task):
            return False
        self._delete_objects(task)
        return True

    def _delete_unchanged(self, task: ExportTaskItem) -> bool:
        item = ExportTaskItem(pk=f"EXPORT#{task.id}", sk="EXPORT")
        return conditional_delete(item, ExportTaskItem.download_expires_at == task.download_expires_at)

    def _exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def _delete_objects(self, task: ExportTaskItem) -> None:
        """The archive, whatever else the worker left under the task's prefix (checkpoints), and
        any multipart upload it had not finished."""
        prefix = export_prefix(task.id)
        keys = {task.object_key} if task.object_key else set()
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.update(obj["Key"] for obj in page.get("Contents", []))
        ordered = sorted(keys)
        for start in range(0, len(ordered), 1000):
            batch = [{"Key": key} for key in ordered[start : start + 1000]]
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        try:
            uploads = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix).get("Uploads", [])
            for upload in uploads:
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        except ClientError:
            # The bucket's lifecycle rule aborts what is left after a day.
            logger.warning("multipart uploads not aborted", extra={"task_id": task.id}, exc_info=True)
