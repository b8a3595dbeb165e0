"""The dead-letter sweeper: jobs whose every delivery failed, the last ones without a word (a
function that timed out or ran out of memory records nothing), are recorded as FAILED from the
dead-letter queues; a task finished, cancelled or superseded meanwhile is left as it is.

The hard crash is staged as Lambda leaves it: the record half-written by the run that died
(PROCESSING, a lease, an open multipart upload), and the job's message in the dead-letter queue
(moto's redrive is exercised by the caption worker's own tests)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import queues, wiring
from chalicelib.config import get_settings
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import TaskStatus
from chalicelib.services import export_runs
from chalicelib.services.captions import DEAD_LETTER_REASON as CAPTION_REASON
from chalicelib.services.dead_letters import DeadLetterSweeper
from chalicelib.services.export_runs import DEAD_LETTER_REASON as EXPORT_REASON
from chalicelib.services.export_runs import ExportRunner
from chalicelib.services.ingest import DEAD_LETTER_REASON as UPLOAD_REASON
from chalicelib.store.blobs import s3_client, upload_key
from chalicelib.store.media import MediaRepository
from chalicelib.store.models import ProductItem
from tests.factories import Api, png_b64
from tests.support import sqs
from tests.workers.test_exports import approved_world, new_task, open_uploads, owner_of, runner_interrupted, task
from tests.workers.uploads import image_bytes, post_form, sign

API = "/api/v1"


class HardCrash(BaseException):
    """What a Lambda timeout is to the run: nothing after it runs, no `except Exception` sees it."""


def to_dead_letters(queue: str, body: dict[str, Any]) -> None:
    dead_letter = dict(queues.QUEUES)[queue]
    sqs.client().send_message(QueueUrl=sqs.queue_url(dead_letter), MessageBody=json.dumps(body))


def dead_letter_counts(queue: str) -> tuple[int, int]:
    """(visible, in flight) messages of the queue's dead-letter queue."""
    url = sqs.queue_url(dict(queues.QUEUES)[queue])
    attributes = sqs.client().get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def sweep() -> dict[str, dict[str, int]]:
    return DeadLetterSweeper().sweep().counts


def product(product_id: str) -> ProductItem:
    found = wiring.products().products.get(product_id)
    assert found is not None
    return found


# -- captions ------------------------------------------------------------------------------


def caption_died_processing(api: Api) -> tuple[str, str]:
    """A product whose caption job was taken (PROCESSING) by a run that died; (product, task)."""
    _, token = api.user()
    r = api.post(f"{API}/products/?sync_captioning=false", {"name": "Tee", "cover_image": png_b64()}, token)
    assert r.status == 200, r
    product_id, task_id = r.json["id"], r.json["caption_task_id"]
    assert wiring.captions().store.mark(product_id, task_id, TaskStatus.PROCESSING)
    for message in sqs.receive(queues.CAPTION_QUEUE):
        sqs.client().delete_message(
            QueueUrl=sqs.queue_url(queues.CAPTION_QUEUE), ReceiptHandle=message["ReceiptHandle"]
        )
    to_dead_letters(queues.CAPTION_QUEUE, {"product_id": product_id, "task_id": task_id})
    return product_id, task_id


def test_a_caption_that_died_on_its_last_delivery_is_failed(api: Api) -> None:
    product_id, task_id = caption_died_processing(api)
    assert product(product_id).caption_status == TaskStatus.PROCESSING.value

    assert sweep()[queues.CAPTION_QUEUE] == {"recorded": 1}
    stored = product(product_id)
    assert (stored.caption_status, stored.caption_error) == (TaskStatus.FAILED.value, CAPTION_REASON)
    assert stored.caption_task_id == task_id
    assert dead_letter_counts(queues.CAPTION_QUEUE) == (0, 0)
    # Swept again: nothing left to do.
    assert queues.CAPTION_QUEUE not in sweep()


def test_a_superseded_caption_task_is_left_alone(api: Api) -> None:
    product_id, _ = caption_died_processing(api)
    # A newer task on the product (a changed cover, say): the dead job names the old one.
    newer = str(uuid.uuid4())
    ProductItem(pk=f"PRODUCT#{product_id}", sk="PRODUCT").update(
        actions=[ProductItem.caption_task_id.set(newer), ProductItem.caption_status.set(TaskStatus.PENDING.value)],
        add_version_condition=False,
    )

    assert sweep()[queues.CAPTION_QUEUE] == {"recorded": 1}
    stored = product(product_id)
    assert (stored.caption_task_id, stored.caption_status) == (newer, TaskStatus.PENDING.value)
    assert dead_letter_counts(queues.CAPTION_QUEUE) == (0, 0)


# -- exports -------------------------------------------------------------------------------


def export_died_mid_run(api: Api, monkeypatch: pytest.MonkeyPatch) -> str:
    """An export whose run died after a few members (checkpoint and multipart upload open)."""
    monkeypatch.setattr(export_runs, "CHECKPOINT_EVERY_PARTS", 1)
    world = approved_world(api, shots=5, big=True)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})

    def die() -> None:
        raise HardCrash

    runner, _ = runner_interrupted(monkeypatch, 4, die)
    with pytest.raises(HardCrash):
        runner.run(task_id)
    assert task(task_id).status == TaskStatus.PROCESSING.value and task(task_id).lease_id
    assert open_uploads()
    to_dead_letters(queues.EXPORT_QUEUE, {"action": "export", "task_id": task_id})
    return task_id


def expire_lease(task_id: str) -> None:
    past = iso(utcnow() - timedelta(minutes=1))
    assert ExportRunner().tasks.update(task_id, {"lease_until": past})


def test_an_export_that_died_is_failed_once_its_lease_expired(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    task_id = export_died_mid_run(api, monkeypatch)

    # The dead run's lease has not expired: it might be alive still, so the message is kept.
    assert sweep()[queues.EXPORT_QUEUE] == {"kept": 1}
    assert task(task_id).status == TaskStatus.PROCESSING.value
    assert dead_letter_counts(queues.EXPORT_QUEUE) == (0, 1)

    expire_lease(task_id)
    sqs.client().purge_queue(QueueUrl=sqs.queue_url(queues.EXPORT_DLQ))  # past its hiding, as a later sweep sees it
    to_dead_letters(queues.EXPORT_QUEUE, {"action": "export", "task_id": task_id})
    assert sweep()[queues.EXPORT_QUEUE] == {"recorded": 1}
    failed = task(task_id)
    assert (failed.status, failed.error_message) == (TaskStatus.FAILED.value, EXPORT_REASON)
    assert failed.lease_id is None and failed.completed_at
    # Its half-written archive and checkpoint are gone.
    assert open_uploads() == []
    assert dead_letter_counts(queues.EXPORT_QUEUE) == (0, 0)


def test_a_cancelled_export_stays_cancelled(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    task_id = export_died_mid_run(api, monkeypatch)
    assert ExportRunner().tasks.update(task_id, {"status": TaskStatus.CANCELLED.value})

    assert sweep()[queues.EXPORT_QUEUE] == {"recorded": 1}
    assert task(task_id).status == TaskStatus.CANCELLED.value
    assert dead_letter_counts(queues.EXPORT_QUEUE) == (0, 0)


def test_a_cleanup_that_kept_failing_is_run_once_more(api: Api) -> None:
    """A delayed clean-up whose every delivery failed: the sweeper runs it (it is idempotent)."""
    world = approved_world(api, shots=1)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    assert ExportRunner().run(task_id).state == "completed"
    expired = {"download_expires_at": iso(utcnow() - timedelta(minutes=1))}
    assert ExportRunner().tasks.update(task_id, expired, only_from=(TaskStatus.COMPLETED,))
    settings = get_settings()
    assert s3_client().list_objects_v2(Bucket=settings.exports_bucket, Prefix=f"exports/{task_id}/")["KeyCount"]

    to_dead_letters(queues.EXPORT_QUEUE, {"action": "cleanup", "task_id": task_id})
    assert sweep()[queues.EXPORT_QUEUE] == {"recorded": 1}
    assert ExportRunner().tasks.get(task_id) is None
    assert s3_client().list_objects_v2(Bucket=settings.exports_bucket, Prefix=f"exports/{task_id}/")["KeyCount"] == 0
    assert dead_letter_counts(queues.EXPORT_QUEUE) == (0, 0)


# -- uploads -------------------------------------------------------------------------------


def test_an_upload_whose_ingest_kept_dying_is_failed_and_its_object_removed(api: Api) -> None:
    _, token = api.user()
    data = image_bytes()
    signed = sign(api, token, data, "image/png")
    assert post_form(signed, data, "image/png").status_code in (200, 201, 204)
    # The bucket's notification: every delivery of it died, so it went to the dead-letter queue.
    [message] = sqs.receive(queues.MEDIA_QUEUE)
    sqs.client().delete_message(QueueUrl=sqs.queue_url(queues.MEDIA_QUEUE), ReceiptHandle=message["ReceiptHandle"])
    to_dead_letters(queues.MEDIA_QUEUE, json.loads(message["Body"]))
    media_id = signed["media_resource_id"]

    assert sweep()[queues.MEDIA_QUEUE] == {"recorded": 1}
    record = MediaRepository().get(media_id)
    assert record is not None and (record.status, record.failure_reason) == ("FAILED", UPLOAD_REASON)
    r = api.get(f"{API}/uploads/{media_id}", token)
    assert (r.json["status"], r.json["failure_reason"]) == ("FAILED", UPLOAD_REASON)
    # The object is gone from the bucket.
    objects = s3_client().list_objects_v2(Bucket=get_settings().images_bucket, Prefix=upload_key(media_id))
    assert objects.get("KeyCount", 0) == 0


# -- the sweep itself ----------------------------------------------------------------------


def test_an_unreadable_dead_letter_is_logged_and_deleted(caplog: pytest.LogCaptureFixture, aws: None) -> None:
    sqs.client().send_message(QueueUrl=sqs.queue_url(queues.CAPTION_DLQ), MessageBody="not json at all")
    to_dead_letters(queues.EXPORT_QUEUE, {"no": "task"})

    counts = sweep()
    assert counts[queues.CAPTION_QUEUE] == {"unreadable": 1}
    assert counts[queues.EXPORT_QUEUE] == {"unreadable": 1}
    assert dead_letter_counts(queues.CAPTION_QUEUE) == (0, 0)
    assert any(r.message == "unreadable dead letter" and "not json at all" in str(r.__dict__) for r in caplog.records)


def test_the_scheduled_handler_sweeps_through_the_app(api: Api) -> None:
    from chalice.test import Client

    from app import app

    product_id, _ = caption_died_processing(api)
    with Client(app) as client:
        answer = client.lambda_.invoke(
            queues.SWEEPER_HANDLER, client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
        )
    assert answer.payload == {"counts": {queues.CAPTION_QUEUE: {"recorded": 1}}}
    assert product(product_id).caption_status == TaskStatus.FAILED.value
