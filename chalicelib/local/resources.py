"""Create the table, buckets and queues (tests and the local stack; the deployed ones come from the template)."""

from __future__ import annotations

import boto3

from chalicelib.config import get_settings
from chalicelib.store.table import create_table


def create_resources() -> None:
    settings = get_settings()
    create_table()
    s3 = boto3.client("s3", region_name=settings.aws_region)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in (settings.images_bucket, settings.exports_bucket):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
