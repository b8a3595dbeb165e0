"""Helpers of the upload tests: images made here, a presigned POST sent with `requests`, and the
media queue's messages handed to the media worker."""

from __future__ import annotations

import io
from typing import Any

import requests
from PIL import Image

from chalicelib import queues
from chalicelib.workers import media
from tests.factories import Api
from tests.support import sqs

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (20, 40, 120)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def sign(
    api: Api,
    token: str,
    data: bytes,
    content_type: str,
    size: int | None = None,
    org_id: str | None = None,
    filename: str = "garment.img",
) -> dict[str, Any]:
    path = "/api/v1/uploads/" + (f"?organization_id={org_id}" if org_id else "")
    r = api.post(path, {"filename": filename, "content_type": content_type, "size": size or len(data)}, token)
    assert r.status == 200, r
    result: dict[str, Any] = r.json
    return result


def post_form(upload: dict[str, Any], data: bytes, content_type: str) -> requests.Response:
    """The browser's POST: the signed fields, then the file (S3 wants it last)."""
    return requests.post(
        upload["url"], data=upload["fields"], files={"file": ("upload", data, content_type)}, timeout=30
    )


def run_media_worker(max_rounds: int = 5) -> list[dict[str, Any]]:
    """Deliver what the media queue holds to the worker until it is empty; the answers."""
    answers = []
    for _ in range(max_rounds):
        messages = sqs.receive(queues.MEDIA_QUEUE)
        if not messages:
            break
        answer = media.handle(sqs.event_of(queues.MEDIA_QUEUE, messages))
        sqs.delete_succeeded(queues.MEDIA_QUEUE, messages, answer)
        answers.append(answer)
    return answers


def upload(api: Api, token: str, data: bytes, content_type: str, **kw: Any) -> str:
    """Sign, post and ingest: the media resource id."""
    signed = sign(api, token, data, content_type, **kw)
    posted = post_form(signed, data, content_type)
    assert posted.status_code in (200, 201, 204), posted.text
    run_media_worker()
    return str(signed["media_resource_id"])
