"""The local stack's event pump: what Lambda's SQS event source mappings do, for `chalice local`.

`chalice local` serves routes only. The pump long-polls each local queue in a thread of its
own and invokes the same handler functions as app.py's `@app.on_sqs_message` handlers, with the
event Lambda would pass (records of real received messages: each its own messageId and receipt
handle, the system attributes with ApproximateReceiveCount, the queue's ARN) and a Lambda-like
context. As the event source mapping with ReportBatchItemFailures does, it then deletes the
messages the answer does not list in `batchItemFailures`; when the handler raises, or the answer
names a message that was not in the batch, nothing is deleted and the whole batch comes back
after its visibility timeout (then, after maxReceiveCount deliveries, goes to the DLQ).

Errors are logged and never end a thread: a failed poll (the moto server not up yet, a
connection reset) is retried after a short, growing pause. One more thread runs app.py's
scheduled dead-letter sweeper every `sweep_seconds` (its schedule: queues.SWEEP_MINUTES).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3

from chalicelib import queues
from chalicelib.config import get_settings

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]

APP_NAME = "sartiq-products"
_CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"
# chalice's defaults when the config names neither.
_DEFAULT_TIMEOUT_SECONDS = 60
_DEFAULT_MEMORY_MB = 128


def _media_handler(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.workers import media

    return media.handle(event, context)


def _caption_handler(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.workers import captions

    return captions.handle(event, context)


def _sweep() -> Any:
    from chalicelib.workers import dead_letters

    return dead_letters.handle()


def _export_handler(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.workers import exports

    return exports.handle(event, context)


@dataclass(frozen=True)
class Worker:
    """One event source mapping: a queue, the handler app.py registers for it, its batch size,
    and the Lambda function's name, timeout and memory (for the context)."""

    queue: str
    handler: Handler
    batch_size: int
    function: str
    timeout_seconds: int = _DEFAULT_TIMEOUT_SECONDS
    memory_mb: int = _DEFAULT_MEMORY_MB


def _function_settings(stage: str, function: str) -> tuple[int, int]:
    """(timeout, memory) of a Lambda function as chalice resolves them from .chalice/config.json."""
    try:
        config = json.loads(_CONFIG.read_text())
    except (OSError, ValueError):
        config = {}
    stage_config = config.get("stages", {}).get(stage, {})
    layers = [
        stage_config.get("lambda_functions", {}).get(function, {}),
        stage_config,
        config.get("lambda_functions", {}).get(function, {}),
        config,
    ]
    timeout = next((int(c["lambda_timeout"]) for c in layers if "lambda_timeout" in c), _DEFAULT_TIMEOUT_SECONDS)
    memory = next((int(c["lambda_memory_size"]) for c in layers if "lambda_memory_size" in c), _DEFAULT_MEMORY_MB)
    return timeout, memory


def default_workers(stage: str = "dev") -> list[Worker]:
    """app.py's SQS handlers, with app.py's batch sizes (a unit test keeps them equal).

    The worker modules are imported now, in the caller's thread: a module that cannot be
    imported stops the stack at start rather than failing every delivery later.
    """
    from chalicelib.workers import captions, exports, media  # noqa: F401

    workers = []
    for queue, handler, batch_size, function in (
        (queues.MEDIA_QUEUE, _media_handler, 10, queues.MEDIA_HANDLER),
        (queues.CAPTION_QUEUE, _caption_handler, 5, queues.CAPTION_HANDLER),
        (queues.EXPORT_QUEUE, _export_handler, 1, queues.EXPORT_HANDLER),
    ):
        timeout, memory = _function_settings(stage, function)
        workers.append(
            Worker(
                queue=queue,
                handler=handler,
                batch_size=batch_size,
                function=f"{APP_NAME}-{stage}-{function}",
                timeout_seconds=timeout,
                memory_mb=memory,
            )
        )
    return workers


def lambda_context(worker: Worker, region: str, account: str) -> SimpleNamespace:
    """What Lambda passes as `context` (the attributes Powertools and our code may read)."""
    deadline = time.monotonic() + worker.timeout_seconds

    def remaining() -> int:
        return max(0, int((deadline - time.monotonic()) * 1000))

    return SimpleNamespace(
        function_name=worker.function,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:{region}:{account}:function:{worker.function}",
        memory_limit_in_mb=worker.memory_mb,
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{worker.function}",
        log_stream_name="local",
        get_remaining_time_in_millis=remaining,
    )


def _message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """SQS's MessageAttributes as Lambda's event spells them (camelCase, binary as base64)."""

    def b64(value: Any) -> str:
        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode()

    converted: dict[str, Any] = {}
    for name, value in attributes.items():
        entry: dict[str, Any] = {
            "stringListValues": list(value.get("StringListValues", [])),
            "binaryListValues": [b64(v) for v in value.get("BinaryListValues", [])],
            "dataType": value.get("DataType", "String"),
        }
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = b64(value["BinaryValue"])
        converted[name] = entry
    return converted


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping passes for these received messages."""
    records = []
    for m in messages:
        record: dict[str, Any] = {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": dict(m.get("Attributes", {})),
            "messageAttributes": _message_attributes(m.get("MessageAttributes", {})),
            "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
        if m.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = m["MD5OfMessageAttributes"]
        records.append(record)
    return {"Records": records}


def failed_ids(answer: Any, batch: set[str]) -> set[str] | None:
    """The message ids a handler's answer reports failed; None when the whole batch failed.

    As Lambda reads a partial batch response: no answer, or no or an empty `batchItemFailures`,
    means all succeeded; an item without an identifier, or naming a message not in the batch,
    fails the whole batch.
    """
    if not isinstance(answer, Mapping):
        return set()
    failures = answer.get("batchItemFailures") or []
    if not isinstance(failures, list):
        return None
    ids: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in batch:
            return None
        ids.add(identifier)
    return ids


class Pump:
    """One daemon thread per worker, long-polling its queue until `stop()`."""

    def __init__(
        self,
        workers: Iterable[Worker] | None = None,
        *,
        stage: str = "dev",
        wait_seconds: int = 1,
        error_backoff: float = 0.5,
        max_backoff: float = 5.0,
        sweep_seconds: float | None = queues.SWEEP_MINUTES * 60,
        sweep: Callable[[], Any] = _sweep,
    ) -> None:
        self.workers = {w.queue: w for w in (default_workers(stage) if workers is None else workers)}
        self.wait_seconds = wait_seconds
        self.error_backoff = error_backoff
        self.max_backoff = max_backoff
        self.region = get_settings().aws_region
        # One client for every thread (botocore clients are thread-safe; creating one is not).
        self.sqs: Any = boto3.client("sqs", region_name=self.region)
        self._urls: dict[str, str] = {}
        self._arns: dict[str, str] = {}
        self.sweep_seconds = sweep_seconds
        self.sweep = sweep
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- one round ------------------------------------------------------------------------

    def _queue(self, name: str) -> tuple[str, str]:
        """The queue's URL and ARN (looked up once; a failed look-up is retried next round)."""
        if name not in self._urls:
            url = str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
            self._arns[name] = str(attributes["QueueArn"])
            self._urls[name] = url
        return self._urls[name], self._arns[name]

    def poll_once(self, queue_name: str) -> int:
        """Receive one batch (waiting up to `wait_seconds`), invoke the handler, delete what
        succeeded. Returns the number of messages received. Errors of SQS itself propagate;
        a handler's are logged (its batch then comes back after the visibility timeout)."""
        worker = self.workers[queue_name]
        url, arn = self._queue(queue_name)
        messages = self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(worker.batch_size, 10),
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, arn, self.region)
        context = lambda_context(worker, self.region, arn.split(":")[4])
        try:
            answer = worker.handler(event, context)
        except Exception:
            logger.exception(
                "%s failed: its %d messages come back after their visibility timeout", worker.function, len(messages)
            )
            return len(messages)
        ids = {m["MessageId"] for m in messages}
        failed = failed_ids(answer, ids)
        if failed is None:
            logger.error(
                "%s answered an invalid batchItemFailures (the whole batch failed): %r", worker.function, answer
            )
            return len(messages)
        if failed:
            # The handler's own log says why (Powertools logs a record's exception only when
            # its BatchProcessor is given a logger); this says what comes back, and when.
            counts = [
                int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1))
                for m in messages
                if m["MessageId"] in failed
            ]
            logger.warning(
                "%s: %d of %d messages failed (deliveries so far: up to %d); they come back after their "
                "visibility timeout, or go to the dead-letter queue after the queue's maxReceiveCount",
                worker.function,
                len(failed),
                len(messages),
                max(counts),
            )
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            result = self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
            )
            for failure in result.get("Failed", []):
                logger.warning("%s: a processed message was not deleted: %s", queue_name, failure)
        return len(messages)

    # -- the threads ----------------------------------------------------------------------

    def _run(self, queue_name: str) -> None:
        pause = self.error_backoff
        while not self._stopping.is_set():
            try:
                self.poll_once(queue_name)
                pause = self.error_backoff
            except Exception as exc:
                logger.warning("event pump, %s: %s (retrying in %.1f s)", queue_name, exc, pause)
                self._stopping.wait(pause)
                pause = min(pause * 2, self.max_backoff)

    def _sweep_loop(self) -> None:
        # As the schedule does: the first run one interval after the start, never two at once.
        assert self.sweep_seconds is not None
        while not self._stopping.wait(self.sweep_seconds):
            try:
                self.sweep()
            except Exception:
                logger.exception("dead-letter sweep failed (the next one runs on schedule)")

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        for name in self.workers:
            thread = threading.Thread(target=self._run, args=(name,), name=f"pump-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.sweep_seconds is not None:
            thread = threading.Thread(target=self._sweep_loop, name="pump-dead-letter-sweeper", daemon=True)
            thread.start()
            self._threads.append(thread)

    def request_stop(self) -> None:
        """Stop polling without waiting: each thread ends after its current round."""
        self._stopping.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop polling; wait (at most `timeout` in all) for the threads. True when all ended.

        A thread still running a handler after that is left to finish (it is a daemon).
        """
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in self._threads if t.is_alive()]
        self._threads = alive
        return not alive

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)
