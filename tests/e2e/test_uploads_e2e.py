"""Uploads and captions on the local stack, over real HTTP, with nobody calling a worker.

A browser's flow: sign an upload with the API, POST the form straight to the moto server's
bucket, and wait. S3 notifies the media queue and the stack's event pump runs the media worker
(the upload becomes READY); a product created with `sync_captioning=false` queues its caption
job, which the pump hands to the caption worker (the caption becomes COMPLETED).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from chalicelib.workers.exports import NEW_JOB_RETRY_SECONDS
from tests.support.local_stack import LocalStack, running_stack
from tests.workers.uploads import image_bytes

pytestmark = pytest.mark.e2e

STUDIO = "http://localhost:5173"  # one of the dev stage's CORS_ORIGINS
# Bounds of the polls (the pump's long poll waits 1 s; the work takes a fraction of that).
WAIT_SECONDS = 20.0
STEP_SECONDS = 0.2
FINISHED = {"COMPLETED", "FAILED", "CANCELLED"}  # a caption task's terminal states


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # No demo catalog: nothing here reads it, and the stack is ready sooner.
    with running_stack(demo=False) as local:
        yield local


@pytest.fixture(scope="module")
def auth(stack: LocalStack) -> dict[str, str]:
    name, _, value = stack.header.partition(": ")
    assert name == "Authorization" and value, stack.output()
    return {name: value}


def stack_log(stack: LocalStack) -> str:
    """The stack's recent output without chalice's request log (the pump's and workers' logs)."""
    return "".join(line for line in list(stack.lines)[-500:] if "HTTP/1.1" not in line)


def until(
    stack: LocalStack,
    read: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    what: str,
    wait_seconds: float = WAIT_SECONDS,
) -> dict[str, Any]:
    """Read until `done` (at most `wait_seconds`); the last reading."""
    deadline = time.monotonic() + wait_seconds
    last = read()
    while not done(last):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {wait_seconds} s; last: {last}\n{stack_log(stack)}")
        time.sleep(STEP_SECONDS)
        last = read()
    return last


def sign(stack: LocalStack, auth: dict[str, str], data: bytes, content_type: str) -> dict[str, Any]:
    r = requests.post(
        f"{stack.url}/uploads/",
        json={"filename": "garment.jpg", "content_type": content_type, "size": len(data)},
        headers=auth,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    signed: dict[str, Any] = r.json()
    return signed


def test_an_upload_is_ingested_and_a_product_captioned_by_the_pump(stack: LocalStack, auth: dict[str, str]) -> None:
    data = image_bytes("JPEG", size=(60, 90), color=(200, 30, 30))
    signed = sign(stack, auth, data, "image/jpeg")
    assert signed["url"].startswith(f"http://127.0.0.1:{stack.moto_port}/"), signed["url"]
    media_id = signed["media_resource_id"]

    # The browser's POST, straight to the bucket: the signed fields, then the file.
    posted = requests.post(
        signed["url"],
        data=signed["fields"],
        files={"file": ("garment.jpg", data, "image/jpeg")},
        headers={"Origin": STUDIO},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text

    def upload() -> dict[str, Any]:
        r = requests.get(f"{stack.url}/uploads/{media_id}", headers=auth, timeout=30)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    ready = until(stack, upload, lambda u: u["status"] != "PENDING", "the upload's ingest")
    assert ready["status"] == "READY", ready
    assert (ready["media"]["width"], ready["media"]["height"]) == (60, 90)

    created = requests.post(
        f"{stack.url}/products/",
        params={"sync_captioning": "false"},
        json={"name": "Red coat", "cover_image": {"media_resource_id": media_id}},
        headers=auth,
        timeout=30,
    )
    assert created.status_code == 200, created.text
    product = created.json()
    assert product["caption_status"] == "PENDING", product

    def read_product() -> dict[str, Any]:
        r = requests.get(f"{stack.url}/products/{product['id']}", headers=auth, timeout=30)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    captioned = until(stack, read_product, lambda p: p["caption_status"] in FINISHED, "the caption")
    assert captioned["caption_status"] == "COMPLETED", captioned
    assert captioned["cover_image_media"]["caption"]
    assert captioned["cover_image_media"]["alt_text"]
    # The product's own copy of the upload, served by the moto server.
    image = requests.get(captioned["cover_image_url"], timeout=30)
    assert image.status_code == 200 and image.content == data

    # Nothing failed on the way: the pump logs a handler's exception and an invalid answer.
    assert "ops.local.pump" not in stack.output(500), stack_log(stack)


def test_the_bucket_answers_the_studios_preflight(stack: LocalStack, auth: dict[str, str]) -> None:
    signed = sign(stack, auth, b"x" * 100, "image/png")
    preflight = requests.options(
        signed["url"],
        headers={"Origin": STUDIO, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers.get("Access-Control-Allow-Origin") == STUDIO, dict(preflight.headers)
    # The bucket's rule (ops/local/resources.py upload_cors), not the moto server's defaults.
    assert preflight.headers.get("Access-Control-Allow-Methods") == "POST", dict(preflight.headers)
    assert preflight.headers.get("Access-Control-Max-Age") == "3000", dict(preflight.headers)

    stranger = requests.options(
        signed["url"],
        headers={"Origin": "http://evil.example.com", "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    # The bucket's rule refuses it (a browser fails a preflight that is not 2xx). The moto
    # server's global CORS (flask-cors) still reflects the Origin on every answer, this one too,
    # so the status is what shows the bucket's rule at work.
    assert stranger.status_code == 403, (stranger.status_code, dict(stranger.headers))


def test_an_upload_that_is_no_image_fails(stack: LocalStack, auth: dict[str, str]) -> None:
    data = b"not an image at all" * 10
    signed = sign(stack, auth, data, "image/png")
    posted = requests.post(
        signed["url"], data=signed["fields"], files={"file": ("x.png", data, "image/png")}, timeout=30
    )
    assert posted.status_code in (200, 201, 204), posted.text

    def upload() -> dict[str, Any]:
        r = requests.get(f"{stack.url}/uploads/{signed['media_resource_id']}", headers=auth, timeout=30)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    failed = until(stack, upload, lambda u: u["status"] != "PENDING", "the upload's ingest")
    assert failed["status"] == "FAILED" and failed["failure_reason"] and failed["media"] is None, failed


def test_an_export_is_built_by_the_pump_and_downloaded(stack: LocalStack, auth: dict[str, str]) -> None:
    """Approved shots exported through the local stack: the pump runs the export worker, and the
    download's 302 leads to the archive in the moto bucket."""
    import base64
    import io
    import zipfile

    def call(method: str, path: str, body: Any = None) -> Any:
        r = requests.request(method, f"{stack.url}{path}", json=body, headers=auth, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    product = call(
        "POST", "/products/", {"name": "Export me", "sku": "EXP-1", "cover_image": "https://example.com/a.jpg"}
    )
    shooting = call("POST", "/shootings/", {"name": "E2E"})
    look = call("POST", f"/shootings/{shooting['id']}/looks", {"product_id": product["id"]})
    shot = call("POST", f"/shooting-looks/{look['id']}/shots", {"shot_type": "front"})
    data = image_bytes("PNG", size=(64, 48), color=(10, 120, 60))
    call("POST", f"/shots/{shot['id']}/revisions", {"images": [{"image": base64.b64encode(data).decode()}]})
    call("PATCH", f"/shots/{shot['id']}", {"status": "APPROVED"})

    task = call("POST", "/products/export-approved-shots/async", {"product_ids": [product["id"]]})
    done = until(
        stack,
        lambda: call("GET", f"/products/export-tasks/{task['id']}"),
        lambda t: t["status"] in {"COMPLETED", "FAILED"},
        "the export",
        # The job is sent before the task is written: a pump quicker than that write tries the
        # job again after workers/exports.NEW_JOB_RETRY_SECONDS.
        wait_seconds=WAIT_SECONDS + NEW_JOB_RETRY_SECONDS,
    )
    assert done["status"] == "COMPLETED" and done["total_items"] == 1, done
    r = requests.get(f"{stack.url}/products/export-tasks/{task['id']}/download", headers=auth, timeout=30)
    assert r.status_code == 200, r.text  # after the 302 to the presigned URL
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.read("EXP-1/front.png") == data
    assert "manifest.csv" in archive.namelist()
