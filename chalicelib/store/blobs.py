"""The images bucket: where a product's image objects live and how they are written."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.queues import UPLOADS_PREFIX

# boto3's default session is not thread-safe while it builds a client: the local stack's
# threaded server may ask for the first client from several requests at once.
_CLIENT_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def s3_client() -> Any:
    """The process's S3 client, for both buckets. Signature V4: what presigned URLs and forms
    need in every region, and what bounds their lifetime."""
    from botocore.config import Config

    with _CLIENT_LOCK:
        return boto3.client("s3", region_name=get_settings().aws_region, config=Config(signature_version="s3v4"))


def product_image_key(product_id: str, media_id: str, extension: str) -> str:
    return f"products/{product_id}/{media_id}.{extension}"


def upload_key(media_id: str) -> str:
    """Where a presigned upload lands: no extension, the declared name is not trusted."""
    return f"{UPLOADS_PREFIX}{media_id}"


_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PRODUCT_KEY = re.compile(rf"^products/{_UUID}/(?P<media>{_UUID})\.\w+$")
_UPLOAD_KEY = re.compile(rf"^{re.escape(UPLOADS_PREFIX)}(?P<media>{_UUID})$")


def media_id_of_key(key: str) -> str | None:
    """The media id an images-bucket key belongs to (a product's image or an upload), else None."""
    match = _PRODUCT_KEY.match(key) or _UPLOAD_KEY.match(key)
    return match.group("media") if match else None


def upload_media_id(key: str) -> str | None:
    match = _UPLOAD_KEY.match(key)
    return match.group("media") if match else None


@dataclass
class PresignedPost:
    url: str
    fields: dict[str, str]


@dataclass
class StoredObject:
    size: int
    content_type: str | None
    body: Any  # botocore's StreamingBody: read only when the size is acceptable


class ObjectChanged(Exception):
    """The object is gone, or is no longer the version an event named."""


class ImageStore:
    def __init__(self) -> None:
        self.bucket = get_settings().images_bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        s3_client().put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def copy(self, source_key: str, target_key: str, if_match: str | None = None) -> None:
        """`if_match`: copy only that version (its ETag), else ObjectChanged.

        S3 checks CopySourceIfMatch with the copy itself; the HEAD before it refuses a changed
        object early, and is what enforces the check on moto (which ignores CopySourceIfMatch).
        """
        extra = {"CopySourceIfMatch": f'"{if_match.strip(chr(34))}"'} if if_match else {}
        try:
            if if_match:
                s3_client().head_object(Bucket=self.bucket, Key=source_key, IfMatch=extra["CopySourceIfMatch"])
            s3_client().copy_object(
                Bucket=self.bucket, Key=target_key, CopySource={"Bucket": self.bucket, "Key": source_key}, **extra
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if if_match and code in {"PreconditionFailed", "412", "NoSuchKey", "404"}:
                raise ObjectChanged(code) from exc
            raise

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            if chunk:
                s3_client().delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
                )

    def get(self, key: str) -> bytes:
        return bytes(s3_client().get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def open_version(self, key: str, etag: str) -> StoredObject:
        """The object if it is still the version with this ETag (an event's), else ObjectChanged."""
        try:
            answer = s3_client().get_object(Bucket=self.bucket, Key=key, IfMatch=f'"{etag.strip(chr(34))}"')
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "PreconditionFailed", "412"}:
                raise ObjectChanged(code) from exc
            raise
        return StoredObject(int(answer["ContentLength"]), answer.get("ContentType"), answer["Body"])

    def delete_version(self, key: str, etag: str) -> bool:
        """Delete the object only if it still has this ETag (S3's conditional delete); False when
        it changed or is gone."""
        try:
            s3_client().delete_object(Bucket=self.bucket, Key=key, IfMatch=f'"{etag.strip(chr(34))}"')
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "PreconditionFailed", "412"}:
                return False
            raise
        return True

    def presigned_post(self, key: str, content_type: str, max_size: int, expires_in: int) -> PresignedPost:
        """A form a browser posts straight to the bucket: the key, the content type and a size
        range are in the signed policy, so the form cannot be reused for anything else."""
        post = s3_client().generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_size]],
            ExpiresIn=expires_in,
        )
        return PresignedPost(url=post["url"], fields={k: str(v) for k, v in post["fields"].items()})

    def presigned_get(self, key: str, expires_in: int) -> str:
        """A short-lived URL of one object, signed locally (no AWS call): for objects the images
        CDN does not serve (uploads)."""
        url: str = s3_client().generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url

    def delete_prefix(self, prefix: str) -> None:
        paginator = s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            self.delete([obj["Key"] for obj in page.get("Contents", [])])
