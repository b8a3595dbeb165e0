"""Job queues (SQS): sending a job, putting a failed delivery off (backoff), and reading a
dead-letter queue (the sweeper's receive and delete)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3

from chalicelib.config import get_settings
from chalicelib.queues import CAPTION_DLQ, CAPTION_QUEUE, EXPORT_DLQ, EXPORT_QUEUE, MEDIA_DLQ, MEDIA_QUEUE

_CLIENT_LOCK = threading.Lock()
# SQS's upper bound for a message's visibility timeout (12 hours).
MAX_VISIBILITY_SECONDS = 12 * 60 * 60


@lru_cache(maxsize=1)
def _sqs() -> Any:
    with _CLIENT_LOCK:
        return boto3.client("sqs", region_name=get_settings().aws_region)


# Every job queue and dead-letter queue (six), when their URLs are not set.
@lru_cache(maxsize=8)
def _queue_url(name: str) -> str:
    return str(_sqs().get_queue_url(QueueName=name)["QueueUrl"])


@dataclass(frozen=True)
class ReceivedJob:
    body: str
    receipt_handle: str
    message_id: str


class JobQueue:
    def __init__(self, name: str, url: str | None = None) -> None:
        self.name = name
        self._url = url

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = _queue_url(self.name)
        return self._url

    def send(self, job: dict[str, Any], delay_seconds: int = 0) -> None:
        """`delay_seconds` (at most SQS's 900): the job becomes visible that much later."""
        _sqs().send_message(
            QueueUrl=self.url, MessageBody=json.dumps(job, sort_keys=True), DelaySeconds=max(0, min(delay_seconds, 900))
        )

    def delay(self, receipt_handle: str, seconds: int) -> None:
        """Make a delivery that failed visible again only after `seconds`: the retry's backoff."""
        _sqs().change_message_visibility(
            QueueUrl=self.url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(seconds, MAX_VISIBILITY_SECONDS)),
        )

    def receive(self, max_messages: int, visibility_seconds: int) -> list[ReceivedJob]:
        """Up to `max_messages` (SQS: at most 10) visible messages, hidden from other readers for
        `visibility_seconds`; no long poll (an empty queue answers at once)."""
        answer = _sqs().receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(max_messages, 10)),
            VisibilityTimeout=visibility_seconds,
            WaitTimeSeconds=0,
        )
        return [
            ReceivedJob(body=m["Body"], receipt_handle=m["ReceiptHandle"], message_id=m["MessageId"])
            for m in answer.get("Messages", [])
        ]

    def delete(self, receipt_handle: str) -> None:
        _sqs().delete_message(QueueUrl=self.url, ReceiptHandle=receipt_handle)


def caption_queue() -> JobQueue:
    return JobQueue(CAPTION_QUEUE, get_settings().caption_queue_url)


def export_queue() -> JobQueue:
    return JobQueue(EXPORT_QUEUE, get_settings().export_queue_url)


def dead_letter_queues() -> dict[str, JobQueue]:
    """The dead-letter queue of each job queue, by the job queue's name."""
    settings = get_settings()
    return {
        MEDIA_QUEUE: JobQueue(MEDIA_DLQ, settings.media_dlq_url),
        CAPTION_QUEUE: JobQueue(CAPTION_DLQ, settings.caption_dlq_url),
        EXPORT_QUEUE: JobQueue(EXPORT_DLQ, settings.export_dlq_url),
    }
