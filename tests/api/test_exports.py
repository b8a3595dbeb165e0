"""Exports of approved shots through the API: starting one (by product ids, by the listing's
filters, by a shooting look; with an Idempotency-Key), the caller's task list, a task's state,
cancel, dismiss, the download redirect and the delayed clean-up it schedules.

The worker is not run here: a finished export is simulated by putting an archive in the
exports bucket and writing the task's fields as the worker would.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
import requests

from chalicelib.queues import EXPORT_QUEUE
from chalicelib.schemas.common import iso, utcnow
from chalicelib.schemas.enums import TaskStatus
from tests.factories import Api, Response, png_b64
from tests.schema import assert_valid
from tests.support import sqs

Body = dict[str, Any]

API = "/api/v1"
START = f"{API}/products/export-approved-shots/async"
TASKS = f"{API}/products/export-tasks"
EXPORTS_BUCKET = "test-exports"
ALL_STATUSES = tuple(TaskStatus)
ARCHIVE = b"PK\x05\x06" + b"\x00" * 18  # an empty ZIP


# -- helpers ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def repo() -> Any:
    from chalicelib.store.exports import ExportRepository

    return ExportRepository()


def service() -> Any:
    from chalicelib import wiring

    return wiring.exports()


def ok(r: Response) -> Any:
    assert r.status == 200, r
    return r.json


def assert_422(r: Response, loc: list[Any]) -> list[Body]:
    assert r.status == 422, r
    detail: list[Body] = r.json["detail"]
    for entry in detail:
        assert {"type", "loc", "msg", "input"} <= set(entry), entry
    assert any(e["loc"] == loc for e in detail), detail
    return detail


def assert_404(r: Response, detail: str = "Export task not found") -> None:
    assert r.status == 404, r
    assert r.json == {"detail": detail}


def start(api: Api, token: str, body: Body, org: str | None = None, key: str | None = None) -> Response:
    path = START + (f"?{urlencode({'organization_id': org})}" if org else "")
    return api.post(path, body, token, headers={"Idempotency-Key": key} if key else None)


def started(api: Api, token: str, body: Body, org: str | None = None, key: str | None = None) -> Body:
    task: Body = ok(start(api, token, body, org, key))
    assert_valid("ExportTaskPublic", task)
    return task


def export_messages() -> list[Body]:
    """The export queue's visible messages (received: a second call sees none of them)."""
    return [json.loads(m["Body"]) for m in sqs.receive(EXPORT_QUEUE)]


def delayed_messages() -> list[tuple[Body, int]]:
    """(body, delay seconds) of the export queue's messages not yet visible, read from moto."""
    from moto.sqs.models import sqs_backends

    found: list[tuple[Body, int]] = []
    for account in list(sqs_backends):
        for backend in sqs_backends[account].values():
            queue = backend.queues.get(EXPORT_QUEUE)
            if queue is None:
                continue
            for message in queue._messages:
                sent = float(message.sent_timestamp or 0)
                if message.delayed_until > sent:
                    found.append((json.loads(message.body), round((message.delayed_until - sent) / 1000)))
    return found


def stored(task_id: str) -> Any:
    return repo().get(task_id)


def set_fields(task_id: str, **fields: Any) -> None:
    assert repo().update(task_id, fields, only_from=ALL_STATUSES)


def complete(task_id: str, content: bytes = ARCHIVE, *, with_checkpoint: bool = True) -> str:
    """What a finished run leaves: the archive (and a checkpoint beside it) and the task's fields."""
    key = f"exports/{task_id}/export-{task_id}.zip"
    s3().put_object(Bucket=EXPORTS_BUCKET, Key=key, Body=content, ContentType="application/zip")
    if with_checkpoint:
        s3().put_object(Bucket=EXPORTS_BUCKET, Key=f"exports/{task_id}/checkpoint.json", Body=b"{}")
    now = iso(utcnow())
    set_fields(
        task_id,
        status=TaskStatus.COMPLETED.value,
        object_key=key,
        object_size=len(content),
        progress=100,
        total_items=3,
        processed_items=3,
        started_at=now,
        completed_at=now,
        updated_at=now,
    )
    return key


def keys_of(task_id: str) -> list[str]:
    listed = s3().list_objects_v2(Bucket=EXPORTS_BUCKET, Prefix=f"exports/{task_id}/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- a world: users, products, a look --------------------------------------------------------


def shooting(api: Api, token: str, org: str | None = None) -> Body:
    path = f"{API}/shootings/" + (f"?organization_id={org}" if org else "")
    return ok(api.post(path, {"name": "Spring shoot"}, token))  # type: ignore[no-any-return]


def look(api: Api, token: str, shooting_id: str, product_id: str) -> Body:
    return ok(api.post(f"{API}/shootings/{shooting_id}/looks", {"product_id": product_id}, token))  # type: ignore[no-any-return]


def approved_shot(api: Api, token: str, look_id: str) -> Body:
    shot = ok(api.post(f"{API}/shooting-looks/{look_id}/shots", {"shot_type": "front"}, token))
    ok(api.post(f"{API}/shots/{shot['id']}/revisions", {"images": [{"image": png_b64()}]}, token))
    approved: Body = ok(api.patch(f"{API}/shots/{shot['id']}", {"status": "APPROVED"}, token))
    assert approved["status"] == "APPROVED"
    return approved


@pytest.fixture
def me(api: Api) -> tuple[str, str]:
    return api.user()


@pytest.fixture
def other(api: Api) -> tuple[str, str]:
    return api.user()


def a_task(api: Api, token: str) -> Body:
    product = api.product(token, name="Shirt")
    task = started(api, token, {"product_ids": [product["id"]]})
    export_messages()  # drained: tests look at what comes after
    return task


# -- routing ---------------------------------------------------------------------------------


def test_export_paths_are_not_product_ids(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    # Before the exports blueprint, /products/{id} answered these with a 422 about a UUID.
    body = ok(api.get(TASKS, token))
    assert body == {"data": [], "count": 0}
    assert_valid("ExportTasksPublic", body)
    assert_404(api.get(f"{TASKS}/{uuid.uuid4()}", token))
    assert_404(api.get(f"{TASKS}/{uuid.uuid4()}/download", token))
    assert_404(api.delete(f"{TASKS}/{uuid.uuid4()}/dismiss", token))
    assert_422(api.get(f"{TASKS}/not-a-uuid", token), ["path", "task_id"])
    # The product routes still answer.
    product = api.product(token)
    assert ok(api.get(f"{API}/products/{product['id']}", token))["id"] == product["id"]


def test_routes_need_a_token(api: Api) -> None:
    task_id = str(uuid.uuid4())
    for method, path in (
        ("POST", START),
        ("GET", TASKS),
        ("GET", f"{TASKS}/{task_id}"),
        ("DELETE", f"{TASKS}/{task_id}"),
        ("DELETE", f"{TASKS}/{task_id}/dismiss"),
        ("GET", f"{TASKS}/{task_id}/download"),
    ):
        r = api.call(method, path, body={"product_ids": []} if method == "POST" else None)
        assert r.status == 401, (method, path, r)
        assert r.json == {"detail": "Not authenticated"}


# -- create ----------------------------------------------------------------------------------


def test_create_by_product_ids(api: Api, me: tuple[str, str]) -> None:
    user_id, token = me
    a = api.product(token, name="A")
    b = api.product(token, name="B")
    task = started(api, token, {"product_ids": [b["id"], a["id"], b["id"]]})
    assert task["owner_id"] == user_id
    assert (task["status"], task["task_type"]) == ("PENDING", "APPROVED_SHOTS")
    assert (task["progress"], task["total_items"], task["processed_items"]) == (0, 0, 0)
    assert task["download_url"] is None and task["expires_at"] is None
    item = stored(task["id"])
    # In the request's order, without repeats.
    assert item.request == {"product_ids": [b["id"], a["id"]], "shooting_id": None, "shooting_look_id": None}
    assert item.organization_id is None
    assert item.expires_at_ttl is not None
    assert export_messages() == [{"action": "export", "task_id": task["id"]}]


def test_create_with_a_shooting_narrowing(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    product = api.product(token)
    shoot = shooting(api, token)
    task = started(api, token, {"product_ids": [product["id"]], "shooting_id": shoot["id"]})
    assert stored(task["id"]).request["shooting_id"] == shoot["id"]
    # A shooting the caller cannot see: not found, at its place in the body.
    _, other_token = api.user()
    foreign = shooting(api, other_token)
    r = start(api, token, {"product_ids": [product["id"]], "shooting_id": foreign["id"]})
    assert_422(r, ["body", "shooting_id"])


def test_create_by_filters(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    acme = [api.product(token, name=f"Acme {n}", brand="Acme") for n in range(3)]
    api.product(token, name="Other", brand="Other")
    # A draft is not listed by default, so not exported either.
    draft = api.post(
        f"{API}/products/?mode=basic",
        {"name": "Draft", "brand": "Acme", "cover_image": "https://example.com/d.jpg"},
        token,
    )
    assert ok(draft)["id"]
    # Every page of the listing (its skip and limit do not apply), in the listing's order.
    filters = {"brand": "acme", "sort_by": "name", "sort_order": "asc", "limit": 1, "skip": 1}
    task = started(api, token, {"product_filters": filters})
    request = stored(task["id"]).request
    assert request["product_ids"] == [p["id"] for p in acme]
    assert request["shooting_look_id"] is None
    assert export_messages() == [{"action": "export", "task_id": task["id"]}]

    listed = ok(api.get(f"{API}/products/?brand=acme&sort_by=name&sort_order=asc", token))
    assert [p["id"] for p in listed["data"]] == request["product_ids"]


def test_create_by_filters_of_shot_status(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    done = api.product(token, name="Done")
    api.product(token, name="Not started")
    shoot = shooting(api, token)
    approved_shot(api, token, look(api, token, shoot["id"], done["id"])["id"])
    # A single value is taken as the list the query string would repeat.
    for statuses in (["APPROVED"], "APPROVED"):
        task = started(api, token, {"product_filters": {"shot_statuses": statuses}, "shooting_id": shoot["id"]})
        assert stored(task["id"]).request == {
            "product_ids": [done["id"]],
            "shooting_id": shoot["id"],
            "shooting_look_id": None,
        }


def test_filters_see_only_the_callers_scope(api: Api, me: tuple[str, str], other: tuple[str, str]) -> None:
    _, token = me
    _, other_token = other
    mine = api.product(token, brand="Acme")
    api.product(other_token, brand="Acme")
    task = started(api, token, {"product_filters": {"brand": "Acme"}})
    assert stored(task["id"]).request["product_ids"] == [mine["id"]]
    # Nothing matches: an empty export is still a task.
    empty = started(api, token, {"product_filters": {"brand": "Nobody"}})
    assert stored(empty["id"]).request["product_ids"] == []


def test_filters_are_capped(api: Api, me: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services import exports

    _, token = me
    products = [api.product(token, name=f"P{n}") for n in range(3)]
    monkeypatch.setattr(exports, "MAX_EXPORT_PRODUCTS", 2)
    task = started(api, token, {"product_filters": {"sort_by": "name", "sort_order": "asc"}})
    assert stored(task["id"]).request["product_ids"] == [p["id"] for p in products[:2]]


def test_create_by_look(api: Api, me: tuple[str, str], other: tuple[str, str]) -> None:
    _, token = me
    _, other_token = other
    product = api.product(token)
    shoot = shooting(api, token)
    the_look = look(api, token, shoot["id"], product["id"])
    task = started(api, token, {"shooting_look_id": the_look["id"]})
    assert stored(task["id"]).request == {
        "product_ids": [product["id"]],
        "shooting_id": None,
        "shooting_look_id": the_look["id"],
    }
    assert export_messages() == [{"action": "export", "task_id": task["id"]}]
    # Another user's look, or none at all: not found, and nothing is started.
    assert_404(start(api, other_token, {"shooting_look_id": the_look["id"]}), "Shooting look not found")
    assert_404(start(api, token, {"shooting_look_id": str(uuid.uuid4())}), "Shooting look not found")
    assert export_messages() == []
    assert ok(api.get(TASKS, other_token))["count"] == 0


def test_create_in_an_organization(api: Api, me: tuple[str, str], other: tuple[str, str]) -> None:
    user_id, token = me
    other_id, other_token = other
    org = api.org(token)
    api.add_member(token, org, other_id)
    in_org = api.product(token, org)
    personal = api.product(token)
    # A member exports the organization's products; the task is theirs, in the organization.
    task = started(api, other_token, {"product_ids": [in_org["id"]]}, org=org)
    item = stored(task["id"])
    assert (item.owner_id, item.organization_id) == (other_id, org)
    # In the organization's tenancy, a product outside it is not found.
    assert_422(start(api, token, {"product_ids": [in_org["id"], personal["id"]]}, org=org), ["body", "product_ids", 1])
    # Filters in the organization's scope.
    by_filters = started(api, token, {"product_filters": {}}, org=org)
    assert stored(by_filters["id"]).request["product_ids"] == [in_org["id"]]
    # Filters naming another organization than the query's.
    r = start(api, token, {"product_filters": {"organization_id": str(uuid.uuid4())}}, org=org)
    assert_422(r, ["body", "product_filters", "organization_id"])
    # Not a member.
    _, stranger = api.user()
    r = start(api, stranger, {"product_ids": [in_org["id"]]}, org=org)
    assert r.status == 403, r
    assert user_id != other_id


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"shooting_id": str(uuid.uuid4())},
        {"product_ids": [str(uuid.uuid4())], "product_filters": {}},
        {"product_ids": [str(uuid.uuid4())], "shooting_look_id": str(uuid.uuid4())},
        {"product_filters": {}, "shooting_look_id": str(uuid.uuid4())},
    ],
)
def test_exactly_one_source(api: Api, me: tuple[str, str], body: Body) -> None:
    _, token = me
    assert_422(start(api, token, body), ["body"])
    assert export_messages() == []


def test_invalid_bodies(api: Api, me: tuple[str, str], other: tuple[str, str]) -> None:
    _, token = me
    _, other_token = other
    mine = api.product(token)
    theirs = api.product(other_token)
    # Filters are validated as the listing validates its query.
    assert_422(start(api, token, {"product_filters": {"limit": 0}}), ["body", "product_filters", "limit"])
    assert_422(start(api, token, {"product_filters": {"gender": "ROBOT"}}), ["body", "product_filters", "gender"])
    r = start(api, token, {"product_filters": {"shot_statuses": ["DONE"]}})
    assert_422(r, ["body", "product_filters", "shot_statuses", 0])
    assert_422(start(api, token, {"product_filters": "brand=acme"}), ["body", "product_filters"])
    # Products the caller cannot read, or that do not exist, at their place.
    assert_422(start(api, token, {"product_ids": [mine["id"], theirs["id"]]}), ["body", "product_ids", 1])
    assert_422(start(api, token, {"product_ids": [str(uuid.uuid4())]}), ["body", "product_ids", 0])
    # Malformed ids, unknown fields, not JSON.
    assert_422(start(api, token, {"product_ids": [mine["id"], "nope"]}), ["body", "product_ids", 1])
    assert_422(start(api, token, {"product_ids": [mine["id"]], "extra": 1}), ["body", "extra"])
    assert_422(start(api, token, {"shooting_look_id": "nope"}), ["body", "shooting_look_id"])
    r = api.call("POST", START, token, raw="{")
    assert r.status == 422, r
    assert_422(start(api, token, {"product_ids": [mine["id"]]}, org="nope"), ["query", "organization_id"])
    assert export_messages() == []
    assert ok(api.get(TASKS, token))["count"] == 0


def test_a_public_product_is_exportable(api: Api, me: tuple[str, str], other: tuple[str, str]) -> None:
    _, token = me
    _, other_token = other
    public = api.product(other_token, public=True)
    task = started(api, token, {"product_ids": [public["id"]]})
    assert stored(task["id"]).request["product_ids"] == [public["id"]]


# -- idempotency -----------------------------------------------------------------------------


def idempotency_items() -> list[Body]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    found = client.query(
        TableName="test-products",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "IDEMPOTENCY#exports"}},
    )
    return list(found["Items"])


def test_same_key_and_body_answer_the_same_task(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    product = api.product(token)
    body = {"product_ids": [product["id"]]}
    first = started(api, token, body, key="key-1")
    again = started(api, token, body, key="key-1")
    assert again == first
    assert export_messages() == [{"action": "export", "task_id": first["id"]}]
    assert ok(api.get(TASKS, token))["count"] == 1
    # The record: in a partition no other item uses, expiring with the table's TTL in 24 hours.
    (item,) = idempotency_items()
    assert item["sk"]["S"].startswith("export-approved-shots#")
    assert item["status"]["S"] == "COMPLETED"
    assert json.loads(item["data"]["S"]) == first["id"]
    ttl = int(item["expires_at_ttl"]["N"])
    assert abs(ttl - (utcnow() + timedelta(hours=24)).timestamp()) < 120
    # Another key is another task.
    other_key = started(api, token, body, key="key-2")
    assert other_key["id"] != first["id"]
    # No key: a new task every time.
    assert started(api, token, body)["id"] not in {first["id"], other_key["id"]}


def test_same_key_with_another_body(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    a = api.product(token)
    b = api.product(token)
    started(api, token, {"product_ids": [a["id"]]}, key="key-1")
    export_messages()
    detail = assert_422(start(api, token, {"product_ids": [b["id"]]}, key="key-1"), ["header", "Idempotency-Key"])
    assert detail[0]["input"] == "key-1"
    # The same body in another organization is another request too.
    org = api.org(token)
    assert_422(start(api, token, {"product_ids": [a["id"]]}, org=org, key="key-1"), ["header", "Idempotency-Key"])
    assert export_messages() == []
    assert ok(api.get(TASKS, token))["count"] == 1


def test_a_bad_key_and_a_bad_body_are_one_422(api: Api, me: tuple[str, str]) -> None:
    """The header is read with the body, as FastAPI reads its parameters: every fault at once."""
    _, token = me
    detail = assert_422(start(api, token, {"product_ids": "nope"}, key=" \t "), ["header", "Idempotency-Key"])
    assert {tuple(e["loc"][:2]) for e in detail} == {("header", "Idempotency-Key"), ("body", "product_ids")}
    assert export_messages() == []


def test_same_key_of_another_user(api: Api, me: tuple[str, str], other: tuple[str, str]) -> None:
    _, token = me
    other_id, other_token = other
    body: Body = {"product_filters": {}}
    mine = started(api, token, body, key="shared-key")
    theirs = started(api, other_token, body, key="shared-key")
    assert theirs["id"] != mine["id"]
    assert theirs["owner_id"] == other_id
    assert len(idempotency_items()) == 2


def test_a_failed_request_does_not_hold_its_key(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    product = api.product(token)
    missing = str(uuid.uuid4())
    assert_422(start(api, token, {"product_ids": [missing]}, key="key-1"), ["body", "product_ids", 0])
    assert idempotency_items() == []
    # The corrected request with the same key goes through.
    task = started(api, token, {"product_ids": [product["id"]]}, key="key-1")
    assert stored(task["id"]) is not None


def test_a_concurrent_request_with_the_same_key(api: Api, me: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """While the first request runs, a second one with its key is a 409, not a second task."""
    from chalicelib import wiring
    from chalicelib.errors import Conflict
    from chalicelib.schemas.exports import ExportApprovedShotsRequest
    from chalicelib.services.access import Caller

    _, token = me
    product = api.product(token)
    caller = Caller(user=wiring.users().current_user(token))
    data = ExportApprovedShotsRequest.model_validate({"product_ids": [product["id"]]})
    exports = service()
    seen: list[Exception] = []
    send = exports.queue.send

    def send_while_a_second_request_comes(job: Body) -> None:
        try:
            exports.create(caller, data, None, "key-1")
        except Conflict as exc:
            seen.append(exc)
        send(job)

    monkeypatch.setattr(exports.queue, "send", send_while_a_second_request_comes)
    task = exports.create(caller, data, None, "key-1")
    assert [e.detail for e in seen] == ["A request with this Idempotency-Key is still in progress"]
    assert export_messages() == [{"action": "export", "task_id": task.id}]
    # Finished: the key answers the task.
    monkeypatch.undo()
    assert exports.create(caller, data, None, "key-1").id == task.id


def test_bad_idempotency_keys(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    product = api.product(token)
    for key in ("x" * 256, "caf\u00e9"):
        r = api.post(START, {"product_ids": [product["id"]]}, token, headers={"Idempotency-Key": key})
        assert_422(r, ["header", "Idempotency-Key"])
    assert export_messages() == []


def test_a_repeated_request_for_a_dismissed_task(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    product = api.product(token)
    body = {"product_ids": [product["id"]]}
    task = started(api, token, body, key="key-1")
    set_fields(task["id"], status=TaskStatus.FAILED.value)
    ok(api.delete(f"{TASKS}/{task['id']}/dismiss", token))
    assert_404(start(api, token, body, key="key-1"))


# -- list and read ---------------------------------------------------------------------------


def test_list_newest_first_filtered_and_paged(api: Api, me: tuple[str, str], other: tuple[str, str]) -> None:
    _, token = me
    _, other_token = other
    product = api.product(token)
    tasks = [started(api, token, {"product_ids": [product["id"]]}) for _ in range(4)]
    a_task(api, other_token)
    newest_first = [t["id"] for t in reversed(tasks)]

    body = ok(api.get(TASKS, token))
    assert_valid("ExportTasksPublic", body)
    assert [t["id"] for t in body["data"]] == newest_first
    assert body["count"] == 4

    page = ok(api.get(f"{TASKS}?skip=1&limit=2", token))
    assert [t["id"] for t in page["data"]] == newest_first[1:3]
    assert page["count"] == 4

    set_fields(tasks[0]["id"], status=TaskStatus.FAILED.value, error_message="boom")
    set_fields(tasks[2]["id"], status=TaskStatus.FAILED.value)
    failed = ok(api.get(f"{TASKS}?status=FAILED", token))
    assert_valid("ExportTasksPublic", failed)
    assert [t["id"] for t in failed["data"]] == [tasks[2]["id"], tasks[0]["id"]]
    assert failed["count"] == 2
    assert failed["data"][1]["error_message"] == "boom"
    assert ok(api.get(f"{TASKS}?status=PENDING", token))["count"] == 2

    assert_422(api.get(f"{TASKS}?status=DONE", token), ["query", "status"])
    assert_422(api.get(f"{TASKS}?limit=0", token), ["query", "limit"])
    assert_422(api.get(f"{TASKS}?skip=-1", token), ["query", "skip"])


def test_default_limit_is_ten(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    product = api.product(token)
    for _ in range(11):
        started(api, token, {"product_ids": [product["id"]]})
    body = ok(api.get(TASKS, token))
    assert (len(body["data"]), body["count"]) == (10, 11)


def test_read_progress_and_completion(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    task = a_task(api, token)
    path = f"{TASKS}/{task['id']}"
    assert ok(api.get(path, token)) == task

    set_fields(
        task["id"], status="PROCESSING", progress=40, total_items=10, processed_items=4, started_at=iso(utcnow())
    )
    running = ok(api.get(path, token))
    assert_valid("ExportTaskPublic", running)
    assert (running["status"], running["progress"], running["processed_items"]) == ("PROCESSING", 40, 4)
    assert running["download_url"] is None and running["expires_at"] is None

    complete(task["id"])
    done = ok(api.get(path, token))
    assert_valid("ExportTaskPublic", done)
    assert done["status"] == "COMPLETED"
    assert done["download_url"] == f"{path}/download"
    # Not downloaded yet: the archive lasts as long as the bucket's lifecycle keeps it.
    expires = parse_time(done["expires_at"]) - parse_time(done["completed_at"])
    assert expires == timedelta(days=7)


# -- cancel ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["PENDING", "SCHEDULED", "PROCESSING", "RETRYING"])
def test_cancel_an_active_task(api: Api, me: tuple[str, str], status: str) -> None:
    _, token = me
    task = a_task(api, token)
    set_fields(task["id"], status=status)
    cancelled = ok(api.delete(f"{TASKS}/{task['id']}", token))
    assert_valid("ExportTaskPublic", cancelled)
    assert cancelled["status"] == "CANCELLED"
    assert stored(task["id"]).status == "CANCELLED"
    # A worker's write from an active status now fails.
    assert not repo().update(task["id"], {"progress": 50})


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "CANCELLED"])
def test_a_finished_task_cannot_be_cancelled(api: Api, me: tuple[str, str], status: str) -> None:
    _, token = me
    task = a_task(api, token)
    set_fields(task["id"], status=status)
    r = api.delete(f"{TASKS}/{task['id']}", token)
    assert r.status == 409, r
    # It says why (the status) and what to do instead (dismiss).
    assert r.json == {
        "detail": f"Export task cannot be cancelled: it is {status}, and only a pending or running task can be."
        f" A finished task is removed with DELETE /api/v1/products/export-tasks/{task['id']}/dismiss"
    }
    assert stored(task["id"]).status == status


# -- dismiss ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "CANCELLED"])
def test_dismiss_a_finished_task(api: Api, me: tuple[str, str], status: str) -> None:
    _, token = me
    task = a_task(api, token)
    complete(task["id"])
    set_fields(task["id"], status=status)
    # A multipart upload the worker left unfinished goes too.
    s3().create_multipart_upload(Bucket=EXPORTS_BUCKET, Key=f"exports/{task['id']}/export-{task['id']}.zip")
    assert keys_of(task["id"])
    body = ok(api.delete(f"{TASKS}/{task['id']}/dismiss", token))
    assert body == {"message": "Export task dismissed successfully"}
    assert stored(task["id"]) is None
    assert keys_of(task["id"]) == []
    uploads = s3().list_multipart_uploads(Bucket=EXPORTS_BUCKET, Prefix=f"exports/{task['id']}/")
    assert uploads.get("Uploads", []) == []
    assert_404(api.get(f"{TASKS}/{task['id']}", token))
    assert_404(api.delete(f"{TASKS}/{task['id']}/dismiss", token))


@pytest.mark.parametrize("status", ["PENDING", "SCHEDULED", "PROCESSING", "RETRYING"])
def test_an_active_task_cannot_be_dismissed(api: Api, me: tuple[str, str], status: str) -> None:
    _, token = me
    task = a_task(api, token)
    set_fields(task["id"], status=status)
    r = api.delete(f"{TASKS}/{task['id']}/dismiss", token)
    assert r.status == 409, r
    assert stored(task["id"]).status == status


def test_dismiss_leaves_other_exports_alone(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    first = a_task(api, token)
    second = a_task(api, token)
    complete(first["id"])
    complete(second["id"])
    ok(api.delete(f"{TASKS}/{first['id']}/dismiss", token))
    assert keys_of(second["id"]) != []
    assert stored(second["id"]) is not None


# -- download and clean-up -------------------------------------------------------------------


def test_download_redirects_to_the_archive(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    task = a_task(api, token)
    content = b"PK" + b"zip bytes " * 50
    key = complete(task["id"], content)
    before = utcnow()
    r = api.get(f"{TASKS}/{task['id']}/download", token)
    assert r.status == 302, r
    location = r.headers["Location"]
    parts = urlsplit(location)
    assert EXPORTS_BUCKET in parts.netloc + parts.path and parts.path.endswith(key)
    params = parse_qs(parts.query)
    assert params["X-Amz-Expires"] == ["300"]
    assert params["response-content-disposition"] == [f'attachment; filename="export-{task["id"]}.zip"']
    # Following it gets the archive (moto answers the presigned URL).
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == content
    assert fetched.headers["Content-Disposition"] == f'attachment; filename="export-{task["id"]}.zip"'

    # The link's expiry is recorded, and is the task's expires_at now.
    item = stored(task["id"])
    link = parse_time(item.download_expires_at)
    assert before + timedelta(seconds=299) <= link <= utcnow() + timedelta(seconds=301)
    assert parse_time(ok(api.get(f"{TASKS}/{task['id']}", token))["expires_at"]) == link
    # The clean-up comes after the link expired: a delayed message, not visible yet.
    assert export_messages() == []
    assert delayed_messages() == [({"action": "cleanup", "task_id": task["id"]}, 360)]


def test_download_of_an_unfinished_task(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    task = a_task(api, token)
    for status in ("PENDING", "PROCESSING", "FAILED", "CANCELLED"):
        set_fields(task["id"], status=status)
        r = api.get(f"{TASKS}/{task['id']}/download", token)
        assert r.status == 409, (status, r)
        assert r.json == {"detail": "Export task is not completed"}
    assert delayed_messages() == []


def test_download_without_an_archive(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    task = a_task(api, token)
    set_fields(task["id"], status="COMPLETED")
    assert_404(api.get(f"{TASKS}/{task['id']}/download", token), "Export file not found")
    # Recorded, but the object is gone (the bucket's lifecycle removed it).
    key = complete(task["id"])
    s3().delete_object(Bucket=EXPORTS_BUCKET, Key=key)
    assert_404(api.get(f"{TASKS}/{task['id']}/download", token), "Export file not found")
    assert delayed_messages() == []


def test_cleanup_after_the_link_expired(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    task = a_task(api, token)
    complete(task["id"])
    assert api.get(f"{TASKS}/{task['id']}/download", token).status == 302
    # Before the link expires: nothing happens.
    assert service().cleanup(task["id"]) is False
    assert stored(task["id"]) is not None and keys_of(task["id"])
    # After: the archive, its prefix and the record go.
    later = utcnow() + timedelta(seconds=301)
    assert service().cleanup(task["id"], now=later) is True
    assert stored(task["id"]) is None
    assert keys_of(task["id"]) == []
    assert_404(api.get(f"{TASKS}/{task['id']}", token))
    # A second delivery of the message finds nothing to do.
    assert service().cleanup(task["id"], now=later) is False


def test_the_export_worker_runs_the_delayed_cleanup(api: Api, me: tuple[str, str]) -> None:
    """The cleanup message, as the export worker receives it once the link has expired."""
    from chalicelib.workers import exports as export_worker

    _, token = me
    task = a_task(api, token)
    complete(task["id"])
    set_fields(task["id"], download_expires_at=iso(utcnow() - timedelta(seconds=1)))
    sqs.client().send_message(
        QueueUrl=sqs.queue_url(EXPORT_QUEUE), MessageBody=json.dumps({"action": "cleanup", "task_id": task["id"]})
    )
    cleanups = [m for m in sqs.receive(EXPORT_QUEUE) if json.loads(m["Body"]).get("action") == "cleanup"]
    assert len(cleanups) == 1
    assert export_worker.handle(sqs.event_of(EXPORT_QUEUE, cleanups)) == {"batchItemFailures": []}
    assert stored(task["id"]) is None
    assert keys_of(task["id"]) == []


def test_cleanup_deletes_only_expired_finished_tasks(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    past = iso(utcnow() - timedelta(minutes=1))
    future = iso(utcnow() + timedelta(minutes=5))

    never_downloaded = a_task(api, token)
    complete(never_downloaded["id"])
    active = a_task(api, token)
    set_fields(active["id"], status="PROCESSING", download_expires_at=past)
    fresh_link = a_task(api, token)
    complete(fresh_link["id"])
    set_fields(fresh_link["id"], download_expires_at=future)
    for task in (never_downloaded, active, fresh_link):
        assert service().cleanup(task["id"]) is False
        assert stored(task["id"]) is not None
    assert keys_of(never_downloaded["id"]) and keys_of(fresh_link["id"])

    for status in ("COMPLETED", "FAILED", "CANCELLED"):
        task = a_task(api, token)
        complete(task["id"])
        set_fields(task["id"], status=status, download_expires_at=past)
        assert service().cleanup(task["id"]) is True
        assert stored(task["id"]) is None
        assert keys_of(task["id"]) == []
    assert service().cleanup(str(uuid.uuid4())) is False


def test_a_newer_link_postpones_the_cleanup(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    task = a_task(api, token)
    complete(task["id"])
    set_fields(task["id"], download_expires_at=iso(utcnow() - timedelta(seconds=1)))
    # Handed out again before the first message's clean-up ran.
    assert api.get(f"{TASKS}/{task['id']}/download", token).status == 302
    assert service().cleanup(task["id"]) is False
    assert stored(task["id"]) is not None
    assert len(delayed_messages()) == 1


# -- tenancy ---------------------------------------------------------------------------------


def test_another_users_task_is_not_found(api: Api, me: tuple[str, str], other: tuple[str, str]) -> None:
    _, token = me
    _, other_token = other
    task = a_task(api, token)
    complete(task["id"])
    path = f"{TASKS}/{task['id']}"
    assert_404(api.get(path, other_token))
    assert_404(api.delete(path, other_token))
    assert_404(api.delete(f"{path}/dismiss", other_token))
    assert_404(api.get(f"{path}/download", other_token))
    assert ok(api.get(TASKS, other_token)) == {"data": [], "count": 0}
    # Untouched.
    assert stored(task["id"]).status == "COMPLETED" and stored(task["id"]).download_expires_at is None
    assert keys_of(task["id"])
    assert delayed_messages() == []


def test_a_superuser_sees_only_their_own_tasks(api: Api, me: tuple[str, str]) -> None:
    _, token = me
    task = a_task(api, token)
    assert_404(api.get(f"{TASKS}/{task['id']}", api.admin_token))
    assert ok(api.get(TASKS, api.admin_token))["count"] == 0


def test_an_organization_member_does_not_see_a_colleagues_task(
    api: Api, me: tuple[str, str], other: tuple[str, str]
) -> None:
    _, token = me
    other_id, other_token = other
    org = api.org(token)
    api.add_member(token, org, other_id)
    product = api.product(token, org)
    task = started(api, token, {"product_ids": [product["id"]]}, org=org)
    assert_404(api.get(f"{TASKS}/{task['id']}", other_token))
    assert ok(api.get(TASKS, other_token))["count"] == 0


def test_retention_matches_the_bucket_lifecycle() -> None:
    from chalicelib.services.exports import CLEANUP_DELAY_SECONDS, DOWNLOAD_URL_SECONDS, EXPORT_RETENTION_DAYS
    from ops.template import EXPORT_EXPIRE_DAYS

    assert EXPORT_RETENTION_DAYS == EXPORT_EXPIRE_DAYS
    assert DOWNLOAD_URL_SECONDS < CLEANUP_DELAY_SECONDS <= 900


def test_the_readme_names_the_manifest_columns_the_file_has() -> None:
    from pathlib import Path

    from chalicelib.services.export_runs import MANIFEST_COLUMNS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"`{', '.join(MANIFEST_COLUMNS)}`" in " ".join(readme.split())
