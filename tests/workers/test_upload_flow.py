"""Presign -> a real POST to moto S3 -> S3's notification on the media queue -> the worker."""

from __future__ import annotations

import hashlib

import pytest

from tests.factories import Api
from tests.workers.uploads import CONTENT_TYPES, image_bytes, post_form, run_media_worker, sign


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_an_upload_becomes_a_ready_media_resource(api: Api, fmt: str) -> None:
    _, token = api.user()
    data = image_bytes(fmt, size=(60, 90), color=(200, 30, 30))
    signed = sign(api, token, data, CONTENT_TYPES[fmt])
    media_id = signed["media_resource_id"]

    pending = api.get(f"/api/v1/uploads/{media_id}", token)
    assert pending.status == 200 and pending.json["status"] == "PENDING" and pending.json["media"] is None

    assert post_form(signed, data, CONTENT_TYPES[fmt]).status_code == 204
    run_media_worker()

    ready = api.get(f"/api/v1/uploads/{media_id}", token).json
    assert ready["status"] == "READY", ready
    media = ready["media"]
    assert media["id"] == media_id
    assert media["content_hash"] == hashlib.sha256(data).hexdigest()
    assert media["file_size"] == len(data)
    assert media["extension"] == {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    assert (media["width"], media["height"]) == (60, 90)
    assert media["aspect_ratio"] == round(60 / 90, 4)
    assert media["orientation"] == "portrait"
    r, g, b = (int(media["dominant_color"][i : i + 2], 16) for i in (1, 3, 5))
    assert r > 150 and g < 80 and b < 80


def test_a_product_uses_a_ready_upload_and_is_captioned(api: Api) -> None:
    _, token = api.user()
    data = image_bytes("JPEG", size=(50, 80), color=(10, 20, 90))
    signed = sign(api, token, data, "image/jpeg")
    post_form(signed, data, "image/jpeg")
    run_media_worker()

    r = api.post(
        "/api/v1/products/",
        {"name": "Navy coat", "cover_image": {"media_resource_id": signed["media_resource_id"]}},
        token,
    )
    assert r.status == 200, r
    product = r.json
    assert product["caption_status"] == "COMPLETED"
    assert product["cover_image_media"]["caption"]
    assert product["cover_image_media"]["alt_text"]
    assert product["description"]
    # The product has its own copy: not the upload's object.
    assert product["cover_image_media"]["id"] != signed["media_resource_id"]
