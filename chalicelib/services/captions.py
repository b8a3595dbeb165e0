"""Captioning of products: when a task starts, how it runs (in the request or from the queue),
how failures retry, and what the result fills in.

A product's caption belongs to its cover image: a task starts when an enabled product's cover
is a stored image other than the one captioned (a new product, a changed cover, a completed
draft). The task id is written with the product; every later write names it, so the outcome of
a superseded task is dropped. The texts are shown as the cover media's caption and alt text and
as the product's description where the user wrote none (services/products.py `to_public`).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.config import get_settings
from chalicelib.observability import metric
from chalicelib.schemas.common import utcnow
from chalicelib.schemas.enums import TaskStatus
from chalicelib.services.captioning import Caption, Captioner, CaptionFailed, CaptionImage, CaptionRequest
from chalicelib.store.blobs import ImageStore, product_image_key
from chalicelib.store.captions import FINISHED, CaptionStore
from chalicelib.store.jobs import JobQueue, caption_queue
from chalicelib.store.models import ProductItem
from chalicelib.store.products import ProductRepository

logger = logging.getLogger(__name__)

_FORMATS = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp", "gif": "gif"}
DEAD_LETTER_REASON = "The caption job failed on every delivery"
# The product fields a captioner may word its answer with.
_CONTEXT_FIELDS = ("name", "brand", "type", "colour", "materials", "gender", "season", "year", "pattern", "category")


@dataclass(frozen=True)
class JobOutcome:
    """What the worker does with the delivery: delete it (done), put it off (`retry_after`
    seconds), or leave it failed (not done, no retry: the queue's maxReceiveCount moves it to
    the dead-letter queue)."""

    done: bool = True
    retry_after: int | None = None
    # The caption written, when this run wrote one.
    caption: Caption | None = None
    # A request's attempt failed in a way worth retrying: the job goes on the queue.
    queue: bool = False


def plan_caption(item: ProductItem) -> bool:
    """Set the product's caption task to match its cover, before the product is written:
    True when a new task starts (to run once the write is committed)."""
    cover = item.doc.get("cover_image_media")
    cover_id = cover.get("id") if isinstance(cover, dict) else None
    if cover_id is None:
        if item.caption_media_id is not None or item.caption_status is not None:
            _reset(item, None, None)
        return False
    if not item.doc.get("enabled", True):
        return False  # a draft is captioned when completed
    if cover_id == item.caption_media_id and item.caption_status is not None:
        return False
    _reset(item, cover_id, str(uuid.uuid4()))
    return True


def _latency_ms(item: ProductItem) -> float | None:
    """Milliseconds from the product write that started the task to now. No record holds the
    task's start: the product's updated_at does, unless an edit that kept the cover came
    meanwhile (then this is a lower bound)."""
    try:
        elapsed = utcnow() - datetime.fromisoformat(str(item.updated_at))
    except (TypeError, ValueError):  # no timestamp, or one without its zone
        return None
    return max(0.0, elapsed.total_seconds() * 1000)


def _reset(item: ProductItem, media_id: str | None, task_id: str | None) -> None:
    item.caption_media_id = media_id
    item.caption_task_id = task_id
    item.caption_status = TaskStatus.PENDING.value if task_id else None
    item.caption_retry_count = 0
    item.caption_error = None
    item.caption_text = None
    item.caption_alt_text = None
    item.caption_description = None


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="caption")
        return _EXECUTOR


class CaptionService:
    def __init__(
        self,
        products: ProductRepository | None = None,
        images: ImageStore | None = None,
        store: CaptionStore | None = None,
        queue: JobQueue | None = None,
        captioner: Captioner | None = None,
    ) -> None:
        self.products = products or ProductRepository()
        self.images = images or ImageStore()
        self.store = store or CaptionStore()
        self.queue = queue or caption_queue()
        self._captioner = captioner

    @property
    def captioner(self) -> Captioner:
        if self._captioner is None:
            from chalicelib import wiring

            self._captioner = wiring.captioner()
        return self._captioner

    # -- starting a task ---------------------------------------------------------------

    def start(self, item: ProductItem, *, sync: bool) -> ProductItem:
        """Run a task `plan_caption` started: within the request's budget when `sync`, falling
        back to the queue on timeout; else queued at once. Returns the product as stored now."""
        task_id = item.caption_task_id
        if task_id is None or item.caption_status != TaskStatus.PENDING.value:
            return item
        if not sync:
            self.enqueue(item.id, task_id)
            return item
        # The product was just written: the task runs on that copy (no read), and a completed
        # caption is applied to it as the worker's write applied it to the stored one.
        # In the request's context: the thread's log lines carry its correlation and user ids.
        context = contextvars.copy_context()
        future: Future[JobOutcome] = _executor().submit(context.run, self._caption, item, task_id, 1, True)
        try:
            outcome = future.result(timeout=get_settings().caption_sync_budget_seconds)
        except FutureTimeout:
            # The thread may still finish (its write names the task); the queued job then finds
            # the task completed and stops.
            self.enqueue(item.id, task_id)
            return item
        except Exception:
            # The product is committed: a failure to write its caption must not fail the
            # request (a client would retry and create it twice). The worker takes over.
            logger.exception("caption in the request failed", extra={"product_id": item.id})
            self.enqueue(item.id, task_id)
            return item
        if outcome.queue:
            self.enqueue(item.id, task_id)
            return item
        if outcome.caption is None:
            return self.products.get(item.id) or item
        item.caption_status = TaskStatus.COMPLETED.value
        item.caption_text = outcome.caption.caption
        item.caption_alt_text = outcome.caption.alt_text
        item.caption_description = outcome.caption.description
        item.version = int(item.version or 0) + 1
        return item

    def enqueue(self, product_id: str, task_id: str) -> None:
        try:
            self.queue.send({"product_id": product_id, "task_id": task_id})
        except Exception as exc:
            logger.exception("caption job not queued", extra={"product_id": product_id})
            if self.store.mark(product_id, task_id, TaskStatus.FAILED, error=f"Not queued: {exc.__class__.__name__}"):
                metric("CaptionsFailed")

    def give_up(self, product_id: str, task_id: str) -> bool:
        """The job reached the dead-letter queue: every delivery failed, the last ones perhaps
        without a word (the function timed out or ran out of memory before it could record
        anything). The task is FAILED unless it finished or was superseded meanwhile."""
        if self.store.mark(product_id, task_id, TaskStatus.FAILED, error=DEAD_LETTER_REASON):
            metric("CaptionsFailed")
            return True
        return False

    # -- running a task (the worker, or the request within its budget) -----------------

    def process(self, product_id: str, task_id: str, attempt: int) -> JobOutcome:
        """One delivery of a caption job; `attempt` is SQS's receive count (1 for the first)."""
        return self._run(product_id, task_id, attempt, False)

    def _run(self, product_id: str, task_id: str, attempt: int, in_request: bool) -> JobOutcome:
        item = self.products.get(product_id)
        if item is None or item.caption_task_id != task_id or item.caption_status in FINISHED:
            return JobOutcome()
        if not self.store.mark(product_id, task_id, TaskStatus.PROCESSING):
            return JobOutcome()
        return self._caption(item, task_id, attempt, in_request)

    def _caption(self, item: ProductItem, task_id: str, attempt: int, in_request: bool) -> JobOutcome:
        product_id = item.id
        media_id = item.caption_media_id
        if media_id is None:
            return JobOutcome()
        try:
            caption = self.captioner.describe(self._request(item))
        except CaptionFailed as exc:
            return self._failed(item, task_id, attempt, exc.reason, exc.retryable, in_request)
        except Exception as exc:
            logger.exception("captioning raised", extra={"product_id": product_id})
            return self._failed(item, task_id, attempt, f"{exc.__class__.__name__}: {exc}"[:300], True, in_request)
        if not self.store.complete(
            product_id, task_id, media_id, caption.caption, caption.alt_text, caption.description
        ):
            return JobOutcome()  # superseded meanwhile
        metric("CaptionsDone")
        latency = _latency_ms(item)
        if latency is not None:
            metric("CaptionLatency", "Milliseconds", latency)
        return JobOutcome(caption=caption)

    def _failed(
        self, item: ProductItem, task_id: str, attempt: int, reason: str, retryable: bool, in_request: bool
    ) -> JobOutcome:
        settings = get_settings()
        if not retryable:
            if self.store.mark(item.id, task_id, TaskStatus.FAILED, error=reason):
                metric("CaptionsFailed")
            return JobOutcome()
        if in_request:
            # The request's attempt is not a delivery: the queue makes the counted ones. The
            # request queues the job, unless it gave up waiting (then it has queued it already).
            return JobOutcome(queue=True)
        if attempt >= settings.caption_max_attempts:
            if self.store.mark(item.id, task_id, TaskStatus.FAILED, retry_count=attempt - 1, error=reason):
                metric("CaptionsFailed")
            return JobOutcome(done=False)
        self.store.mark(item.id, task_id, TaskStatus.RETRYING, retry_count=attempt, error=reason)
        delay = settings.caption_retry_base_seconds * 2 ** (attempt - 1)
        return JobOutcome(done=False, retry_after=delay)

    def _request(self, item: ProductItem) -> CaptionRequest:
        images: list[CaptionImage] = []
        for role in ("cover", "back"):
            media = item.doc.get(f"{role}_image_media")
            if not isinstance(media, dict):
                continue
            key = product_image_key(item.id, media["id"], media["extension"])
            images.append(CaptionImage(self.images.get(key), _FORMATS.get(media["extension"], "jpeg"), role))
        context: dict[str, Any] = {k: item.doc.get(k) for k in _CONTEXT_FIELDS if item.doc.get(k) not in (None, "")}
        return CaptionRequest(images=images, product=context)
