"""Create the table, buckets and queues (tests and the local stack; the deployed ones come from the template)."""

from __future__ import annotations

import json

import boto3

from chalicelib.config import get_settings
from chalicelib.store.table import create_table


def create_resources(public_images: bool = False) -> None:
    """`public_images`: let anyone GET the images (the local stack, where no CDN fronts them)."""
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
