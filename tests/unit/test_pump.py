"""The local event pump (ops/local/pump.py) on the in-process moto: one round at a time."""

from __future__ import annotations

import base64
import threading
import time
from contextlib import suppress
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import queues
from ops.local.pump import Pump, Worker, default_workers, failed_ids

REGION = "us-east-1"
QUEUE = queues.MEDIA_QUEUE


class FakeHandler:
    """Records the events and contexts it is given; fails the messages whose body is in `fail`."""

    def __init__(self, fail: set[str] | None = None, raises: bool = False) -> None:
        self.fail = fail or set()
        self.raises = raises
        self.calls: list[tuple[dict[str, Any], Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.calls.append((event, context))
        if self.raises:
            raise RuntimeError("the handler broke")
        failed = [r["messageId"] for r in event["Records"] if r["body"] in self.fail]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}


def sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def url() -> str:
    return str(sqs().get_queue_url(QueueName=QUEUE)["QueueUrl"])


def send(*bodies: str) -> None:
    for body in bodies:
        sqs().send_message(
            QueueUrl=url(),
            MessageBody=body,
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": "test"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            },
        )


def pump_of(handler: FakeHandler, batch_size: int = 10, wait_seconds: int = 0) -> Pump:
    worker = Worker(queue=QUEUE, handler=handler, batch_size=batch_size, function="sartiq-products-dev-media_ingest")
    return Pump([worker], wait_seconds=wait_seconds)


def everything_in_queue(*handlers: FakeHandler) -> list[dict[str, Any]]:
    """What the queue still holds: the messages the handlers were given are made visible first
    (as their visibility timeout would), then everything visible is received."""
    client = sqs()
    for handler in handlers:
        for event, _ in handler.calls:
            for record in event["Records"]:
                with suppress(ClientError):  # deleted: its receipt handle is no longer valid
                    client.change_message_visibility(
                        QueueUrl=url(), ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                    )
    answer = client.receive_message(QueueUrl=url(), MaxNumberOfMessages=10, AttributeNames=["All"])
    return list(answer.get("Messages", []))


def test_failed_message_stays_others_deleted(aws: None, caplog: pytest.LogCaptureFixture) -> None:
    send("a", "b", "c")
    handler = FakeHandler(fail={"b"})
    assert pump_of(handler).poll_once(QUEUE) == 3
    assert "1 of 3 messages failed" in caplog.text

    (event, context), *more = handler.calls
    assert not more
    records = event["Records"]
    assert sorted(r["body"] for r in records) == ["a", "b", "c"]
    assert len({r["messageId"] for r in records}) == 3
    assert len({r["receiptHandle"] for r in records}) == 3
    arn = sqs().get_queue_attributes(QueueUrl=url(), AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for r in records:
        assert r["eventSource"] == "aws:sqs"
        assert r["eventSourceARN"] == arn
        assert r["awsRegion"] == REGION
        assert r["attributes"]["ApproximateReceiveCount"] == "1"
        assert "SentTimestamp" in r["attributes"]
        assert len(r["md5OfBody"]) == 32
        assert r["messageAttributes"]["kind"]["stringValue"] == "test"
        assert r["messageAttributes"]["kind"]["dataType"] == "String"
        assert base64.b64decode(r["messageAttributes"]["blob"]["binaryValue"]) == b"\x00\x01"
    assert context.function_name == "sartiq-products-dev-media_ingest"
    assert context.invoked_function_arn.endswith(":function:sartiq-products-dev-media_ingest")
    assert context.aws_request_id and context.memory_limit_in_mb > 0
    assert 0 < context.get_remaining_time_in_millis() <= 60_000

    left = everything_in_queue(handler)
    assert [m["Body"] for m in left] == ["b"]
    assert left[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_raising_handler_deletes_nothing(aws: None) -> None:
    send("a", "b")
    handler = FakeHandler(raises=True)
    assert pump_of(handler).poll_once(QUEUE) == 2
    assert sorted(m["Body"] for m in everything_in_queue(handler)) == ["a", "b"]


def test_an_answer_naming_a_stranger_fails_the_whole_batch(aws: None) -> None:
    send("a", "b")

    handler = FakeHandler()

    def stranger(event: dict[str, Any], context: Any) -> dict[str, Any]:
        handler(event, context)
        return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}

    pump = Pump([Worker(queue=QUEUE, handler=stranger, batch_size=10, function="f")], wait_seconds=0)
    assert pump.poll_once(QUEUE) == 2
    assert sorted(m["Body"] for m in everything_in_queue(handler)) == ["a", "b"]


def test_batches_are_at_most_the_batch_size(aws: None) -> None:
    send(*[str(n) for n in range(7)])
    handler = FakeHandler()
    pump = pump_of(handler, batch_size=5)
    assert pump.poll_once(QUEUE) == 5
    assert pump.poll_once(QUEUE) == 2
    assert pump.poll_once(QUEUE) == 0
    assert [len(e["Records"]) for e, _ in handler.calls] == [5, 2]
    assert everything_in_queue(handler) == []


def test_failed_ids_reads_the_answer_as_lambda_does() -> None:
    batch = {"m1", "m2"}
    assert failed_ids(None, batch) == set()
    assert failed_ids({}, batch) == set()
    assert failed_ids({"batchItemFailures": []}, batch) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, batch) == {"m2"}
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, batch) is None
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "m3"}]}, batch) is None
    assert failed_ids({"batchItemFailures": [{}]}, batch) is None


def test_default_workers_match_app_py() -> None:
    from chalice.app import SQSEventConfig

    from app import app

    sources = [e for e in app.event_sources if isinstance(e, SQSEventConfig)]
    registered = {e.queue: (e.batch_size, e.name) for e in sources}
    workers = default_workers("dev")
    assert {w.queue: (w.batch_size, w.function.rsplit("-", 1)[-1]) for w in workers} == registered
    timeouts = {w.queue: (w.timeout_seconds, w.memory_mb) for w in workers}
    # .chalice/config.json's dev stage.
    assert timeouts == {
        queues.MEDIA_QUEUE: (60, 2048),
        queues.CAPTION_QUEUE: (120, 1024),
        queues.EXPORT_QUEUE: (900, 1024),
    }


def test_threads_deliver_and_stop_quickly(aws: None) -> None:
    delivered = threading.Event()
    handler = FakeHandler()

    def recording(event: dict[str, Any], context: Any) -> dict[str, Any]:
        answer = handler(event, context)
        delivered.set()
        return answer

    pump = Pump([Worker(queue=QUEUE, handler=recording, batch_size=10, function="f")], wait_seconds=1)
    pump.start()
    try:
        send("a")
        assert delivered.wait(10)
    finally:
        # A long poll waits 1 s: the thread sees the stop within that.
        assert pump.stop(timeout=3)
    assert not pump.running
    assert everything_in_queue(handler) == []


def test_errors_never_end_a_thread(aws: None, caplog: pytest.LogCaptureFixture) -> None:
    """A queue that does not exist (yet): the thread logs, waits and tries again."""
    pump = Pump(
        [Worker(queue="no-such-queue", handler=FakeHandler(), batch_size=1, function="f")],
        wait_seconds=0,
        error_backoff=0.05,
        max_backoff=0.1,
    )
    pump.start()
    try:
        deadline = time.monotonic() + 5
        while sum("no-such-queue" in r.getMessage() for r in caplog.records) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pump.running
    finally:
        assert pump.stop(timeout=5)
    assert sum("no-such-queue" in r.getMessage() for r in caplog.records) >= 2


def test_the_dead_letter_sweeper_runs_on_its_schedule_and_survives_errors(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[float] = []
    twice = threading.Event()

    def sweep() -> None:
        runs.append(time.monotonic())
        if len(runs) == 1:
            raise ConnectionError("moto not up yet")
        twice.set()

    started = time.monotonic()
    pump = Pump([], sweep_seconds=0.2, sweep=sweep)
    pump.start()
    try:
        assert twice.wait(5)
    finally:
        assert pump.stop(timeout=3)
    # One interval after the start, as a schedule's first run; an error ends no thread.
    assert runs[0] - started >= 0.2
    assert any("dead-letter sweep failed" in r.getMessage() for r in caplog.records)


def test_the_sweep_interval_is_app_pys_schedule() -> None:
    from chalice.app import ScheduledEventConfig

    from app import app

    (schedule,) = [e for e in app.event_sources if isinstance(e, ScheduledEventConfig)]
    assert schedule.name == queues.SWEEPER_HANDLER
    assert schedule.schedule_expression.to_string() == f"rate({queues.SWEEP_MINUTES} minutes)"
