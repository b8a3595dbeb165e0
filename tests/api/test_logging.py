"""Logs and metrics on the real output: requests and a worker batch through the app, stdout read.

Every line the app writes to stdout is JSON (a log line or an EMF document). A request has one
access line (message "request") with its correlation id, and the caller's user id once known; no
password, token or signature of the requests and answers appears anywhere in the output.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from chalice.local import LambdaContext

from app import app
from chalicelib import queues, wiring
from tests.factories import Api
from tests.support import sqs
from tests.workers.uploads import image_bytes, post_form, run_media_worker, sign

PASSWORD = "correct-horse-battery-staple-42"


def lines_of(text: str) -> list[dict[str, Any]]:
    """The output's lines, each parsed: one that is not JSON fails the test."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("message") == "request"]


def emf_documents(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "_aws" in line]


def metric_names(document: dict[str, Any]) -> set[str]:
    return {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def the(lines: list[dict[str, Any]], method: str, path: str) -> dict[str, Any]:
    found = [line for line in access_lines(lines) if line["method"] == method and line["path"] == path]
    assert len(found) == 1, (method, path, access_lines(lines))
    return found[0]


def test_requests_are_logged_once_each_with_correlation_and_caller_and_no_secret(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = api.admin_token
    user_id, token = api.user(password=PASSWORD)
    assert api.get("/api/v1/users/me", token).status == 200
    data = image_bytes("PNG")
    signed = sign(api, token, data, "image/png")
    signature = signed["fields"]["x-amz-signature"]
    secrets = {
        "password": PASSWORD,
        "admin password": "admin-password-123",
        "token": token,
        "admin token": admin,
        "signature": signature,
        "policy": signed["fields"]["policy"],
        "credential": signed["fields"]["x-amz-credential"],
    }
    # An unexpected error whose message carries secrets: it is logged, with its traceback.
    leaky_url = f"https://bucket.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2Fx&X-Amz-Signature={signature}"

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"store refused Authorization: Bearer {token} for {leaky_url} password={PASSWORD}")

    monkeypatch.setattr(wiring.products(), "create", boom)
    failed = api.post("/api/v1/products/", {"name": "Coat", "cover_image": "https://example.com/c.jpg"}, token)
    assert failed.status == 500
    assert failed.json == {"detail": "Internal Server Error"}

    text = capsys.readouterr().out
    lines = lines_of(text)

    login = [line for line in access_lines(lines) if line["path"] == "/api/v1/login/access-token"]
    assert len(login) == 2 and all(line["status"] == 200 and "user_id" not in line for line in login)
    me = the(lines, "GET", "/api/v1/users/me")
    upload = the(lines, "POST", "/api/v1/uploads")
    crash = the(lines, "POST", "/api/v1/products")
    assert me["user_id"] == upload["user_id"] == crash["user_id"] == user_id
    assert (me["status"], upload["status"], crash["status"]) == (200, 200, 500)
    for line in access_lines(lines):
        assert line["level"] == "INFO"
        assert line["service"] == "sartiq-products"
        assert line["correlation_id"]
        assert isinstance(line["duration_ms"], float)
    assert len({line["correlation_id"] for line in access_lines(lines)}) == len(access_lines(lines))

    error = [line for line in lines if line.get("message") == "unhandled error"]
    assert len(error) == 1
    assert error[0]["correlation_id"] == crash["correlation_id"]
    assert error[0]["user_id"] == user_id
    assert "RuntimeError" in error[0]["exception"] and "Bearer ***" in error[0]["exception"]

    for name, secret in secrets.items():
        assert secret not in text, f"the {name} was logged"


def test_the_correlation_id_is_api_gateways_request_id(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    user_id, token = api.user()
    request_id = f"apigw-{uuid.uuid4()}"
    event = {
        "resource": "/api/v1/users/me",
        "path": "/api/v1/users/me",
        "httpMethod": "GET",
        "headers": {"authorization": f"Bearer {token}", "accept": "application/json"},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/api/v1/users/me",
            "httpMethod": "GET",
            "requestId": request_id,
            "path": "/api/api/v1/users/me",
            "identity": {"sourceIp": "203.0.113.9"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    context = LambdaContext("sartiq-products-dev", memory_size=1024)
    capsys.readouterr()
    answer = app(event, context)
    assert answer["statusCode"] == 200, answer
    (line,) = access_lines(lines_of(capsys.readouterr().out))
    assert line["correlation_id"] == request_id
    assert line["function_request_id"] == context.aws_request_id
    assert line["function_name"] == "sartiq-products-dev"
    assert line["user_id"] == user_id
    assert line["path"] == "/api/v1/users/me"


def test_invalid_settings_fail_the_request_at_the_start_saying_why(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import config

    def broken() -> Any:
        raise ValueError("SECRET_KEY must be set for a deployed stage")

    monkeypatch.setattr(config, "get_settings", broken)
    r = api.get("/api/v1/users/me")
    assert r.status == 500 and r.json == {"detail": "Internal Server Error"}
    lines = lines_of(capsys.readouterr().out)
    (error,) = [line for line in lines if line.get("message", "").startswith("configuration error")]
    assert "SECRET_KEY must be set" in error["exception"]
    assert the(lines, "GET", "/api/v1/users/me")["status"] == 500


def test_each_request_flushes_its_own_metrics(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    _, token = api.user()
    capsys.readouterr()
    first = api.product(token)
    second = api.product(token)
    lines = lines_of(capsys.readouterr().out)
    documents = emf_documents(lines)
    assert len(documents) == 2
    for document, product in zip(documents, (first, second), strict=True):
        cloudwatch = document["_aws"]["CloudWatchMetrics"][0]
        assert cloudwatch["Namespace"] == "SartiqProducts"
        assert ["environment", "service"] in [sorted(d) for d in cloudwatch["Dimensions"]]
        assert metric_names(document) == {"ProductsCreated"}
        assert document["ProductsCreated"] == [1.0]
        assert document["service"] == "sartiq-products"
        assert product["id"]
    # Each document names the request it came from.
    creates = [line for line in access_lines(lines) if line["method"] == "POST"]
    assert [d["correlation_id"] for d in documents] == [line["correlation_id"] for line in creates]


def test_a_worker_batch_is_logged_and_flushes_its_metrics(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    """Through app.py's SQS handler (the middleware Lambda runs), not the worker module alone."""
    _, token = api.user()
    data = image_bytes("PNG", size=(30, 20))
    signed = sign(api, token, data, "image/png")
    assert post_form(signed, data, "image/png").status_code == 204
    messages = sqs.receive(queues.MEDIA_QUEUE)
    assert messages
    event = sqs.event_of(queues.MEDIA_QUEUE, messages)
    capsys.readouterr()

    answer = api.client.lambda_.invoke(queues.MEDIA_HANDLER, event).payload
    assert answer == {"batchItemFailures": []}
    lines = lines_of(capsys.readouterr().out)
    (batch,) = [line for line in lines if line.get("message") == "batch"]
    assert batch["records"] == len(messages) and batch["failed"] == 0
    assert batch["function_name"] == queues.MEDIA_HANDLER
    assert batch["correlation_id"] == batch["function_request_id"]
    # The worker module's own line is JSON too, under the batch's correlation id.
    (ingest,) = [line for line in lines if line.get("message") == "ingest"]
    assert ingest["name"] == "chalicelib.workers.media" and ingest["outcome"] == "ready"
    assert ingest["correlation_id"] == batch["correlation_id"]
    (document,) = emf_documents(lines)
    assert metric_names(document) == {"UploadsIngested"}
    assert document["UploadsIngested"] == [1.0]

    # The same delivery again changes nothing and counts nothing.
    assert api.client.lambda_.invoke(queues.MEDIA_HANDLER, event).payload == {"batchItemFailures": []}
    assert emf_documents(lines_of(capsys.readouterr().out)) == []


def test_metrics_are_flushed_when_the_handler_raises(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import observability
    from chalicelib.workers import media

    def counted_then_broken(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        observability.metric("UploadsRejected")
        raise RuntimeError("the handler broke")

    monkeypatch.setattr(media, "handle", counted_then_broken)
    event = sqs.synthetic_event([json.dumps({"Event": "s3:TestEvent"})], queues.MEDIA_QUEUE)
    capsys.readouterr()
    with pytest.raises(RuntimeError, match="the handler broke"):
        api.client.lambda_.invoke(queues.MEDIA_HANDLER, event)
    lines = lines_of(capsys.readouterr().out)
    (document,) = emf_documents(lines)
    assert metric_names(document) == {"UploadsRejected"}
    (batch,) = [line for line in lines if line.get("message") == "batch"]
    assert batch["failed"] == batch["records"] == 1  # the whole batch comes back
    (error,) = [line for line in lines if line.get("message") == "batch failed"]
    assert "the handler broke" in error["exception"]


def test_a_captioned_product_counts_its_caption_and_latency(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib import observability

    _, token = api.user()
    data = image_bytes("JPEG", size=(50, 80), color=(10, 20, 90))
    signed = sign(api, token, data, "image/jpeg")
    post_form(signed, data, "image/jpeg")
    run_media_worker()
    observability.flush_metrics()  # the worker ran outside an invocation: its metrics are not ours
    capsys.readouterr()
    body = {"name": "Navy coat", "cover_image": {"media_resource_id": signed["media_resource_id"]}}
    r = api.post("/api/v1/products/", body, token)
    assert r.status == 200 and r.json["caption_status"] == "COMPLETED", r
    (document,) = emf_documents(lines_of(capsys.readouterr().out))
    assert metric_names(document) == {"ProductsCreated", "CaptionsDone", "CaptionLatency"}
    units = {m["Name"]: m["Unit"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["CaptionLatency"] == "Milliseconds"
    (latency,) = document["CaptionLatency"]
    assert 0 <= latency < 60_000


def test_a_completed_export_counts_itself_and_its_bytes(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib import observability
    from chalicelib.services.export_runs import ExportRunner
    from chalicelib.store.exports import ExportRepository
    from tests.workers.test_exports import approved_world, new_task, owner_of

    world = approved_world(api, shots=1)
    task_id = new_task(owner_of(world), {"product_ids": [world["product"]["id"]]})
    capsys.readouterr()
    assert ExportRunner().run(task_id).state == "completed"
    observability.flush_metrics()
    (document,) = emf_documents(lines_of(capsys.readouterr().out))
    assert metric_names(document) == {"ExportsCompleted", "ExportBytes"}
    task = ExportRepository().get(task_id)
    assert task is not None and document["ExportBytes"] == [float(task.object_size)]
