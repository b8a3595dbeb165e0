"""The export worker: archives read back with zipfile, cancel, crash and resume, duplicates,
continuation across invocations, missing images, retries to FAILED."""

from __future__ import annotations

import csv
import hashlib
import io
import random
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from PIL import Image

from chalicelib import queues
from chalicelib.config import get_settings
from chalicelib.schemas.common import iso, utcnow
from chalicelib.services import export_runs
from chalicelib.services.export_runs import ExportRunner, archive_key
from chalicelib.store.exports import ExportRepository
from chalicelib.store.models import ExportTaskItem
from chalicelib.workers import exports as export_worker
from tests.factories import Api
from tests.support import sqs

API = "/api/v1"


def noise_png(seed: int, size: tuple[int, int] = (900, 900)) -> bytes:
    """An image that does not compress: megabytes, so an archive spans several 8 MiB parts.
    Seeded: the same test makes the same bytes every run."""
    img = Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def ok(r: Any) -> Any:
    assert r.status == 200, r
    return r.json


def approved_world(api: Api, shots: int = 3, big: bool = False) -> dict[str, Any]:
    """A product with one look whose `shots` shots are approved (one image each), one more shot
    left TO_REVIEW (not exported); returns ids and the images by shot type."""
    _, token = api.user()
    body = {"name": "Dress", "sku": "SKU-1", "cover_image": "https://example.com/dress.jpg"}
    product = ok(api.post(f"{API}/products/", body, token))
    shooting = ok(api.post(f"{API}/shootings/", {"name": "S"}, token))
    look = ok(api.post(f"{API}/shootings/{shooting['id']}/looks", {"product_id": product["id"]}, token))
    images: dict[str, bytes] = {}
    for n in range(shots + 1):
        shot_type = f"view-{n}"
        shot = ok(api.post(f"{API}/shooting-looks/{look['id']}/shots", {"shot_type": shot_type}, token))
        data = noise_png(n) if big else noise_png(n, (40, 30))
        ok(api.post(f"{API}/shots/{shot['id']}/revisions", {"images": [{"image": b64(data)}]}, token))
        if n < shots:
            ok(api.patch(f"{API}/shots/{shot['id']}", {"status": "APPROVED"}, token))
            images[shot_type] = data
    return {"token": token, "product": product, "look": look, "shooting": shooting, "images": images}


def new_task(owner_id: str, request: dict[str, Any]) -> str:
    now = iso(utcnow())
    task = ExportTaskItem(
        id=str(uuid.uuid4()),
        owner_id=owner_id,
        task_type="APPROVED_SHOTS",
        status="PENDING",
        request=request,
        created_at=now,
        updated_at=now,
    )
    ExportRepository().create(task)
    return task.id


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def read_archive(task_id: str) -> zipfile.ZipFile:
    body = s3().get_object(Bucket=get_settings().exports_bucket, Key=archive_key(task_id))["Body"].read()
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    return archive


def exports_keys() -> list[str]:
    listed = s3().list_objects_v2(Bucket=get_settings().exports_bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def open_uploads() -> list[Any]:
    return list(s3().list_multipart_uploads(Bucket=get_settings().exports_bucket).get("Uploads", []))


def task(task_id: str) -> ExportTaskItem:
    found = ExportRepository().get(task_id)
    assert found is not None
    return found


def assert_matches(task_id: str, world: dict[str, Any]) -> None:
    archive = read_archive(task_id)
    sku = world["product"]["sku"]
    expected = {f"{sku}/{shot_type}.png": data for shot_type, data in world["images"].items()}
    assert sorted(archive.namelist()) == sorted([*expected, "manifest.csv"])
    for name, data in expected.items():
        assert archive.read(name) == data
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert {r["file"]: r["image_checksum"] for r in rows} == {
        name: hashlib.sha256(data).hexdigest() for name, data in expected.items()
    }
    assert {r["status"] for r in rows} == {"ok"}
    assert all(r["product_id"] == world["product"]["id"] and r["sku"] == sku for r in rows)


def owner_of(world: dict[str, Any]) -> str:
    return str(world["product"]["owner_id"])


def test_the_archive_holds_exactly_the_approved_shots(api: Api) -> None:
    world = approved_world(api, shots=3)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    assert ExportRunner().run(task_id).state == "completed"
    assert_matches(task_id, world)
    done = task(task_id)
    assert (done.status, done.total_items, done.processed_items, done.progress) == ("COMPLETED", 3, 3, 100)
    assert done.object_key == archive_key(task_id) and done.object_size and done.completed_at
    assert exports_keys() == [archive_key(task_id)] and open_uploads() == []


def test_by_look_and_by_shooting(api: Api) -> None:
    world = approved_world(api, shots=2)
    by_look = new_task(owner_of(world), {"shooting_look_id": world["look"]["id"]})
    assert ExportRunner().run(by_look).state == "completed"
    assert_matches(by_look, world)
    other = new_task(owner_of(world), {"product_ids": [world["product"]["id"]], "shooting_id": str(uuid.uuid4())})
    assert ExportRunner().run(other).state == "completed"
    assert read_archive(other).namelist() == ["manifest.csv"]


def test_a_missing_image_is_listed_not_a_crash(api: Api) -> None:
    world = approved_world(api, shots=2)
    # One image object disappears.
    images = get_settings().images_bucket
    keys = [o["Key"] for o in s3().list_objects_v2(Bucket=images)["Contents"]]
    # An approved shot's image (the bucket also holds the shot left TO_REVIEW).
    approved = set(world["images"].values())
    first = next(k for k in keys if s3().get_object(Bucket=images, Key=k)["Body"].read() in approved)
    s3().delete_object(Bucket=images, Key=first)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    assert ExportRunner().run(task_id).state == "completed"
    rows = list(csv.DictReader(io.StringIO(read_archive(task_id).read("manifest.csv").decode())))
    assert sorted(r["status"] for r in rows) == ["missing", "ok"]


def runner_interrupted(
    monkeypatch: pytest.MonkeyPatch, at_member: int, then: Callable[[], None]
) -> tuple[ExportRunner, dict[str, int]]:
    """A runner that calls `then` (a cancel, a crash) before adding its `at_member`-th member;
    and the count of members it started (`["n"]`)."""
    runner = ExportRunner()
    original = runner._add
    calls = {"n": 0}

    def add(archive: Any, item: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == at_member:
            then()
        return original(archive, item)

    monkeypatch.setattr(runner, "_add", add)
    return runner, calls


def test_cancel_mid_run_leaves_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    world = approved_world(api, shots=3)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})

    def cancel() -> None:
        assert ExportRepository().update(task_id, {"status": "CANCELLED"})

    runner, calls = runner_interrupted(monkeypatch, 2, cancel)
    assert runner.run(task_id).state == "cancelled"
    assert calls["n"] == 2  # stopped at the next member
    assert task(task_id).status == "CANCELLED"
    assert exports_keys() == [] and open_uploads() == []


@pytest.mark.parametrize("checkpoint_every", [1, 100])
def test_a_crash_after_k_members_resumes_to_a_valid_archive(
    api: Api, monkeypatch: pytest.MonkeyPatch, checkpoint_every: int
) -> None:
    """With checkpoints after every part (the crash resumes from one, its tail restored) and
    with none since the start (the crash starts the same upload over)."""
    monkeypatch.setattr(export_runs, "CHECKPOINT_EVERY_PARTS", checkpoint_every)
    world = approved_world(api, shots=5, big=True)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})

    def crash() -> None:
        raise ConnectionError("the worker died")

    crashing, _ = runner_interrupted(monkeypatch, 5, crash)
    assert crashing.run(task_id).state == "retrying"
    assert task(task_id).status == "RETRYING"
    # The failed run sent its job again (with a backoff delay): a new message, not a redelivery.
    attributes = sqs.client().get_queue_attributes(
        QueueUrl=sqs.queue_url(queues.EXPORT_QUEUE), AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert sqs.receive(queues.EXPORT_QUEUE) == []
    assert ExportRunner().run(task_id).state == "completed"
    assert_matches(task_id, world)
    assert exports_keys() == [archive_key(task_id)] and open_uploads() == []


def test_running_out_of_time_continues_in_a_new_message(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    world = approved_world(api, shots=4, big=True)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    calls = {"n": 0}

    def remaining() -> int:
        calls["n"] += 1
        return 1 if calls["n"] == 2 else 10**9

    assert ExportRunner().run(task_id, remaining).state == "continued"
    assert task(task_id).status == "SCHEDULED" and task(task_id).processed_items == 2
    messages = sqs.receive(queues.EXPORT_QUEUE)
    assert len(messages) == 1
    answer = export_worker.handle(sqs.event_of(queues.EXPORT_QUEUE, messages))
    assert answer == {"batchItemFailures": []}
    assert task(task_id).status == "COMPLETED"
    assert_matches(task_id, world)


def test_a_continuation_that_could_not_be_sent_is_delivered_again(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of time, the run released the task and then failed to send its continuation: the
    delivery fails (SQS delivers it again) rather than leaving the task SCHEDULED for ever."""
    world = approved_world(api, shots=4, big=True)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    calls = {"n": 0}

    def remaining() -> int:
        calls["n"] += 1
        return 1 if calls["n"] == 2 else 10**9

    runner = ExportRunner()

    def unreachable(job: dict[str, Any], delay_seconds: int = 0) -> None:
        raise ConnectionError("SQS is down")

    monkeypatch.setattr(runner.queue, "send", unreachable)
    with pytest.raises(ConnectionError):
        runner.run(task_id, remaining)
    assert task(task_id).status == "SCHEDULED" and task(task_id).lease_id is None
    # The redelivery resumes from the checkpoint.
    assert ExportRunner().run(task_id).state == "completed"
    assert_matches(task_id, world)


def test_a_completed_archive_whose_task_write_failed_is_completed_by_the_next_run(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.errors import Busy

    world = approved_world(api, shots=2)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    runner = ExportRunner()
    original = runner.tasks.update_held

    def busy_on_completion(task: str, lease: str, fields: dict[str, Any]) -> bool:
        if fields.get("status") == "COMPLETED":
            raise Busy()
        return original(task, lease, fields)

    monkeypatch.setattr(runner.tasks, "update_held", busy_on_completion)
    assert runner.run(task_id).state == "retrying"
    assert task(task_id).status == "RETRYING"
    # The archive is whole in S3; the next run completes the task instead of resuming the upload.
    assert ExportRunner().run(task_id).state == "completed"
    assert_matches(task_id, world)
    assert exports_keys() == [archive_key(task_id)] and open_uploads() == []


def test_a_duplicate_delivery_makes_one_archive(api: Api) -> None:
    world = approved_world(api, shots=2)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    repo = ExportRepository()
    now = utcnow()
    # Another run holds the task: this delivery stops without writing anything.
    assert repo.claim(task_id, "other-run", iso(now), iso(now.replace(year=now.year + 1)), {"status": "PROCESSING"})
    assert ExportRunner().run(task_id).state == "held or cancelled"
    assert exports_keys() == []
    # Two deliveries of one message, one after the other: one archive, one run.
    fresh = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    event = sqs.synthetic_event([f'{{"action": "export", "task_id": "{fresh}"}}'] * 2)
    assert export_worker.handle(event) == {"batchItemFailures": []}
    assert task(fresh).status == "COMPLETED"
    assert_matches(fresh, world)


def test_failures_retry_then_fail(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    world = approved_world(api, shots=1)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    runner = ExportRunner()

    def broken(archive: Any, item: dict[str, Any]) -> dict[str, Any]:
        raise ConnectionError("S3 is down")

    monkeypatch.setattr(runner, "_add", broken)
    last = get_settings().export_max_attempts
    for failures in range(1, last):
        assert runner.run(task_id).state == "retrying"
        assert (task(task_id).status, task(task_id).failures) == ("RETRYING", failures)
    assert runner.run(task_id).state == "failed"
    failed = task(task_id)
    assert failed.status == "FAILED" and "S3 is down" in (failed.error_message or "")
    assert exports_keys() == [] and open_uploads() == []
    # A finished task is not run again.
    assert ExportRunner().run(task_id).state == "not active"


def test_only_looks_the_owner_may_access_are_exported(api: Api) -> None:
    """An organization's product may have looks in a member's personal shooting: another member
    exporting the product gets only the looks they may access."""
    world = approved_world(api, shots=1)
    stranger_id, _ = api.user()
    task_id = new_task(stranger_id, {"product_ids": [world["product"]["id"]]})
    assert ExportRunner().run(task_id).state == "completed"
    assert read_archive(task_id).namelist() == ["manifest.csv"]


def test_a_cancel_while_no_run_holds_the_task_leaves_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelled while RETRYING (between deliveries): the next delivery aborts the upload and
    removes the checkpoint."""
    world = approved_world(api, shots=2)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    crashing = ExportRunner()

    def broken(archive: Any, item: dict[str, Any]) -> dict[str, Any]:
        raise ConnectionError("the worker died")

    monkeypatch.setattr(crashing, "_add", broken)
    assert crashing.run(task_id).state == "retrying"
    assert open_uploads() and exports_keys()
    assert ExportRepository().update(task_id, {"status": "CANCELLED"})
    assert ExportRunner().run(task_id).state == "not active"
    assert exports_keys() == [] and open_uploads() == []


def test_a_cancel_when_out_of_time_sends_no_continuation(api: Api) -> None:
    world = approved_world(api, shots=3)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    calls = {"n": 0}

    def remaining() -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            assert ExportRepository().update(task_id, {"status": "CANCELLED"})
            return 1
        return 10**9

    # The progress write of the first member already sees the cancel.
    assert ExportRunner().run(task_id, remaining).state == "cancelled"
    assert sqs.receive(queues.EXPORT_QUEUE) == []
    assert exports_keys() == [] and open_uploads() == []


def test_member_names_never_climb_out_of_their_folder(api: Api) -> None:
    world = approved_world(api, shots=1)
    ok(api.patch(f"{API}/products/{world['product']['id']}", {"sku": ".."}, world["token"]))
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    assert ExportRunner().run(task_id).state == "completed"
    names = read_archive(task_id).namelist()
    assert all(not n.startswith(".") and "/../" not in n for n in names), names


# -- the job before its task ---------------------------------------------------------------


def export_jobs() -> list[dict[str, Any]]:
    return sqs.receive(queues.EXPORT_QUEUE)


def test_a_job_that_comes_before_its_task_is_tried_again_shortly(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API sends the job, then writes the task: a worker quicker than that write finds no
    task, and the job comes back after a short delay instead of being dropped."""
    # Long enough that a slow machine still finds the message hidden just after the delivery.
    monkeypatch.setattr(export_worker, "NEW_JOB_RETRY_SECONDS", 120)
    world = approved_world(api, shots=1)
    task_id = str(uuid.uuid4())
    sqs.client().send_message(
        QueueUrl=sqs.queue_url(queues.EXPORT_QUEUE), MessageBody=f'{{"action": "export", "task_id": "{task_id}"}}'
    )
    messages = export_jobs()
    answer = export_worker.handle(sqs.event_of(queues.EXPORT_QUEUE, messages))
    assert answer == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    # Hidden for the retry delay (export_worker.NEW_JOB_RETRY_SECONDS), not the queue's long one.
    assert export_jobs() == []

    # The task is written meanwhile; the next delivery runs it.
    now = iso(utcnow())
    ExportRepository().create(
        ExportTaskItem(
            id=task_id, owner_id=owner_of(world), task_type="APPROVED_SHOTS", status="PENDING",
            request={"product_ids": [world["product"]["id"]]}, created_at=now, updated_at=now,
        )
    )  # fmt: skip
    sqs.make_visible(queues.EXPORT_QUEUE, messages[0])
    again = export_jobs()
    assert [m["MessageId"] for m in again] == [messages[0]["MessageId"]]
    assert export_worker.handle(sqs.event_of(queues.EXPORT_QUEUE, again)) == {"batchItemFailures": []}
    assert task(task_id).status == "COMPLETED"


def test_an_old_job_whose_task_is_gone_is_dropped(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_worker, "NEW_JOB_GRACE_SECONDS", 0)
    sqs.client().send_message(
        QueueUrl=sqs.queue_url(queues.EXPORT_QUEUE), MessageBody=f'{{"action": "export", "task_id": "{uuid.uuid4()}"}}'
    )
    messages = export_jobs()
    assert export_worker.handle(sqs.event_of(queues.EXPORT_QUEUE, messages)) == {"batchItemFailures": []}


def test_a_task_that_cannot_be_written_leaves_a_job_that_is_dropped(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job is sent, the task's write fails: 503, no task; the job finds none and is dropped
    once past the grace (no PENDING task is ever left without its job)."""
    from chalicelib.errors import Busy

    world = approved_world(api, shots=1)

    def refuse(self: Any, item: Any) -> None:
        raise Busy()

    monkeypatch.setattr(ExportRepository, "create", refuse)
    body = {"product_ids": [world["product"]["id"]]}
    r = api.post(f"{API}/products/export-approved-shots/async", body, world["token"])
    assert r.status == 503, r
    monkeypatch.undo()
    assert ok(api.get(f"{API}/products/export-tasks", world["token"]))["count"] == 0
    messages = export_jobs()
    assert len(messages) == 1
    monkeypatch.setattr(export_worker, "NEW_JOB_GRACE_SECONDS", 0)
    assert export_worker.handle(sqs.event_of(queues.EXPORT_QUEUE, messages)) == {"batchItemFailures": []}
