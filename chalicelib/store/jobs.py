"""Job queues (SQS): sending a job, and putting a failed delivery off (backoff)."""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from typing import Any

import boto3

from chalicelib.config import get_settings
from chalicelib.queues import CAPTION_QUEUE

_CLIENT_LOCK = threading.Lock()
# SQS's upper bound for a message's visibility timeout (12 hours).
MAX_VISIBILITY_SECONDS = 12 * 60 * 60


@lru_cache(maxsize=1)
def _sqs() -> Any:
    with _CLIENT_LOCK:
        return boto3.client("sqs", region_name=get_settings().aws_region)


@lru_cache(maxsize=4)
def _queue_url(name: str) -> str:
    return str(_sqs().get_queue_url(QueueName=name)["QueueUrl"])


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


def caption_queue() -> JobQueue:
    return JobQueue(CAPTION_QUEUE, get_settings().caption_queue_url)


def export_queue() -> JobQueue:
    from chalicelib.queues import EXPORT_QUEUE

    return JobQueue(EXPORT_QUEUE, get_settings().export_queue_url)
