"""The images bucket: where a product's image objects live and how they are written."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import boto3

from chalicelib.config import get_settings

# boto3's default session is not thread-safe while it builds a client: the local stack's
# threaded server may ask for the first client from several requests at once.
_CLIENT_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _s3() -> Any:
    with _CLIENT_LOCK:
        return boto3.client("s3", region_name=get_settings().aws_region)


def product_image_key(product_id: str, media_id: str, extension: str) -> str:
    return f"products/{product_id}/{media_id}.{extension}"


class ImageStore:
    def __init__(self) -> None:
        self.bucket = get_settings().images_bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        _s3().put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def copy(self, source_key: str, target_key: str) -> None:
        _s3().copy_object(Bucket=self.bucket, Key=target_key, CopySource={"Bucket": self.bucket, "Key": source_key})

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            if chunk:
                _s3().delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})

    def delete_prefix(self, prefix: str) -> None:
        paginator = _s3().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            self.delete([obj["Key"] for obj in page.get("Contents", [])])
