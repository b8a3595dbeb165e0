"""Create the table, buckets and queues (tests and the local stack; the deployed ones come from the template)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib import queues
from chalicelib.config import get_settings
from chalicelib.store.table import create_table

# Visibility timeouts of the local queues: a failed delivery comes back this much later.
LOCAL_VISIBILITY_SECONDS = {queues.MEDIA_QUEUE: 30, queues.CAPTION_QUEUE: 30, queues.EXPORT_QUEUE: 60}


def create_resources(public_images: bool = False, cors_origins: list[str] | None = None) -> dict[str, str]:
    """Returns the queue URLs by name.

    `public_images`: let anyone GET the images (the local stack, where no CDN fronts them).
    `cors_origins`: browser origins allowed to POST uploads straight to the images bucket.
    """
    settings = get_settings()
    create_table()
    s3 = boto3.client("s3", region_name=settings.aws_region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in (settings.images_bucket, settings.exports_bucket):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
    if public_images:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{settings.images_bucket}/*",
                }
            ],
        }
        s3.put_bucket_policy(Bucket=settings.images_bucket, Policy=json.dumps(policy))
    if cors_origins:
        s3.put_bucket_cors(Bucket=settings.images_bucket, CORSConfiguration=upload_cors(cors_origins))
    urls = create_queues(settings.caption_max_attempts)
    notify_media_queue(s3, settings.images_bucket, urls[queues.MEDIA_QUEUE])
    return urls


def upload_cors(origins: list[str]) -> dict[str, Any]:
    """The bucket's CORS rule for presigned POSTs from the studio (the template has the same)."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": origins,
                "AllowedMethods": ["POST"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3000,
            }
        ]
    }


def create_queues(max_attempts: int) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name=get_settings().aws_region)
    urls: dict[str, str] = {}
    for name, dlq in queues.QUEUES:
        dlq_url = sqs.create_queue(QueueName=dlq)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_attempts}
        urls[dlq] = dlq_url
        urls[name] = sqs.create_queue(
            QueueName=name,
            Attributes={
                "RedrivePolicy": json.dumps(redrive),
                "VisibilityTimeout": str(LOCAL_VISIBILITY_SECONDS[name]),
            },
        )["QueueUrl"]
    return urls


def notify_media_queue(s3: Any, bucket: str, media_queue_url: str) -> None:
    sqs = boto3.client("sqs", region_name=get_settings().aws_region)
    arn = sqs.get_queue_attributes(QueueUrl=media_queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "uploads-to-media-queue",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": queues.UPLOADS_PREFIX}]}},
                }
            ]
        },
    )
