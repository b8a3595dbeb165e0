"""The media worker's ingest: refusals, idempotent and out-of-order deliveries, partial batch
failures, and who may read an upload's state.

Uploads go through the real path (a presigned POST to moto S3, S3's notification on the media
queue); events that S3 would not send here (a repeat, a stale version, other keys) are built
with tests/support/sqs.py and handed to the worker directly.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import random
import struct
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from PIL import Image, ImageFile

from chalicelib import queues
from chalicelib.config import get_settings
from chalicelib.services.ingest import MediaIngest, Outcome, Result
from chalicelib.store.blobs import ImageStore, StoredObject
from chalicelib.store.media import MediaRepository
from chalicelib.workers import media
from tests.factories import Api
from tests.support import sqs
from tests.workers.uploads import image_bytes, post_form, run_media_worker, sign, upload

# -- helpers -----------------------------------------------------------------------------------


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def upload_keys() -> list[str]:
    """The keys under uploads/ in the images bucket."""
    listing = s3().list_objects_v2(Bucket=get_settings().images_bucket, Prefix="uploads/")
    return [obj["Key"] for obj in listing.get("Contents", [])]


def noise_image(fmt: str, size: tuple[int, int] = (120, 120), seed: int = 0) -> bytes:
    """An image that does not compress (its bytes are mostly scan data)."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    buf = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buf, format=fmt)
    return buf.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A few hundred bytes whose PNG header claims width x height pixels (the IHDR CRC redone)."""
    data = bytearray(image_bytes("PNG", size=(8, 8)))
    assert data[12:16] == b"IHDR"
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def etag_of(data: bytes) -> str:
    """The ETag S3 gives an object uploaded in one part."""
    return hashlib.md5(data).hexdigest()


def upload_key_of(media_id: str) -> str:
    return f"uploads/{media_id}"


def stored(media_id: str) -> dict[str, Any]:
    """The media record's attributes (a copy, to compare before and after)."""
    item = MediaRepository().get(media_id)
    assert item is not None
    return copy.deepcopy(dict(item.attribute_values))


def receive_all(expected: int) -> list[dict[str, Any]]:
    """Receive the media queue's messages until `expected` of them are in hand."""
    messages: list[dict[str, Any]] = []
    for _ in range(expected + 2):
        batch = sqs.receive(queues.MEDIA_QUEUE)
        if not batch:
            break
        messages += batch
    assert len(messages) == expected, [m["Body"] for m in messages]
    return messages


def with_sequencer(message: dict[str, Any], sequencer: str) -> dict[str, Any]:
    """The message as S3 sends it: with the event's sequencer (moto leaves it out), which orders
    the events of one key."""
    body = json.loads(message["Body"])
    body["Records"][0]["s3"]["object"]["sequencer"] = sequencer
    return {**message, "Body": json.dumps(body)}


def etag_in(message: dict[str, Any]) -> str:
    return str(json.loads(message["Body"])["Records"][0]["s3"]["object"]["eTag"])


def queue_counts() -> tuple[int, int]:
    """(visible, in flight) messages of the media queue."""
    attributes = sqs.client().get_queue_attributes(
        QueueUrl=sqs.queue_url(queues.MEDIA_QUEUE),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


class RecordingIngest(MediaIngest):
    """The real ingest, keeping each call's key and result; raises for the keys in `explode`."""

    def __init__(self, explode: set[str] | None = None) -> None:
        super().__init__()
        self.explode = explode or set()
        self.results: list[tuple[str, Result]] = []

    def ingest(self, bucket: str, key: str, etag: str, sequencer: str | None = None) -> Result:
        if key in self.explode:
            raise RuntimeError(f"ingest of {key} broke")
        result = super().ingest(bucket, key, etag, sequencer)
        self.results.append((key, result))
        return result

    def outcomes(self) -> list[Outcome]:
        return [result.outcome for _, result in self.results]


def posted(api: Api, token: str, data: bytes, content_type: str, **kw: Any) -> str:
    """Sign and POST (the worker not run yet): the media resource id."""
    signed = sign(api, token, data, content_type, **kw)
    answer = post_form(signed, data, content_type)
    assert answer.status_code == 204, answer.text
    return str(signed["media_resource_id"])


# -- 1. refusals -------------------------------------------------------------------------------


def _text_as_jpeg() -> tuple[bytes, str, int | None]:
    return b"Shopping list: milk, eggs, bread.\n" * 20, "image/jpeg", None


def _truncated_jpeg() -> tuple[bytes, str, int | None]:
    whole = noise_image("JPEG")
    return whole[: len(whole) // 2], "image/jpeg", None


def _png_as_jpeg() -> tuple[bytes, str, int | None]:
    return image_bytes("PNG", size=(30, 30)), "image/jpeg", None


def _bmp_as_png() -> tuple[bytes, str, int | None]:
    return image_bytes("BMP", size=(10, 10)), "image/png", None


def _larger_than_declared() -> tuple[bytes, str, int | None]:
    data = noise_image("PNG", size=(60, 60))
    return data, "image/png", len(data) // 4


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(_text_as_jpeg, "Not a valid image", id="text-renamed-jpg"),
        pytest.param(_truncated_jpeg, "Not a valid image", id="truncated-jpeg"),
        pytest.param(_png_as_jpeg, "Declared image/jpeg, but the file is image/png", id="png-declared-jpeg"),
        pytest.param(_bmp_as_png, "Unsupported image format BMP", id="bmp-declared-png"),
        pytest.param(_larger_than_declared, "larger than declared", id="larger-than-declared"),
    ],
)
def test_a_bad_upload_is_refused_and_its_object_removed(
    api: Api, make: Callable[[], tuple[bytes, str, int | None]], reason: str
) -> None:
    _, token = api.user()
    data, content_type, declared = make()
    media_id = posted(api, token, data, content_type, size=declared)
    # The object did land (moto does not enforce the policy's size range).
    assert upload_keys() == [upload_key_of(media_id)]

    answers = run_media_worker()
    assert answers and all(a["batchItemFailures"] == [] for a in answers)

    state = api.get(f"/api/v1/uploads/{media_id}", token)
    assert state.status == 200, state
    assert state.json["status"] == "FAILED", state.json
    assert reason in state.json["failure_reason"], state.json
    assert state.json["media"] is None
    assert upload_keys() == []


@pytest.mark.parametrize(
    ("width", "height", "reasons"),
    [
        # Above the app's limit (50M pixels), below Pillow's own bomb check (~89M): the app's check.
        pytest.param(8000, 8000, ("too many pixels (8000x8000",), id="64M-pixels"),
        # Above Pillow's error threshold (2 x ~89M): Image.open itself refuses it, from the header.
        pytest.param(20000, 20000, ("too many pixels",), id="400M-pixels"),
    ],
)
def test_a_decompression_bomb_is_refused_by_its_header(
    api: Api, monkeypatch: pytest.MonkeyPatch, width: int, height: int, reasons: tuple[str, ...]
) -> None:
    _, token = api.user()
    data = bomb_png(width, height)
    assert len(data) < 500
    with monkeypatch.context() as unlimited:
        unlimited.setattr(Image, "MAX_IMAGE_PIXELS", None)
        with Image.open(io.BytesIO(data)) as probe:
            assert probe.size == (width, height)  # a header Pillow reads: the CRC is right
    media_id = posted(api, token, data, "image/png")
    assert upload_keys() == [upload_key_of(media_id)]

    # Refused from the header: nothing is decoded.
    decoded: list[Any] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size))
    answers = run_media_worker()
    assert answers and all(a["batchItemFailures"] == [] for a in answers)
    assert decoded == []

    state = api.get(f"/api/v1/uploads/{media_id}", token).json
    assert state["status"] == "FAILED", state
    assert any(reason in state["failure_reason"] for reason in reasons), state
    assert upload_keys() == []


# -- 2. idempotency ----------------------------------------------------------------------------


def test_the_same_event_twice_makes_the_resource_ready_once(api: Api) -> None:
    _, token = api.user()
    data = image_bytes("JPEG", size=(48, 32), color=(10, 160, 40))
    media_id = posted(api, token, data, "image/jpeg")
    [message] = receive_all(1)
    body = message["Body"]

    # Two deliveries of one message in a batch, then once more in another.
    ingest = RecordingIngest()
    answer = media.handle(sqs.synthetic_event([body, body]), ingest=ingest)
    assert answer["batchItemFailures"] == []
    assert ingest.outcomes() == [Outcome.READY, Outcome.SKIPPED]
    after_first = stored(media_id)
    assert after_first["status"] == "READY"
    assert after_first["etag"] == etag_of(data)
    assert after_first["public"]["content_hash"] == hashlib.sha256(data).hexdigest()

    again = RecordingIngest()
    assert media.handle(sqs.event_of(queues.MEDIA_QUEUE, [message]), ingest=again)["batchItemFailures"] == []
    assert again.outcomes() == [Outcome.SKIPPED]
    assert stored(media_id) == after_first
    assert upload_keys() == [upload_key_of(media_id)]
    assert api.get(f"/api/v1/uploads/{media_id}", token).json["status"] == "READY"


def test_s3_test_event_is_skipped() -> None:
    body = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2024-05-01T10:00:00.000Z",
            "Bucket": get_settings().images_bucket,
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
        }
    )
    ingest = RecordingIngest()
    assert media.handle(sqs.synthetic_event([body]), ingest=ingest) == {"batchItemFailures": []}
    assert ingest.results == []


def test_an_event_other_than_object_created_is_ignored() -> None:
    body = sqs.s3_event_message(
        get_settings().images_bucket, f"uploads/{uuid.uuid4()}", "abc", 10, event_name="ObjectRemoved:Delete"
    )
    ingest = RecordingIngest()
    assert media.handle(sqs.synthetic_event([body]), ingest=ingest) == {"batchItemFailures": []}
    assert ingest.results == []


def test_a_stale_event_delivered_after_the_newer_one_is_skipped(api: Api) -> None:
    _, token = api.user()
    first = image_bytes("PNG", size=(40, 40), color=(250, 0, 0))
    second = image_bytes("PNG", size=(64, 32), color=(0, 0, 250))
    signed = sign(api, token, first, "image/png", size=max(len(first), len(second)))
    media_id = str(signed["media_resource_id"])
    # The policy allows the form to be used again until it expires: the object is the second.
    assert post_form(signed, first, "image/png").status_code == 204
    assert post_form(signed, second, "image/png").status_code == 204
    head = s3().head_object(Bucket=get_settings().images_bucket, Key=upload_key_of(media_id))
    assert head["ETag"].strip('"') == etag_of(second)

    by_etag = {etag_in(m): m for m in receive_all(2)}
    assert set(by_etag) == {etag_of(first), etag_of(second)}
    ingest = RecordingIngest()
    # The newer event first, then the older one.
    for etag in (etag_of(second), etag_of(first)):
        answer = media.handle(sqs.event_of(queues.MEDIA_QUEUE, [by_etag[etag]]), ingest=ingest)
        assert answer["batchItemFailures"] == []
    assert ingest.outcomes() == [Outcome.READY, Outcome.SKIPPED]

    state = api.get(f"/api/v1/uploads/{media_id}", token).json
    assert state["status"] == "READY", state
    assert state["media"]["content_hash"] == hashlib.sha256(second).hexdigest()
    assert (state["media"]["width"], state["media"]["height"]) == (64, 32)
    assert stored(media_id)["etag"] == etag_of(second)
    assert upload_keys() == [upload_key_of(media_id)]


def test_a_stale_event_delivered_first_is_skipped(api: Api) -> None:
    """In order, but late: the first event comes after the second object replaced the first."""
    _, token = api.user()
    first = image_bytes("PNG", size=(40, 40), color=(250, 0, 0))
    second = image_bytes("JPEG", size=(30, 50), color=(0, 0, 250))
    signed = sign(api, token, first, "image/png", size=len(first))
    media_id = str(signed["media_resource_id"])
    assert post_form(signed, first, "image/png").status_code == 204
    # A different object under the same key (put directly: the form is for PNGs).
    s3().put_object(
        Bucket=get_settings().images_bucket, Key=upload_key_of(media_id), Body=second, ContentType="image/jpeg"
    )
    by_etag = {etag_in(m): m for m in receive_all(2)}
    ingest = RecordingIngest()
    answer = media.handle(sqs.event_of(queues.MEDIA_QUEUE, [by_etag[etag_of(first)]]), ingest=ingest)
    assert answer["batchItemFailures"] == []
    assert ingest.outcomes() == [Outcome.SKIPPED]
    # The first image was valid, but it is not what the key holds: nothing was recorded.
    assert stored(media_id)["status"] == "PENDING"
    assert upload_keys() == [upload_key_of(media_id)]


def test_events_of_unknown_keys_are_skipped(api: Api) -> None:
    bucket = get_settings().images_bucket
    stray_id = str(uuid.uuid4())
    stray = image_bytes("PNG")
    # An object under uploads/ that no form was signed for (the lifecycle rule removes it).
    s3().put_object(Bucket=bucket, Key=upload_key_of(stray_id), Body=stray, ContentType="image/png")
    bodies = [
        sqs.s3_event_message(bucket, upload_key_of(stray_id), etag_of(stray), len(stray)),
        sqs.s3_event_message(bucket, f"uploads/{uuid.uuid4()}", "0" * 32, 10),
        sqs.s3_event_message(bucket, "uploads/not-a-uuid.jpg", "0" * 32, 10),
        sqs.s3_event_message(bucket, f"products/{uuid.uuid4()}/{uuid.uuid4()}.png", "0" * 32, 10),
        sqs.s3_event_message(bucket, "elsewhere/readme.txt", "0" * 32, 10),
        sqs.s3_event_message("another-bucket", f"uploads/{uuid.uuid4()}", "0" * 32, 10),
    ]
    ingest = RecordingIngest()
    answer = media.handle(sqs.synthetic_event(bodies), ingest=ingest)
    assert answer == {"batchItemFailures": []}
    assert ingest.outcomes() == [Outcome.SKIPPED] * len(bodies)
    assert MediaRepository().get(stray_id) is None
    assert upload_keys() == [upload_key_of(stray_id)]


def test_an_event_for_a_product_media_key_shape_under_uploads_is_skipped(api: Api) -> None:
    """A product's media record is never finished by an upload event, even if its id is named."""
    _, token = api.user()
    data = image_bytes("PNG", size=(12, 12))
    product = api.product(token, cover_image="data:image/png;base64," + base64.b64encode(data).decode())
    media_id = product["cover_image_media"]["id"]
    before = stored(media_id)
    assert before["product_id"] == product["id"]
    s3().put_object(
        Bucket=get_settings().images_bucket, Key=upload_key_of(media_id), Body=b"not an image", ContentType="image/png"
    )
    body = sqs.s3_event_message(get_settings().images_bucket, upload_key_of(media_id), etag_of(b"not an image"), 12)
    ingest = RecordingIngest()
    assert media.handle(sqs.synthetic_event([body]), ingest=ingest) == {"batchItemFailures": []}
    assert ingest.outcomes() == [Outcome.SKIPPED]
    assert stored(media_id) == before


def test_a_failed_upload_s_repeated_event_changes_nothing(api: Api) -> None:
    _, token = api.user()
    data = b"%PDF-1.4 not an image at all" * 10
    media_id = posted(api, token, data, "image/png")
    [message] = receive_all(1)
    event = sqs.event_of(queues.MEDIA_QUEUE, [message])
    first = RecordingIngest()
    assert media.handle(event, ingest=first)["batchItemFailures"] == []
    assert first.outcomes() == [Outcome.FAILED]
    failed = stored(media_id)
    assert failed["status"] == "FAILED" and failed["failure_reason"]
    assert failed["etag"] == etag_of(data)
    assert upload_keys() == []

    again = RecordingIngest()
    assert media.handle(event, ingest=again)["batchItemFailures"] == []
    assert again.outcomes() == [Outcome.SKIPPED]
    assert stored(media_id) == failed
    assert upload_keys() == []


def test_a_new_object_after_a_failed_one_is_ingested(api: Api) -> None:
    """The form may be used again: a valid image after a refused one makes the resource READY."""
    _, token = api.user()
    bad = b"not an image" * 10
    good = image_bytes("PNG", size=(20, 10))
    signed = sign(api, token, good, "image/png", size=max(len(bad), len(good)))
    media_id = str(signed["media_resource_id"])
    assert post_form(signed, bad, "image/png").status_code == 204
    run_media_worker()
    assert api.get(f"/api/v1/uploads/{media_id}", token).json["status"] == "FAILED"

    assert post_form(signed, good, "image/png").status_code == 204
    run_media_worker()
    state = api.get(f"/api/v1/uploads/{media_id}", token).json
    assert state["status"] == "READY", state
    assert state["failure_reason"] is None
    assert state["media"]["content_hash"] == hashlib.sha256(good).hexdigest()


# -- 3. partial batch failure ------------------------------------------------------------------


def test_only_the_message_whose_ingest_raised_is_reported() -> None:
    bucket = get_settings().images_bucket
    keys = [f"uploads/{uuid.uuid4()}" for _ in range(3)]
    bodies = [sqs.s3_event_message(bucket, key, "0" * 32, 10) for key in keys]
    event = sqs.synthetic_event(bodies)
    ingest = RecordingIngest(explode={keys[1]})
    answer = media.handle(event, ingest=ingest)
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    # The others were still handled.
    assert [key for key, _ in ingest.results] == [keys[0], keys[2]]


def test_a_message_that_is_not_json_is_reported() -> None:
    bucket = get_settings().images_bucket
    bodies = [
        sqs.s3_event_message(bucket, f"uploads/{uuid.uuid4()}", "0" * 32, 10),
        sqs.s3_event_message(bucket, f"uploads/{uuid.uuid4()}", "0" * 32, 10),
        "{this is not json",
    ]
    event = sqs.synthetic_event(bodies)
    ingest = RecordingIngest()
    answer = media.handle(event, ingest=ingest)
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][2]["messageId"]}]}
    assert ingest.outcomes() == [Outcome.SKIPPED, Outcome.SKIPPED]


def test_a_failed_message_stays_in_the_queue_and_the_others_are_deleted(api: Api) -> None:
    _, token = api.user()
    images = [image_bytes("PNG", size=(10 + n, 10), color=(n * 80, 0, 0)) for n in range(3)]
    ids = [posted(api, token, data, "image/png") for data in images]
    messages = receive_all(3)
    by_key = {json.loads(m["Body"])["Records"][0]["s3"]["object"]["key"]: m for m in messages}
    broken = by_key[f"uploads%2F{ids[1]}"]

    ingest = RecordingIngest(explode={upload_key_of(ids[1])})
    answer = media.handle(sqs.event_of(queues.MEDIA_QUEUE, messages), ingest=ingest)
    assert answer == {"batchItemFailures": [{"itemIdentifier": broken["MessageId"]}]}
    left = sqs.delete_succeeded(queues.MEDIA_QUEUE, messages, answer)
    assert [m["MessageId"] for m in left] == [broken["MessageId"]]

    assert queue_counts() == (0, 1)  # only the failed one, in flight until its timeout
    statuses = [api.get(f"/api/v1/uploads/{i}", token).json["status"] for i in ids]
    assert statuses == ["READY", "PENDING", "READY"]

    # Its retry (the visibility timeout skipped) is the same message, and now succeeds.
    sqs.make_visible(queues.MEDIA_QUEUE, broken)
    [retry] = receive_all(1)
    assert retry["MessageId"] == broken["MessageId"]
    assert int(retry["Attributes"]["ApproximateReceiveCount"]) == 2
    answer = media.handle(sqs.event_of(queues.MEDIA_QUEUE, [retry]))
    assert answer == {"batchItemFailures": []}
    sqs.delete_succeeded(queues.MEDIA_QUEUE, [retry], answer)
    assert queue_counts() == (0, 0)
    assert api.get(f"/api/v1/uploads/{ids[1]}", token).json["status"] == "READY"


# -- 5. who may read an upload -----------------------------------------------------------------


def test_a_personal_upload_is_its_owner_s(api: Api) -> None:
    _, owner = api.user()
    _, other = api.user()
    media_id = upload(api, owner, image_bytes("PNG"), "image/png")
    path = f"/api/v1/uploads/{media_id}"

    mine = api.get(path, owner)
    assert mine.status == 200 and mine.json["status"] == "READY", mine
    assert api.get(path, other).status == 404
    assert api.get(path, api.admin_token).status == 200
    assert api.get(path).status == 401


def test_an_organization_upload_is_its_members(api: Api) -> None:
    owner_id, owner = api.user()
    member_id, member = api.user()
    _, outsider = api.user()
    org_id = api.org(owner, name="Atelier")
    api.add_member(owner, org_id, member_id)
    api.org(outsider, name="Elsewhere")  # a member of another organization
    media_id = upload(api, owner, image_bytes("PNG"), "image/png", org_id=org_id)
    path = f"/api/v1/uploads/{media_id}"

    for token in (owner, member, api.admin_token):
        seen = api.get(path, token)
        assert seen.status == 200, seen
        assert seen.json["organization_id"] == org_id
        assert seen.json["owner_id"] == owner_id
        assert seen.json["status"] == "READY"
    assert api.get(path, outsider).status == 404


def test_an_unknown_upload_is_not_found(api: Api) -> None:
    _, token = api.user()
    assert api.get(f"/api/v1/uploads/{uuid.uuid4()}", token).status == 404
    assert api.get(f"/api/v1/uploads/{uuid.uuid4()}", api.admin_token).status == 404


# -- known gaps --------------------------------------------------------------------------------


class _InterleavedStore(ImageStore):
    """An ImageStore that runs `meanwhile` once, right after the first object is read: another
    delivery working while this one inspects what it read."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        super().__init__()
        self.meanwhile: Callable[[], None] | None = meanwhile

    def open_version(self, key: str, etag: str) -> StoredObject:
        found = super().open_version(key, etag)
        if self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            run()
        return found


def test_a_slow_ingest_of_an_older_object_does_not_overwrite_a_newer_one(api: Api) -> None:
    _, token = api.user()
    first = image_bytes("PNG", size=(40, 40), color=(250, 0, 0))
    second = image_bytes("PNG", size=(64, 32), color=(0, 0, 250))
    signed = sign(api, token, first, "image/png", size=max(len(first), len(second)))
    media_id = str(signed["media_resource_id"])
    assert post_form(signed, first, "image/png").status_code == 204
    [first_message] = receive_all(1)
    # Sequencers of unequal length, as S3's may be: compared after padding.
    first_message = with_sequencer(first_message, "F0")

    def second_upload_ingested_meanwhile() -> None:
        assert post_form(signed, second, "image/png").status_code == 204
        [second_message] = receive_all(1)
        second_message = with_sequencer(second_message, "0100")
        answer = media.handle(sqs.event_of(queues.MEDIA_QUEUE, [second_message]), ingest=MediaIngest())
        assert answer["batchItemFailures"] == []
        assert stored(media_id)["public"]["content_hash"] == hashlib.sha256(second).hexdigest()

    slow = MediaIngest(images=_InterleavedStore(second_upload_ingested_meanwhile))
    assert media.handle(sqs.event_of(queues.MEDIA_QUEUE, [first_message]), ingest=slow)["batchItemFailures"] == []

    # The key holds the second image: the record must describe it.
    held = s3().get_object(Bucket=get_settings().images_bucket, Key=upload_key_of(media_id))["Body"].read()
    assert held == second
    assert stored(media_id)["public"]["content_hash"] == hashlib.sha256(held).hexdigest()
