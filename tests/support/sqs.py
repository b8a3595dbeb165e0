"""SQS in tests: read what a queue holds, and hand it to a worker as Lambda would.

The Chalice test client gives every generated SQS record the same messageId, which makes a
partial batch response meaningless; these events are built from real received messages, each
with its own id and receipt handle, so a worker's `batchItemFailures` name exactly the failed
ones, and deleting the others is what the event source mapping would do.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

import boto3

from chalicelib.config import get_settings

REGION = "us-east-1"


@lru_cache(maxsize=1)
def client() -> Any:
    return boto3.client("sqs", region_name=REGION)


def queue_url(name: str) -> str:
    return str(client().get_queue_url(QueueName=name)["QueueUrl"])


def queue_arn(name: str) -> str:
    attributes = client().get_queue_attributes(QueueUrl=queue_url(name), AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def receive(name: str, max_messages: int = 10, visibility: int | None = None) -> list[dict[str, Any]]:
    """Messages now visible in the queue (received: each counts as a delivery)."""
    kwargs: dict[str, Any] = {
        "QueueUrl": queue_url(name),
        "MaxNumberOfMessages": max_messages,
        "AttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }
    if visibility is not None:
        kwargs["VisibilityTimeout"] = visibility
    return list(client().receive_message(**kwargs).get("Messages", []))


def make_visible(name: str, message: dict[str, Any]) -> None:
    """End a received message's invisibility now (a retry's backoff, skipped in a test)."""
    client().change_message_visibility(
        QueueUrl=queue_url(name), ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )


def event_of(name: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping would pass for these received messages."""
    arn = queue_arn(name)
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": get_settings().aws_region,
            }
            for m in messages
        ]
    }


def delete_succeeded(name: str, messages: list[dict[str, Any]], response: dict[str, Any]) -> list[dict[str, Any]]:
    """Delete the messages a worker's answer does not list as failed; the failed ones are returned."""
    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    url = queue_url(name)
    for m in messages:
        if m["MessageId"] not in failed:
            client().delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [m for m in messages if m["MessageId"] in failed]


def s3_event_message(bucket: str, key: str, etag: str, size: int, event_name: str = "ObjectCreated:Post") -> str:
    """The body S3 sends a queue for one object (keys are URL-encoded, as S3 sends them)."""
    from urllib.parse import quote_plus

    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key), "size": size, "eTag": etag.strip('"')},
        },
    }
    return json.dumps({"Records": [record]})


def synthetic_event(bodies: list[str], queue: str = "test-queue") -> dict[str, Any]:
    """An SQS event of bodies that never went through a queue (distinct ids, receive count 1)."""
    return {
        "Records": [
            {
                "messageId": f"msg-{n}",
                "receiptHandle": f"handle-{n}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{queue}",
                "awsRegion": REGION,
            }
            for n, body in enumerate(bodies)
        ]
    }
