"""POST /api/v1/uploads/ and GET /api/v1/uploads/{id}: validation, the signed form, tenancy, and
a product's use of an upload (by media_resource_id or by the upload's URL).

An upload is signed (PENDING), posted to moto's S3 with `requests`, then finished by the media
worker (READY or FAILED): tests/workers/uploads.py.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from chalicelib.config import get_settings
from chalicelib.store.media import MediaRepository
from chalicelib.store.models import MediaItem
from tests.factories import Api, Response
from tests.workers.uploads import image_bytes, post_form, run_media_worker, sign, upload

UPLOADS = "/api/v1/uploads/"
PRODUCTS = "/api/v1/products/"
NOT_FOUND = {"detail": "Media resource not found"}
FORBIDDEN = {"detail": "Not enough permissions"}
PNG = image_bytes("PNG")


def valid_body(**overrides: Any) -> dict[str, Any]:
    return {"filename": "shirt.png", "content_type": "image/png", "size": len(PNG), **overrides}


def upload_records() -> list[MediaItem]:
    """The upload records in the table (a product's own media have a product_id)."""
    MediaRepository()  # binds the models to the test table
    return [item for item in MediaItem.scan() if item.product_id is None]


def assert_refused_at(r: Response, loc: list[Any], status: int = 422) -> list[dict[str, Any]]:
    assert r.status == status, r
    detail = r.json["detail"]
    assert isinstance(detail, list) and detail, r
    for entry in detail:
        assert set(entry) >= {"type", "loc", "msg", "input"}, entry
    assert loc in [entry["loc"] for entry in detail], detail
    return [entry for entry in detail if entry["loc"] == loc]


def assert_upload_public(body: dict[str, Any]) -> None:
    assert set(body) == {"url", "fields", "media_resource_id", "expires_at"}, body
    assert isinstance(body["url"], str) and body["url"].startswith(("http://", "https://"))
    assert isinstance(body["fields"], dict) and body["fields"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in body["fields"].items())
    uuid.UUID(body["media_resource_id"])
    datetime.fromisoformat(body["expires_at"])


STATUS_KEYS = {
    "media_resource_id",
    "status",
    "failure_reason",
    "filename",
    "content_type",
    "size",
    "owner_id",
    "organization_id",
    "created_at",
    "media",
}


def assert_status_public(body: dict[str, Any]) -> None:
    assert set(body) == STATUS_KEYS, body
    uuid.UUID(body["media_resource_id"])
    assert body["status"] in {"PENDING", "READY", "FAILED"}
    assert body["failure_reason"] is None or isinstance(body["failure_reason"], str)
    assert body["filename"] is None or isinstance(body["filename"], str)
    assert body["content_type"] is None or isinstance(body["content_type"], str)
    assert body["size"] is None or (isinstance(body["size"], int) and not isinstance(body["size"], bool))
    uuid.UUID(body["owner_id"])
    if body["organization_id"] is not None:
        uuid.UUID(body["organization_id"])
    datetime.fromisoformat(body["created_at"])
    assert body["media"] is None or isinstance(body["media"], dict)


def decoded_policy(fields: dict[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return policy


def upload_url(media_id: str) -> str:
    return get_settings().media_url(f"uploads/{media_id}")


def create_product(api: Api, token: str, path: str = PRODUCTS, **fields: Any) -> Response:
    return api.post(path, {"name": "Uploaded shirt", **fields}, token)


# -- POST /uploads/: validation and refusals ------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"content_type": "image/gif"}, "content_type"),
        ({"content_type": "text/plain"}, "content_type"),
        ({"content_type": ""}, "content_type"),
        ({"size": 0}, "size"),
        ({"size": -1}, "size"),
        ({"size": "big"}, "size"),
        ({"filename": ""}, "filename"),
        ({"filename": "x" * 256}, "filename"),
        ({"organization_id": "not-a-uuid"}, "organization_id"),
        ({"unexpected": 1}, "unexpected"),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else v,
)
def test_sign_refuses_an_invalid_field(api: Api, overrides: dict[str, Any], field: str) -> None:
    _, token = api.user()
    r = api.post(UPLOADS, valid_body(**overrides), token)
    assert_refused_at(r, ["body", field])
    assert upload_records() == []


@pytest.mark.parametrize("missing", ["filename", "content_type", "size"])
def test_sign_refuses_a_missing_field(api: Api, missing: str) -> None:
    _, token = api.user()
    body = valid_body()
    del body[missing]
    (entry,) = assert_refused_at(api.post(UPLOADS, body, token), ["body", missing])
    assert entry["type"] == "missing"
    assert upload_records() == []


def test_sign_refuses_a_size_over_the_image_limit(api: Api) -> None:
    _, token = api.user()
    limit = get_settings().max_image_bytes
    (entry,) = assert_refused_at(api.post(UPLOADS, valid_body(size=limit + 1), token), ["body", "size"])
    # The limit as a person reads it (10 MiB by default), and in bytes.
    assert f"{limit / 2**20:g} MiB limit" in entry["msg"] and str(limit) in entry["msg"]
    assert entry["input"] == limit + 1
    assert upload_records() == []
    # The limit itself is allowed.
    assert api.post(UPLOADS, valid_body(size=limit), token).status == 200


def test_sign_refuses_a_type_not_allowed_and_names_the_allowed_ones(api: Api) -> None:
    _, token = api.user()
    (entry,) = assert_refused_at(
        api.post(UPLOADS, valid_body(content_type="image/gif"), token), ["body", "content_type"]
    )
    assert entry["input"] == "image/gif"
    for allowed in get_settings().upload_content_types:
        assert allowed in entry["msg"]


@pytest.mark.parametrize("raw", ["not json", "{", "[1, 2]", '"a string"', "null"])
def test_sign_refuses_a_body_that_is_not_a_json_object(api: Api, raw: str) -> None:
    _, token = api.user()
    r = api.post(UPLOADS, token=token, raw=raw)
    assert r.status == 422, r
    assert all(entry["loc"][0] == "body" for entry in r.json["detail"]), r.json
    assert upload_records() == []


def test_sign_refuses_an_empty_body_and_another_content_type(api: Api) -> None:
    _, token = api.user()
    assert_refused_at(api.post(UPLOADS, token=token, raw=""), ["body"])
    r = api.post(UPLOADS, token=token, raw=json.dumps(valid_body()), headers={"Content-Type": "text/plain"})
    assert_refused_at(r, ["body"])
    assert upload_records() == []


def test_sign_needs_a_token(api: Api) -> None:
    r = api.post(UPLOADS, valid_body())
    assert r.status == 401, r
    assert r.json == {"detail": "Not authenticated"}
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    r = api.post(UPLOADS, valid_body(), "not-a-jwt")
    assert r.status == 401, r
    assert upload_records() == []


def test_sign_in_an_organization_of_which_the_caller_is_not_a_member_is_forbidden(api: Api) -> None:
    _, owner_token = api.user()
    org_id = api.org(owner_token)
    _, outsider_token = api.user()

    r = api.post(f"{UPLOADS}?organization_id={org_id}", valid_body(), outsider_token)
    assert (r.status, r.json) == (403, FORBIDDEN)
    r = api.post(UPLOADS, valid_body(organization_id=org_id), outsider_token)
    assert (r.status, r.json) == (403, FORBIDDEN)
    # An organization that does not exist is not one the caller is a member of either.
    r = api.post(UPLOADS, valid_body(organization_id=str(uuid.uuid4())), outsider_token)
    assert (r.status, r.json) == (403, FORBIDDEN)
    assert upload_records() == []


def test_sign_with_body_and_query_organizations_that_disagree_is_refused(api: Api) -> None:
    _, token = api.user()
    first, second = api.org(token, "First"), api.org(token, "Second")
    r = api.post(f"{UPLOADS}?organization_id={first}", valid_body(organization_id=second), token)
    (entry,) = assert_refused_at(r, ["body", "organization_id"])
    assert entry["input"] == second
    assert upload_records() == []
    # The same organization in both places is fine.
    r = api.post(f"{UPLOADS}?organization_id={first}", valid_body(organization_id=first), token)
    assert r.status == 200, r


def test_sign_refuses_a_malformed_organization_query(api: Api) -> None:
    _, token = api.user()
    assert_refused_at(api.post(f"{UPLOADS}?organization_id=nope", valid_body(), token), ["query", "organization_id"])
    assert upload_records() == []


# -- POST /uploads/: the signed form --------------------------------------------------------------


def test_a_signed_form_carries_the_key_type_and_size_conditions(api: Api) -> None:
    user_id, token = api.user()
    size = 12345
    before = datetime.now(UTC)
    r = api.post(UPLOADS, valid_body(content_type="image/jpeg", size=size, filename="coat.jpg"), token)
    assert r.status == 200, r
    body = r.json
    assert_upload_public(body)
    media_id = body["media_resource_id"]
    fields = body["fields"]

    assert fields["key"] == f"uploads/{media_id}"
    assert fields["Content-Type"] == "image/jpeg"
    policy = decoded_policy(fields)
    conditions = policy["conditions"]
    assert ["content-length-range", 1, size] in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert {"key": f"uploads/{media_id}"} in conditions
    assert {"bucket": get_settings().images_bucket} in conditions

    expected = before + timedelta(seconds=get_settings().upload_expires_seconds)
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.tzinfo is not None
    assert abs((expires_at - expected).total_seconds()) < 120
    policy_expiry = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert abs((policy_expiry - expected).total_seconds()) < 120

    # The record: PENDING, the caller's, with what was declared.
    status = api.get(f"{UPLOADS}{media_id}", token)
    assert status.status == 200, status
    assert_status_public(status.json)
    assert status.json["status"] == "PENDING"
    assert status.json["owner_id"] == user_id
    assert status.json["organization_id"] is None
    declared = (status.json["filename"], status.json["content_type"], status.json["size"])
    assert declared == ("coat.jpg", "image/jpeg", size)
    assert status.json["media"] is None and status.json["failure_reason"] is None
    (record,) = upload_records()
    assert record.id == media_id and record.key == f"uploads/{media_id}"
    assert record.expires_at_ttl is not None and record.expires_at_ttl > datetime.now(UTC)


def test_the_declared_type_is_normalized(api: Api) -> None:
    _, token = api.user()
    r = api.post(UPLOADS, valid_body(content_type=" IMAGE/PNG "), token)
    assert r.status == 200, r
    assert r.json["fields"]["Content-Type"] == "image/png"
    assert {"Content-Type": "image/png"} in decoded_policy(r.json["fields"])["conditions"]


def test_each_signature_is_a_new_media_resource(api: Api) -> None:
    _, token = api.user()
    first = api.post(UPLOADS, valid_body(), token).json
    second = api.post(UPLOADS, valid_body(), token).json
    assert first["media_resource_id"] != second["media_resource_id"]
    assert first["fields"]["key"] != second["fields"]["key"]
    assert len(upload_records()) == 2


def test_an_organization_upload_belongs_to_the_organization(api: Api) -> None:
    user_id, token = api.user()
    org_id = api.org(token)
    by_query = api.post(f"{UPLOADS}?organization_id={org_id}", valid_body(), token)
    by_body = api.post(UPLOADS, valid_body(organization_id=org_id), token)
    for r in (by_query, by_body):
        assert r.status == 200, r
        status = api.get(f"{UPLOADS}{r.json['media_resource_id']}", token).json
        assert status["organization_id"] == org_id and status["owner_id"] == user_id


@pytest.fixture
def png_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("UPLOAD_CONTENT_TYPES", "image/png")
    get_settings.cache_clear()
    assert get_settings().upload_content_types == ["image/png"]
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_allowed_types_are_configurable(api: Api, png_only: None) -> None:
    _, token = api.user()
    (entry,) = assert_refused_at(
        api.post(UPLOADS, valid_body(content_type="image/jpeg"), token), ["body", "content_type"]
    )
    assert "image/png" in entry["msg"] and "image/jpeg" not in entry["msg"]
    assert upload_records() == []
    r = api.post(UPLOADS, valid_body(content_type="image/png"), token)
    assert r.status == 200, r
    assert r.json["fields"]["Content-Type"] == "image/png"


# -- a product using an upload --------------------------------------------------------------------


def test_a_product_uses_a_ready_upload_by_id_by_url_and_as_reference_images(api: Api) -> None:
    _, token = api.user()
    by_id = upload(api, token, PNG, "image/png")
    by_url = upload(api, token, image_bytes("JPEG", color=(200, 10, 10)), "image/jpeg")
    ready = api.get(f"{UPLOADS}{by_id}", token).json
    assert_status_public(ready)
    assert ready["status"] == "READY" and ready["media"]["id"] == by_id
    # The images CDN serves products' copies only: an upload's preview is a presigned URL of it.
    preview = ready["media"]["url"]
    assert preview.split("?")[0].endswith(f"/uploads/{by_id}") and "X-Amz-Signature=" in preview
    assert requests.get(preview, timeout=10).content == PNG

    r = create_product(
        api,
        token,
        cover_image={"media_resource_id": by_id},
        back_image=upload_url(by_url),
        # By its preview URL too, and by the S3 URL stored before the images CDN.
        reference_images=[{"media_resource_id": by_url}, preview, {"url": upload_url(by_url)}],
    )
    assert r.status == 200, r
    product = r.json
    cover, back = product["cover_image_media"], product["back_image_media"]
    # Copies of the uploads, the product's own.
    assert cover["id"] not in {by_id, by_url} and back["id"] not in {by_id, by_url}
    assert cover["content_hash"] == ready["media"]["content_hash"]
    assert cover["extension"] == "png" and back["extension"] == "jpg"
    assert f"/products/{product['id']}/" in product["cover_image_url"]
    assert product["cover_image_url"] == cover["url"]
    assert len(product["reference_images"]) == 3
    assert all(f"/products/{product['id']}/" in url for url in product["reference_images"])

    # The product's media resource is not an upload: not found on /uploads/{id}.
    r = api.get(f"{UPLOADS}{cover['id']}", token)
    assert (r.status, r.json) == (404, NOT_FOUND)


def test_a_product_uses_an_upload_by_its_url(api: Api) -> None:
    _, token = api.user()
    media_id = upload(api, token, PNG, "image/png")
    r = create_product(api, token, cover_image=upload_url(media_id))
    assert r.status == 200, r
    assert r.json["cover_image_media"]["file_size"] == len(PNG)
    assert r.json["cover_image_url"] != upload_url(media_id)


@pytest.mark.parametrize("by", ["id", "url"])
def test_a_pending_upload_is_not_ready(api: Api, by: str) -> None:
    _, token = api.user()
    media_id = sign(api, token, PNG, "image/png")["media_resource_id"]
    cover = {"media_resource_id": media_id} if by == "id" else upload_url(media_id)
    (entry,) = assert_refused_at(create_product(api, token, cover_image=cover), ["body", "cover_image"])
    assert "not ready" in entry["msg"] and "pending" in entry["msg"]
    assert entry["type"] == "media_not_ready"
    assert entry["input"] == media_id


def test_a_pending_reference_image_is_refused_at_its_index(api: Api) -> None:
    _, token = api.user()
    ready = upload(api, token, PNG, "image/png")
    pending = sign(api, token, PNG, "image/png")["media_resource_id"]
    r = create_product(
        api,
        token,
        cover_image={"media_resource_id": ready},
        reference_images=[{"media_resource_id": ready}, {"media_resource_id": pending}],
    )
    (entry,) = assert_refused_at(r, ["body", "reference_images", 1])
    assert "not ready" in entry["msg"]


def test_a_failed_upload_is_refused(api: Api) -> None:
    _, token = api.user()
    text = b"this is not an image at all"
    signed = sign(api, token, text, "image/png", filename="notes.txt")
    media_id = signed["media_resource_id"]
    assert post_form(signed, text, "image/png").status_code in (200, 201, 204)
    run_media_worker()

    status = api.get(f"{UPLOADS}{media_id}", token).json
    assert_status_public(status)
    assert status["status"] == "FAILED" and status["media"] is None
    assert status["failure_reason"]

    (entry,) = assert_refused_at(
        create_product(api, token, cover_image={"media_resource_id": media_id}), ["body", "cover_image"]
    )
    assert "not ready" in entry["msg"] and "failed" in entry["msg"]
    assert status["failure_reason"] in entry["msg"]


def test_an_unknown_media_resource_is_not_found(api: Api) -> None:
    _, token = api.user()
    unknown = str(uuid.uuid4())
    for cover in ({"media_resource_id": unknown}, upload_url(unknown)):
        (entry,) = assert_refused_at(create_product(api, token, cover_image=cover), ["body", "cover_image"])
        assert entry["msg"] == "Media resource not found"
        assert entry["type"] == "media_not_found"


def test_another_users_upload_is_not_found(api: Api) -> None:
    _, owner_token = api.user()
    media_id = upload(api, owner_token, PNG, "image/png")
    _, other_token = api.user()
    for cover in ({"media_resource_id": media_id}, upload_url(media_id)):
        (entry,) = assert_refused_at(create_product(api, other_token, cover_image=cover), ["body", "cover_image"])
        assert entry["msg"] == "Media resource not found"
    # Nor as a reference image.
    r = create_product(
        api, other_token, cover_image="https://example.com/a.jpg", reference_images=[{"media_resource_id": media_id}]
    )
    (entry,) = assert_refused_at(r, ["body", "reference_images", 0])
    assert entry["msg"] == "Media resource not found"
    # A pending upload of another user is not found either (not "not ready": nothing is disclosed).
    pending = sign(api, owner_token, PNG, "image/png")["media_resource_id"]
    (entry,) = assert_refused_at(
        create_product(api, other_token, cover_image={"media_resource_id": pending}), ["body", "cover_image"]
    )
    assert entry["msg"] == "Media resource not found"


def test_an_organization_upload_is_usable_by_members_only(api: Api) -> None:
    _, owner_token = api.user()
    org_id = api.org(owner_token)
    member_id, member_token = api.user()
    api.add_member(owner_token, org_id, member_id)
    _, outsider_token = api.user()
    media_id = upload(api, owner_token, PNG, "image/png", org_id=org_id)

    # can_use_upload: an organization's upload is its members', whatever the product's scope.
    personal = create_product(api, member_token, cover_image={"media_resource_id": media_id})
    assert personal.status == 200, personal
    assert personal.json["organization_id"] is None
    in_org = create_product(
        api, member_token, f"{PRODUCTS}?organization_id={org_id}", cover_image={"media_resource_id": media_id}
    )
    assert in_org.status == 200, in_org
    assert in_org.json["organization_id"] == org_id

    (entry,) = assert_refused_at(
        create_product(api, outsider_token, cover_image={"media_resource_id": media_id}), ["body", "cover_image"]
    )
    assert entry["msg"] == "Media resource not found"


def test_an_expired_upload_is_not_found(api: Api) -> None:
    _, token = api.user()
    media_id = upload(api, token, PNG, "image/png")
    record = MediaRepository().get(media_id)
    assert record is not None and record.ready
    record.update(actions=[MediaItem.expires_at_ttl.set(datetime.now(UTC) - timedelta(minutes=1))])

    for cover in ({"media_resource_id": media_id}, upload_url(media_id)):
        (entry,) = assert_refused_at(create_product(api, token, cover_image=cover), ["body", "cover_image"])
        assert entry["msg"] == "Media resource not found"


# -- GET /uploads/{id}: tenancy -------------------------------------------------------------------


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    owner_id, owner_token = api.user()
    org_owner_id, org_owner_token = api.user()
    org_id = api.org(org_owner_token)
    member_id, member_token = api.user()
    api.add_member(org_owner_token, org_id, member_id)
    _, other_token = api.user()
    personal = sign(api, owner_token, PNG, "image/png")["media_resource_id"]
    org_upload = sign(api, member_token, PNG, "image/png", org_id=org_id)["media_resource_id"]
    return {
        "owner": owner_token,
        "owner_id": owner_id,
        "org_owner": org_owner_token,
        "org_owner_id": org_owner_id,
        "member": member_token,
        "member_id": member_id,
        "other": other_token,
        "admin": api.admin_token,
        "org_id": org_id,
        "personal": personal,
        "org_upload": org_upload,
    }


@pytest.mark.parametrize(
    ("upload_name", "caller", "visible"),
    [
        ("personal", "owner", True),
        ("personal", "member", False),
        ("personal", "other", False),
        ("personal", "admin", True),
        ("org_upload", "member", True),
        ("org_upload", "org_owner", True),
        ("org_upload", "owner", False),
        ("org_upload", "other", False),
        ("org_upload", "admin", True),
    ],
)
def test_who_reads_an_upload(api: Api, world: dict[str, Any], upload_name: str, caller: str, visible: bool) -> None:
    media_id = world[upload_name]
    r = api.get(f"{UPLOADS}{media_id}", world[caller])
    if visible:
        assert r.status == 200, r
        assert_status_public(r.json)
        assert r.json["media_resource_id"] == media_id
    else:
        assert (r.status, r.json) == (404, NOT_FOUND)


def test_an_upload_read_names_its_scope(api: Api, world: dict[str, Any]) -> None:
    personal = api.get(f"{UPLOADS}{world['personal']}", world["owner"]).json
    assert personal["owner_id"] == world["owner_id"] and personal["organization_id"] is None
    org = api.get(f"{UPLOADS}{world['org_upload']}", world["org_owner"]).json
    assert org["owner_id"] == world["member_id"] and org["organization_id"] == world["org_id"]


def test_reading_an_unknown_or_malformed_upload(api: Api, world: dict[str, Any]) -> None:
    r = api.get(f"{UPLOADS}{uuid.uuid4()}", world["owner"])
    assert (r.status, r.json) == (404, NOT_FOUND)
    r = api.get(f"{UPLOADS}{uuid.uuid4()}", world["admin"])
    assert (r.status, r.json) == (404, NOT_FOUND)
    (entry,) = assert_refused_at(api.get(f"{UPLOADS}not-a-uuid", world["owner"]), ["path", "id"])
    assert entry["input"] == "not-a-uuid"


def test_reading_an_upload_needs_a_token(api: Api, world: dict[str, Any]) -> None:
    r = api.get(f"{UPLOADS}{world['personal']}")
    assert (r.status, r.json) == (401, {"detail": "Not authenticated"})
    r = api.get(f"{UPLOADS}{world['personal']}", "not-a-jwt")
    assert r.status == 401, r


def test_a_products_own_media_is_not_an_upload(api: Api) -> None:
    _, token = api.user()
    product = api.product(token, cover_image=f"data:image/png;base64,{base64.b64encode(PNG).decode()}")
    media_id = product["cover_image_media"]["id"]
    for caller in (token, api.admin_token):
        r = api.get(f"{UPLOADS}{media_id}", caller)
        assert (r.status, r.json) == (404, NOT_FOUND)


def test_an_expired_upload_reads_as_not_found(api: Api) -> None:
    """DynamoDB removes an expired record a day or two late: the read checks the time itself."""
    _, token = api.user()
    data = image_bytes("PNG")
    media_id = upload(api, token, data, "image/png")
    assert api.get(f"/api/v1/uploads/{media_id}", token).status == 200
    MediaItem(pk=f"MEDIA#{media_id}", sk="MEDIA").update(
        actions=[MediaItem.expires_at_ttl.set(datetime.now(UTC) - timedelta(minutes=1))]
    )
    r = api.get(f"/api/v1/uploads/{media_id}", token)
    assert r.status == 404 and r.json == {"detail": "Media resource not found"}


def test_an_upload_replaced_after_its_ingest_is_not_copied(api: Api) -> None:
    """The signed form may be posted again until it expires: a product copies only the object the
    ingest inspected, never bytes posted after it (and not yet inspected)."""
    _, token = api.user()
    data = image_bytes("PNG")
    signed = sign(api, token, data, "image/png", size=4096)
    assert post_form(signed, data, "image/png").status_code == 204
    run_media_worker()
    assert post_form(signed, b"<html><script>evil()</script></html>", "image/png").status_code == 204
    r = api.post(
        "/api/v1/products/", {"name": "Coat", "cover_image": {"media_resource_id": signed["media_resource_id"]}}, token
    )
    assert r.status == 422, r
    assert r.json["detail"][0]["type"] == "media_changed"
