"""Captioning end to end: a product's write starts a task, the request or the caption worker
runs it (jobs through the real caption queue, moto's SQS, with its redrive to the DLQ), and the
product shows the outcome.

Captioners are swapped on the service the wiring built (`wiring.captions()._captioner`): the
local one by default, fakes that answer, wait, or fail (retryable or not) where a test says so.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib import queues, wiring
from chalicelib.config import get_settings
from chalicelib.services.captioning import Caption, CaptionFailed, CaptionRequest
from chalicelib.store.media import MediaRepository
from chalicelib.store.models import ProductItem
from chalicelib.workers import captions as worker
from tests.factories import Api, png_b64
from tests.support import sqs

PRODUCTS = "/api/v1/products/"
QUEUE = queues.CAPTION_QUEUE
DLQ = queues.CAPTION_DLQ
RED = png_b64((200, 30, 30), (16, 12))
NAVY = png_b64((20, 40, 160), (16, 12))


# -- captioners ------------------------------------------------------------------------


class FixedCaptioner:
    """Answers at once with texts naming it (`label`) and counting its calls."""

    def __init__(self, label: str = "worker") -> None:
        self.label = label
        self.requests: list[CaptionRequest] = []

    def describe(self, request: CaptionRequest) -> Caption:
        self.requests.append(request)
        n = len(self.requests)
        return Caption(
            caption=f"{self.label} caption {n}",
            alt_text=f"{self.label} alt {n}",
            description=f"{self.label} description {n}",
        )


class FailingCaptioner:
    def __init__(self, reason: str, retryable: bool) -> None:
        self.reason = reason
        self.retryable = retryable
        self.calls = 0

    def describe(self, request: CaptionRequest) -> Caption:
        self.calls += 1
        raise CaptionFailed(self.reason, retryable=self.retryable)


class SlowCaptioner:
    """Waits for `release` (bounded, so no thread outlives a failed test for long), then answers
    like `answer` says: a caption, or a CaptionFailed."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        # Set when the request's attempt has returned, its writes made (the `slow` fixture).
        self.done = threading.Event()
        self.answer: Caption | CaptionFailed = Caption("slow caption", "slow alt", "slow description")

    def describe(self, request: CaptionRequest) -> Caption:
        self.started.set()
        self.release.wait(timeout=10)
        if isinstance(self.answer, CaptionFailed):
            raise self.answer
        return self.answer


# -- fixtures and helpers --------------------------------------------------------------


@pytest.fixture
def use_captioner(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """Swap the captioner of the wiring's caption service (restored after the test)."""

    def use(captioner: Any) -> Any:
        monkeypatch.setattr(wiring.captions(), "_captioner", captioner)
        return captioner

    return use


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowCaptioner]:
    """A slow captioner; the request's attempt (run on the service's thread pool) signals when it
    has returned, and is released and waited for after the test, so no thread outlives it."""
    captioner = SlowCaptioner()
    service = wiring.captions()
    original = service._caption

    def attempt(item: ProductItem, task_id: str, number: int, in_request: bool) -> Any:
        try:
            return original(item, task_id, number, in_request)
        finally:
            if in_request:
                captioner.done.set()

    monkeypatch.setattr(service, "_caption", attempt)
    yield captioner
    captioner.release.set()
    if captioner.started.is_set():
        captioner.done.wait(timeout=10)


@pytest.fixture
def sync_budget() -> Iterator[Callable[[float], None]]:
    """Set the request's caption budget; the settings read anew, and again after the test."""
    name = "CAPTION_SYNC_BUDGET_SECONDS"
    before = os.environ.get(name)

    def set_budget(seconds: float) -> None:
        os.environ[name] = str(seconds)
        get_settings.cache_clear()
        assert get_settings().caption_sync_budget_seconds == seconds

    yield set_budget
    if before is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = before
    get_settings.cache_clear()
    get_settings()


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The backoffs the worker asks of the queue (the real call still made)."""
    queue = wiring.captions().queue
    original = queue.delay
    asked: list[int] = []

    def delay(receipt_handle: str, seconds: int) -> None:
        asked.append(seconds)
        original(receipt_handle, seconds)

    monkeypatch.setattr(queue, "delay", delay)
    return asked


def stored(product_id: str) -> ProductItem:
    item = wiring.captions().products.get(product_id)
    assert item is not None
    return item


def jobs(name: str = QUEUE) -> list[dict[str, Any]]:
    """Receive what the queue holds (each receive counts as a delivery), visible again at once."""
    return sqs.receive(name, visibility=0)


def bodies(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in messages]


def deliver(messages: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Hand received messages to the worker as Lambda would; the answer and the failed ones."""
    answer = worker.handle(sqs.event_of(QUEUE, messages))
    return answer, sqs.delete_succeeded(QUEUE, messages, answer)


def deliver_all() -> list[dict[str, Any]]:
    """Deliver whatever the queue holds now, once; the worker's answer (no failure expected)."""
    messages = jobs()
    assert messages, "no caption job queued"
    answer, failed = deliver(messages)
    assert failed == [], answer
    return messages


def queue_counts(name: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    attributes = sqs.client().get_queue_attributes(
        QueueUrl=sqs.queue_url(name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def assert_queue_empty(name: str = QUEUE) -> None:
    assert queue_counts(name) == (0, 0)


def create(api: Api, token: str, query: str = "", **fields: Any) -> dict[str, Any]:
    body = {"name": "Shirt", "cover_image": RED, **fields}
    r = api.post(PRODUCTS + query, body, token)
    assert r.status == 200, r
    product: dict[str, Any] = r.json
    return product


def read(api: Api, token: str, product_id: str) -> dict[str, Any]:
    r = api.get(f"{PRODUCTS}{product_id}", token)
    assert r.status == 200, r
    product: dict[str, Any] = r.json
    return product


def patch(api: Api, token: str, product_id: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.patch(f"{PRODUCTS}{product_id}", body, token)
    assert r.status == 200, r
    product: dict[str, Any] = r.json
    return product


def assert_pending(product: dict[str, Any]) -> None:
    assert product["caption_status"] == "PENDING"
    assert product["caption_task_id"] and len(product["caption_task_id"]) == 36
    assert product["cover_image_media"]["caption"] is None
    assert product["cover_image_media"]["alt_text"] is None
    assert product["description"] is None


# -- in the request ----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?sync_captioning=true"])
def test_a_new_product_is_captioned_within_the_request(api: Api, query: str) -> None:
    _, token = api.user()
    product = create(api, token, query)

    assert product["caption_status"] == "COMPLETED", product
    assert len(product["caption_task_id"]) == 36
    assert product["caption_retry_count"] == 0
    cover = product["cover_image_media"]
    # The local captioner names the colour it sees and the product's own name.
    assert "red" in cover["caption"] and "Shirt" in cover["caption"]
    assert cover["alt_text"] and "red" in cover["alt_text"]
    assert product["description"] and "red" in product["description"]

    item = stored(product["id"])
    assert item.caption_status == "COMPLETED"
    assert item.caption_media_id == cover["id"]
    assert (item.caption_text, item.caption_alt_text, item.caption_description) == (
        cover["caption"],
        cover["alt_text"],
        product["description"],
    )
    # The cover's media record has the caption too.
    media = MediaRepository().get(cover["id"])
    assert media is not None and (media.caption, media.alt_text) == (cover["caption"], cover["alt_text"])

    # The response showed what is stored: the next read is the same product.
    assert read(api, token, product["id"]) == product
    # Nothing was left to the worker.
    assert_queue_empty()


def test_a_written_description_is_kept_while_the_cover_is_captioned(api: Api, use_captioner: Any) -> None:
    use_captioner(FixedCaptioner("fake"))
    _, token = api.user()
    product = create(api, token, description="Hand-written words")

    assert product["caption_status"] == "COMPLETED"
    assert product["description"] == "Hand-written words"
    assert product["cover_image_media"]["caption"] == "fake caption 1"
    assert product["cover_image_media"]["alt_text"] == "fake alt 1"
    assert read(api, token, product["id"]) == product


def test_a_new_cover_on_a_disabled_product_shows_no_stale_description(api: Api, use_captioner: Any) -> None:
    """Disabling the product and changing its cover in one write: a draft is not captioned, so
    the old cover's texts must not be shown for the new one; completing the draft captions it."""
    use_captioner(FixedCaptioner("fake"))
    _, token = api.user()
    product = create(api, token)
    assert product["description"] == "fake description 1"

    draft = patch(api, token, product["id"], {"enabled": False, "cover_image": NAVY})
    assert draft["cover_image_media"]["id"] != product["cover_image_media"]["id"]
    assert draft["description"] is None
    assert draft["cover_image_media"]["caption"] is None

    completed = patch(api, token, product["id"], {"enabled": True})
    assert_pending(completed)
    assert completed["description"] is None
    deliver(jobs())
    done = read(api, token, product["id"])
    assert done["description"] == "fake description 2"
    assert done["cover_image_media"]["caption"] == "fake caption 2"


def test_the_captioner_is_given_the_stored_cover_and_the_products_fields(api: Api, use_captioner: Any) -> None:
    captioner = use_captioner(FixedCaptioner())
    _, token = api.user()
    create(api, token, brand="Acme", back_image=NAVY)

    [request] = captioner.requests
    assert [(i.role, i.format) for i in request.images] == [("cover", "png"), ("back", "png")]
    assert request.images[0].data == base64.b64decode(RED)
    assert request.images[1].data == base64.b64decode(NAVY)
    assert request.product["name"] == "Shirt" and request.product["brand"] == "Acme"


def test_a_non_retryable_failure_in_the_request_fails_the_caption(api: Api, use_captioner: Any) -> None:
    use_captioner(FailingCaptioner("bad image", retryable=False))
    _, token = api.user()
    product = create(api, token)

    assert product["caption_status"] == "FAILED"
    assert product["caption_retry_count"] == 0
    assert product["cover_image_media"]["caption"] is None and product["description"] is None
    assert stored(product["id"]).caption_error == "bad image"
    assert_queue_empty()


def test_a_retryable_failure_in_the_request_leaves_the_caption_to_the_worker(api: Api, use_captioner: Any) -> None:
    failing = use_captioner(FailingCaptioner("throttled", retryable=True))
    _, token = api.user()
    product = create(api, token)

    assert failing.calls == 1
    assert_pending(product)
    # The request's attempt is not one of the counted deliveries.
    assert product["caption_retry_count"] == 0
    messages = jobs()
    assert bodies(messages) == [{"product_id": product["id"], "task_id": product["caption_task_id"]}]

    use_captioner(FixedCaptioner())
    answer, failed = deliver(messages)
    assert failed == [] and answer == {"batchItemFailures": []}
    done = read(api, token, product["id"])
    assert done["caption_status"] == "COMPLETED"
    assert done["cover_image_media"]["caption"] == "worker caption 1"


# -- by the worker -------------------------------------------------------------------------


def test_an_async_create_queues_the_job_and_the_worker_captions(api: Api, use_captioner: Any) -> None:
    _, token = api.user()
    product = create(api, token, "?sync_captioning=false")

    assert_pending(product)
    assert read(api, token, product["id"]) == product
    messages = jobs()
    assert bodies(messages) == [{"product_id": product["id"], "task_id": product["caption_task_id"]}]

    captioner = use_captioner(FixedCaptioner())
    answer, failed = deliver(messages)
    assert answer == {"batchItemFailures": []} and failed == []
    assert len(captioner.requests) == 1
    assert_queue_empty()

    done = read(api, token, product["id"])
    assert done["caption_status"] == "COMPLETED"
    assert done["caption_task_id"] == product["caption_task_id"]
    assert done["caption_retry_count"] == 0
    assert done["cover_image_media"]["caption"] == "worker caption 1"
    assert done["cover_image_media"]["alt_text"] == "worker alt 1"
    assert done["description"] == "worker description 1"
    assert stored(product["id"]).caption_error is None


def test_a_job_delivered_again_after_completion_changes_nothing(api: Api, use_captioner: Any) -> None:
    _, token = api.user()
    product = create(api, token, "?sync_captioning=false")
    job = json.dumps({"product_id": product["id"], "task_id": product["caption_task_id"]})
    captioner = use_captioner(FixedCaptioner())
    deliver_all()
    done = read(api, token, product["id"])

    # SQS delivers at least once: the same job again.
    answer = worker.handle(sqs.synthetic_event([job], QUEUE))
    assert answer == {"batchItemFailures": []}
    assert len(captioner.requests) == 1
    assert read(api, token, product["id"]) == done


def test_the_request_falls_back_to_the_queue_when_the_caption_is_slow(
    api: Api, use_captioner: Any, slow: SlowCaptioner, sync_budget: Callable[[float], None]
) -> None:
    sync_budget(0.05)
    use_captioner(slow)
    _, token = api.user()
    product = create(api, token)

    # The request's thread is inside the captioner (it may get there after the request returned).
    assert slow.started.wait(timeout=10)
    assert_pending(product)
    messages = jobs()
    assert bodies(messages) == [{"product_id": product["id"], "task_id": product["caption_task_id"]}]

    # The request's attempt may still finish: it writes the caption (its write names the task).
    slow.release.set()
    assert slow.done.wait(timeout=10)
    assert stored(product["id"]).caption_status == "COMPLETED"
    # The queued job then finds the task completed and stops, without captioning again.
    normal = use_captioner(FixedCaptioner())
    answer, failed = deliver(messages)
    assert answer == {"batchItemFailures": []} and failed == []
    assert normal.requests == []
    assert_queue_empty()
    done = read(api, token, product["id"])
    assert done["caption_status"] == "COMPLETED"
    assert done["cover_image_media"]["caption"] == "slow caption"
    assert done["description"] == "slow description"


def test_after_a_timeout_the_worker_captions_with_its_own_captioner(
    api: Api, use_captioner: Any, slow: SlowCaptioner, sync_budget: Callable[[float], None]
) -> None:
    sync_budget(0.05)
    use_captioner(slow)
    slow.answer = CaptionFailed("timed out", retryable=True)
    _, token = api.user()
    product = create(api, token)
    assert_pending(product)
    # Before the captioner is swapped: the request's thread must be holding the slow one.
    assert slow.started.wait(timeout=10)

    # The worker's captioner answers; the request's attempt then fails (retryable) late.
    normal = use_captioner(FixedCaptioner())
    messages = jobs()
    assert len(messages) == 1
    answer, failed = deliver(messages)
    assert answer == {"batchItemFailures": []} and failed == []
    assert len(normal.requests) == 1
    done = read(api, token, product["id"])
    assert done["caption_status"] == "COMPLETED"
    assert done["cover_image_media"]["caption"] == "worker caption 1"

    slow.release.set()
    assert slow.done.wait(timeout=10)
    # Whatever the late attempt queued finds the task completed.
    for message in jobs():
        answer, failed = deliver([message])
        assert failed == []
    assert len(normal.requests) == 1
    assert read(api, token, product["id"]) == done


def test_a_late_request_failure_does_not_undo_a_completed_caption(
    api: Api, use_captioner: Any, slow: SlowCaptioner, sync_budget: Callable[[float], None]
) -> None:
    sync_budget(0.05)
    use_captioner(slow)
    slow.answer = CaptionFailed("unusable answer", retryable=False)
    _, token = api.user()
    product = create(api, token)
    assert_pending(product)
    assert slow.started.wait(timeout=10)

    use_captioner(FixedCaptioner())
    deliver_all()
    assert stored(product["id"]).caption_status == "COMPLETED"

    slow.release.set()
    assert slow.done.wait(timeout=10)
    assert stored(product["id"]).caption_status == "COMPLETED"


def test_retryable_failures_back_off_then_fail_and_go_to_the_dead_letter_queue(
    api: Api, use_captioner: Any, delays: list[int]
) -> None:
    settings = get_settings()
    max_attempts = settings.caption_max_attempts
    assert max_attempts == 4
    failing = use_captioner(FailingCaptioner("throttled", retryable=True))
    _, token = api.user()
    product = create(api, token, "?sync_captioning=false")
    assert failing.calls == 0

    for attempt in range(1, max_attempts + 1):
        messages = jobs()
        assert len(messages) == 1, f"attempt {attempt}"
        [message] = messages
        assert message["Attributes"]["ApproximateReceiveCount"] == str(attempt)
        answer, failed = deliver(messages)
        # Every failed delivery is reported failed: SQS delivers it again, or moves it to the DLQ.
        assert answer == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
        assert failed == messages
        assert failing.calls == attempt

        now = read(api, token, product["id"])
        assert now["caption_task_id"] == product["caption_task_id"]
        assert stored(product["id"]).caption_error == "throttled"
        if attempt < max_attempts:
            assert now["caption_status"] == "RETRYING"
            assert now["caption_retry_count"] == attempt
            assert delays[-1] == settings.caption_retry_base_seconds * 2 ** (attempt - 1)
            # The backoff: received with no visibility timeout, the message is hidden again by
            # the worker's change_message_visibility.
            assert jobs() == []
            assert queue_counts(QUEUE) == (0, 1)
            sqs.make_visible(QUEUE, message)  # the backoff, skipped
        else:
            assert now["caption_status"] == "FAILED"
            assert now["caption_retry_count"] == max_attempts - 1
            assert now["cover_image_media"]["caption"] is None and now["description"] is None
            # The last failure asks no backoff: the message is left for the redrive.
            assert len(delays) == max_attempts - 1

    assert delays == [settings.caption_retry_base_seconds * 2**n for n in range(max_attempts - 1)]
    # The next receive finds the message over maxReceiveCount: moto moves it to the DLQ.
    assert jobs() == []
    assert_queue_empty()
    dead = sqs.receive(DLQ)
    assert bodies(dead) == [{"product_id": product["id"], "task_id": product["caption_task_id"]}]
    assert failing.calls == max_attempts
    assert read(api, token, product["id"])["caption_status"] == "FAILED"


def test_a_non_retryable_failure_fails_at_once_and_deletes_the_job(api: Api, use_captioner: Any) -> None:
    failing = use_captioner(FailingCaptioner("bad image", retryable=False))
    _, token = api.user()
    product = create(api, token, "?sync_captioning=false")

    messages = jobs()
    answer, failed = deliver(messages)
    assert answer == {"batchItemFailures": []} and failed == []
    assert failing.calls == 1

    now = read(api, token, product["id"])
    assert now["caption_status"] == "FAILED"
    assert now["caption_retry_count"] == 0
    assert now["cover_image_media"]["caption"] is None and now["description"] is None
    assert stored(product["id"]).caption_error == "bad image"
    assert jobs() == []
    assert_queue_empty()
    assert_queue_empty(DLQ)


def test_an_unexpected_error_of_the_captioner_is_retried(api: Api, use_captioner: Any) -> None:
    class Broken:
        def describe(self, request: CaptionRequest) -> Caption:
            raise RuntimeError("boom")

    use_captioner(Broken())
    _, token = api.user()
    product = create(api, token, "?sync_captioning=false")
    [message] = jobs()
    answer, failed = deliver([message])
    assert failed == [message]
    assert answer == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    now = read(api, token, product["id"])
    assert now["caption_status"] == "RETRYING" and now["caption_retry_count"] == 1
    assert stored(product["id"]).caption_error == "RuntimeError: boom"

    sqs.make_visible(QUEUE, message)
    use_captioner(FixedCaptioner())
    deliver_all()
    done = read(api, token, product["id"])
    assert done["caption_status"] == "COMPLETED"
    # The count of retries is kept; the error is gone.
    assert done["caption_retry_count"] == 1
    assert stored(product["id"]).caption_error is None


# -- what starts a task ------------------------------------------------------------------


def test_a_draft_is_captioned_when_completed(api: Api, use_captioner: Any) -> None:
    captioner = use_captioner(FixedCaptioner())
    _, token = api.user()
    draft = create(api, token, "?mode=basic")

    assert draft["enabled"] is False
    assert draft["caption_status"] is None and draft["caption_task_id"] is None
    assert_queue_empty()
    assert captioner.requests == []
    # Another edit of the draft starts nothing either.
    assert patch(api, token, draft["id"], {"name": "Still a draft"})["caption_status"] is None
    assert_queue_empty()

    completed = patch(api, token, draft["id"], {"enabled": True})
    assert completed["enabled"] is True
    assert_pending(completed)
    messages = jobs()
    assert bodies(messages) == [{"product_id": draft["id"], "task_id": completed["caption_task_id"]}]
    assert captioner.requests == []

    deliver(messages)
    done = read(api, token, draft["id"])
    assert done["caption_status"] == "COMPLETED"
    assert done["cover_image_media"]["caption"] == "worker caption 1"
    assert done["description"] == "worker description 1"


def test_a_changed_cover_is_captioned_again(api: Api) -> None:
    _, token = api.user()
    first = create(api, token)
    assert first["caption_status"] == "COMPLETED" and "red" in first["description"]
    old_task = first["caption_task_id"]
    old_media = first["cover_image_media"]["id"]

    changed = patch(api, token, first["id"], {"cover_image": NAVY})
    new_media = changed["cover_image_media"]["id"]
    assert new_media != old_media
    assert changed["caption_task_id"] != old_task
    # An update leaves the caption to the worker; the old caption is not shown for the new cover.
    assert_pending(changed)
    messages = jobs()
    assert bodies(messages) == [{"product_id": first["id"], "task_id": changed["caption_task_id"]}]

    # A job of the old task (delivered late) changes nothing.
    stale = json.dumps({"product_id": first["id"], "task_id": old_task})
    assert worker.handle(sqs.synthetic_event([stale], QUEUE)) == {"batchItemFailures": []}
    assert read(api, token, first["id"]) == changed

    deliver(messages)
    done = read(api, token, first["id"])
    assert done["caption_status"] == "COMPLETED"
    assert done["caption_task_id"] == changed["caption_task_id"]
    assert done["cover_image_media"]["id"] == new_media
    assert "navy" in done["cover_image_media"]["caption"] and "red" not in done["cover_image_media"]["caption"]
    assert "navy" in done["description"]
    item = stored(first["id"])
    assert item.caption_media_id == new_media
    media = MediaRepository().get(new_media)
    assert media is not None and media.caption == done["cover_image_media"]["caption"]


def test_a_cover_changed_before_its_job_ran_is_captioned_once(api: Api, use_captioner: Any) -> None:
    captioner = use_captioner(FixedCaptioner())
    _, token = api.user()
    product = create(api, token, "?sync_captioning=false")
    changed = patch(api, token, product["id"], {"cover_image": NAVY})
    assert changed["caption_task_id"] != product["caption_task_id"]

    messages = jobs()
    assert sorted(b["task_id"] for b in bodies(messages)) == sorted(
        [product["caption_task_id"], changed["caption_task_id"]]
    )
    answer, failed = deliver(messages)
    assert answer == {"batchItemFailures": []} and failed == []
    # Only the current task was captioned, with the current cover.
    assert len(captioner.requests) == 1
    assert captioner.requests[0].images[0].data == base64.b64decode(NAVY)
    done = read(api, token, product["id"])
    assert done["caption_status"] == "COMPLETED"
    assert done["caption_task_id"] == changed["caption_task_id"]
    assert done["cover_image_media"]["caption"] == "worker caption 1"


def test_an_edit_that_keeps_the_cover_keeps_the_caption(api: Api, use_captioner: Any) -> None:
    captioner = use_captioner(FixedCaptioner())
    _, token = api.user()
    product = create(api, token)
    edited = patch(api, token, product["id"], {"name": "Renamed", "brand": "Acme"})

    assert edited["caption_status"] == "COMPLETED"
    assert edited["caption_task_id"] == product["caption_task_id"]
    assert edited["cover_image_media"]["caption"] == "worker caption 1"
    assert len(captioner.requests) == 1
    assert_queue_empty()


def test_a_product_with_a_linked_cover_is_not_captioned(api: Api, use_captioner: Any) -> None:
    captioner = use_captioner(FixedCaptioner())
    _, token = api.user()
    for query in ("", "?sync_captioning=false"):
        product = create(api, token, query, cover_image="https://example.com/a.jpg")
        assert product["caption_status"] is None and product["caption_task_id"] is None
        assert product["cover_image_media"] is None and product["description"] is None
    assert captioner.requests == []
    assert_queue_empty()


def test_a_cover_replaced_by_a_link_drops_the_caption(api: Api, use_captioner: Any) -> None:
    use_captioner(FixedCaptioner())
    _, token = api.user()
    product = create(api, token, "?sync_captioning=false")
    [message] = jobs()

    linked = patch(api, token, product["id"], {"cover_image": "https://example.com/a.jpg"})
    assert linked["caption_status"] is None and linked["caption_task_id"] is None
    assert linked["description"] is None
    # The first job is now for a task that no longer exists.
    answer, failed = deliver([message])
    assert answer == {"batchItemFailures": []} and failed == []
    assert read(api, token, product["id"]) == linked
    assert_queue_empty()


def test_a_job_for_a_deleted_product_is_dropped(api: Api, use_captioner: Any) -> None:
    captioner = use_captioner(FixedCaptioner())
    _, token = api.user()
    product = create(api, token, "?sync_captioning=false")
    assert api.delete(f"{PRODUCTS}{product['id']}", token).status == 200

    messages = jobs()
    assert len(messages) == 1
    answer, failed = deliver(messages)
    assert answer == {"batchItemFailures": []} and failed == []
    assert captioner.requests == []
    assert wiring.captions().products.get(product["id"]) is None
    assert_queue_empty()
    assert_queue_empty(DLQ)


def test_a_batch_reports_only_its_failed_jobs(api: Api, use_captioner: Any) -> None:
    _, token = api.user()
    good = create(api, token, "?sync_captioning=false")
    bad = create(api, token, "?sync_captioning=false", name="Throttled")

    class Picky:
        def describe(self, request: CaptionRequest) -> Caption:
            if request.product["name"] == "Throttled":
                raise CaptionFailed("throttled", retryable=True)
            return Caption("ok", "ok alt", "ok description")

    use_captioner(Picky())
    messages = jobs()
    assert len(messages) == 2
    answer, failed = deliver(messages)
    [failed_message] = failed
    assert json.loads(failed_message["Body"])["product_id"] == bad["id"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": failed_message["MessageId"]}]}
    assert read(api, token, good["id"])["caption_status"] == "COMPLETED"
    assert read(api, token, bad["id"])["caption_status"] == "RETRYING"


def test_a_failed_caption_write_in_the_request_leaves_it_to_the_worker(
    api: Api, use_captioner: Callable[[Any], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The product is committed: a failure to write its caption answers 200 (PENDING) and queues
    the job, rather than a 503 that a client would retry into a second product."""
    from chalicelib.errors import Busy

    use_captioner(FixedCaptioner())
    store = wiring.captions().store
    original = store.complete

    def busy(*args: Any, **kwargs: Any) -> bool:
        raise Busy()

    monkeypatch.setattr(store, "complete", busy)
    _, token = api.user()
    r = api.post("/api/v1/products/", {"name": "Coat", "cover_image": png_b64()}, token)
    assert r.status == 200, r
    assert r.json["caption_status"] == "PENDING"
    monkeypatch.setattr(store, "complete", original)
    _, failed = deliver(jobs())
    assert failed == []
    assert read(api, token, r.json["id"])["caption_status"] == "COMPLETED"
