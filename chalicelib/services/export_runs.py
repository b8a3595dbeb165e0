"""An export run: the approved shots of a task's products, streamed as one ZIP into S3.

A run holds the task by a lease (a duplicate delivery finds it held and stops), writes members
in a fixed order and, every few parts and before its invocation's time runs out, saves a
checkpoint (services/zipping.py: the archive's state, the upload's parts, the unsent tail, the
next member, the manifest so far) beside the archive. A run that runs out of time sends the job
again and stops; a run that dies is delivered again by SQS: either way the next run resumes from
the checkpoint, so no member is written twice or lost (parts written after the checkpoint are
written again under the same numbers, and only the parts listed complete the upload).

Every write of progress is conditioned on the task still being PROCESSING under this run's
lease: a cancel is never overwritten, and the run stops at its next member and aborts its upload.

A run reads for the task's owner, by the API's rules (services/access.py), never with the
worker's own rights: each product, look and image it touches must be readable by the owner when
the run reads it (when it resolves the items, and again in each continuation for the items left).
What is not is left out of the archive and the manifest and counted in `skipped_items`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.observability import metric
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import ShotStatus, TaskStatus
from chalicelib.services.zipping import MultipartSink, ResumableZip, UploadState
from chalicelib.store.blobs import s3_client
from chalicelib.store.exports import ACTIVE, ExportRepository
from chalicelib.store.jobs import JobQueue, export_queue
from chalicelib.store.models import ExportTaskItem, LookItem, ProductItem
from chalicelib.store.products import ProductRepository
from chalicelib.store.shootings import ShootingRepository

if TYPE_CHECKING:
    from chalicelib.services.access import Caller

logger = logging.getLogger(__name__)

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = (
    "file",
    "status",
    "product_id",
    "sku",
    "name",
    "brand",
    "season",
    "shot_type",
    "revision_version",
    "image_checksum",
)
# A checkpoint after this many parts (8 MiB each) sent since the last one: what a crash repeats.
CHECKPOINT_EVERY_PARTS = 4
LEASE = timedelta(minutes=20)
# The statuses a run may still take a task from (the store's, as stored values).
_ACTIVE = frozenset(s.value for s in ACTIVE)
DEAD_LETTER_REASON = "The export failed on every delivery"
# A failed run's job comes back after this many seconds times its failures so far.
RETRY_DELAY_SECONDS = 60


def archive_key(task_id: str) -> str:
    return f"exports/{task_id}/export-{task_id}.zip"


def _checkpoint_key(task_id: str) -> str:
    return f"exports/{task_id}/checkpoint.json"


@dataclass
class ExportItem:
    """One approved shot's image, as it goes into the archive and the manifest."""

    file: str
    image_key: str | None
    product_id: str
    look_id: str
    sku: str | None
    name: str | None
    brand: str | None
    season: str | None
    shot_type: str | None
    revision_version: int | None
    created_at: str


@dataclass(frozen=True)
class RunOutcome:
    state: str


class OwnerAccess:
    """What the task's owner may read now, by the API's rules (services/access.py)."""

    def __init__(self, caller: Caller | None) -> None:
        # None: the owner is gone or inactive, and reads nothing (the API would not answer them).
        self.caller = caller

    def product(self, product: ProductItem | None) -> bool:
        return self.caller is not None and product is not None and self.caller.can_read(product)

    def look(self, look: LookItem | None, product: ProductItem) -> bool:
        return self.caller is not None and look is not None and self.caller.sees_look(look, product.id)

    @staticmethod
    def image(key: str | None, product: ProductItem) -> bool:
        """A revision's image is its look's product's object (stored, or its generation's result,
        under the product's prefix). Another key of the images bucket came from a link someone
        typed: it is not the owner's to read through the worker. No key (an outside link): nothing
        is fetched, the manifest lists it as missing."""
        return key is None or key.startswith(f"products/{product.id}/")


def _safe(part: str) -> str:
    """A path segment of a member name: no separators, and no leading dots (no `..`)."""
    return re.sub(r"[^\w.\- ]+", "_", part).strip().lstrip(".") or "_"


def _zip_time(stamp: str) -> tuple[int, int, int, int, int, int]:
    # ZIP stores local times from 1980 on; stored timestamps are ISO UTC.
    y, mo, d, h, mi, s = (int(x) for x in re.split(r"[-T:.Z]", stamp)[:6])
    return (max(y, 1980), mo, d, h, mi, s)


def resolve_items(
    request: dict[str, Any],
    products: dict[str, ProductItem],
    looks_of: Callable[[str], list[LookItem]],
    access: OwnerAccess,
) -> tuple[list[ExportItem], int]:
    """The approved shots, in a fixed order: the request's products in order, their looks newest
    first (or the one look asked for), the shots in look order; each shot's current revision's
    effective image. Member names are `<sku or product id>/<shot type>[_n].<ext>`. Only what the
    owner may read: the products, looks and images left out are counted (the second value)."""
    settings = get_settings()
    shooting_id = request.get("shooting_id")
    items: list[ExportItem] = []
    used: set[str] = set()
    skipped = 0
    for product_id in request.get("product_ids") or []:
        product = products.get(product_id)
        if product is None or not access.product(product):
            # Deleted, moved out of the owner's reach since the task was made, or never theirs
            # (a look the owner may see on a product they may not): its looks are not read.
            skipped += 1
            continue
        doc = product.doc
        for look in looks_of(product_id):
            if shooting_id and look.shooting_id != shooting_id:
                continue
            if not access.look(look, product):
                skipped += 1
                continue
            for shot in look.shots or []:
                if shot.get("status") != ShotStatus.APPROVED.value:
                    continue
                revision = next(
                    (r for r in shot.get("revisions") or [] if r["id"] == shot.get("current_revision_id")), None
                )
                image = (revision or {}).get("images", [None])[0] if revision else None
                media = (image or {}).get("image_media") or {}
                url = media.get("url") or (image or {}).get("image_url")
                key = settings.media_key_from_url(url) if url else None
                if not access.image(key, product):
                    skipped += 1
                    continue
                extension = media.get("extension") or (key.rsplit(".", 1)[-1] if key and "." in key else "jpg")
                folder = _safe(doc.get("sku") or product_id)
                base = f"{folder}/{_safe(shot.get('shot_type') or 'shot')}"
                name, n = f"{base}.{extension}", 1
                while name in used:
                    n += 1
                    name = f"{base}_{n}.{extension}"
                used.add(name)
                items.append(
                    ExportItem(
                        file=name,
                        image_key=key,
                        product_id=product_id,
                        look_id=look.id,
                        sku=doc.get("sku"),
                        name=doc.get("name"),
                        brand=doc.get("brand"),
                        season=doc.get("season"),
                        shot_type=shot.get("shot_type"),
                        revision_version=(revision or {}).get("version"),
                        created_at=(revision or shot).get("created_at") or look.created_at,
                    )
                )
    return items, skipped


def manifest_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(MANIFEST_COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


class ExportRunner:
    def __init__(
        self,
        tasks: ExportRepository | None = None,
        shootings: ShootingRepository | None = None,
        products: ProductRepository | None = None,
        queue: JobQueue | None = None,
        s3: Any = None,
    ) -> None:
        self.tasks = tasks or ExportRepository()
        self.shootings = shootings or ShootingRepository()
        self.products = products or ProductRepository()
        self.queue = queue or export_queue()
        self.s3 = s3 or s3_client()
        settings = get_settings()
        self.bucket = settings.exports_bucket
        self.images_bucket = settings.images_bucket

    def give_up(self, task_id: str) -> bool | None:
        """The job reached the dead-letter queue: every delivery of it failed (a run that timed
        out or ran out of memory records nothing). The task is FAILED, its upload and checkpoint
        discarded, unless it finished or was cancelled meanwhile (False). None while a run still
        holds its lease: the last run may be alive, so the message is kept for a later sweep."""
        task = self.tasks.get(task_id)
        if task is None or task.status not in _ACTIVE:
            return False
        now = iso(utcnow())
        fields: dict[str, Any] = {
            "status": TaskStatus.FAILED.value,
            "error_message": DEAD_LETTER_REASON,
            "lease_id": None,
            "lease_until": None,
            "completed_at": now,
            "updated_at": now,
        }
        if not self.tasks.give_up(task_id, now, fields):
            return None if _held(task) else False
        metric("ExportsFailed")
        self._discard(task_id)
        return True

    # -- a run -------------------------------------------------------------------------

    def run(self, task_id: str, remaining_ms: Callable[[], int] | None = None) -> RunOutcome:
        task = self.tasks.get(task_id)
        if task is None:
            # Not written yet (the API sends the job first), or removed since.
            return RunOutcome("no task")
        if task.status not in _ACTIVE:
            if task.status in {TaskStatus.CANCELLED.value, TaskStatus.FAILED.value} and not _held(task):
                # Cancelled (or failed) while no run held it: its upload and checkpoint go now.
                self._discard(task_id)
            return RunOutcome("not active")
        lease = str(uuid.uuid4())
        now = utcnow()
        claimed = self.tasks.claim(
            task_id,
            lease,
            iso(now),
            iso(now + LEASE),
            {"status": TaskStatus.PROCESSING.value, "started_at": task.started_at or iso(now), "updated_at": iso(now)},
        )
        if not claimed:
            return RunOutcome("held or cancelled")
        try:
            return self._run(task, lease, remaining_ms)
        except Exception as exc:  # any failure: retried (a new message, after a backoff), then FAILED
            failures = int(task.failures or 0) + 1
            logger.exception("export run failed", extra={"task_id": task_id, "failures": failures})
            last = failures >= get_settings().export_max_attempts
            status = TaskStatus.FAILED if last else TaskStatus.RETRYING
            fields: dict[str, Any] = {
                "status": status.value,
                "failures": failures,
                "error_message": f"{exc.__class__.__name__}: {exc}"[:500],
                "lease_id": None,
                "lease_until": None,
                "updated_at": iso(utcnow()),
            }
            if last:
                fields["completed_at"] = iso(utcnow())
            if not self.tasks.update_held(task_id, lease, fields):
                current = self.tasks.get(task_id)
                if current is not None and current.status in _ACTIVE and not _held(current):
                    # Not cancelled: this run had released the task (a continuation it could
                    # not send). Raised, so SQS delivers this message again and a run resumes.
                    raise
                return RunOutcome("cancelled")
            if last:
                metric("ExportsFailed")
                self._discard(task_id)
                return RunOutcome("failed")
            # A new message rather than SQS's redelivery of this one: a duplicate delivery of it,
            # which found the task held and succeeded, may already have deleted it.
            self.queue.send({"action": "export", "task_id": task_id}, delay_seconds=RETRY_DELAY_SECONDS * failures)
            return RunOutcome("retrying")

    def _run(self, task: ExportTaskItem, lease: str, remaining_ms: Callable[[], int] | None) -> RunOutcome:
        task_id = task.id
        checkpoint = self._load_checkpoint(task_id)
        if checkpoint is not None and (size := self._archive_size(task_id)) is not None:
            # The archive was completed, but not the task (its write failed): complete the task.
            return self._complete(task_id, lease, size)
        access = self._owner_access(task.owner_id)
        readable: set[int] | None = None
        if checkpoint is None:
            request = dict(task.request)
            look_id = request.get("shooting_look_id")
            looks_of: Callable[[str], list[LookItem]] = self.shootings.looks_of_product
            skipped = 0
            if look_id:
                look = self.shootings.get_look(look_id)
                # The look asked for, and its main product as stored now (the task's product id is
                # the same one): the owner must be able to read both.
                request["product_ids"] = [look.product_id] if look is not None else []
                skipped += 1 if look is None else 0

                def looks_of(product_id: str) -> list[LookItem]:
                    return [look] if look is not None and look.product_id == product_id else []

            product_ids = list(request.get("product_ids") or [])
            products = self.products.batch_get(product_ids, consistent=True)
            resolved, left_out = resolve_items(request, products, looks_of, access)
            items = [asdict(i) for i in resolved]
            skipped += left_out
            upload = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=archive_key(task_id), ContentType="application/zip"
            )
            archive = ResumableZip(
                MultipartSink(self.s3, self.bucket, archive_key(task_id), UploadState(upload["UploadId"]))
            )
            checkpoint = {"items": items, "next": 0, "rows": [], "skipped": skipped, "zip": archive.state()}
            self._save_checkpoint(task_id, checkpoint, b"")
            fields = {"total_items": len(items), "skipped_items": skipped, "updated_at": iso(utcnow())}
            if not self.tasks.update_held(task_id, lease, fields):
                return self._stop(task_id, archive)
        else:
            tail = base64.b64decode(checkpoint.get("tail") or "")
            archive = ResumableZip.resume(self.s3, self.bucket, archive_key(task_id), checkpoint["zip"], tail)
            # Resolved by an earlier invocation: what is left is checked again, for now.
            readable = self._still_readable(access, checkpoint["items"], int(checkpoint["next"]))
        try:
            return self._write(task_id, lease, archive, checkpoint, remaining_ms, readable)
        except BaseException:
            # Never let the ZipFile's finaliser write end records into the upload.
            archive.abandon()
            raise

    def _write(
        self,
        task_id: str,
        lease: str,
        archive: ResumableZip,
        checkpoint: dict[str, Any],
        remaining_ms: Callable[[], int] | None,
        readable: set[int] | None,
    ) -> RunOutcome:
        """The members from the checkpoint's next one on; `readable`: the indexes of those the
        owner may still read (None: all, just resolved by this run)."""
        items = checkpoint["items"]
        rows: list[dict[str, Any]] = checkpoint["rows"]
        skipped = int(checkpoint.get("skipped") or 0)
        total = len(items)
        margin_ms = get_settings().export_time_margin_seconds * 1000
        for index in range(int(checkpoint["next"]), total):
            item = items[index]
            if readable is None or index in readable:
                rows.append(self._add(archive, item))
            else:
                skipped += 1
            done = index + 1
            fields = {
                "total_items": total,
                "processed_items": done,
                "skipped_items": skipped,
                "progress": int(done * 100 / total) if total else 100,
                "updated_at": iso(utcnow()),
            }
            if not self.tasks.update_held(task_id, lease, fields):
                return self._stop(task_id, archive)
            out_of_time = remaining_ms is not None and remaining_ms() < margin_ms and done < total
            if archive.sink.parts_sent >= CHECKPOINT_EVERY_PARTS or out_of_time:
                self._checkpoint(task_id, archive, items, done, rows, skipped)
            if out_of_time:
                # Released for the next run (a new message), which resumes from the checkpoint.
                released = self.tasks.update_held(
                    task_id,
                    lease,
                    {"status": TaskStatus.SCHEDULED.value, "lease_id": None, "lease_until": None},
                )
                if not released:
                    return self._stop(task_id, archive)
                archive.abandon()
                self.queue.send({"action": "export", "task_id": task_id})
                return RunOutcome("continued")
        archive.add(MANIFEST, manifest_csv(rows), _zip_time(iso(utcnow())))
        archive.finish()
        return self._complete(task_id, lease, archive.sink.upload.offset)

    def _archive_size(self, task_id: str) -> int | None:
        """The completed archive's size; None while it is still a multipart upload."""
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=archive_key(task_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return int(head["ContentLength"])

    def _complete(self, task_id: str, lease: str, size: int) -> RunOutcome:
        now = iso(utcnow())
        completed = self.tasks.update_held(
            task_id,
            lease,
            {
                "status": TaskStatus.COMPLETED.value,
                "progress": 100,
                "object_key": archive_key(task_id),
                "object_size": size,
                "completed_at": now,
                "updated_at": now,
                "error_message": None,
                "lease_id": None,
                "lease_until": None,
            },
        )
        self._delete_checkpoint(task_id)
        if not completed:
            # Cancelled while the archive was being completed: nothing is left behind.
            self.s3.delete_object(Bucket=self.bucket, Key=archive_key(task_id))
            return RunOutcome("cancelled")
        metric("ExportsCompleted")
        metric("ExportBytes", "Bytes", size)
        return RunOutcome("completed")

    @staticmethod
    def _owner_access(owner_id: str) -> OwnerAccess:
        """The task's owner as the API would see them now (their memberships read afresh)."""
        from chalicelib.services.access import Caller
        from chalicelib.store.organizations import OrganizationRepository
        from chalicelib.store.users import UserRepository

        user = UserRepository().get(owner_id)
        if user is None or not user.is_active:
            return OwnerAccess(None)
        return OwnerAccess(Caller(user=user, orgs=OrganizationRepository()))

    def _still_readable(self, access: OwnerAccess, items: list[dict[str, Any]], start: int) -> set[int]:
        """The indexes, from `start` on, of the items whose product, look and image the owner may
        read now (their product may have moved, the owner left an organization...)."""
        left = items[start:]
        if not left:
            return set()
        products = self.products.batch_get(list(dict.fromkeys(i["product_id"] for i in left)), consistent=True)
        # An item saved by a run before items named their look cannot be checked: left out.
        looks = self.shootings.batch_get_looks([i["look_id"] for i in left if i.get("look_id")], consistent=True)
        readable: set[int] = set()
        for index, item in enumerate(left, start):
            product = products.get(item["product_id"])
            look = looks.get(item.get("look_id") or "")
            if (
                product is not None
                and access.product(product)
                and access.look(look, product)
                and access.image(item.get("image_key"), product)
            ):
                readable.add(index)
        return readable

    def _add(self, archive: ResumableZip, item: dict[str, Any]) -> dict[str, Any]:
        row = {column: item.get(column) for column in MANIFEST_COLUMNS if column in item}
        row.update(status="missing", image_checksum="")
        key = item.get("image_key")
        if key:
            try:
                data = bytes(self.s3.get_object(Bucket=self.images_bucket, Key=key)["Body"].read())
            except ClientError as exc:
                logger.warning("export image missing", extra={"key": key, "error": str(exc)})
            else:
                archive.add(item["file"], data, _zip_time(item["created_at"]))
                row.update(status="ok", image_checksum=hashlib.sha256(data).hexdigest())
        return row

    def _stop(self, task_id: str, archive: ResumableZip) -> RunOutcome:
        """Cancelled (the task is no longer PROCESSING under our lease): abort, leave nothing."""
        archive.abandon()
        self._discard(task_id)
        return RunOutcome("cancelled")

    def _discard(self, task_id: str) -> None:
        checkpoint = self._load_checkpoint(task_id)
        if checkpoint is not None:
            try:
                self.s3.abort_multipart_upload(
                    Bucket=self.bucket, Key=archive_key(task_id), UploadId=checkpoint["zip"]["upload_id"]
                )
            except ClientError:
                logger.warning("multipart upload not aborted", extra={"task_id": task_id}, exc_info=True)
        self._delete_checkpoint(task_id)

    # -- checkpoints -------------------------------------------------------------------

    def _checkpoint(
        self,
        task_id: str,
        archive: ResumableZip,
        items: list[dict[str, Any]],
        done: int,
        rows: list[dict[str, Any]],
        skipped: int,
    ) -> None:
        state = {"items": items, "next": done, "rows": rows, "skipped": skipped, "zip": archive.state()}
        self._save_checkpoint(task_id, state, bytes(archive.sink.buffer))
        archive.sink.parts_sent = 0

    def _save_checkpoint(self, task_id: str, checkpoint: dict[str, Any], tail: bytes) -> None:
        # One object: the tail (less than a part) travels inside the checkpoint, so a crash
        # between two writes can never pair a checkpoint with another checkpoint's tail.
        body = {**checkpoint, "tail": base64.b64encode(tail).decode()}
        self.s3.put_object(Bucket=self.bucket, Key=_checkpoint_key(task_id), Body=json.dumps(body).encode())

    def _load_checkpoint(self, task_id: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=_checkpoint_key(task_id))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        loaded: dict[str, Any] = json.loads(body)
        return loaded

    def _delete_checkpoint(self, task_id: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=_checkpoint_key(task_id))


def _held(task: ExportTaskItem) -> bool:
    """A run holds the task now (its lease has not expired)."""
    return bool(task.lease_id) and bool(task.lease_until) and str(task.lease_until) > iso(utcnow())
